# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule service-cidr-overlap."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._net import cidr_overlap
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Fix, rule

DOC = """\
Severity: error, or warning for a route.

The Service CIDR, `hostnet_service_ips` (its CIDR items; kubespray's `kube_service_addresses` by default; the
default `10.96.0.1` is judged as kubeadm's `10.96.0.0/12`), overlaps something the host uses: an address of the
host, a default gateway or a nameserver in
`/etc/resolv.conf` inside it (error), or a route of any table, other than default routes, into it (warning).
Routes through the cluster's own interfaces (`cni0`, `flannel.1`, `cali*`, `tunl0`, `vxlan.calico`,
`cilium_*`, `kube-ipvs0`, ...) and a route for exactly the Service CIDR (the deliberate one) are not counted.
Deckhouse's preflight (`host-network-cidr-intersection`) and Replicated's embedded cluster check the same
(OpenShift's `non-overlapping-subnets` does not: it compares the host's own interface networks with each
other); users ask for it in eks-anywhere#2086 and k3s#588.

## Why it breaks Kubernetes
kube-proxy DNATs every Service IP. The host's own address, its gateway or a nameserver inside the Service network
becomes unreachable from pods and from the host itself (its traffic is rewritten to Service endpoints or dropped),
and a host route into part of it sends Service traffic out of the wrong interface: the route lookup happens before
kube-proxy's rules matter (the same mechanism as fault F2).

## Evidence
Each overlap with the network and where it was seen: `Service CIDR 10.96.0.0/12: address 10.96.5.5/24 (on eth1)`,
`... route 10.96.0.0/16 (dev nat0 via 10.0.2.2, table main)`, `... nameserver 10.96.0.10 (in /etc/resolv.conf line 2)`.

## Fix
Manual: the Service CIDR is chosen at install time (kubeadm `--service-cidr` / `networking.serviceSubnet`, kubespray
`kube_service_addresses`, RKE `services.kube-api.service_cluster_ip_range`). Choose one that overlaps nothing the
hosts use and pass
the same value to this audit, or renumber what overlaps. No role changes it.
"""


@rule(
    "service-cidr-overlap",
    "the Service network overlaps the host's addresses, routes, gateways or nameservers",
    severities=("error", "warning"),
    fix=Fix(manual="the Service CIDR is fixed at install time (kubeadm --service-cidr, kubespray kube_service_addresses): choose one that overlaps nothing"),
    reads=(
        "interfaces",
        "routes",
        "resolv_conf",
    ),
    doc=DOC,
    fault="an address, gateway or nameserver of the host inside the Service CIDR (error), a route into it (warning)",
    breaks="Service traffic leaves through the wrong interface; the host's own peers unreachable",
)
def check(host, facts, ctx):
    return cidr_overlap(
        "service-cidr-overlap",
        host,
        facts,
        ctx.service_networks,
        "Service CIDR",
        "kube-proxy DNATs every Service IP; the host's own address, gateway or nameserver inside the Service network "
        "becomes unreachable from pods and from the host, and a host route into it sends Service traffic out of the wrong "
        "interface before kube-proxy's rules apply.",
    )
