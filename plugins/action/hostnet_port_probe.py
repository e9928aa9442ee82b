# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port probes between nodes: plan (controller), listen, probe, stop (on the host, with its Python).
Documentation: plugins/modules/hostnet_port_probe.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_port_probe as doc
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import docspec, probeplan

ARGUMENT_SPEC = docspec.argument_spec(doc.DOCUMENTATION)


def _fresh_listener(host_facts):
    """The host's listener report when it was started with the facts the host has now and still runs."""
    listen = host_facts.get(probeplan.LISTEN_FACT)
    epoch = ((host_facts.get("hostnet") or {}).get("clock") or {}).get("host_epoch")
    if not isinstance(listen, dict) or listen.get("stopped") or listen.get("facts_epoch") != epoch:
        return None
    return listen


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _plan(self, args, task_vars):
        if args["reuse"]:
            # A second audit in the same play (the remediation's after-audit) judges the probes of the first:
            # no fix changes a firewall, and its listeners are gone.
            return {"changed": False, "plan": dict(args["reuse"], listening=[], reused=True), "msg": "the probes of the first audit are reused"}
        hostvars = task_vars.get("hostvars", {})
        facts, listeners, ansible_hosts = {}, {}, {}
        for host in task_vars.get("ansible_play_hosts") or []:
            host_facts = hostvars[host].get("ansible_facts") or {}
            listen = _fresh_listener(host_facts)
            if listen is None:
                continue  # probes off for this host (or no listener of this gather)
            listeners[host] = listen
            facts[host] = host_facts.get("hostnet")
            ansible_hosts[host] = str(hostvars[host].get("ansible_host", host))
        try:
            data = probeplan.plan(facts, listeners, args["peers"], node_cidr=args["node_cidr"] or None, ansible_hosts=ansible_hosts)
        except (RuntimeError, ValueError) as exc:
            # Never fail here: the listeners must still be stopped, and the report says why nothing was probed.
            data = {
                "token": None,
                "hosts": {},
                "skipped": dict.fromkeys(listeners, "the probes could not be planned: %s" % exc),
                "listening": sorted(listeners),
            }
            data.update(peers=args["peers"], timeout=probeplan.TIMEOUT)
        count = len(data["hosts"])
        return {"changed": False, "plan": data, "msg": "%d host(s) to probe, each from %d peer(s)" % (count, min(args["peers"], max(count - 1, 0)))}

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["peers"] < 1:
            raise AnsibleError("hostnet_port_probe: peers must be 1 or more, not %r" % args["peers"])
        step = args["step"]
        if step == "plan":
            result.update(self._plan(args, task_vars))
            return result
        host = task_vars.get("inventory_hostname")
        facts = task_vars.get("ansible_facts") or {}
        if step == "listen":
            answer = probeplan.start_listener(self, task_vars, args["cni"], args["etcd_group"], args["lifetime"])
            result.update(changed=False, ansible_facts={probeplan.LISTEN_FACT: answer})
            if answer.get("failed") is True:
                result.update(failed=True, msg=answer["msg"])
            else:
                result["msg"] = "listening on %d port(s), %d in use (left alone), %d could not be bound" % (
                    len(answer["listening"]),
                    len(answer["in_use"]),
                    len(answer["not_bound"]),
                )
            return result
        plan = args["plan"] or {}
        if step == "probe":
            node = (plan.get("hosts") or {}).get(host)
            if node is None or plan.get("reused"):
                why = "the probes of the first audit are judged again" if plan.get("reused") else "%s is not in the probe plan" % host
                result.update(changed=False, skipped=True, msg=why)
                return result
            hostvars = task_vars.get("hostvars", {})
            listeners = {dest: (hostvars[dest].get("ansible_facts") or {}).get(probeplan.LISTEN_FACT) for dest in node["probes"]}
            port_targets, df_targets, notes, done = probeplan.targets(plan, host, listeners)
            answer = {"results": [], "df": [], "seconds": 0.0, "done": []}
            if port_targets or df_targets or done:
                request = {"step": "probe", "source": node["address"], "targets": port_targets, "df": df_targets, "timeout": plan["timeout"], "done": done}
                answer = probeplan.on_host(self, request, task_vars)
            answer.update(token=plan["token"], source=host, address=node["address"], notes=notes)
            result.update(changed=False, ansible_facts={probeplan.RESULTS_FACT: answer})
            if answer.get("failed") is True:
                result.update(failed=True, msg=answer["msg"])
            else:
                bad = [r for r in answer["results"] if r.get("result") != "open"]
                result["msg"] = "%d probe(s) to %d peer(s) in %.1f s, %d not open" % (len(answer["results"]), len(node["probes"]), answer["seconds"], len(bad))
            return result
        listen = facts.get(probeplan.LISTEN_FACT) or {}
        result["changed"] = False  # a gate-only run returns what ansible.builtin.fail would: changed, failed, msg
        if listen.get("pid") and not listen.get("stopped"):
            answer = probeplan.on_host(self, {"step": "stop", "pid": listen["pid"], "start_time": listen.get("start_time")}, task_vars)
            stopped = bool(answer.get("stopped"))
            result.update(stopped=stopped, was_running=answer.get("was_running"))
            result["ansible_facts"] = {probeplan.LISTEN_FACT: dict(listen, stopped=stopped)}
            if answer.get("failed") is True or not stopped:
                result.update(failed=True, msg=answer.get("msg") or "the listener (pid %s) did not stop" % listen["pid"])
                return result
        if args["fail_msg"]:
            result.update(failed=True, msg=args["fail_msg"])  # the audit's gate: this host does not pass
        else:
            result["msg"] = "the listener is stopped" if listen.get("pid") else "no listener on %s" % host
        return result
