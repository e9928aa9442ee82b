# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run hostnet_facts and bracket the host's clock with the controller's (rule clock-skew); with
``port_probe_listen``, the module also starts the host's port probe listener (rule node-port-unreachable).
Documentation: plugins/modules/hostnet_facts.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        listen = args.pop("port_probe_listen", None)
        probeplan = request = None
        if isinstance(listen, dict):
            # Imported only for the probes: each host's worker process imports the action plugin afresh, and
            # probeplan's imports (netaddr among them) cost ~40 ms of controller CPU a host.
            from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import probeplan  # pylint: disable=import-outside-toplevel

            # The module listens on this host's ports right after gathering (no task or process start more).
            request = probeplan.listen_request(task_vars, listen.get("cni"), listen.get("etcd_group"))
            # The secret travels as an option of its own, kept out of logs (no_log); the request is stamped on the report.
            args["port_probe_key"] = request["key"]
            args["port_probe_listen"] = {k: v for k, v in request.items() if k != "key"}
        before = time.time()
        result.update(self._execute_module(module_name="kubeprep.hostnet.hostnet_facts", module_args=args, task_vars=task_vars))
        after = time.time()
        facts = (result.get("ansible_facts") or {}).get("hostnet")
        clock = facts.get("clock") if isinstance(facts, dict) else None
        if isinstance(clock, dict) and isinstance(clock.get("host_epoch"), (int, float)):
            # The host read its clock between `before` and `after` (controller time): the offset lies in
            # [host - after, host - before]; it is reported as the middle, with half the window as its uncertainty.
            clock.update(
                controller_before=round(before, 3),
                controller_after=round(after, 3),
                offset_s=round(clock["host_epoch"] - (before + after) / 2.0, 3),
                uncertainty_s=round((after - before) / 2.0, 3),
            )
        if probeplan is not None:
            report = (result.get("ansible_facts") or {}).get(probeplan.LISTEN_FACT)
            if isinstance(report, dict):
                probeplan.stamp_listener(report, request, facts)
        return result
