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
    C(/etc/machine-id) follows by itself). Every file written is in the C(--diff) output and in RV(files).
  - What follows from a new id is returned in RV(consequences) and, unless O(warn=false), said as warnings, in
    check mode too (role C(kubeprep.hostnet.hostnet_machine_id) shows them in a check-mode run before it changes
    anything). Services read the id at start, so these happen at their next restart or the next boot.
  - systemd-networkd's default DHCP client identifier (a DUID) derives from the machine-id, so at the next lease
    the DHCP server may give the node another address, and an SSH session to the old one drops. The C(.network)
    files in C(/etc/systemd/network) and C(/run/systemd/network) that ask DHCP so are named, with the steps that
    keep the address (a reservation for the new identifier, or C(ClientIdentifier=mac)).
  - journald writes to a directory named after the id, so the logs so far stay in C(/var/log/journal/<old id>)
    (read them with C(journalctl -D)).
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
options:
  unsafe_writes:
    description:
      - Where a rename cannot replace the file (it is bind-mounted, as container runtimes do), write it in place.
        Without it such a file is refused before anything is changed.
    type: bool
    default: false
  replace:
    description: The machine-ids to replace (the duplicated values). An empty list changes nothing.
    type: list
    elements: str
    required: true
  path:
    description: The machine-id file.
    type: path
    default: /etc/machine-id
  warn:
    description: Say the RV(consequences) as warnings (the role says them in a check-mode run before the change).
    type: bool
    default: true
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
files:
  description: Every file written (or that would be, in check mode), each with what changed in it.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    changed:
      description: Whether it was (or would be) written.
      type: bool
    actions:
      description: What changed in it.
      type: list
      elements: str
    backup_file:
      description: Its backup, with O(backup=true).
      type: str
      returned: when a backup was made
  sample: [{"path": "/etc/machine-id", "changed": true, "actions": ["wrote a new machine-id to /etc/machine-id (was 4c4c...)"]}]
consequences:
  description: What follows from the new machine-id on this host (empty when nothing is replaced).
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
JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")
# Where an admin (or a provisioning tool, at runtime) configures systemd-networkd; the vendor files in
# /usr/lib/systemd/network match containers and Wi-Fi, not a node's NIC.
NETWORKD_DIRS = ("/etc/systemd/network", "/run/systemd/network")
_MAX_FILES = 200
_MAX_BYTES = 65536


def dhcp_identifier_from_machine_id(text):
    """Whether a systemd-networkd .network file asks DHCP with an identifier derived from the machine-id:
    DHCPv6 always uses the DUID (DUIDType=vendor by default: from the machine-id), DHCPv4 does unless
    ClientIdentifier=mac."""
    section, dhcp, client_id = None, None, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip().lower()
        if section == "network" and key == "DHCP":
            dhcp = value
        elif section in ("dhcpv4", "dhcp") and key == "ClientIdentifier":
            client_id = value
    if dhcp in ("yes", "true", "on", "1", "both", "ipv6", "v6"):
        return True
    return dhcp in ("ipv4", "v4") and client_id != "mac"


def networkd_dhcp_files():
    found, seen = [], set()
    for directory in NETWORKD_DIRS:
        try:
            names = sorted(os.listdir(directory))[:_MAX_FILES]
        except OSError:
            continue
        for name in names:
            if not name.endswith(".network") or name in seen:  # an earlier directory's file of the same name wins
                continue
            seen.add(name)
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as handle:
                    text = handle.read(_MAX_BYTES).decode("utf-8", "replace")
            except (IOError, OSError):
                continue
            if dhcp_identifier_from_machine_id(text):
                found.append(path)
    return found


def consequences(old_id, new_id):
    """What a new machine-id changes on this host, each with the step that keeps it from hurting."""
    said = []
    dhcp = networkd_dhcp_files()
    if dhcp:
        said.append(
            "systemd-networkd asks DHCP with a client identifier derived from the machine-id (%s): at the next lease "
            "(a restart of systemd-networkd or a reboot) the DHCP server may give this node another address, and an "
            "SSH session to the old one drops. Before that, reserve the address for the new identifier "
            "(networkctl status shows it after the restart), or set ClientIdentifier=mac under [DHCPv4] and "
            "DUIDType=link-layer under [DHCPv6]" % ", ".join(dhcp)
        )
    else:
        said.append(
            "DHCP clients that derive their identifier from the machine-id (systemd-networkd's default) may get "
            "another address at their next lease; none is configured for systemd-networkd in %s here" % " or ".join(NETWORKD_DIRS)
        )
    for directory in JOURNAL_DIRS:
        old_dir = os.path.join(directory, old_id)
        if os.path.isdir(old_dir):
            said.append(
                "journald writes to %s from its next start (a restart or a reboot); the logs so far stay in %s "
                "(read them with journalctl -D %s)" % (os.path.join(directory, new_id), old_dir, old_dir)
            )
    return said


def main():
    module = AnsibleModule(
        argument_spec=dict(
            replace=dict(type="list", elements="str", required=True),
            path=dict(type="path", default="/etc/machine-id"),
            backup=dict(type="bool", default=False),
            warn=dict(type="bool", default=True),
            unsafe_writes=dict(type="bool", default=False),
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
            current = handle.read(4096).strip().lower()
    except (IOError, OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg="cannot read %s: %s; nothing was changed" % (path, getattr(exc, "strerror", None) or exc), changed=False)
    if current not in old_ids:
        module.exit_json(changed=False, machine_id=current, actions=[], files=[], consequences=[])
    new_id = uuid.uuid4().hex
    # In check mode no id is written: the one drawn here is not the one a real run writes.
    said = consequences(current, "<the new id>" if module.check_mode else new_id)
    if module.params["warn"]:
        for text in said:
            module.warn("a new machine-id on %s: %s" % (os.uname()[1], text))
    targets = [path]
    if os.path.isfile(DBUS) and not os.path.islink(DBUS) and os.path.realpath(DBUS) != os.path.realpath(path):
        try:
            with open(DBUS) as handle:
                if handle.read(4096).strip().lower() == current:
                    targets.append(DBUS)
        except (IOError, OSError, UnicodeDecodeError):
            pass  # not the old id as far as we can tell: left alone
    files, diffs, actions = [], [], []
    for target in targets:
        done = filewrite.apply_edit(
            module,
            target,
            lambda data, target=target: ((new_id + "\n").encode(), ["wrote a new machine-id to %s (was %s)" % (target, current)]),
            backup=module.params["backup"],
        )
        entry = {"path": target, "changed": done["changed"], "actions": list(done["actions"])}
        if done.get("backup_file"):
            entry["backup_file"] = done["backup_file"]
        files.append(entry)
        actions.extend(done["actions"])
        if done.get("diff"):
            diffs.append(done["diff"])
    result = dict(changed=any(f["changed"] for f in files), path=path, machine_id=new_id, actions=actions, files=files, consequences=said)
    if files[0].get("backup_file"):
        result["backup_file"] = files[0]["backup_file"]
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
