#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_hosts
short_description: Make localhost resolve to a working loopback address in /etc/hosts
version_added: 0.1.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Fixes rule C(localhost-unreachable) (fault F1) with the smallest edit that works.
  - When no line maps C(localhost) to O(address), inserts C(<address> localhost) (tab-separated) before the first line that
    names C(localhost) (or before the first entry), so a files lookup returns it first.
  - Removes C(localhost) from lines that map it to a non-loopback address; the rest of such a line is kept,
    and a line left without names is commented out, never deleted.
  - Every other line, alias, comment, blank line, line ending and byte is kept as it was; C(::1) lines are
    not touched.
  - Writes atomically (temporary file and rename) and keeps owner, mode and SELinux context. A symlinked
    file is edited at its target.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
  - ansible.builtin.files
options:
  path:
    description: The hosts file.
    type: path
    default: /etc/hosts
  address:
    description: The loopback address C(localhost) must resolve to.
    type: str
    default: 127.0.0.1
notes:
  - If cloud-init has C(manage_etc_hosts) enabled it rewrites C(/etc/hosts) at boot from
    C(/etc/cloud/templates/hosts.<distro>.tmpl); run this module on that template too (the
    C(kubeprep.hostnet.hostnet_localhost) role does).
seealso:
  - module: kubeprep.hostnet.hostnet_sysctl
"""

EXAMPLES = r"""
- name: Make localhost resolve to 127.0.0.1
  kubeprep.hostnet.hostnet_hosts:
    backup: true

- name: Fix cloud-init's template too, or the next boot undoes it
  kubeprep.hostnet.hostnet_hosts:
    path: /etc/cloud/templates/hosts.redhat.tmpl
"""

RETURN = r"""
actions:
  description: What was changed, one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["added '127.0.0.1 localhost'"]
path:
  description: The path given.
  returned: always
  type: str
followed_symlink:
  description: The real file edited when O(path) is a symlink.
  returned: when O(path) is a symlink
  type: str
backup_file:
  description: The backup copy.
  returned: when changed and O(backup=true)
  type: str
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits, filewrite


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/hosts"),
            address=dict(type="str", default="127.0.0.1"),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    try:
        loopback = ipaddress.ip_address(module.params["address"]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        module.fail_json(msg="address %r is not a loopback address" % module.params["address"])
    result = filewrite.apply_edit(
        module,
        module.params["path"],
        lambda data: edits.ensure_localhost(data or b"", module.params["address"]),
        create=True,  # a missing (or dangling) /etc/hosts: every localhost lookup fails until it exists
        mode=0o644,
        backup=module.params["backup"],
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
