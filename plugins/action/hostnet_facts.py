# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run hostnet_facts and bracket the host's clock with the controller's (rule clock-skew).
Documentation: plugins/modules/hostnet_facts.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        before = time.time()
        result.update(self._execute_module(module_name="kubeprep.hostnet.hostnet_facts", module_args=self._task.args, task_vars=task_vars))
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
        return result
