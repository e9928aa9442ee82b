# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule shared-default-address."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import pin_fix
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._fixes import NODE_IP
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, rule

DOC = """\
Severity: error where a host of the group is not pinned elsewhere; info where every host pins kubelet's --node-ip to another address.

Fault F4. Two or more hosts have the same address on their default-route interface: the Vagrant/VirtualBox
NAT NIC (`eth0` = `10.0.2.15` on every VM), cloned VMs, or hosts behind identical NAT segments.

## What is checked
For every host, the IPv4 addresses on the interface of its preferred default route; hosts are grouped by
address in one pass (O(hosts)). Every host and interface involved is named. Only a fleet comparison can see
this: each host alone looks healthy.

## Why it breaks Kubernetes
flanneld (`Using 10.0.2.15 as external interface`), calico's `first-found` autodetection and kubelet's node IP
all take the default-route interface, so every node advertises the same address, which on each node is the
node itself: kube-proxy logs `Dial failed: dial tcp 10.0.2.15:6443: connection refused`, the dashboard and
cross-node pod traffic fail.

## Evidence
```
node1: default route via 10.0.2.2 dev eth0, eth0 has 10.0.2.15
node2: default route via 10.0.2.2 dev eth0, eth0 has 10.0.2.15
```

## Fix
Pin the cluster interface on every node. The audit recommends one per host (the interface whose subnet holds
the other hosts' unique addresses, or the one inside `hostnet_node_cidr`) and writes
`<report dir>/host_vars/<host>.yml` with `ip`, `access_ip`, `flannel_interface`, `calico_ip_auto_method`
(kubespray), `kubelet_node_ip`; the report JSON has the same under `recommendations` with calico
(`IP_AUTODETECTION_METHOD=interface=eth1`), flannel (`--iface=eth1`), kubelet (`--node-ip=...`) and RKE
(`address`, `internal_address`) forms. The opt-in role `kubeprep.hostnet.hostnet_node_ip` persists kubelet's
`--node-ip` and flannel's `-iface` where they run from the host.
"""


@rule(
    "shared-default-address",
    "the address on the default-route interface is the same on several hosts",
    severities=("error", "info"),
    fix=NODE_IP,
    scope="fleet",
    reads=(
        "interfaces",
        "routes",
        "node_pinning",
    ),
    doc=DOC,
    fault="every node's default-route NIC has the same address (Vagrant `10.0.2.15`)",
    breaks="kube-proxy: `dial tcp 10.0.2.15:6443: connection refused`",
)
def check(facts_by_host, ctx):
    groups = {}
    for host in sorted(facts_by_host):
        for name, address in nodeip.default_addresses(facts_by_host[host]):
            groups.setdefault(address, []).append((host, name))
    recommendations = ctx.recommendations
    findings = []
    for address, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        hosts = [host for host, _iface in members]
        evidence = []
        unpinned = []
        for host, name in members:
            _dev, gateway = nodeip.default_interface(facts_by_host[host])
            evidence.append("%s: default route via %s dev %s, %s has %s" % (host, gateway, name, name, address))
            pinned = nodeip.pinned_address(facts_by_host[host])
            if pinned and pinned != address:
                evidence.append("%s: kubelet pinned with --node-ip=%s" % (host, pinned))
            else:
                unpinned.append(host)
        message = "%d hosts have %s on their default-route interface" % (len(hosts), address)
        if not unpinned:
            message += "; all pin kubelet's --node-ip elsewhere (check that the CNI is pinned too)"
        elif len(unpinned) < len(hosts):
            message += "; not pinned: %s" % ", ".join(unpinned)
        findings.append(
            Finding(
                "shared-default-address",
                "error" if unpinned else "info",
                None,
                message,
                evidence,
                "flannel, calico (first-found) and kubelet pick the default-route interface, so every node advertises %s, "
                "an address the others cannot reach: `Dial failed: dial tcp %s:6443: connection refused`, flanneld "
                "`Using %s as external interface`." % (address, address, address),
                pin_fix(recommendations, hosts),
                hosts=hosts,
                # The report writes a host_vars file per host with the interface to pin.
                data={"pin_node_ip": hosts},
            )
        )
    return findings
