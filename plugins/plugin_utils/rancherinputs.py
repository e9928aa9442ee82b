# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Service and Pod CIDRs k3s or rke2 already hold on the hosts (their ``service-cidr`` and ``cluster-cidr``,
the ``rancher_config`` facts), used by the judge where neither the user nor the installer inputs set them.

Unlike kubespray's variables and a kubeadm file (read on the controller before any host is contacted, in
``installer.py``), these are known only after the facts are gathered, so the judge fills them in. A value is
used only when every host whose config sets it agrees, and it is a valid CIDR (IPv4, IPv6, or both separated by
a comma as k3s takes them); hosts that disagree keep the default, and their facts are judged on their own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DEFAULT = "default"
# (variable, engine option, k3s/rke2 key)
PAIRS = (("hostnet_service_ips", "service_cidrs", "service-cidr"), ("hostnet_pod_cidr", "pod_cidr", "cluster-cidr"))


def values_by_host(facts_by_host, key):
    """value -> [(host, distribution, file, line)] for the hosts whose k3s/rke2 config sets ``key`` (read)."""
    found = {}
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        fact = facts.get("rancher_config") if isinstance(facts, dict) else None
        if not isinstance(fact, dict):
            continue
        entry = (fact.get("values") or {}).get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str) or not entry["value"].strip():
            continue  # not set, empty (k3s's default), or unparsed (facts-incomplete names it)
        value = ",".join(part.strip() for part in entry["value"].split(","))
        found.setdefault(value, []).append((host, fact.get("distribution"), entry.get("file"), entry.get("line")))
    return found


def fill(options, facts_by_host, sources):
    """Set ``options`` (the engine's) and ``sources`` (variable -> where from) for each CIDR the inputs left at
    its default and the hosts' k3s/rke2 configs agree on. Returns the variables filled."""
    # inputs imports the rule registry, and a rule imports values_by_host from here: import it when used.
    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs  # pylint: disable=import-outside-toplevel

    filled = []
    for var, name, key in PAIRS:
        if (sources or {}).get(var, DEFAULT) != DEFAULT:
            continue
        found = values_by_host(facts_by_host, key)
        if len(found) != 1:
            continue
        value, where = next(iter(found.items()))
        try:
            options[name] = inputs.normalise(var, [value] if name == "service_cidrs" else value, inputs.spec_of(var))
        except inputs.InputError:
            continue  # not a CIDR: the hosts' configs are judged on their own
        host, distribution, path, line = where[0]
        more = " and %d more host%s agreeing" % (len(where) - 1, "s" if len(where) > 2 else "") if len(where) > 1 else ""
        sources[var] = "%s %s:%s on %s%s" % (distribution, path, line, host, more)
        filled.append(var)
    return filled
