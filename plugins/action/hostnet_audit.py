# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side audit: judge every play host's hostnet facts, print and write the report.

Runs once (``run_once: true``) for the whole play and never connects to a
host: the facts are already in hostvars. Documentation is in
plugins/modules/hostnet_audit.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from netaddr import AddrFormatError, IPNetwork

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report as reporting
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

display = Display()

ARGUMENT_SPEC = dict(
    hosts=dict(type="list", elements="str"),
    report_dir=dict(type="path", default="./hostnet-report"),
    fail_on=dict(type="str", default="error", choices=list(reporting.FAIL_ON)),
    skip_rules=dict(type="list", elements="str", default=[]),
    resolver_max_seconds=dict(type="float", default=rules.DEFAULT_OPTIONS["resolver_max_seconds"]),
    console=dict(type="str", default="full", choices=["full", "summary", "none"]),
    node_cidr=dict(type="str"),
    cluster_nodes=dict(type="int"),
    requests_per_node=dict(type="int", default=rules.DEFAULT_OPTIONS["requests_per_node"]),
    liveness_initial_delay=dict(type="int", default=rules.DEFAULT_OPTIONS["liveness_initial_delay"]),
    liveness_period=dict(type="int", default=rules.DEFAULT_OPTIONS["liveness_period"]),
    liveness_failure_threshold=dict(type="int", default=rules.DEFAULT_OPTIONS["liveness_failure_threshold"]),
    probe_margin=dict(type="float", default=rules.DEFAULT_OPTIONS["probe_margin"]),
    write_files=dict(type="bool", default=True),
)


def _facts_of(hostvars, host):
    try:
        facts = hostvars[host].get("ansible_facts", {})
    except KeyError:
        return "not in the inventory"
    hostnet = facts.get("hostnet") if hasattr(facts, "get") else None
    if hostnet is None:
        return "facts were not gathered (host unreachable, or the facts task failed or was skipped)"
    return hostnet


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        unknown = sorted(set(args["skip_rules"]) - set(rules.all_rules()))
        if unknown:
            raise AnsibleError("hostnet_audit: unknown rule id(s) in skip_rules: %s (known: %s)" % (", ".join(unknown), ", ".join(rules.all_rules())))
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        hostvars = task_vars.get("hostvars", {})
        facts_by_host = {host: _facts_of(hostvars, host) for host in hosts}

        if args["node_cidr"]:
            try:
                IPNetwork(args["node_cidr"])
            except (AddrFormatError, ValueError) as exc:
                raise AnsibleError("hostnet_audit: node_cidr %r is not a CIDR: %s" % (args["node_cidr"], exc)) from exc
        ansible_hosts = {}
        for host in hosts:
            try:
                ansible_hosts[host] = str(hostvars[host].get("ansible_host", host))
            except KeyError:
                continue
        outcome = rules.evaluate(
            facts_by_host,
            {
                "skip_rules": args["skip_rules"],
                "resolver_max_seconds": args["resolver_max_seconds"],
                "node_cidr": args["node_cidr"],
                "ansible_hosts": ansible_hosts,
                "cluster_nodes": args["cluster_nodes"],
                "requests_per_node": args["requests_per_node"],
                "liveness_initial_delay": args["liveness_initial_delay"],
                "liveness_period": args["liveness_period"],
                "liveness_failure_threshold": args["liveness_failure_threshold"],
                "probe_margin": args["probe_margin"],
            },
        )
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        report = reporting.build_report(outcome, now, args["fail_on"], reporting.COLLECTION_VERSION)

        if args["console"] != "none":
            for text, color in reporting.console_lines(report, verbose=args["console"] == "full"):
                display.display(text, color=color)
        paths = reporting.write_report(report, args["report_dir"]) if args["write_files"] else {}

        summary = report["summary"]
        result.update(
            changed=False,
            summary=summary,
            report_files=paths,
            host_status={name: data["status"] for name, data in report["hosts"].items()},
            recommendations=report["recommendations"],
            shared_default_hosts=sorted({h for f in report["fleet"]["findings"] if f["id"] == "shared-default-address" for h in f.get("hosts") or []}),
            findings=[{k: f[k] for k in ("id", "severity", "host", "message")} for data in report["hosts"].values() for f in data["findings"]]
            + [{k: f.get(k) for k in ("id", "severity", "host", "message")} for f in report["fleet"]["findings"]],
        )
        if summary["failed"]:
            result["failed"] = True
            result["msg"] = "hostnet audit found %d error(s) and %d warning(s); failing (fail_on=%s) on: %s" % (
                summary["errors"],
                summary["warnings"],
                args["fail_on"],
                ", ".join(summary["failing_hosts"]),
            )
        else:
            result["msg"] = "hostnet audit: %d host(s), %d error(s), %d warning(s)" % (
                summary["hosts"],
                summary["errors"],
                summary["warnings"],
            )
        return result
