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
import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_audit as doc
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import docspec, inputs, probeplan, rancherinputs, rules, siterules
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report as reporting

display = Display()

ARGUMENT_SPEC = docspec.argument_spec(doc.DOCUMENTATION)

PROBE_FACTS = (("listen", "hostnet_probe_listen"), ("results", "hostnet_probe_results"))


def _with_probes(hostnet, facts, host, plan):
    """The host's facts with the port probe reports of ``plan``'s run (``port_probes``), when there are any."""
    if not plan or host not in (plan.get("hosts") or {}):
        return hostnet
    tokens = {"listen": plan["hosts"][host].get("listen_token"), "results": plan.get("token")}
    mine = {}
    for key, name in PROBE_FACTS:
        value = facts.get(name)
        if isinstance(value, dict) and tokens[key] and value.get("token") == tokens[key]:
            mine[key] = value
    return dict(hostnet, port_probes=mine)


def _facts_of(hostvars, host, active=None, probe_plan=None):
    if active is not None and host not in active:
        return "the host left the play (unreachable, or a task failed) before this audit; its facts would be stale"
    try:
        facts = hostvars[host].get("ansible_facts", {})
    except KeyError:
        return "not in the inventory"
    hostnet = facts.get("hostnet") if hasattr(facts, "get") else None
    if hostnet is None:
        return "facts were not gathered (host unreachable, or the facts task failed or was skipped)"
    return _with_probes(hostnet, facts, host, probe_plan)


def _short(finding):
    """A finding as the playbooks use it (the report files have the evidence)."""
    short = {k: finding.get(k) for k in ("id", "severity", "host", "message", "fix")}
    if finding.get("hosts"):
        short["hosts"] = finding["hosts"]
    if finding.get("data") is not None:
        short["data"] = finding["data"]
    return short


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def _options(self, settings, task_vars):
        """The engine's options from their declarations: each from ``settings`` (the normalised inputs) by its
        variable, else the play's variable, else its declared default; each checked as the inputs check does."""
        declared = rules.declared_options()
        raw = {}
        for name, option in declared.items():
            if option.var in settings:
                raw[name] = settings[option.var]
            elif option.var in task_vars:
                try:
                    raw[name] = self._templar.template(task_vars[option.var])
                except (AnsibleError, TypeError, ValueError) as exc:
                    raise AnsibleError("hostnet_audit: %s cannot be templated: %s" % (option.var, exc)) from exc
        options = {}
        # Site rules first: their ids are valid in hostnet_skip_rules and hostnet_warn_rules.
        for name in sorted(raw, key=lambda n: n != "site_rules"):
            option = declared[name]
            extra_ids = {e.get("id") for e in options.get("site_rules") or () if isinstance(e, dict)}
            try:
                options[name] = inputs.normalise(option.var, raw[name], inputs.spec_of(option.var), extra_ids)
            except inputs.InputError as exc:
                raise AnsibleError("hostnet_audit: %s" % exc) from exc
        return options

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        options = self._options(args["settings"] or {}, task_vars)
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        hostvars = task_vars.get("hostvars", {})
        active = task_vars.get("ansible_play_hosts")
        active = set(active) if active is not None else None
        facts_by_host = {host: _facts_of(hostvars, host, active, args["port_probes"]) for host in hosts}
        ansible_hosts = {}
        for host in hosts:
            try:
                ansible_hosts[host] = str(hostvars[host].get("ansible_host", host))
            except KeyError:
                continue
        # k3s/rke2's own service-cidr and cluster-cidr, known once the facts are in, where the inputs set none.
        sources = dict(args["input_sources"] or {})
        rancherinputs.fill(options, facts_by_host, sources)
        try:
            outcome = rules.evaluate(
                facts_by_host,
                dict(options, ansible_hosts=ansible_hosts, node_addresses=args["node_addresses"] or {}, port_probes=args["port_probes"]),
            )
        except (RuntimeError, siterules.SiteRuleError) as exc:  # a missing controller-side package, a bad site rule
            raise AnsibleError("hostnet_audit: %s" % exc) from exc
        outcome["input_sources"] = sources
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        report = reporting.build_report(outcome, now, args["fail_on"], reporting.COLLECTION_VERSION)

        try:
            paths = reporting.write_report(report, args["report_dir"]) if args["write_files"] else {}
        except OSError as exc:
            # The inputs check refused what it could foresee; a write can still fail (a full disk): the findings
            # are printed anyway, then the error names the variable and the path.
            for text, color in reporting.console_lines(report, verbose=args["console"] != "summary"):
                display.display(text, color=color)
            raise AnsibleError(
                "hostnet_audit: the report could not be written to hostnet_report_dir=%s (%s): %s; the findings are above"
                % (args["report_dir"], os.path.abspath(args["report_dir"]), exc)
            ) from exc
        paths = {k: ([os.path.abspath(p) for p in v] if isinstance(v, list) else os.path.abspath(v)) for k, v in paths.items()}
        gate = reporting.gate(report, paths.get("markdown"))
        if args["console"] != "none":
            for text, color in reporting.console_lines(report, verbose=args["console"] == "full"):
                display.display(text, color=color)
            if paths:
                display.display("report: %s" % ", ".join(paths[k] for k in ("markdown", "html", "json", "junit")))

        summary = report["summary"]
        plan = args["port_probes"] or {}
        probe_facts = {}
        for host in plan.get("listening") or []:
            try:
                probe_facts[host] = hostvars[host].get("ansible_facts") or {}
            except KeyError:
                continue
        running = probeplan.listeners_running(
            plan,
            {h: f.get(probeplan.LISTEN_FACT) for h, f in probe_facts.items()},
            {h: f.get(probeplan.RESULTS_FACT) for h, f in probe_facts.items()},
        )
        result.update(
            changed=False,
            summary=summary,
            report_files=paths,
            host_status={name: data["status"] for name, data in report["hosts"].items()},
            recommendations=report["recommendations"],
            shared_default_hosts=sorted({h for f in report["fleet"]["findings"] if (f.get("data") or {}).get("pin_node_ip") for h in f.get("hosts") or []}),
            pin_hosts=reporting.pin_reasons(report),
            findings=[_short(f) for data in report["hosts"].values() for f in data["findings"]] + [_short(f) for f in report["fleet"]["findings"]],
            gate=gate,
            listeners_running=running,  # the port probe listeners the audit's last task stops
        )
        if args["publish_stats"]:
            # What set_stats would publish (AWX / Automation Platform job artifacts), without a task of its own.
            result["ansible_stats"] = {
                "data": {"hostnet_summary": summary, "hostnet_failing_hosts": sorted(gate), "hostnet_report_files": paths},
                "per_host": False,
                "aggregate": False,
            }
        if summary["failed"] and args["fail_task"]:
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
