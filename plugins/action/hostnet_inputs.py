# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check every hostnet_* input before any host is contacted. Documentation: plugins/modules/hostnet_inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    @staticmethod
    def _user_names(hostvars, host):
        try:
            return [name for name in hostvars[host].keys() if name.startswith("hostnet_") or name in inputs.KUBESPRAY_INPUTS]
        except KeyError:
            return []

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        hostvars = task_vars.get("hostvars", {})
        user_set = {host: self._user_names(hostvars, host) for host in task_vars.get("ansible_play_hosts_all") or []}
        values = {host: {name: hostvars[host].get(name) for name in names} for host, names in user_set.items()}
        # This host's own view adds play and role vars (embedding playbooks pass them there), templated.
        current = task_vars.get("inventory_hostname")
        if current in values:
            for name, raw in task_vars.items():
                if (name.startswith("hostnet_") or name in inputs.KUBESPRAY_INPUTS) and name not in values[current]:
                    try:
                        values[current][name] = self._templar.template(raw)
                    except (AnsibleError, TypeError, ValueError) as exc:
                        values[current].setdefault("__errors", []).append("%s: cannot be templated: %s" % (name, exc))
        template_errors = [e for mine in values.values() for e in mine.pop("__errors", [])]
        normalised, errors = inputs.validate(values, groups=task_vars.get("groups") or {})
        errors = template_errors + errors
        normalised = {host: {k: v for k, v in mine.items() if k in user_set[host]} for host, mine in normalised.items()}
        if errors:
            result.update(
                failed=True,
                changed=False,
                errors=errors,
                msg="hostnet: %d input(s) cannot be used; no host was contacted:\n  %s" % (len(errors), "\n  ".join(errors)),
            )
            return result
        result.update(changed=False, hosts=normalised)
        return result
