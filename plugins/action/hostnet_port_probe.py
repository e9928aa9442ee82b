# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port probes between nodes: plan (controller), listen, probe, stop (on the host, with its Python).
Documentation: plugins/modules/hostnet_port_probe.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import math
import shlex
import zlib

from ansible import context
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.kubeprep.hostnet.plugins.module_utils import portprobe
from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_port_probe as doc
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import docspec, probeplan

ARGUMENT_SPEC = docspec.argument_spec(doc.DOCUMENTATION)
LISTEN_FACT = "hostnet_probe_listen"
RESULTS_FACT = "hostnet_probe_results"


def _script():
    with open(portprobe.__file__.replace(".pyc", ".py"), "rb") as handle:
        return handle.read()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _SCRIPT = None

    def _interpreter(self, task_vars):
        interp = task_vars.get("ansible_python_interpreter")
        if not interp or str(interp).startswith("auto"):
            interp = (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python") or "/usr/bin/python3"
        return self._templar.template(interp)

    def _on_host(self, request, task_vars):
        """Run portprobe.main(request) with the host's Python; its JSON answer."""
        if ActionModule._SCRIPT is None:
            ActionModule._SCRIPT = _script()
        code = ActionModule._SCRIPT + b"\nmain(json.loads(%r))\n" % json.dumps(request).encode("utf-8")
        packed = base64.b64encode(zlib.compress(code, 9)).decode("ascii")
        bootstrap = "import base64,zlib;exec(zlib.decompress(base64.b64decode('%s')))" % packed
        # The interpreter as Ansible itself uses it (a path, or e.g. "/usr/bin/env python3"): not quoted.
        res = self._low_level_execute_command("%s -c %s" % (self._interpreter(task_vars), shlex.quote(bootstrap)), sudoable=True)
        lines = [line for line in (res.get("stdout") or "").splitlines() if line.strip()]
        try:
            answer = json.loads(lines[-1])
        except (IndexError, ValueError):
            detail = (res.get("stderr") or res.get("stdout") or "").strip()[-600:]
            return {"failed": True, "msg": "the %s step did not answer (rc %s): %s" % (request["step"], res.get("rc"), detail or "no output")}
        return answer

    def _plan(self, args, task_vars):
        hostvars = task_vars.get("hostvars", {})
        hosts = task_vars.get("ansible_play_hosts") or []
        inputs = {h: args["inputs"].get(h) or {} for h in hosts}
        enabled = {h for h in hosts if inputs[h].get("hostnet_probe_ports", args["probe_ports"]) is True}
        facts, ansible_hosts = {}, {}
        for host in enabled:
            host_facts = hostvars[host].get("ansible_facts") or {}
            facts[host] = host_facts.get("hostnet")
            ansible_hosts[host] = str(hostvars[host].get("ansible_host", host))
        cni = {h: inputs[h].get("hostnet_cni") or args["cni"] for h in enabled}
        forks = (getattr(context, "CLIARGS", None) or {}).get("forks") or 5
        try:
            data = probeplan.plan(
                facts,
                enabled,
                args["peers"],
                cni,
                task_vars.get("groups") or {},
                etcd_group=args["etcd_group"] or None,
                node_cidr=args["node_cidr"] or None,
                ansible_hosts=ansible_hosts,
                rounds=int(math.ceil(len(enabled) / float(forks))) if enabled else 1,
            )
        except (RuntimeError, ValueError) as exc:
            raise AnsibleError("hostnet_port_probe: %s" % exc) from exc
        return {
            "changed": False,
            "plan": data,
            "msg": "%d host(s) to probe, each from %d peer(s)" % (len(data["hosts"]), min(args["peers"], max(len(data["hosts"]) - 1, 0))),
        }

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["peers"] < 1:
            raise AnsibleError("hostnet_port_probe: peers must be 1 or more, not %r" % args["peers"])
        if args["step"] == "plan":
            result.update(self._plan(args, task_vars))
            return result
        plan = args["plan"] or {}
        host = task_vars.get("inventory_hostname")
        node = (plan.get("hosts") or {}).get(host)
        if node is None:
            result.update(changed=False, skipped=True, msg="%s is not in the probe plan" % host)
            return result
        facts = task_vars.get("ansible_facts") or {}
        if args["step"] == "listen":
            answer = self._on_host({"step": "listen", "ports": node["ports"], "lifetime": plan["lifetime"]}, task_vars)
            answer["token"] = plan["token"]
            result.update(changed=False, ansible_facts={LISTEN_FACT: answer})
            if answer.get("failed") is True:
                result.update(failed=True, msg=answer["msg"])
            else:
                result["msg"] = "listening on %d port(s), %d in use (left alone), %d could not be bound" % (
                    len(answer["listening"]),
                    len(answer["in_use"]),
                    len(answer["not_bound"]),
                )
        elif args["step"] == "probe":
            hostvars = task_vars.get("hostvars", {})
            listeners = {dest: (hostvars[dest].get("ansible_facts") or {}).get(LISTEN_FACT) for dest in node["probes"]}
            port_targets, df_targets, notes = probeplan.targets(plan, host, listeners)
            answer = {"results": [], "df": [], "seconds": 0.0}
            if port_targets or df_targets:
                answer = self._on_host(
                    {"step": "probe", "source": node["address"], "targets": port_targets, "df": df_targets, "timeout": plan["timeout"]}, task_vars
                )
            answer.update(token=plan["token"], source=host, address=node["address"], notes=notes)
            result.update(changed=False, ansible_facts={RESULTS_FACT: answer})
            if answer.get("failed"):
                result.update(failed=True, msg=answer["msg"])
            else:
                bad = [r for r in answer["results"] if r.get("result") != "open"]
                result["msg"] = "%d probe(s) to %d peer(s) in %.1f s, %d not open" % (len(answer["results"]), len(node["probes"]), answer["seconds"], len(bad))
        else:
            listen = facts.get(LISTEN_FACT) or {}
            if listen.get("token") != plan.get("token") or not listen.get("pid"):
                result.update(changed=False, stopped=True, msg="no listener of this run on %s" % host)
                return result
            answer = self._on_host({"step": "stop", "pid": listen["pid"], "start_time": listen.get("start_time")}, task_vars)
            result.update(changed=False, stopped=bool(answer.get("stopped")), was_running=answer.get("was_running"))
            if answer.get("failed") or not answer.get("stopped"):
                result.update(failed=True, msg=answer.get("msg") or "the listener (pid %s) did not stop" % listen["pid"])
        return result
