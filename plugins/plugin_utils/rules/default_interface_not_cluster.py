# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule default-interface-not-cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import pin_fix
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._fixes import NODE_IP
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, rule

DOC = """\
Severity: warning.

Fault F4, per host. The host's default route is on one interface, but another interface is the one that reaches
the other inventory hosts (or the one inside `hostnet_node_cidr`, or the one holding the node address kubespray's
inventory gives as `ip` / `access_ip`).

## Why it breaks Kubernetes
Whatever autodetects the node address (flannel, calico `first-found`, kubelet) takes the default-route
interface, so the node advertises an address the other nodes may not reach.

## Evidence
```
default route via 10.0.2.2 dev nat0
eth1 10.213.1.11, subnet 10.213.1.0/24: reaches 2 other host(s)
```

## Fix
Pin the recommended interface (see `shared-default-address` for the forms and the host_vars file), or set
`hostnet_node_cidr` to the node network so the audit checks against it.
"""


@rule(
    "default-interface-not-cluster",
    "the default-route interface is not the one that reaches the other nodes",
    severities=("warning",),
    fix=NODE_IP,
    scope="fleet",
    reads=(
        "interfaces",
        "routes",
        "node_pinning",
    ),
    doc=DOC,
    fault="the default route is not on the NIC that reaches the other nodes",
    breaks="nodes advertise an unreachable address",
)
def check(facts_by_host, ctx):
    findings = []
    cidr = ctx.get("node_cidr")
    for host in sorted(facts_by_host):
        rec = ctx.recommendations.get(host)
        dev, gateway = nodeip.default_interface(facts_by_host[host])
        if rec is None or dev is None or rec["interface"] == dev or nodeip.pinned_address(facts_by_host[host]) == rec["address"]:
            continue
        if cidr:
            reason = "inside hostnet_node_cidr %s" % cidr
        elif rec.get("node_address"):
            reason = "holds the node address the inventory gives (ip)"
        else:
            reason = "reaches %d other host(s)" % rec["reaches_hosts"]
        findings.append(
            Finding(
                "default-interface-not-cluster",
                "warning",
                host,
                "default route is on %s, but %s (%s) %s" % (dev, rec["interface"], rec["address"], reason),
                [
                    "default route via %s dev %s" % (gateway, dev),
                    "%s %s, subnet %s: %s" % (rec["interface"], rec["address"], rec["cidr"], reason),
                ],
                "Components that autodetect the node address (flannel, calico first-found, kubelet) take the default-route "
                "interface, so this node would advertise an address on %s." % dev,
                pin_fix(ctx.recommendations, [host]),
                data={"pin_node_ip": [host]},
            )
        )
    return findings
