# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule forward-blocked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._net import _CLUSTER_DEVICES, _contains, _net
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

The host's firewall drops forwarded traffic from the Pod network (`hostnet_pod_cidr`), judged from the `netfilter`
fact in three places:

- **nftables**: a base chain on the `forward` hook (`nft -j list ruleset`) whose policy is `drop`, with no rule
  that accepts every packet, or every packet from a source network holding the Pod CIDR, without any other
  condition. Tables `ip`, `ip6` and `inet` are judged for the Pod CIDR's family; the `ip filter FORWARD` chain
  iptables-nft writes is judged once, as iptables-nft's.
- **iptables** (IPv4), each backend whose save command is installed (`iptables-nft-save`,
  `iptables-legacy-save`): the filter table's `FORWARD` chain with policy `DROP` and no such `-j ACCEPT`
  (`-s <Pod CIDR> -j ACCEPT`, or an unconditional `-j ACCEPT`).
- **firewalld** active (`firewall-cmd --state`, or a `firewalld` process and firewalld's files when
  `firewall-cmd` is not installed) with neither the Pod CIDR as a source of a trusted zone (`trusted`, or a
  zone whose target is `ACCEPT`), nor the default zone trusted, nor a CNI interface (`cni0`, `flannel.1`,
  `cali*`, ...) in a trusted zone.

Accepts behind a jump (`-j DOCKER-USER`, `jump kube-forward`) are not followed: the jumps are named in the
evidence. A rule accepting only established connections (`ct state established`) or only one interface does not
count: new connections from pods are what is dropped. A chain with policy `accept` whose last rule drops is not
judged, nor ip6tables.

## Why it breaks Kubernetes
Every packet a pod sends off its node is forwarded by the node: from the CNI's interface (`cni0`, `cali*`,
`flannel.1`) to the node's NIC or tunnel. With the FORWARD policy at drop and nothing accepting the Pod network,
pods reach nothing beyond their node: cross-node pod traffic, Services whose endpoints are on other nodes, and
CoreDNS (`dial udp 10.96.0.10:53: i/o timeout`) all time out, while the node itself works. Docker sets the FORWARD
policy to DROP when it starts; firewalld's zones reject forwarded traffic that no zone allows (rke2#863, k3s#3167,
kubernetes#71305, kubernetes#109811).

## Evidence
Each blocking chain with the rule set it came from (`nftables`, `iptables-nft`, `iptables-legacy`), its policy,
its rule count and its accepts and jumps; or firewalld's default zone and its active zones with their
interfaces and sources.

