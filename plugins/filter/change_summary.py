# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def change_summary(result, rule):
    """A registered remediation result -> the short record the change report keeps."""
    if not isinstance(result, dict):
        return {"rule": rule, "path": None, "actions": []}
    path = result.get("followed_symlink") or result.get("persisted_path") or result.get("path") or result.get("sysctl_file")
    actions = list(result.get("actions") or [])
    if result.get("live_changed"):
        if "live_before" in result:
            actions.append("set %s (was %s)" % (result.get("invocation", {}).get("module_args", {}).get("name"), result.get("live_before")))
        else:
            actions.append("added live route %s via %s dev %s" % (result.get("dest"), result.get("gateway"), result.get("interface")))
    summary = {"rule": rule, "path": path, "actions": actions}
    if result.get("backup_file"):
        summary["backup_file"] = result["backup_file"]
    return summary


ROLE_RECORDS = ("hostnet_localhost_changes", "hostnet_name_service_changes", "hostnet_service_route_changes", "hostnet_node_ip_changes")


def host_changes(hostvars_of_host):
    """Every remediation role's change records for one host, in role order."""
    changes = []
    for key in ROLE_RECORDS:
        changes.extend(hostvars_of_host.get(key) or [])
    return changes


class FilterModule(object):
    def filters(self):
        return {"change_summary": change_summary, "host_changes": host_changes}
