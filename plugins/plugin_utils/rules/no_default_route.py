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
