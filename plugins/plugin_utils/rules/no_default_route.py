# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule no-default-route."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._fixes import SERVICE_ROUTE
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, rule

DOC = """\
Severity: warning.

Fault F2, early warning. The host has neither an IPv4 nor an IPv6 default route.

On a cluster with IPv6 (an IPv6 Service or Pod CIDR) each family the cluster uses needs its own default route:
a missing IPv6 default route is a finding even where an IPv4 one exists (and, dual-stack, the other way
round). Where the IPv6 default route came from router advertisements, see also `ipv6-ra-ignored`: with
forwarding on and `accept_ra` below 2 it expires.

## Why it breaks Kubernetes
Every destination without a specific route is unreachable: the Service network (see
`service-network-unroutable`), registries, NTP. It usually means a NIC did not get its DHCP lease.

## Evidence
`ip route` and `ip -6 route` as seen, with no `default` entry.

## Fix
Configure a persistent default route in the host's network manager, or check the DHCP lease of the NIC that
should provide it. If the host deliberately has no default route, make sure a specific route covers the
Service CIDR and skip this rule.
"""


@rule(
    "no-default-route",
    "the host has no default route",
    severities=("warning",),
    fix=SERVICE_ROUTE,
    reads=("routes",),
    doc=DOC,
    fault="no default route (lost DHCP lease)",
    breaks="the above, after a reboot",
)
def check(host, facts, ctx):
    routes = kernel_facts(facts, "routes")
    if not routes or routes.get("status") != "ok":
        return []
    if ctx.ipv6:
        return _per_family(host, routes, ctx)
    if routes.get("default_ipv4") or routes.get("default_ipv6"):
        return []
    table = [("%s dev %s" % (r["dst"], r.get("dev"))) for r in routes.get("ipv4") or []][:10]
    return [
        Finding(
            "no-default-route",
            "warning",
            host,
            "no IPv4 or IPv6 default route",
            ["ip route: %s" % ("; ".join(table) or "no IPv4 routes"), "ip -6 route: no default route"],
            "Without a default route every address not covered by a specific route is unreachable; after a "
            "reboot without a DHCP lease this is how calico-node ends in CrashLoopBackOff with "
            "`dial tcp 10.96.0.1:443: connect: network is unreachable`.",
            "Configure a persistent default route (or a route for the Service CIDR) in the host's network "
            "manager and check the DHCP lease of the NIC that should provide it.",
        )
    ]


def _per_family(host, routes, ctx):
    """A cluster with IPv6: each family of its Service and Pod CIDRs needs a default route of its own."""
    families = sorted({network.version for network in ctx.service_networks + ctx.pod_networks})
    findings = []
    for family in families:
        if routes.get("default_ipv%d" % family) or routes.get("ipv%d_error" % family):
            continue
        cidrs = ", ".join(str(n) for n in ctx.service_networks + ctx.pod_networks if n.version == family)
        table = [("%s dev %s" % (r.get("dst"), r.get("dev"))) for r in routes.get("ipv%d" % family) or []][:10]
        command = "ip route" if family == 4 else "ip -6 route"
        findings.append(
            Finding(
                "no-default-route",
                "warning",
                host,
                "no IPv%d default route on a cluster with IPv%d (%s)" % (family, family, cidrs),
                ["%s: %s" % (command, "; ".join(table) or "no IPv%d routes" % family), "%s: no default route" % command],
                "Without an IPv%d default route every IPv%d address not covered by a specific route is unreachable "
                "(`connect: network is unreachable`): the cluster's IPv%d Services (%s), registries and peers over IPv%d."
                % (family, family, family, cidrs, family),
                "Configure a persistent IPv%d default route in the host's network manager%s."
                % (
                    family,
                    " (or the router advertisements it learns it from: accept_ra=2 where forwarding is on)" if family == 6 else " and check the DHCP lease",
                ),
                manual=None if family == 4 else "the IPv6 default route belongs to the host's network manager or its router advertisements",
            )
        )
    return findings
