# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule nodeport-range-reserved."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.module_utils import localports
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: warning.

The kernel's local port range, `net.ipv4.ip_local_port_range` (the source ports it hands to an outgoing
connection or a bind to port 0), overlaps the NodePort range, `hostnet_service_node_port_range` (kube-apiserver's
`--service-node-port-range`, 30000-32767 by default), and `net.ipv4.ip_local_reserved_ports` does not reserve the
ports they share. Read from the `local_ports` fact (`/proc/sys/net/ipv4/ip_local_port_range` and
`ip_local_reserved_ports` of the running system). Linux's default range, 32768-60999, does not overlap the default
NodePort range; ranges widened for busy clients (1024-65535, 10000-65535) do. A host whose two values could not
be read is not judged (`facts-incomplete` names it).

## Why it breaks Kubernetes
Any outgoing connection on the node (kubelet, the container runtime pulling images, a pod on the host network)
can take a NodePort's number as its source port. While it holds it, whatever must bind that NodePort on the node
fails with `bind: address already in use`: kube-proxy where it holds its NodePorts open, a `hostNetwork` pod or
a load balancer's health-check listener on a NodePort. How often depends on how many connections the node makes:
on a busy node it is a matter of time. kubespray reserves the range in its preinstall for this.

## Evidence
The two sysctls as the kernel prints them, the NodePort range judged, and the NodePorts the kernel may hand out
(those in the local range and not reserved), with their count.

## Fix
Manual: reserve the NodePort range, keeping the ports already reserved, live and at boot:

```sh
sysctl -w net.ipv4.ip_local_reserved_ports=30000-32767
echo 'net.ipv4.ip_local_reserved_ports = 30000-32767' > /etc/sysctl.d/90-nodeport-reserved.conf
```

(the finding prints the exact value, merged with what the host already reserves). Or narrow
`net.ipv4.ip_local_port_range` so it no longer overlaps. No role does it: `ip_local_reserved_ports` is one list
other software on the host sets too (databases, HPC runtimes reserve their own ports), and the `hostnet_sysctl`
role sets single values; merging a site's list at boot is the host owner's call.
"""


def port_range(text):
    """'30000-32767' -> (30000, 32767); None when it does not parse (the inputs check refuses such a value)."""
    try:
        low, high = (int(part) for part in str(text).strip().split("-", 1))
    except ValueError:
        return None
    return (low, high) if 0 < low <= high <= 65535 else None


def uncovered(low, high, reserved):
    """The ports low..high that no [a, b] of ``reserved`` (sorted, merged) covers, as [(a, b)]."""
    gaps, start = [], low
    for first, last in reserved:
        if last < start or first > high:
            continue
        if first > start:
            gaps.append((start, first - 1))
        start = max(start, last + 1)
        if start > high:
            break
    if start <= high:
        gaps.append((start, high))
    return gaps


def text_of(ranges):
    return ",".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in ranges)


@rule(
    "nodeport-range-reserved",
    "the kernel may hand out NodePorts as source ports",
    severities=("warning",),
    fix=Fix(manual="`ip_local_reserved_ports` is one list other software on the host sets too; merging the site's list at boot is the host owner's call"),
    scope="host",
    reads=("local_ports",),
    options=(
        Option(
            "service_node_port_range",
            "hostnet_service_node_port_range",
            "str",
            "The NodePort range (kube-apiserver's --service-node-port-range), as low-high.",
            "30000-32767",
            format="port_range",
        ),
    ),
    doc=DOC,
    fault="`net.ipv4.ip_local_port_range` overlaps the NodePort range and `ip_local_reserved_ports` does not reserve it",
    breaks="an outgoing connection takes a NodePort's number; binding that NodePort fails with EADDRINUSE",
)
def check(host, facts, ctx):
    local = facts.get("local_ports") or {}
    nodeports = port_range(ctx["service_node_port_range"] or "30000-32767")
    if local.get("status") not in ("ok", "partial") or not local.get("port_range") or local.get("reserved") is None or not nodeports:
        return []
    low, high = max(local["port_range"][0], nodeports[0]), min(local["port_range"][1], nodeports[1])
    if low > high:
        return []
    gaps = uncovered(low, high, local["reserved"])
    if not gaps:
        return []
    count = sum(b - a + 1 for a, b in gaps)
    raw = local.get("raw") or {}
    wanted = text_of(localports.merge([list(r) for r in local["reserved"]] + [list(nodeports)]))
    nodeport_text = "%d-%d" % nodeports
    return [
        Finding(
            "nodeport-range-reserved",
            "warning",
            host,
            "the kernel may hand out %d NodePort%s (%s) as source ports: ip_local_port_range %d-%d overlaps the NodePort range %s and "
            "ip_local_reserved_ports does not reserve them"
            % (
                count,
                "" if count == 1 else "s",
                text_of(gaps),
                local["port_range"][0],
                local["port_range"][1],
                nodeport_text,
            ),
            [
                "net.ipv4.ip_local_port_range = %s" % " ".join((raw.get("port_range") or "%d %d" % tuple(local["port_range"])).split()),
                "net.ipv4.ip_local_reserved_ports = %s" % (raw.get("reserved") or "(none)"),
                "NodePort range %s (hostnet_service_node_port_range)" % nodeport_text,
                "NodePorts the kernel may hand out: %s (%d)" % (text_of(gaps), count),
            ],
            "Linux takes the source port of an outgoing connection (and of a bind to port 0) from ip_local_port_range: a connection "
            "on the node can take a NodePort's number, and while it holds it whatever must bind that NodePort on the node (kube-proxy "
            "where it holds its NodePorts open, a hostNetwork pod, a load balancer's health-check listener) fails with `bind: address "
            "already in use`. kubespray reserves the NodePort range for this.",
            "Reserve the NodePort range, keeping what is already reserved: `sysctl -w net.ipv4.ip_local_reserved_ports=%s` and, for the "
            "next boot, `net.ipv4.ip_local_reserved_ports = %s` in /etc/sysctl.d/90-nodeport-reserved.conf (or narrow "
            "net.ipv4.ip_local_port_range so it no longer overlaps %s)." % (wanted, wanted, nodeport_text),
            data={"nodeports_unreserved": [list(g) for g in gaps], "reserved_ports": wanted},
        )
    ]
