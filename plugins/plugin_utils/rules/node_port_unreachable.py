# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule node-port-unreachable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import probe_results
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error, warning — opt-in: `hostnet_probe_ports=true`.

Between the node addresses the audit recommends, a port a cluster needs does not answer a peer: TCP 6443
(kube-apiserver) and 10250 (kubelet) on every node, TCP 2379-2380 (etcd) on the etcd nodes, and the CNI's
ports (`hostnet_cni`: flannel, canal and cilium UDP 8472; calico UDP 4789 and BGP TCP 179; weave TCP 6783 and
UDP 6783-6784; `unknown` both VXLAN ports). RKE1 probes ports between hosts the same way; users ask for it in
kubeadm#12 and deckhouse#5070.

**How it probes.** With `-e hostnet_probe_ports=true` the audit:

1. starts, in the gather call itself (the facts module, right after it has read the host), a short-lived
   listener (`kubeprep-probe`) on each of the host's ports that **no socket holds** — a port in use is never
   taken (the report names the socket that holds it; a TCP port in use is still probed, against the service
   there; a UDP one cannot be, and is named as not probed) — plus one UDP echo port;
2. plans on the controller: each host's node address (the audit's recommendation, else its default-route
   address) and who probes it — one seeded random permutation of the fleet, each host probed by the
   `hostnet_probe_peers` (default 3) hosts after it, so every host probes and is probed that many times
   (N x 3 probes, not N x N; the same inventory gives the same pairs, so reruns compare);
3. probes from each host's node address, all at once, each probe bounded by 2 s (a host's step takes at most
   about 7 s): a TCP connect, a UDP datagram the listener answers, and a datagram of the node interface's MTU
   with DF set (`mtu-mismatch`), sent to the CNI's UDP port where the listener holds it (else to its echo
   port); then it tells each listener it probed that it is done;
4. a listener that has heard "done" from every peer that probes it exits by itself, only from the node
   addresses of its planned sources (a list the controller signs with the listener's secret key, which never
   travels on a command line); a listener answers only UDP datagrams signed for the address they come from,
   and an answer counts only when it echoes the probe's own nonce; the audit's last task
   (the same task as the gate) stops every other one — also when a step or the judge failed. A listener the
   controller cannot stop (the controller died) exits by itself after 2 minutes plus 10 s per round of forks.

The probes cost one per-host task (step 3) and a controller-side plan. The remediation's second audit judges
the first audit's probes again (no fix changes a firewall) instead of probing twice.

A listener holds a port for the seconds of the probes: a service that tries to start on it just then (a
kubelet crash-looping before `kubeadm init`) fails that attempt and binds at its next restart. Accepted
connections are closed with a reset, so no port is left in `TIME_WAIT`.

The listen, probe and stop steps run the collection's `portprobe` code on the host with the standard library
only (the listener from the facts module, the probe and stop steps with the host's Python, no module payload).
Ports below 1024 (BGP 179) need root: run with `become`, else 179 is reported as not probed.

## Why it breaks Kubernetes
`kubeadm join` stops at `dial tcp <node>:6443: i/o timeout`; `kubectl logs` and `kubectl exec` fail with
`dial tcp <node>:10250: i/o timeout`; etcd members cannot form a quorum; VXLAN between nodes is dropped
without an error, so pods on different nodes cannot talk; calico's BGP sessions stay in `Connect` or `Active`.

## Evidence
Error, on the destination: one line per failed probe — source and its address, destination and its address,
protocol/port and what uses it, and what happened: `refused` (a REJECT rule or a TCP reset: ICMP port
unreachable for UDP), `timeout` (dropped: a DROP rule, a security group, a network ACL), `unreachable` (host or
network unreachable: a reject with ICMP, or no route), with the milliseconds waited. For example
`node1 (10.0.0.11) -> node2 10.0.0.12 tcp/10250 (kubelet): timeout after 2002 ms`. The finding's `data.failures`
has the same as fields (`source`, `destination`, `address`, `proto`, `port`, `service`, `result`).

Warning: a probe that could not be made — a port in use by a UDP service, a port the listener could not bind
(below 1024 without root), a host whose listen or probe step did not run, a host without a node address.

The HTML report draws the probes as a matrix: sources in rows, destinations in columns, each cell the ports open
out of those probed, green when all are open, red when any is refused, timed out or unreachable, orange when
the step did not run or the MTU-sized DF datagram was lost; each port's result on hover.

## Fix
Manual: the firewall that drops or rejects the port is the site's (the host's nftables, iptables or firewalld, a
security group, a network ACL). Open the port between the node addresses where that firewall is managed, for
example `nft add rule inet filter input ip saddr <node network> tcp dport 10250 accept`, or
`firewall-cmd --permanent --add-port=10250/tcp && firewall-cmd --reload`, then audit again with
`-e hostnet_probe_ports=true`.

