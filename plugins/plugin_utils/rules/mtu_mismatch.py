# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule mtu-mismatch."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import fleet_evidence, interface, node_interface, probe_results
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: warning.

The node interfaces (the interface the audit recommends for the node address, else the default route's)
do not all have the same MTU: each host whose MTU differs from the one most hosts have is named. OpenShift's
assisted installer checks MTUs (`mtu-valid`); users hit it in ceph-medic#7.

With the port probes on (`-e hostnet_probe_ports=true`, see [node-port-unreachable](node-port-unreachable.md)),
each host also sends every peer it probes a UDP datagram of its node interface's MTU with DF (don't fragment)
set, after a small one: when the small one is answered and the full-size one is not (or the kernel refuses it,
having learnt a smaller path MTU), the path between them is smaller than the link MTU, even where every link
MTU is the same. That finding is on the destination and names each sender and the size.

## Why it breaks Kubernetes
The CNI sizes its overlay (VXLAN, IP-in-IP) from one MTU. A packet sized for the larger MTU is dropped on
its way to or from the smaller host without any error returned (a path-MTU black hole): TCP handshakes
succeed, then connections hang; large DNS answers, image pulls and kubectl exec stall on that node only.

## Evidence
Every host's node interface and MTU: `node1: eth1 mtu 1500`, `node2: eth1 mtu 1400`. With the probes:
`node1 (10.0.0.11, eth1 mtu 1500) -> node2 10.0.0.12: a 1500-byte datagram with DF set gets no answer; a small
one is answered`. The HTML report lists every node interface's MTU, the unusual ones shaded.

## Fix
Manual: the MTU belongs to the network. Set the same MTU on every node interface where its network
manager configures it (netplan `mtu:`, NetworkManager `802-3-ethernet.mtu`, ifupdown `mtu`, networkd
`MTUBytes=`), then set the CNI's MTU to it less the overlay's header (VXLAN 50 bytes, IP-in-IP 20). For a smaller path,
find the hop (`tracepath <peer>` from a sender) and raise its MTU, or use the path's MTU everywhere.
"""


@rule(
    "mtu-mismatch",
    "the node interfaces' MTUs differ across the fleet, or (with port probes) an MTU-sized DF packet does not reach a peer",
    severities=("warning",),
    fix=Fix(manual="an MTU is the network's, set where the network manager configures the interface on every host alike; no role guesses it"),
    scope="fleet",
    reads=(
        "interfaces",
        "routes",
        "port_probes",
    ),
    doc=DOC,
    fault="the node interfaces' MTUs differ across the fleet, or (with the port probes) an MTU-sized DF packet does not reach a peer",
    breaks="overlay packets silently dropped (PMTU black hole)",
)
def check(facts_by_host, ctx):
    return _mtu_facts_findings(facts_by_host, ctx) + _df_findings(facts_by_host, ctx)


def node_mtus(facts_by_host, ctx):
    """host -> (node interface, its MTU) where both are known."""
    mtus = {}
    for host in sorted(facts_by_host):
        name = node_interface(host, facts_by_host[host], ctx)
        iface = interface(facts_by_host[host], name) if name else None
        if iface and isinstance(iface.get("mtu"), int):
            mtus[host] = (name, iface["mtu"])
    return mtus


def common_mtu(mtus):
    """The fleet's usual MTU: the most frequent, the larger on a tie (None when all agree or none is known).
    The findings and the reports' MTU table both come from it."""
    values = sorted({mtu for _name, mtu in mtus.values()})
    if len(values) < 2:
        return None
    return max(values, key=lambda v: (sum(1 for _n, m in mtus.values() if m == v), v))


@check.report("mtu")
def mtu_overview(facts_by_host, ctx):
    """host -> its node interface and MTU, the fleet's usual MTU, and whether this host's differs (a finding)."""
    mtus = node_mtus(facts_by_host, ctx)
    common = common_mtu(mtus)
    return {host: {"interface": name, "mtu": mtu, "common": common, "odd": common is not None and mtu != common} for host, (name, mtu) in mtus.items()}


def _mtu_facts_findings(facts_by_host, ctx):
    mtus = node_mtus(facts_by_host, ctx)
    common = common_mtu(mtus)
    if common is None:
        return []

    def line(name):
        return "%s: %s mtu %d" % ((name,) + mtus[name])

    odd = {host for host, (_name, mtu) in mtus.items() if mtu != common}
    findings = []
    for host, (name, mtu) in sorted(mtus.items()):
        if host not in odd:
            continue
        evidence = fleet_evidence(line, mtus, host, odd)
        findings.append(
            Finding(
                "mtu-mismatch",
                "warning",
                host,
                "%s has mtu %d, most node interfaces of the fleet %d" % (name, mtu, common),
                evidence,
                "The CNI sizes its overlay (VXLAN, IP-in-IP) from one MTU: a packet sized for the larger MTU is dropped on "
                "the way to or from this host, without an error (a PMTU black hole): connections hang after the handshake, "
                "large DNS answers and image pulls stall (ceph-medic#7).",
                "Give every node interface of the cluster network the same MTU, where its network manager configures it, "
                "and set the CNI's MTU to it less the overlay's header (VXLAN 50 bytes, IP-in-IP 20).",
                data={"interface": name, "mtu": mtu, "common": common},
            )
        )
    return findings


def _df_failures(facts_by_host, ctx):
    """destination -> [(source, DF result)] of the probes whose MTU-sized DF datagram did not arrive."""
    failed = {}
    for source, facts in sorted(facts_by_host.items()):
        for item in (probe_results(facts)[0] or {}).get("df") or []:
            if item.get("result") in ("lost", "too_big"):
                failed.setdefault(item.get("host"), []).append((source, item))
    return failed


def _df_findings(facts_by_host, ctx):
    plan = ctx.port_probes.get("hosts") or {}
    findings = []
    for dest, items in sorted(_df_failures(facts_by_host, ctx).items()):
        if dest not in facts_by_host:
            continue
        evidence = []
        for source, item in items:
            node = plan.get(source) or {}
            evidence.append(
                "%s (%s, %s mtu %s) -> %s %s: a %d-byte datagram with DF set %s; a small one is answered%s"
                % (
                    source,
                    node.get("address"),
                    node.get("interface"),
                    node.get("mtu"),
                    dest,
                    item.get("address"),
                    item.get("size") or 0,
                    "is refused by the kernel (message too long)" if item["result"] == "too_big" else "gets no answer",
                    " (%s)" % item["detail"] if item.get("detail") else "",
                )
            )
        findings.append(
            Finding(
                "mtu-mismatch",
                "warning",
                dest,
                "packets of the senders' interface MTU with DF set do not reach %s from %s: the path MTU is smaller than the link MTU"
                % (dest, ", ".join(source for source, _item in items)),
                evidence,
                "The CNI sizes its overlay from the link MTU; where the path is smaller, full-size packets vanish (a PMTU "
                "black hole when ICMP 'fragmentation needed' is filtered): connections hang after the handshake, large DNS "
                "answers and image pulls stall (ceph-medic#7).",
                "Find the hop with the smaller MTU (`tracepath %s` from a sender) and raise it, or give every node interface "
                "and the CNI the path's MTU (less the overlay header: VXLAN 50 bytes, IP-in-IP 20)." % (items[0][1].get("address") or dest),
                data={"probe": "df", "sources": [source for source, _item in items], "size": items[0][1].get("size")},
            )
        )
    return findings
