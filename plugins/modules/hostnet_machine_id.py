#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_machine_id
short_description: Give a cloned host a machine-id of its own
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Fixes the C(machine_id) case of rule C(duplicate-node-identity) (opt-in, through role
    C(kubeprep.hostnet.hostnet_machine_id)). Writes a new random id to C(/etc/machine-id) only while it still
    holds one of the O(replace) ids (the cloned value the audit found), so a second run changes nothing.
  - C(/var/lib/dbus/machine-id) is updated too when it is a regular file with the same old id (a symlink to
    C(/etc/machine-id) follows by itself). Services that read the id at start (journald, DHCP clients
    deriving their DUID) see the new one after a restart or reboot.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
options:
  replace:
    description: The machine-ids to replace (the duplicated values). An empty list changes nothing.
    type: list
    elements: str
    required: true
  path:
    description: The machine-id file.
    type: path
    default: /etc/machine-id
"""

EXAMPLES = r"""
- name: Replace a cloned machine-id
  kubeprep.hostnet.hostnet_machine_id:
    replace: [4c4c4544004d4810804eb8c04f4e3232]
"""

RETURN = r"""
machine_id:
  description: The machine-id after the run (or the one that would be written, in check mode).
  returned: success
  type: str
actions:
  description: What was changed.
  returned: always
  type: list
  elements: str
"""

import os
import re
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import filewrite

_ID = re.compile(r"[0-9a-f]{32}")
DBUS = "/var/lib/dbus/machine-id"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            replace=dict(type="list", elements="str", required=True),
            path=dict(type="path", default="/etc/machine-id"),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    old_ids = [value.strip().lower() for value in module.params["replace"]]
    bad = [value for value in old_ids if not _ID.fullmatch(value)]
    if bad:
        module.fail_json(msg="replace: %s is not a machine-id (32 hex digits); nothing was changed" % ", ".join(bad), changed=False)
    path = module.params["path"]
    try:
        with open(path) as handle:
            current = handle.read().strip().lower()
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s; nothing was changed" % (path, exc.strerror or exc), changed=False)
    if current not in old_ids:
        module.exit_json(changed=False, machine_id=current, actions=[])
    new_id = uuid.uuid4().hex
    result = filewrite.apply_edit(
        module, path, lambda data: ((new_id + "\n").encode(), ["wrote a new machine-id (was %s)" % current]), backup=module.params["backup"]
    )
    actions = list(result["actions"])
    if os.path.isfile(DBUS) and not os.path.islink(DBUS) and os.path.realpath(DBUS) != os.path.realpath(path):
        with open(DBUS) as handle:
            if handle.read().strip().lower() == current:
                other = filewrite.apply_edit(module, DBUS, lambda data: ((new_id + "\n").encode(), ["updated %s" % DBUS]))
                actions.extend(other["actions"])
    result.update(machine_id=new_id, actions=actions)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