## Inputs
`hostnet_probe_ports` (false), `hostnet_probe_peers` (3, at least 1), `hostnet_cni` (which CNI ports),
`hostnet_etcd_group` (empty: the inventory's `etcd` group, else `kube_control_plane`; without either no host is
probed on 2379-2380; a name the inventory does not have is an error before any host is contacted),
`hostnet_node_cidr` (which address is the node's).
"""


def _probe_line(source, plan, item):
    node = plan.get(source) or {}
    text = "%s (%s) -> %s %s %s/%s (%s): %s" % (
        source,
        node.get("address"),
        item.get("host"),
        item.get("address"),
        item.get("proto"),
        item.get("port"),
        item.get("service"),
        item.get("result"),
    )
    if item.get("result") == "timeout":
        text += " after %d ms" % (item.get("ms") or 0)
    if item.get("detail"):
        text += " (%s)" % item["detail"]
    if item.get("in_use"):
        text += " [the port is in use on %s: its own service was probed]" % item.get("host")
    return text


_PORT_HOWTO = {
    "refused": "something rejects it (a REJECT rule, or a TCP reset from a firewall)",
    "timeout": "something drops it (a DROP rule, a security group, a network ACL)",
    "unreachable": "the kernel or a router answers host/network unreachable (a reject rule with icmp, or no route)",
}


@rule(
    "node-port-unreachable",
    "a port a cluster needs is not reachable between the node addresses",
    severities=("error", "warning"),
    fix=Fix(
        manual="the firewall that drops or rejects the port (the host's nftables, iptables or firewalld, a security group, a network ACL) "
        "is the site's; open the port between the node addresses where that firewall is managed"
    ),
    scope="fleet",
    reads=("port_probes",),
    doc=DOC,
    fault=(
        "opt-in (`hostnet_probe_ports=true`): TCP 6443, 10250, etcd 2379-2380, the CNI's VXLAN/BGP ports refused, "
        "dropped or unreachable from sampled peers (short-lived listeners, never on a port in use)"
    ),
    breaks="`kubeadm join`: `dial tcp <node>:6443: i/o timeout`; pods on different nodes cannot talk",
)
def check(facts_by_host, ctx):
    plan = ctx.port_probes
    nodes = plan.get("hosts") or {}
    if not nodes and not plan.get("skipped"):
        return []
    failures, notes, findings = {}, {}, []
    for source in sorted(nodes):
        results, why = probe_results(facts_by_host.get(source))
        if results is None:
            notes.setdefault(source, []).append("%s: its probes of %s did not run: %s" % (source, ", ".join(nodes[source].get("probes") or []), why))
            continue
        for item in results.get("results") or []:
            if item.get("result") != "open":
                failures.setdefault(item.get("host"), []).append((source, item))
        for note in results.get("notes") or []:
            what = "%s/%s" % (note.get("proto"), note.get("port")) if note.get("port") else "every port"
            notes.setdefault(note.get("host"), []).append("%s -> %s %s: %s" % (source, note.get("host"), what, note.get("note")))
    for dest in sorted(failures):
        items = failures[dest]
        if dest not in facts_by_host:
            continue
        ports = sorted({"%s/%s" % (item["proto"], item["port"]) for _s, item in items})
        kinds = sorted({item["result"] for _s, item in items})
        findings.append(
            Finding(
                "node-port-unreachable",
                "error",
                dest,
                "%s on %s not reachable from %s (%s)" % (", ".join(ports), dest, ", ".join(sorted({s for s, _i in items})), ", ".join(kinds)),
                [_probe_line(source, nodes, item) for source, item in items] + ["%s: %s" % (kind, _PORT_HOWTO[kind]) for kind in kinds if kind in _PORT_HOWTO],
                "Each node must accept these ports from the others: `kubeadm join` stops at `dial tcp %s:6443: i/o timeout`, "
                "`kubectl logs/exec` fail with `dial tcp %s:10250: i/o timeout`, etcd members cannot form a quorum, "
                "VXLAN between nodes drops silently (pods on different nodes cannot talk), calico's BGP sessions stay in "
                "Connect or Active (kubeadm#12, deckhouse#5070)." % (nodes.get(dest, {}).get("address"), nodes.get(dest, {}).get("address")),
                "Open %s on %s for the node addresses, where its firewall is managed: nftables `nft add rule inet filter input "
                "ip saddr <node network> %s accept`, firewalld `firewall-cmd --permanent %s && firewall-cmd --reload`, or the "
                "cloud's security group / network ACL; then audit again with hostnet_probe_ports=true."
                % (
                    ", ".join(ports),
                    dest,
                    " ".join("%s dport %s" % tuple(p.split("/")) for p in ports[:1]),
                    " ".join("--add-port=%s/%s" % (p.split("/")[1], p.split("/")[0]) for p in ports),
                ),
                data={
                    "failures": [
                        {
                            "source": source,
                            "destination": dest,
                            "address": item.get("address"),
                            "proto": item.get("proto"),
                            "port": item.get("port"),
                            "service": item.get("service"),
                            "result": item.get("result"),
                            "detail": item.get("detail"),
                        }
                        for source, item in items
                    ]
                },
            )
        )
    for host, reason in sorted((plan.get("skipped") or {}).items()):
        if host in facts_by_host:
            notes.setdefault(host, []).append("%s: not probed: %s" % (host, reason))
    for host in sorted(notes):
        if host not in facts_by_host:
            continue
        findings.append(
            Finding(
                "node-port-unreachable",
                "warning",
                host,
                "%d port probe(s) involving %s could not be made" % (len(notes[host]), host),
                notes[host],
                "A port that was not probed is not known to be open: the audit cannot say whether the cluster's traffic passes.",
                "Free the port or run the probes with become (ports below 1024 need root); where a port is in use by a UDP "
                "service, check it with that service. Then audit again with hostnet_probe_ports=true.",
            )
        )
    return findings


@check.report("probes")
def probe_overview(facts_by_host, ctx):
    """The probe matrix the HTML draws: per planned source -> destination pair, ports probed and open, the
    failed ones, the ports not probed, the DF result; and each host's listener."""
    plan = ctx.port_probes
    nodes = plan.get("hosts") or {}
    matrix = []
    for source in sorted(nodes):
        results, _why = probe_results(facts_by_host.get(source))
        ran, results = results is not None, results or {}
        counts, failed = {}, {}
        for item in results.get("results") or []:  # ~36 a host: no list allocated per item
            dest = item.get("host")
            tally = counts.get(dest)
            if tally is None:
                tally = counts[dest] = [0, 0]
            tally[0] += 1
            if item.get("result") == "open":
                tally[1] += 1
            else:
                failed.setdefault(dest, []).append(
                    {"proto": item.get("proto"), "port": item.get("port"), "service": item.get("service"), "result": item.get("result")}
                )
        df = {item.get("host"): item.get("result") for item in results.get("df") or []}
        skipped = {}
        for note in results.get("notes") or []:
            skipped[note.get("host")] = skipped.get(note.get("host"), 0) + 1
        for dest in nodes[source].get("probes") or []:
            probed, opened = counts.get(dest, (0, 0))
            matrix.append(
                {
                    "source": source,
                    "destination": dest,
                    "ran": ran,
                    "probed": probed,
                    "open": opened,
                    "failed": failed.get(dest, []),
                    "not_probed": skipped.get(dest, 0),
                    "df": df.get(dest),
                }
            )
    listeners = {}
    for host in sorted(nodes):
        listen = (facts_by_host.get(host) or {}).get("port_probes", {}).get("listen") or {}
        listeners[host] = {
            "listening": ["%s/%s" % (i["proto"], i["port"]) for i in listen.get("listening") or []],
            "in_use": ["%s/%s (%s)" % (i["proto"], i["port"], i.get("holder")) for i in listen.get("in_use") or []],
            "not_bound": ["%s/%s: %s" % (i["proto"], i["port"], i.get("error")) for i in listen.get("not_bound") or []],
        }
    return {"enabled": bool(nodes), "peers": plan.get("peers"), "hosts": sorted(nodes), "matrix": matrix, "listeners": listeners}
