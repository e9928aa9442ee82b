# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side remediation planner and recorder. Documentation: plugins/modules/hostnet_remediation.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.kubeprep.hostnet.plugins.filter.change_summary import change_summary, host_changes
from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_remediation as doc
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import docspec, remediation, safetext
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report as reporting

display = Display()
ARGUMENT_SPEC = docspec.argument_spec(doc.DOCUMENTATION)
COLORS = {"failed": "red", "needs_input": "bright purple", "manual": "bright purple", "fixed": "green", "would_fix": "cyan", "ok": "green"}


def _host_var(hostvars, task_vars, host, name):
    try:
        value = hostvars[host].get(name)
    except KeyError:
        value = None
    return task_vars.get(name) if value is None else value


def _label(item):
    label = item.get("_ansible_item_label")
    if label is None:
        label = item.get(item.get("ansible_loop_var") or "item")
    if isinstance(label, dict):
        label = label.get("name") or label.get("rule") or label
    return str(label)


def _item_rule(item):
    value = item.get(item.get("ansible_loop_var") or "item")
    return value.get("rule") if isinstance(value, dict) else None


def failed_fix(failure, host_plan):
    """(failure, changes) of the fix task that failed: its real reason (a loop's items say why; the loop itself
    only says "One or more items failed") and what it changed before failing (items that succeeded, and a
    failed result that still changed something)."""
    if not failure:
        return failure, []
    raw = failure.get("result")
    if not isinstance(raw, dict):
        return failure, []
    fixed = [rule for entry in host_plan.get("roles") or [] for rule in entry.get("rules") or []]
    rule = fixed[0] if len(fixed) == 1 else None
    items = raw.get("results") if isinstance(raw.get("results"), list) else None
    if items is None:
        changes = [change_summary(raw, rule)] if raw.get("changed") else []
        return {"task": failure.get("task"), "msg": failure.get("msg")}, changes
    items = [item for item in items if isinstance(item, dict)]
    reasons = ["%s: %s" % (_label(item), item.get("msg") or "failed") for item in items if item.get("failed")]
    changes = [change_summary(item, _item_rule(item) or rule) for item in items if item.get("changed")]
    return {"task": failure.get("task"), "msg": "; ".join(reasons) or failure.get("msg")}, changes


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    @staticmethod
    def _copy_reports(source, directory):
        """The report files of ``source`` (and its host_vars/, the F4 pinning files) into ``directory``."""

        def copy(name):
            with open(os.path.join(source, name)) as handle:
                reporting.atomic_write(os.path.join(directory, name), handle.read())
            return os.path.join(directory, name)

        copied = [copy(n) for n in sorted(os.listdir(source)) if n.startswith("hostnet-report.") and os.path.isfile(os.path.join(source, n))]
        if os.path.isdir(os.path.join(source, "host_vars")):
            os.makedirs(os.path.join(directory, "host_vars"), exist_ok=True)
            for name in sorted(os.listdir(os.path.join(source, "host_vars"))):
                copy(os.path.join("host_vars", name))
            copied.append(os.path.join(directory, "host_vars/"))
        return copied

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        hostvars = task_vars.get("hostvars", {})
        findings = args["audit"].get("findings")
        if not isinstance(findings, list):
            raise AnsibleError("hostnet_remediation: audit has no findings list; pass the registered result of kubeprep.hostnet.hostnet_audit")
        if args["stage"] == "plan":
            settings = {host: {name: _host_var(hostvars, task_vars, host, name) for name in remediation.settings_names()} for host in hosts}
            plan = remediation.plan(findings, hosts, settings, task_vars.get("ansible_run_tags"), task_vars.get("ansible_skip_tags"))
            result.update(changed=False, plan=plan, anything_to_fix=any(entry["roles"] for entry in plan.values()))
            return result
        if args["plan"] is None:
            raise AnsibleError("hostnet_remediation: stage=record needs plan (the result of stage=plan)")
        active = set(task_vars.get("ansible_play_hosts") or [])
        check_mode = bool(self._task.check_mode or self._play_context.check_mode)
        mine = remediation.findings_by_host(findings, hosts)
        outcomes = {}
        for host in hosts:
            try:
                changes = host_changes(hostvars[host])
                failure = hostvars[host].get("__hostnet_fix_failure")
            except KeyError:
                changes, failure = [], None
            failure, partial = failed_fix(failure, args["plan"].get(host) or {})
            outcomes[host] = remediation.outcome_of(args["plan"].get(host) or {}, mine[host], changes + partial, failure, host not in active, check_mode)
        directory = os.path.abspath(args["report_dir"])
        os.makedirs(directory, exist_ok=True)
        if args["reports_from"]:
            copied = self._copy_reports(os.path.abspath(args["reports_from"]), directory)
            display.display("[hostnet remediation] nothing to fix on any host: %s are the after-reports" % ", ".join(copied))
        path = os.path.join(directory, "hostnet-changes.json")
        document = {"check_mode": check_mode, "outcome": remediation.worst(o["outcome"] for o in outcomes.values()), "hosts": outcomes}
        reporting.atomic_write(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
        for host in sorted(outcomes):
            # The summary carries host text (a finding's message, a failed fix's message): shown, never obeyed.
            line = safetext.visible("[hostnet remediation] %s: %s" % (host, outcomes[host]["summary"]))
            display.display(line, color=COLORS[outcomes[host]["outcome"]])
        display.display("[hostnet remediation] changes: %s" % path)
        failing = sorted(h for h, o in outcomes.items() if o["outcome"] == "failed")
        stats = {
            "hostnet_outcomes": {host: data["outcome"] for host, data in sorted(outcomes.items())},
            "hostnet_failing_hosts": failing,
            "hostnet_changes_file": path,
            "hostnet_report_files": (args["audit"].get("report_files") or {}),
        }
        result.update(changed=False, outcomes=outcomes, failing_hosts=failing, changes_file=path, stats=stats)
        # What set_stats would publish (AWX / Automation Platform job artifacts), without a task of its own.
        result["ansible_stats"] = {"data": stats, "per_host": False, "aggregate": False}
        return result