## Fix
Manual, with the exact command per case: `iptables -I FORWARD -s <Pod CIDR> -j ACCEPT` and `iptables -I FORWARD
-d <Pod CIDR> -j ACCEPT` (with `iptables-legacy` for the legacy tables), `nft insert rule <family> <table> <chain>
ip saddr <Pod CIDR> accept` (and `ip daddr`), or `firewall-cmd --permanent --zone=trusted
--add-source=<Pod CIDR>` then `firewall-cmd --reload`; persisted the way the host keeps its firewall
(`/etc/nftables.conf`, `/etc/iptables/rules.v4`, firewalld's permanent configuration). Most CNIs add such accepts
once they run; the audit runs before they do.
"""

_FAMILIES = {"ip": (32,), "ip6": (128,), "inet": (32, 128)}
_TOOLS = {"nft": "iptables-nft", "legacy": "iptables-legacy"}


def _covers(accepts, pod):
    """Whether an accept rule takes every packet from ``pod`` (a _net tuple): no other condition, and no source or
    a source holding the Pod network, no destination."""
    for item in accepts or ():
        if item.get("verdict") != "accept" or item.get("conditions") or item.get("destinations"):
            continue
        sources = [_net(text) for text in item.get("sources") or ()]
        if not sources or any(net is not None and _contains(net, pod) for net in sources):
            return True
    return False


def _jumps(accepts):
    return [str(item.get("target")) for item in accepts or () if item.get("verdict") in ("jump", "goto")]


def _chain_text(source, name, policy, count, accepts):
    text = "%s: chain %s policy %s, %d rule%s" % (source, name, policy, count, "" if count == 1 else "s")
    shown = [item.get("text") for item in accepts or () if item.get("verdict") == "accept"]
    if shown:
        text += "; accepts: " + " | ".join(shown[:4]) + (" | ..." if len(shown) > 4 else "")
    jumps = _jumps(accepts)
    if jumps:
        text += "; jumps to %s (not followed)" % ", ".join(jumps[:6])
    return text


def _blocked_chains(netfilter, pods):
    """[(evidence line, fix commands)] for each FORWARD hook chain that drops the Pod network."""
    found = []
    backends = netfilter.get("iptables") or {}
    iptables_nft_read = False
    for backend in ("nft", "legacy"):
        entry = backends.get(backend) or {}
        forward = entry.get("forward") if entry.get("status") in ("ok", "partial") else None
        if not isinstance(forward, dict):
            continue
        iptables_nft_read = iptables_nft_read or backend == "nft"
        uncovered = [text for text, pod in pods if pod[0] == 32 and not _covers(forward.get("accepts"), pod)]
        if str(forward.get("policy")).lower() != "drop" or not uncovered:
            continue
        tool = _TOOLS[backend]
        evidence = _chain_text("%s-save, table filter" % tool, "FORWARD", "DROP", int(forward.get("rules") or 0), forward.get("accepts"))
        fixes = ["`%s -I FORWARD -s %s -j ACCEPT` and `%s -I FORWARD -d %s -j ACCEPT`" % (tool, text, tool, text) for text in uncovered]
        found.append((evidence, fixes))
    nft = netfilter.get("nftables") or {}
    for chain in nft.get("forward_chains") or () if nft.get("status") in ("ok", "partial") else ():
        family, table, name = chain.get("family"), chain.get("table"), chain.get("chain")
        if iptables_nft_read and (family, table, name) == ("ip", "filter", "FORWARD"):
            continue  # iptables-nft's own chain, judged above from iptables-nft-save
        bits = _FAMILIES.get(family, ())
        uncovered = [(text, pod) for text, pod in pods if pod[0] in bits and not _covers(chain.get("accepts"), pod)]
        if chain.get("policy") != "drop" or not uncovered:
            continue
        label = "%s %s %s" % (family, table, name)
        evidence = _chain_text(
            "nftables (nft list ruleset), hook forward priority %s" % chain.get("priority"), label, "drop", int(chain.get("rules") or 0), chain.get("accepts")
        )
        fixes = []
        for text, pod in uncovered:
            proto = "ip" if pod[0] == 32 else "ip6"
            fixes.append("`nft insert rule %s %s saddr %s accept` and `nft insert rule %s %s daddr %s accept`" % (label, proto, text, label, proto, text))
        found.append((evidence, fixes))
    return found


def _firewalld_blocks(firewalld, pods, interfaces):
    """(evidence lines, fix commands) when firewalld is active and trusts neither the Pod network nor a CNI interface."""
    if not isinstance(firewalld, dict) or firewalld.get("active") is not True:
        return None
    zones = firewalld.get("zones") if isinstance(firewalld.get("zones"), dict) else {}
    trusted = {name for name, zone in zones.items() if name == "trusted" or (isinstance(zone, dict) and str(zone.get("target")).upper() == "ACCEPT")}
    default = firewalld.get("default_zone")
    if default == "trusted" or default in trusted:
        return None
    uncovered = []
    for text, pod in pods:
        sources = [_net(s) for name in trusted for s in (zones[name] or {}).get("sources") or ()]
        if not any(net is not None and _contains(net, pod) for net in sources):
            uncovered.append(text)
    trusted_cni = [i for name in trusted for i in (zones[name] or {}).get("interfaces") or () if _CLUSTER_DEVICES.match(str(i))]
    if not uncovered or trusted_cni:
        return None
    evidence = ["firewalld is active (read with %s); default zone %s" % (firewalld.get("source"), default or "unknown")]
    for name in sorted(zones)[:16]:
        zone = zones[name] or {}
        evidence.append(
            "zone %s%s: interfaces %s; sources %s"
            % (name, " (trusted)" if name in trusted else "", ", ".join(zone.get("interfaces") or ()) or "none", ", ".join(zone.get("sources") or ()) or "none")
        )
    if not zones:
        evidence.append("no active zone holds an interface or a source")
    evidence.append("the Pod network %s is a source of no trusted zone, and no CNI interface is in one" % ", ".join(uncovered))
    cni = [name for name in interfaces if _CLUSTER_DEVICES.match(name)]
    fixes = ["`firewall-cmd --permanent --zone=trusted --add-source=%s`" % text for text in uncovered]
    fixes += ["`firewall-cmd --permanent --zone=trusted --add-interface=%s`" % name for name in cni[:4]]
    fixes.append("`firewall-cmd --reload`")
    return evidence, fixes


_PODS = [None, None, None]  # the last Pod networks judged: (their list, a copy of it, [(text, _net tuple)])


def _pods(networks):
    """[(text, _net tuple)] of the Pod networks (ctx.pod_networks, the same list for every host of a run), made
    once per list (str() of an IPv6 network is slow, and so is its hash)."""
    if _PODS[0] is not networks or _PODS[1] != list(networks):
        pods = [(str(network), _net(str(network))) for network in networks]
        _PODS[:] = [networks, list(networks), [(text, pod) for text, pod in pods if pod is not None]]
    return _PODS[2]


@rule(
    "forward-blocked",
    "the host's firewall drops forwarded traffic from the Pod network",
    severities=("error",),
    fix=Fix(
        manual="a firewall is the operator's policy: which traffic the host forwards is theirs to decide, and a role "
        "writing accepts into rule sets it does not own (or reloading firewalld) could open more than the Pod network"
    ),
    reads=("netfilter", "interfaces"),
    doc=DOC,
    fault="a FORWARD hook chain with policy drop and no accept for the Pod CIDR, or firewalld active without trusting it",
    breaks="pods reach nothing beyond their node (cross-node traffic, Services, DNS time out)",
)
def check(host, facts, ctx):
    netfilter = kernel_facts(facts, "netfilter")
    if not isinstance(netfilter, dict):
        return []
    pods = _pods(ctx.pod_networks)
    if not pods:
        return []
    evidence, fixes = [], []
    for line, commands in _blocked_chains(netfilter, pods):
        evidence.append(line)
        fixes.extend(commands)
    names = [str(i.get("name")) for i in (kernel_facts(facts, "interfaces") or {}).get("list") or () if isinstance(i, dict)]
    firewalld = _firewalld_blocks(netfilter.get("firewalld"), pods, names)
    if firewalld:
        evidence.extend(firewalld[0])
        fixes.extend(firewalld[1])
    if not evidence:
        return []
    pod_text = ", ".join(text for text, _pod in pods)
    where = "firewalld" if firewalld and len(evidence) == len(firewalld[0]) else "a FORWARD chain with policy drop"
    return [
        Finding(
            "forward-blocked",
            "error",
            host,
            "forwarded traffic from the Pod network %s is dropped (%s, no accept for it)" % (pod_text, where),
            evidence,
            "Pods reach nothing beyond their node: every packet a pod sends off the node is forwarded, and this firewall drops it, "
            "so cross-node pod traffic, Services with endpoints elsewhere and DNS (`dial udp 10.96.0.10:53: i/o timeout`) time out.",
            "Accept the Pod network in the firewall by hand, then persist it the way this host keeps its firewall: " + "; ".join(fixes) + ".",
            data={"pod_networks": [text for text, _pod in pods]},
        )
    ]
