# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules


def change_summary(result, rule=None):
    """A registered remediation result -> the short record the change report keeps.

    Without ``rule``, a loop result names its rule in its loop item (``item.rule``)."""
    if rule is None and isinstance(result, dict):
        rule = (result.get(result.get("ansible_loop_var") or "item") or {}).get("rule")
    if not isinstance(result, dict):
        return {"rule": rule, "path": None, "actions": []}
    path = result.get("followed_symlink") or result.get("persisted_path") or result.get("path") or result.get("sysctl_file")
    actions = list(result.get("actions") or [])
    if result.get("live_changed"):
        if "live_before" in result:
            actions.append("set %s (was %s)" % (result.get("invocation", {}).get("module_args", {}).get("name"), result.get("live_before")))
        elif "loaded_before" in result:
            pass  # hostnet_kernel_module lists its load in actions
        else:
            actions.append("added live route %s via %s dev %s" % (result.get("dest"), result.get("gateway"), result.get("interface")))
    summary = {"rule": rule, "path": path, "actions": actions}
    if result.get("backup_file"):
        summary["backup_file"] = result["backup_file"]
    return summary


def role_records():
    """The fact each remediation role of the rule registry keeps its change records in: <role>_changes."""
    return tuple(role + "_changes" for role in rules.fix_roles())


def host_changes(hostvars_of_host):
    """Every remediation role's change records for one host, in role order."""
    changes = []
    for key in role_records():
        changes.extend(hostvars_of_host.get(key) or [])
    return changes


class FilterModule(object):
    def filters(self):
        return {"change_summary": change_summary, "host_changes": host_changes}
