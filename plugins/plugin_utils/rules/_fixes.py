# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fix paths two rules share (one role fixes both): declared once here, named by each rule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Fix

# shared-default-address and default-interface-not-cluster: pin the node's interface.
NODE_IP = Fix(
    role="hostnet_node_ip",
    opt_in="hostnet_node_ip_enabled",
    what=(
        "sets `--node-ip=<recommended address>` in `KUBELET_EXTRA_ARGS` (the last assignment, the one the shell uses; "
        "other arguments, quotes and comments kept byte for byte; refused, with the construct and the manual step, "
        "where the shell's meaning cannot be kept exact: that assignment inside an `if`/loop/function or after `&&`, a "
        "value with command substitution, a here-document) and `-iface=<nic>` in `FLANNEL_OPTIONS` when flanneld runs "
        "from the host; nothing restarted. For DaemonSet CNIs use the audit's `host_vars` files."
    ),
)
# service-network-unroutable and no-default-route: a route for the Service network, or the default route.
SERVICE_ROUTE = Fix(
    role="hostnet_service_route",
    inputs=("hostnet_service_route_gateway",),
    what=(
        "with no default route at all (the incident's state) adds the default route via the gateway; otherwise routes "
        "the Service CIDR the audit checked (`hostnet_service_ips`, `kube_service_addresses`); live and persisted, all "
        "or nothing."
    ),
)
