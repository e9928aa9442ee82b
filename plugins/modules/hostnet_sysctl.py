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
  - "Before changing anything it reads every sysctl file the boot applies after O(sysctl_file) (systemd-sysctl
    and C(sysctl --system) order, /etc/sysctl.conf last). An assignment of the same key (or a glob matching it)
    to another value there would undo the fix at the next boot: with O(conflicts=comment) such lines in files
    under /etc are commented out (shown in the diff, backed up with O(backup)); a conflict elsewhere (/run,
    /usr/lib) and every conflict with O(conflicts=fail) fails with the file and line, and nothing is changed."
  - "Every file it would write (O(sysctl_file) and each later file above) is checked first: when one cannot be
    written (read-only, bind-mounted without O(unsafe_writes), not a regular file) it fails naming each, before
    any file or the running value changes. Should a write still fail after another was made, the result is
    C(changed=true) and names what was written."
  - A O(name) is dots, letters, digits, C(_) and C(-) only (a trailing newline is refused, not written).
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
  conflicts:
    description: What to do with a later sysctl file that sets the key to another value (see above).
    type: str
    choices: [comment, fail]
    default: comment
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
overridden:
  description: The later assignments that were (or would be) commented out, as C(path:line).
  returned: always
  type: list
  elements: str
actions:
  description: What was changed in the files.
  returned: always
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits, filewrite, sysctlconf

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_VALUE = re.compile(r"[\x20-\x7e\t]+")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            value=dict(type="str", required=True),
            sysctl_file=dict(type="path", default="/etc/sysctl.d/90-kubeprep-hostnet.conf"),
            apply=dict(type="bool", default=True),
            conflicts=dict(type="str", default="comment", choices=["comment", "fail"]),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    name, value = module.params["name"], module.params["value"].strip()
    # fullmatch: "$" would let a trailing newline through, written as a broken two-line entry.
    if not _NAME.fullmatch(name) or ".." in name:
        module.fail_json(msg="invalid sysctl name %r; nothing was changed" % name, changed=False)
    if not _VALUE.fullmatch(value):
        module.fail_json(msg="invalid value %r for %s: one line of printable characters; nothing was changed" % (value, name), changed=False)
    sysctl_file = module.params["sysctl_file"]
    proc = "/proc/sys/" + name.replace(".", "/")
    live_before = None
    live_changed = False
    if module.params["apply"]:
        try:
            with open(proc) as handle:
                live_before = handle.read().strip()
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s (is the module loaded?); nothing was changed" % (proc, exc.strerror or exc), changed=False)
        live_changed = " ".join(live_before.split()) != " ".join(value.split())

    # Decide about every file the boot reads after ours before writing any of them.
    later = sysctlconf.overrides(sysctl_file, name, value)
    refused = [entry for entry in later if module.params["conflicts"] == "fail" or not entry[1].startswith("/etc/")]
    if refused:
        module.fail_json(
            msg="%s would be undone at boot: %s. Remove or change %s, or set %s there; nothing was changed"
            % (
                name,
                "; ".join("%s:%d sets %r (applied after %s)" % (path, line, raw.strip(), sysctl_file) for path, _real, line, raw in refused),
                "that line" if len(refused) == 1 else "those lines",
                "%s = %s" % (name, value),
            ),
            changed=False,
            overridden=["%s:%d" % (path, line) for path, _real, line, _raw in refused],
        )

    def ours(data):
        return edits.ensure_key_value(data, name, value)

    others = sorted({entry[1] for entry in later})
    # Every file must be writable before the first is written: a half-applied fix (ours written, a later
    # file read-only) would report failure while the boot applies a mix.
    problems = [
        problem
        for problem, _changes in [filewrite.preflight(module, sysctl_file, ours, create=True)]
        + [filewrite.preflight(module, real, sysctlconf.comment_out(name, value, sysctl_file)) for real in others]
        if problem
    ]
    if problems:
        module.fail_json(
            msg="cannot set %s: %s" % (name, "; ".join(problem.replace("; nothing was changed", "") for problem in problems)) + "; nothing was changed",
            changed=False,
            actions=[],
            overridden=["%s:%d" % (path, line) for path, _real, line, _raw in later],
        )

    # A write can still fail (a file changed under us): then say what was written before it.
    done = {"changed": False, "actions": []}
    fail_json = module.fail_json

    def fail_after_writes(**kwargs):
        if done["changed"]:
            kwargs["msg"] = "%s. Already written: %s" % (
                kwargs.get("msg", "failed").replace("; nothing was changed", ""),
                "; ".join(done["actions"]) or "nothing",
            )
        kwargs.update(changed=done["changed"], actions=list(done["actions"]))
        fail_json(**kwargs)

    module.fail_json = fail_after_writes
    result = filewrite.apply_edit(module, sysctl_file, ours, create=True, mode=0o644, backup=module.params["backup"])
    diffs = [result.pop("diff")] if result.get("diff") else []
    actions = list(result.get("actions") or [])
    changed = result["changed"]
    done.update(changed=changed and not module.check_mode, actions=["%s: %s" % (sysctl_file, a) for a in actions])
    for real in others:
        other = filewrite.apply_edit(module, real, sysctlconf.comment_out(name, value, sysctl_file), backup=module.params["backup"])
        changed = changed or other["changed"]
        actions.extend(other.get("actions") or [])
        if not module.check_mode and other["changed"]:
            done.update(changed=True, actions=done["actions"] + ["%s: %s" % (real, a) for a in other.get("actions") or []])
        if other.get("diff"):
            diffs.append(other["diff"])
        if other.get("backup_file"):
            result.setdefault("other_backup_files", []).append(other["backup_file"])
    module.fail_json = fail_json
    if live_changed and not module.check_mode:
        try:
            with open(proc, "w") as handle:
                handle.write(value)
        except (IOError, OSError) as exc:
            result.update(changed=changed, actions=actions)
            module.fail_json(
                msg="cannot write %s: %s (the files were written: %s)" % (proc, exc.strerror or exc, "; ".join(actions) or "none needed a change"),
                **result,
            )
    if live_changed:
        diffs.append({"before_header": proc, "after_header": proc, "before": live_before + "\n", "after": value + "\n"})
    if diffs and module._diff:
        result["diff"] = diffs
    result.update(
        changed=changed or live_changed,
        actions=actions,
        live_before=live_before,
        live_changed=live_changed,
        overridden=["%s:%d" % (path, line) for path, _real, line, _raw in later],
        sysctl_file=sysctl_file,
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
