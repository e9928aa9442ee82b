#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_sysctl
short_description: Set a kernel parameter now and persist it in /etc/sysctl.d
version_added: 0.1.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Writes O(value) to C(/proc/sys/<name>) (when O(apply=true)) and sets C(name = value) in O(sysctl_file),
    keeping every other line of that file. A later duplicate of the key in the same file is commented out
    so it cannot win at boot.
  - ansible-core has no sysctl module and this collection depends on ansible-core alone, hence this small one.
  - Used to re-enable IPv6 on C(lo) (C(net.ipv6.conf.lo.disable_ipv6=0)) where a site allows it.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
  - ansible.builtin.files
options:
  name:
    description: The parameter, dotted (C(net.ipv6.conf.lo.disable_ipv6)).
    type: str
    required: true
  value:
    description: The value.
    type: str
    required: true
  sysctl_file:
    description: The file in C(/etc/sysctl.d) that persists it.
    type: path
    default: /etc/sysctl.d/90-kubeprep-hostnet.conf
  apply:
    description: Also set the running value.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Re-enable IPv6 on lo, now and at boot
  kubeprep.hostnet.hostnet_sysctl:
    name: net.ipv6.conf.lo.disable_ipv6
    value: "0"
"""

RETURN = r"""
live_before:
  description: The running value before the change (null when the key does not exist).
  returned: always
  type: str
  sample: "1"
live_changed:
  description: Whether the running value was (or, in check mode, would be) changed.
  returned: always
  type: bool
actions:
  description: What was changed in the file.
  returned: always
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits, filewrite

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            value=dict(type="str", required=True),
            sysctl_file=dict(type="path", default="/etc/sysctl.d/90-kubeprep-hostnet.conf"),
            apply=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    name, value = module.params["name"], module.params["value"].strip()
    if not _NAME.match(name) or ".." in name:
        module.fail_json(msg="invalid sysctl name %r" % name)
    proc = "/proc/sys/" + name.replace(".", "/")
    live_before = None
    live_changed = False
    if module.params["apply"]:
        try:
            with open(proc) as handle:
                live_before = handle.read().strip()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s (is the module loaded?); nothing was changed" % (proc, exc.strerror or exc))
        live_changed = live_before != value
    result = filewrite.apply_edit(
        module,
        module.params["sysctl_file"],
        lambda data: edits.ensure_key_value(data, name, value),
        create=True,
        mode=0o644,
        backup=module.params["backup"],
    )
    if live_changed and not module.check_mode:
        try:
            with open(proc, "w") as handle:
                handle.write(value)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write %s: %s" % (proc, exc.strerror or exc), **result)
    if live_changed and module._diff:
        result.setdefault("diff", [])
        live = {"before_header": proc, "after_header": proc, "before": live_before + "\n", "after": value + "\n"}
        result["diff"] = [result["diff"], live] if isinstance(result["diff"], dict) else [live]
    result.update(changed=result["changed"] or live_changed, live_before=live_before, live_changed=live_changed)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
