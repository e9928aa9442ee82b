# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers over one host's facts that several rules share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.kubeprep.hostnet.plugins.module_utils import hostsfile
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip

_NOT_GATHERED = ("not_applicable", "unavailable")  # a tuple: a hostile status may be unhashable


def kernel_facts(facts, key):
    """The kernel fact group, or None when it does not apply (image root) or failed."""
    value = facts.get(key)
    if value.__class__ is dict or isinstance(value, dict):  # the exact class first: called ~25 times a host
        return None if value.get("status") in _NOT_GATHERED else value
    return value if isinstance(value, list) else None


def sysctl_value(facts, key):
    entry = (kernel_facts(facts, "sysctl") or {}).get(key) or {}
    return entry.get("value") if entry.get("status") == "ok" else None


def interface(facts, name):
    for iface in (kernel_facts(facts, "interfaces") or {}).get("list") or []:
        if iface.get("name") == name:
            return iface
    return None


def loopback_state(facts):
    """(IPv4 usable, IPv6 usable): which loopback families a client can really use (loopback_evidence says why)."""
    sysctl = kernel_facts(facts, "sysctl") or {}

    def value(key):
        entry = sysctl.get(key) or {}
        return entry.get("value") if entry.get("status") == "ok" else None

    lo_v6_off = value("net.ipv6.conf.lo.disable_ipv6") == "1"
    lo = interface(facts, "lo")
    if lo is None:
        return True, not (lo_v6_off or value("net.ipv6.conf.all.disable_ipv6") == "1")
    addrs = [a.get("address") or "" for a in lo.get("addresses") or []]
    return any(a.startswith("127.") for a in addrs), "::1" in addrs and not lo_v6_off


def loopback_evidence(facts):
    """The disable_ipv6 sysctls and lo's addresses: the evidence of loopback_state (built for a finding only)."""
    evidence = []
    for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6", "net.ipv6.conf.lo.disable_ipv6"):
        value = sysctl_value(facts, key)
        if value is not None:
            evidence.append("%s = %s" % (key, value))
    lo = interface(facts, "lo")
    if lo is not None:
        evidence.append("lo addresses: %s" % (", ".join(a.get("address") or "" for a in lo.get("addresses") or []) or "none"))
    return evidence


def hosts_lines(facts, name):
    lines = []
    for entry in (facts.get("hosts_file") or {}).get("entries") or []:
        if name in (n.lower() for n in entry["names"]):
            lines.append("/etc/hosts:%d: %s" % (entry["line"], entry["raw"].strip()))
    return lines


def resolution_evidence(facts):
    res = kernel_facts(facts, "localhost_resolution")
    if not res:
        return []
    if res.get("status") == "timeout":
        return ['getaddrinfo("localhost") had not returned after %s ms (timed out)' % res.get("duration_ms")]
    if res.get("status") != "ok":
        return ['getaddrinfo("localhost") failed after %s ms: %s' % (res.get("duration_ms"), res.get("error"))]
    parts = []
    for entry in res.get("addresses") or []:
        state = "connect ok" if entry.get("usable") else "connect fails: %s" % entry.get("error")
        parts.append("%s (%s)" % (entry["address"], state))
    return ['getaddrinfo("localhost") -> %s in %s ms' % (", ".join(parts) or "nothing", res.get("duration_ms"))]


def loopback_answers(facts):
    """Whether the live lookup of localhost gave a loopback address a client can connect to."""
    res = kernel_facts(facts, "localhost_resolution") or {}
    return any(a.get("usable") and is_loopback(a["address"]) for a in res.get("addresses") or [])


_LOOPBACK = {}  # address text -> is_loopback: the same few addresses (127.0.0.1, ::1, nameservers) on every host


def is_loopback(address):
    try:
        return _LOOPBACK[address]
    except (KeyError, TypeError):
        pass
    try:
        found = hostsfile.is_loopback(ipaddress.ip_address(address.split("%")[0]))
    except ValueError:
        found = False
    if isinstance(address, str):  # only text is remembered
        if len(_LOOPBACK) >= 4096:
            _LOOPBACK.clear()
        _LOOPBACK[address] = found
    return found


def node_interface(host, facts, ctx):
    """The interface the node's cluster traffic uses: the audit's recommendation, else the default route's."""
    rec = ctx.recommendations.get(host)
    if rec:
        return rec["interface"]
    return nodeip.default_interface(facts)[0]


def probe_results(facts):
    """(a host's port probe results of this run, None) when its probe step ran, else (None, why not)."""
    results = ((facts or {}).get("port_probes") or {}).get("results")
    if not isinstance(results, dict):
        return None, "the step did not run (the host failed or was unreachable)"
    if results.get("failed") is True:
        return None, results.get("msg")
    return results, None


def pin_fix(recommendations, hosts):
    parts = []
    for host in hosts:
        rec = recommendations.get(host)
        if rec:
            parts.append("%s: %s %s" % (host, rec["interface"], rec["address"]))
    if not parts:
        return "Pin each node's cluster interface (set hostnet_node_cidr to let the audit recommend one)."
    return (
        "Pin the cluster interface on each node (%s): kubelet --node-ip, flannel --iface, calico "
        "IP_AUTODETECTION_METHOD=interface=<nic> (kubespray: ip/access_ip/flannel_interface/calico_ip_auto_method). "
        "The report directory has a host_vars file per host with these values." % "; ".join(parts)
    )


FLEET_EVIDENCE = 20  # hosts a fleet-comparing finding lists before it counts the rest


def fleet_evidence(line, hosts, host, odd, limit=FLEET_EVIDENCE):
    """Evidence of a finding that compares one host with the fleet (``line(name)``: a host's line; ``hosts``: every
    host compared): every host's line in a fleet of at most ``limit``; beyond, this host's, the other odd hosts'
    (``limit`` in all) and a count of the rest, so each finding stays bounded and the report linear in hosts (every
    host's value is in the report's overview). Lines are formatted only for the hosts shown."""
    if len(hosts) <= limit:
        return [line(name) for name in sorted(hosts)]
    shown = [host] + [name for name in sorted(odd) if name != host][: limit - 1]
    rest = len(hosts) - len(shown)
    return [line(name) for name in shown] + ["and %d more hosts (every host's value is in the report's overview)" % rest]
