#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_docker_bip
short_description: Set docker's bridge address and MTU in daemon.json from flannel's subnet.env
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Fixes rule C(docker-bip-mismatch) (opt-in, through role C(kubeprep.hostnet.hostnet_docker_bip)). Reads
    C(FLANNEL_SUBNET) and C(FLANNEL_MTU) from O(subnet_env) and sets C(bip) and C(mtu) in O(path), replacing only
    those values (every other byte of the file is kept; a missing key is added after the opening brace). An empty
    or whitespace-only O(path) is an empty config.
  - Docker reads daemon.json at start; this module does not restart it (the role can).
  - Fails with nothing changed when O(subnet_env) has no C(FLANNEL_SUBNET), or O(path) is not a JSON object.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
  - ansible.builtin.files
options:
  path:
    description: docker's daemon.json (created when missing).
    type: path
    default: /etc/docker/daemon.json
  subnet_env:
    description: flannel's subnet.env.
    type: path
    default: /run/flannel/subnet.env
"""

EXAMPLES = r"""
- name: Match docker0 to this node's flannel subnet
  kubeprep.hostnet.hostnet_docker_bip:
"""

RETURN = r"""
bip:
  description: The C(bip) written (FLANNEL_SUBNET).
  returned: success
  type: str
  sample: 10.244.1.1/24
mtu:
  description: The C(mtu) written (FLANNEL_MTU), or null when subnet.env has none.
  returned: success
  type: int
actions:
  description: What was changed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import cniconf, filewrite


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            subnet_env=dict(type="path", default="/run/flannel/subnet.env"),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    try:
        with open(module.params["subnet_env"]) as handle:
            env = cniconf.parse_env_file(handle.read())
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s; nothing was changed" % (module.params["subnet_env"], exc.strerror or exc), changed=False)
    subnet = (env.get("FLANNEL_SUBNET") or "").strip()
    if not subnet:
        module.fail_json(msg="%s has no FLANNEL_SUBNET; nothing was changed" % module.params["subnet_env"], changed=False)
    values = {"bip": subnet}
    mtu = (env.get("FLANNEL_MTU") or "").strip()
    if mtu:
        if not mtu.isdigit():
            module.fail_json(msg="FLANNEL_MTU %r is not a number; nothing was changed" % mtu, changed=False)
        values["mtu"] = int(mtu)
    result = filewrite.apply_edit(
        module, module.params["path"], lambda data: cniconf.set_daemon_json_keys(data, values), create=True, mode=0o644, backup=module.params["backup"]
    )
    result.update(bip=subnet, mtu=values.get("mtu"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
