# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network arithmetic the overlap rules share (integers over inet_pton: the rules run for every address of 10,000 hosts)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
import struct

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.factmemo import per_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts as _kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding

_CLUSTER_DEVICES = re.compile(r"^(cni\d*|flannel[.\d]*|cali.*|tunl\d+|vxlan[.-]calico|cilium_.*|lxc.*|weave|vethwe.*|kube-ipvs0|kube-bridge|docker\d+|cbr0)$")


_IPV4 = struct.Struct("!I")
_inet_pton, _AF_INET, _AF_INET6 = socket.inet_pton, socket.AF_INET, socket.AF_INET6
_CLUSTER_NAMES = {}  # device name -> whether _CLUSTER_DEVICES matches it (names recur on every host)


def _cluster_device(name):
    found = _CLUSTER_NAMES.get(name)
    if found is None:
        if len(_CLUSTER_NAMES) > 4096:
            _CLUSTER_NAMES.clear()
        found = _CLUSTER_NAMES[name] = bool(_CLUSTER_DEVICES.match(name))
    return found


_PARSED = {}  # text -> _net(text): the same addresses (NAT, gateways, nameservers) recur on many hosts
_PARSED_MAX = 8192


def _net(text):
    """'a.b.c.d[/n]' -> (version, int, prefix) using inet_pton (the rules run for every address of 10,000 hosts)."""
    if not isinstance(text, str):  # only text is remembered (a list is not hashable)
        return _parse(text)
    found = _PARSED.get(text, _PARSED)  # not try/except: most of 10,000 hosts' addresses are unique (a miss)
    if found is not _PARSED:
        return found
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    found = _PARSED[text] = _parse(text)
    return found


def _parse(text):
    address, _sep, length = (text if text.__class__ is str else str(text)).partition("/")
    if "%" in address:
        address = address.split("%")[0]
    try:
        if ":" in address:
            value, bits = int.from_bytes(_inet_pton(_AF_INET6, address), "big"), 128
        else:
            value, bits = _IPV4.unpack(_inet_pton(_AF_INET, address))[0], 32
        prefix = int(length) if length else bits
    except (OSError, ValueError, TypeError):
        return None
    if not 0 <= prefix <= bits:
        return None
    return (bits, value >> (bits - prefix) << (bits - prefix) if prefix else 0, prefix)


def _contains(network, net):
    """Whether net (version, value, prefix) lies inside network (same shape)."""
    bits, value, prefix = network
    return net[0] == bits and net[2] >= prefix and net[1] >> (bits - prefix) == value >> (bits - prefix) if prefix else net[0] == bits


def _overlap(network, net):
    bits = network[0]
    if net[0] != bits:
        return False
    shortest = min(network[2], net[2])
    return not shortest or network[1] >> (bits - shortest) == net[1] >> (bits - shortest)


_NETWORKS = {}  # id(network) -> (network, its _net tuple): str() of an IPv6 network is slow, and so is its hash


def _network_net(network):
    """_net(str(network)) for an ipaddress network (immutable; the options' few, judged for every host)."""
    entry = _NETWORKS.get(id(network))
    if entry is not None and entry[0] is network:  # the entry keeps the network alive: its id is not reused
        return entry[1]
    if len(_NETWORKS) > 256:
        _NETWORKS.clear()
    found = _net(str(network))
    _NETWORKS[id(network)] = (network, found)
    return found


@per_facts
def _things(facts):
    """What of the host a network may hold, in the order findings list it: (kind, parsed, ...) for each global
    address, default gateway, nameserver and route (parsed once per judgement, judged against each network of
    both overlap rules)."""
    things = []
    for iface in (_kernel_facts(facts, "interfaces") or {}).get("list") or []:
        if _cluster_device(iface.get("name") or ""):
            continue  # cni0's 10.244.0.1 is the cluster's own (an audit of a running node)
        for addr in iface.get("addresses") or []:
            if addr.get("scope") in ("host", "link"):
                continue
            net = _net(addr.get("address"))
            if net:
                things.append(("address", net, addr, iface))
    routes = _kernel_facts(facts, "routes") or {}
    for route in (routes.get("default_ipv4") or []) + (routes.get("default_ipv6") or []):
        net = _net(route.get("gateway") or "")
        if net:
            things.append(("gateway", net, route, None))
    for server in (facts.get("resolv_conf") or {}).get("nameservers") or []:
        net = _net(server.get("address") or "")
        if net:
            things.append(("nameserver", net, server, None))
    for route in (routes.get("ipv4") or []) + (routes.get("ipv6") or []) + (routes.get("other_tables_ipv4") or []):
        if route.get("default") or route.get("type") not in (None, "unicast") or route.get("protocol") == "kernel":
            continue  # a kernel route is the subnet of an address, already judged above
        if _cluster_device(route.get("dev") or ""):
            continue
        net = _net(route.get("dst") or "")
        if net:
            things.append(("route", net, route, None))
    return tuple(things)


def _overlaps(facts, network, things=None):
    """(severity, what, where) for each thing of the host inside/overlapping ``network`` (an ipaddress network).
    ``things``: _things(facts), when the caller judges several networks."""
    target = _network_net(network)
    bits, shift = target[0], target[0] - target[2]
    top = target[1] >> shift
    found = []
    for kind, net, item, iface in _things(facts) if things is None else things:
        if net[0] != bits:
            continue  # the other family: neither inside nor overlapping
        if kind == "route":
            if not _overlap(target, net) or net == target:
                continue  # a route for exactly this network is the deliberate one (the F2 fix routes the Service CIDR)
            where = "dev %s%s, table %s" % (item.get("dev"), " via %s" % item["gateway"] if item.get("gateway") else "", item.get("table") or "main")
            found.append(("warning", "route %s" % item.get("dst"), where))
        elif net[2] >= target[2] and net[1] >> shift == top:  # _contains, inlined (10,000 hosts x things x networks)
            if kind == "address":
                found.append(("error", "address %s" % item.get("cidr", item.get("address")), "on %s" % iface.get("name")))
            elif kind == "gateway":
                found.append(("error", "default gateway %s" % item.get("gateway"), "dev %s" % item.get("dev")))
            else:
                found.append(("error", "nameserver %s" % item["address"], "in /etc/resolv.conf line %s" % item.get("line")))
    return found


def cidr_overlap(rule_id, host, facts, networks, label, why):
    findings = []
    things = _things(facts) if networks else []
    for network in networks:
        found = _overlaps(facts, network, things)
        if not found:
            continue
        severity = "error" if any(level == "error" for level, _w, _h in found) else "warning"
        first = next(item for item in found if item[0] == severity)
        findings.append(
            Finding(
                rule_id,
                severity,
                host,
                "the %s %s overlaps %s (%s)" % (label, network, first[1], first[2]),
                ["%s %s: %s (%s)" % (label, network, what, where) for _level, what, where in found],
                why,
                "Choose a %s that overlaps nothing the hosts use (addresses, routes, gateways, nameservers) before the install, "
                "and pass it to the installer and this audit; or renumber what overlaps." % label,
                data={"network": str(network), "overlaps": [{"severity": lvl, "what": w, "where": h} for lvl, w, h in found]},
            )
        )
    return findings
