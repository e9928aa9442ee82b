# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule pod-cidr-overlap."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._net import cidr_overlap
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Fix, rule

DOC = """\
Severity: error, or warning for a route.

The Pod CIDR, `hostnet_pod_cidr` (kubespray's `kube_pods_subnet` by default, else `10.244.0.0/16`), overlaps
something the host uses: an address of the host, a default gateway or a nameserver in
`/etc/resolv.conf` inside it (error), or a route of any table, other than default routes, into it (warning).
Routes through the cluster's own interfaces (`cni0`, `flannel.1`, `cali*`, `tunl0`, `vxlan.calico`,
`cilium_*`, `kube-ipvs0`, ...) and a route for exactly the Pod CIDR (the deliberate one) are not counted.
Deckhouse's preflight (`host-network-cidr-intersection`) and Replicated's embedded cluster check the same
(OpenShift's `non-overlapping-subnets` does not: it compares the host's own interface networks with each
other); users ask for it in eks-anywhere#2086 and k3s#588.

## Why it breaks Kubernetes
The CNI routes the Pod network to pods. Hosts, gateways or nameservers inside it become unreachable from pods (DNS
fails cluster-wide when a nameserver is inside), and an existing route into it competes with the CNI's routes.

## Evidence
Each overlap with the network and where it was seen: `Pod CIDR 10.96.0.0/12: address 10.96.5.5/24 (on eth1)`,
`... route 10.96.0.0/16 (dev nat0 via 10.0.2.2, table main)`, `... nameserver 10.96.0.10 (in /etc/resolv.conf line 2)`.

## Fix
Manual: the Pod CIDR is chosen at install time (kubeadm `--pod-network-cidr`, kubespray `kube_pods_subnet`, the
CNI's IP pool (calico `CALICO_IPV4POOL_CIDR`, flannel `Network`)). Choose one that overlaps nothing the hosts use
and pass
the same value to this audit, or renumber what overlaps. No role changes it.
"""


@rule(
    "pod-cidr-overlap",
    "the Pod network overlaps the host's addresses, routes, gateways or nameservers",
    severities=("error", "warning"),
    fix=Fix(
        manual="the Pod CIDR is fixed at install time (kubeadm --pod-network-cidr, kubespray kube_pods_subnet, the CNI's pool): "
        "choose one that overlaps nothing"
    ),
    reads=(
        "interfaces",
        "routes",
        "resolv_conf",
    ),
    doc=DOC,
    fault="the same for the Pod CIDR (`hostnet_pod_cidr`, `kube_pods_subnet`)",
    breaks="hosts and nameservers inside it unreachable from pods",
)
def check(host, facts, ctx):
    networks = ctx.pod_networks
    return cidr_overlap(
        "pod-cidr-overlap",
        host,
        facts,
        networks,
        "Pod CIDR",
        "The CNI routes the Pod network to pods: hosts, gateways or nameservers inside it become unreachable from pods "
        "(and DNS fails cluster-wide when a nameserver is), and an existing route into it competes with the CNI's routes.",
    )
