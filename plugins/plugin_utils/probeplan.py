# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ports each node must accept from its peers, and who probes whom (rule node-port-unreachable).

The ports are the rule's: its registry entry (rules.py) points here. Each host
listens on its own ports; each host is probed from ``peers`` others picked by
one random permutation of the fleet (seeded by the host names, so a rerun on
the same inventory probes the same pairs): in the permutation, a host is
probed by the ``peers`` hosts after it, so every host probes and is probed
``peers`` times. N x peers probes, not N x N.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import uuid
import zlib

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip

# (protocol, port, what uses it)
NODE_PORTS = (("tcp", 6443, "kube-apiserver"), ("tcp", 10250, "kubelet"))
ETCD_PORTS = (("tcp", 2379, "etcd clients"), ("tcp", 2380, "etcd peers"))
CNI_PORTS = {
    "flannel": (("udp", 8472, "flannel VXLAN"),),
    "canal": (("udp", 8472, "canal (flannel) VXLAN"),),
    "cilium": (("udp", 8472, "cilium VXLAN"),),
    "calico": (("udp", 4789, "calico VXLAN"), ("tcp", 179, "calico BGP")),
    "weave": (("tcp", 6783, "weave control"), ("udp", 6783, "weave data"), ("udp", 6784, "weave data")),
    "unknown": (("udp", 8472, "VXLAN (flannel, canal, cilium)"), ("udp", 4789, "VXLAN (calico)")),
    "other": (),
}
ETCD_GROUPS = ("etcd", "kube_control_plane")
TIMEOUT = 2.0  # seconds, each probe (all of a host's probes run at once)
# A listener lives this long at most (it is stopped at the end of the audit; this bounds a controller that died).
BASE_LIFETIME = 120.0
PER_ROUND = 10.0


def etcd_hosts(groups, group=None):
    """(group used, its hosts): ``group`` when given, else the first of etcd, kube_control_plane the inventory has."""
    names = [group] if group else list(ETCD_GROUPS)
    for name in names:
        members = (groups or {}).get(name)
        if members:
            return name, set(members)
    return (group or None), set()


def ports_for(host, cni, etcd_members):
    ports = list(NODE_PORTS)
    if host in etcd_members:
        ports.extend(ETCD_PORTS)
    ports.extend(CNI_PORTS.get(cni or "unknown", CNI_PORTS["unknown"]))
    return [{"proto": proto, "port": port, "service": service} for proto, port, service in ports]


def pairs(hosts, peers):
    """destination -> [sources]: a seeded permutation, each host probed by the ``peers`` hosts after it."""
    order = sorted(hosts)
    if len(order) < 2 or peers < 1:
        return {host: [] for host in order}
    rng = random.Random(zlib.crc32("\0".join(order).encode("utf-8")))
    rng.shuffle(order)
    count = min(peers, len(order) - 1)
    return {host: [order[(i + k) % len(order)] for k in range(1, count + 1)] for i, host in enumerate(order)}


def plan(facts_by_host, enabled_hosts, peers, cni_by_host, groups, etcd_group=None, node_cidr=None, ansible_hosts=None, rounds=1):
    """The whole probe run: per host its node address, the ports it listens on and the peers it probes.

    ``facts_by_host``: host -> hostnet facts (hosts without facts are left out and named in ``skipped``).
    ``rounds``: how many batches of forks the play needs (bounds the listeners' lifetime).
    """
    valid = {h: f for h, f in facts_by_host.items() if h in enabled_hosts and isinstance(f, dict) and "schema_version" in f}
    skipped = {h: "no facts (the host was unreachable or its facts task failed)" for h in enabled_hosts if h not in valid}
    recommendations = nodeip.recommend(valid, node_cidr, ansible_hosts) if valid else {}
    group, members = etcd_hosts(groups, etcd_group)
    nodes = {}
    for host in sorted(valid):
        rec = recommendations.get(host)
        if rec:
            name, address = rec["interface"], rec["address"]
        else:
            name = nodeip.default_interface(valid[host])[0]
            address = next((a for n, a in nodeip.default_addresses(valid[host]) if n == name), None)
        if not address:
            skipped[host] = "no node address (no interface reaches the other hosts, and no default route)"
            continue
        mtu = None
        for iface in (valid[host].get("interfaces") or {}).get("list") or []:
            if iface.get("name") == name:
                mtu = iface.get("mtu")
        nodes[host] = {"address": address, "interface": name, "mtu": mtu, "ports": ports_for(host, cni_by_host.get(host), members)}
    if len(nodes) == 1:  # nothing to probe it from: it does not listen either
        (alone,) = nodes
        skipped[alone] = "no other host with probes on to probe it from (the probes need at least two hosts)"
        nodes = {}
    sources = pairs(nodes, peers)
    for host, node in nodes.items():
        node["probed_by"] = sources[host]
        node["probes"] = sorted(dest for dest, srcs in sources.items() if host in srcs)
    return {
        "token": uuid.uuid4().hex,
        "hosts": nodes,
        "skipped": skipped,
        "peers": peers,
        "etcd_group": group,
        "etcd_hosts": sorted(members & set(nodes)),
        "timeout": TIMEOUT,
        "lifetime": BASE_LIFETIME + PER_ROUND * max(rounds, 1),
    }


def targets(plan_data, source, listeners):
    """What ``source`` probes: (port targets, DF targets, notes) given each destination's listener report."""
    node = plan_data["hosts"][source]
    port_targets, df_targets, notes = [], [], []
    for dest in node["probes"]:
        peer = plan_data["hosts"][dest]
        listen = listeners.get(dest)
        if not isinstance(listen, dict) or listen.get("token") != plan_data["token"] or listen.get("failed") is True:
            notes.append({"host": dest, "note": "no listener report from %s (its listen step did not run or failed)" % dest})
            continue
        state = {}
        for key in ("listening", "in_use", "not_bound"):
            for item in listen.get(key) or []:
                state[(item["proto"], int(item["port"]))] = (key, item)
        for item in peer["ports"]:
            key, detail = state.get((item["proto"], item["port"]), ("not_bound", {"error": "not in the listener's report"}))
            if key == "not_bound" or (key == "in_use" and item["proto"] == "udp"):
                why = "in use by %s (no echo to wait for)" % detail.get("holder") if key == "in_use" else detail.get("error")
                notes.append({"host": dest, "proto": item["proto"], "port": item["port"], "note": "not probed: %s" % why})
                continue
            port_targets.append(dict(item, host=dest, address=peer["address"], in_use=key == "in_use"))
        if listen.get("echo_port") and node.get("mtu"):
            df_targets.append({"host": dest, "address": peer["address"], "port": listen["echo_port"], "size": node["mtu"]})
    return port_targets, df_targets, notes
