# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: hostnet_progress
type: aggregate
short_description: One progress line per host while the hostnet audit gathers facts
description:
  - Alongside the normal output, prints a line as each host's C(kubeprep.hostnet.hostnet_facts) call ends, with
    how many hosts are done out of how many, the host, how long its call took, and what it could not read.
  - Useful on large inventories, where the default callback prints nothing until a task ends on a host and
    gives no count.
  - Text from a host (a failed task's message, the files it could not read) is shown with its control
    characters escaped (C(\x1b), C(\n)), so a host cannot write to the terminal.
  - Colour follows Ansible's own settings (C(ANSIBLE_NOCOLOR), C(ANSIBLE_FORCE_COLOR), a terminal or not).
author: kubeprep.hostnet contributors (@kubeprep)
requirements:
  - enable it, for example with C(ANSIBLE_CALLBACKS_ENABLED=kubeprep.hostnet.hostnet_progress)
    (C(make audit) does)
"""

import time

from ansible.plugins.callback import CallbackBase
from ansible.utils.color import stringc

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import safetext

FACTS_ACTIONS = ("kubeprep.hostnet.hostnet_facts", "hostnet_facts")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kubeprep.hostnet.hostnet_progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._total = None
        self._done = 0
        self._started = None
        self._active = False

    def v2_playbook_on_play_start(self, play):
        self._total = None
        try:  # the hosts this play will run on, as the strategy sees them (--limit applied)
            manager = play.get_variable_manager()
            self._total = len(manager._inventory.get_hosts(play.hosts))  # pylint: disable=protected-access
        except Exception:  # a count is a nicety; without it the lines show no total
            self._total = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._active = task.action in FACTS_ACTIONS
        if self._active:
            self._done = 0
            self._started = time.monotonic()

    def _line(self, result, state, color):
        if not self._active:
            return
        self._done += 1
        host = result._host.get_name()  # pylint: disable=protected-access
        data = result._result  # pylint: disable=protected-access
        facts = (data.get("ansible_facts") or {}).get("hostnet") or {}
        detail = state
        if state == "ok":
            problems = facts.get("problems") or []
            detail = "gathered in %.0f ms on the host" % (facts.get("duration_ms") or 0)
            if problems:
                detail += "; could not read: %s" % ", ".join(sorted({p.get("source", "?") for p in problems}))[:200]
                color = "yellow"
        elif data.get("msg"):
            detail += ": %s" % str(data["msg"]).splitlines()[0][:200]
        count = "%d/%d" % (self._done, self._total) if self._total else "%d" % self._done
        elapsed = time.monotonic() - (self._started or time.monotonic())
        self._display.display(stringc(safetext.visible("[hostnet %s, %.1f s] %s: %s" % (count, elapsed, host, detail)), color))

    def v2_runner_on_ok(self, result):
        self._line(result, "ok", "green")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._line(result, "failed", "red")

    def v2_runner_on_unreachable(self, result):
        self._line(result, "unreachable", "red")
