# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check every hostnet_* input before any host is contacted. Documentation: plugins/modules/hostnet_inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs, installer


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    @staticmethod
    def _user_names(hostvars, host):
        try:
            return [name for name in hostvars[host].keys() if name.startswith("hostnet_") or name in inputs.KUBESPRAY_INPUTS]
        except KeyError:
            return []

    def _installer_vars(self, task_vars, hostvars, host, names):
        """The variables ``names`` set for ``host`` (inventory, -e; the current host's play vars too), templated."""
        found = {}
        for name in names:
            try:
                value = hostvars[host].get(name)
            except KeyError:
                value = None
            if value is None and host == task_vars.get("inventory_hostname") and name in task_vars:
                try:
                    value = self._templar.template(task_vars[name])
                except (AnsibleError, TypeError, ValueError):
                    value = None  # not the installer's value: the audit goes on without it
            if value is not None:
                found[name] = value
        return found

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
        # The kubeadm file named in a play var (an embedding playbook's) is read too: this host's view has it.
        kubeadm_play = (normalised.get(current) or {}).get(installer.KUBEADM_VAR)
        normalised = {host: {k: v for k, v in mine.items() if k in user_set[host]} for host, mine in normalised.items()}
        sources, node_addresses = {}, {}
        if not errors:
            kvars = {host: self._installer_vars(task_vars, hostvars, host, installer.KUBESPRAY_VARS) for host in normalised}
            addresses = {host: self._installer_vars(task_vars, hostvars, host, installer.NODE_ADDRESS_VARS) for host in normalised}
            # hostnet_* play vars (an embedding playbook's) are the user's too: what differs from the audit role's defaults.
            defaults = installer.audit_defaults()
            play_set = {name for name in task_vars if name.startswith("hostnet_") and name in defaults and task_vars[name] != defaults[name]}
            if kubeadm_play and installer.KUBEADM_VAR in play_set:
                for mine in normalised.values():
                    mine.setdefault(installer.KUBEADM_VAR, kubeadm_play)
            errors = installer.apply(normalised, kvars, addresses, sources, node_addresses, task_vars.get("playbook_dir"), play_set)
        if errors:
            result.update(
                failed=True,
                changed=False,
                errors=errors,
                msg="hostnet: %d input(s) cannot be used; no host was contacted:\n  %s" % (len(errors), "\n  ".join(errors)),
            )
            return result
        result.update(changed=False, hosts=normalised, sources=sources, node_addresses=node_addresses)
        return result
