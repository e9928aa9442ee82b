# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule service-network-unroutable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._fixes import SERVICE_ROUTE
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, rule

DOC = """\
Severity: error.

Fault F2. The kernel has no route for the first address of the Service CIDR (default `10.96.0.1`; set
`hostnet_service_ips`, or kubespray's `kube_service_addresses`, for yours).

## What is checked
For each Service IP, a route lookup exactly as a client's `connect()` does it (a UDP connect: route and
source-address selection, no packet sent), plus `ip route get` for the device and gateway.

## Why it breaks Kubernetes
kube-proxy's DNAT for `10.96.0.1` only applies after the routing decision; with no route the connect fails
first. After a reboot without a DHCP lease pods get no IP, CoreDNS is not ready and `calico-node` loops in
CrashLoopBackOff with `dial tcp 10.96.0.1:443: connect: network is unreachable`, while the control plane
looks healthy.

## Evidence in the report
```
route lookup for 10.96.0.1: ENETUNREACH: Network is unreachable
ip route get 10.96.0.1: RTNETLINK answers: Network is unreachable
IPv4 default routes: none
IPv4 routes: 192.168.56.0/24 dev enp0s8
```

## Fix
A route that covers the Service CIDR, made persistent through the host's network manager (NetworkManager,
netplan, systemd-networkd, ifupdown or ifcfg): a default route via the node's gateway, or
`10.96.0.0/12 via <gateway> dev <cluster NIC>`. A route added with `ip route add` alone is lost at the
next reboot, which is how the incident began.
"""


@rule(
    "service-network-unroutable",
    "the kernel has no route to the Kubernetes Service network",
    severities=("error",),
    fix=SERVICE_ROUTE,
    reads=(
        "service_route_lookups",
        "routes",
    ),
    doc=DOC,
    fault="no route to the Service IP (`10.96.0.1`)",
    breaks="calico-node: `dial tcp 10.96.0.1:443: connect: network is unreachable`",
)
def check(host, facts, ctx):
    lookups = kernel_facts(facts, "service_route_lookups")
    if not isinstance(lookups, list):
        return []
    routes = kernel_facts(facts, "routes") or {}
    findings = []
    for lookup in lookups:
        if lookup.get("reachable") is None and lookup.get("error"):
            # Defence in depth: hostnet_inputs refuses such entries before any host is contacted.
            findings.append(
                Finding(
                    "service-network-unroutable",
                    "error",
                    host,
                    "Service IP entry %r could not be checked: %s" % (lookup.get("address"), lookup.get("error")),
                    ["service_ips entry %r: %s" % (lookup.get("address"), lookup.get("error"))],
                    "An entry the audit cannot use must not pass the gate: the route it names was never looked up.",
                    "Set hostnet_service_ips to Service IPs or CIDRs (for example 10.96.0.1 or 10.233.0.0/18).",
                )
            )
            continue
        via_lo = lookup.get("reachable") and lookup.get("dev") == "lo" and lookup.get("type") not in ("local", None)
        if lookup.get("reachable") is not False and not via_lo:
            continue
        if via_lo:
            evidence = ["route lookup for %s: via %s dev lo (packets to it never leave the host)" % (lookup["address"], lookup.get("gateway"))]
        else:
            evidence = ["route lookup for %s: %s" % (lookup["address"], lookup.get("error"))]
        if lookup.get("ip_route_get"):
            evidence.append("ip route get %s: %s" % (lookup["address"], lookup["ip_route_get"]))
        defaults = routes.get("default_ipv4")
        if defaults is not None:
            evidence.append("IPv4 default routes: %s" % (", ".join("via %s dev %s" % (r.get("gateway"), r.get("dev")) for r in defaults) or "none"))
        table = [("%s dev %s" % (r["dst"], r.get("dev"))) for r in routes.get("ipv4") or []][:10]
        evidence.append("IPv4 routes: %s" % ("; ".join(table) or "none"))
        findings.append(
            Finding(
                "service-network-unroutable",
                "error",
                host,
                ("Service IP %s is routed into lo, a black hole" if via_lo else "no route to Service IP %s") % lookup["address"],
                evidence,
                "The routing decision happens before kube-proxy's DNAT can apply, so pods and host-network "
                "components (calico-node, CoreDNS) get `dial tcp %s:443: connect: network is unreachable`." % lookup["address"],
                "Add a persistent route covering the Service CIDR: a default route via the node's gateway, or "
                "`<service CIDR> via <gateway> dev <cluster NIC>`, through the host's network manager "
                "(a route added with `ip route` alone is lost at reboot).",
            )
        )
    return findings
