# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule rp-filter-strict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import interface, sysctl_value
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error for calico and canal, warning when the CNI is unknown.

Strict reverse-path filtering: the effective `rp_filter` of a node interface is `1`. The kernel uses the larger
of `net.ipv4.conf.all.rp_filter` and the interface's own value; interfaces made later (the CNI's `cali*`,
`tunl0`, `vxlan.calico`) start from `net.ipv4.conf.default.rp_filter`. The node interfaces are the default-route
interface and the one the audit recommends for the node address. `hostnet_cni` says which CNI the cluster will
run (`calico`, `canal`: error; `unknown`, the default: warning; `flannel`, `cilium`, `weave`, `other`: not
judged). Replicated's embedded-cluster checks the same (rp_filter must be 0 or 2 for calico).

## Why it breaks Kubernetes
With strict filtering the kernel drops a packet whose source it would not route back out of the interface the
packet came in on. Calico's IP-in-IP and VXLAN traffic and Service traffic are asymmetric by design, so pods
lose traffic, and calico-node's felix refuses to start: `Kernel's RPF check is set to 'strict'`
(calicoctl#1082, sealos#559).

## Evidence
`net.ipv4.conf.all.rp_filter`, `.default.rp_filter`, and per node interface its own value and the effective one.

## Fix
Role `kubeprep.hostnet.hostnet_sysctl` (run by `kubeprep.hostnet.remediate` where the host has this finding):
`net.ipv4.conf.all.rp_filter = 2` and `net.ipv4.conf.default.rp_filter = 2`, applied now and written to
`/etc/sysctl.d/90-kubeprep-hostnet.conf`; a later `/etc/sysctl.conf` line setting `1` is commented out so the
boot does not undo it. By hand: `sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2`
and the same lines in a file under `/etc/sysctl.d/`.
"""

RP_FILTER_CNIS = {"calico": "error", "canal": "error", "unknown": "warning"}


@rule(
    "rp-filter-strict",
    "strict reverse-path filtering drops the CNI's asymmetric traffic",
    severities=("error", "warning"),
    fix=Fix(
        role="hostnet_sysctl",
        does="rp_filter",
        what=(
            "`net.ipv4.conf.all.rp_filter=2` and `.default.rp_filter=2`, now and in "
            "`/etc/sysctl.d/90-kubeprep-hostnet.conf`, a later `/etc/sysctl.conf` line commented out."
        ),
    ),
    reads=(
        "sysctl",
        "interfaces",
        "routes",
    ),
    doc=DOC,
    fault="effective `rp_filter` 1 on a node interface or for new interfaces (`hostnet_cni`: calico, canal or unknown)",
    breaks="calico-node refuses to start; asymmetric pod traffic dropped",
)
def check(host, facts, ctx):
    severity = RP_FILTER_CNIS.get(ctx.get("cni") or "unknown")
    if severity is None:
        return []
    values = {key: sysctl_value(facts, "net.ipv4.conf.%s.rp_filter" % key) for key in ("all", "default")}
    if values["all"] is None:
        return []
    try:
        if int(values["all"]) >= 2:
            return []  # loose: every interface's effective value (the larger of all and its own) is 2, new ones too
    except ValueError:
        pass  # judged below as before
    node_ifaces = []
    dev, _gateway = nodeip.default_interface(facts)
    rec = ctx.recommendations.get(host)
    for name in ([rec["interface"]] if rec else []) + ([dev] if dev else []):
        if name not in node_ifaces:
            node_ifaces.append(name)
    strict = []
    seen = []
    for name in node_ifaces:
        iface = interface(facts, name) or {}
        own = iface.get("rp_filter")
        effective = max(int(values["all"]), own if own is not None else 0)
        seen.append((name, own, effective))
        if effective == 1:
            strict.append(name)
    # Interfaces made later (the CNI's cali*, tunl0, vxlan.calico) start with the default value.
    if values["default"] is not None and max(int(values["all"]), int(values["default"])) == 1:
        strict.append("new interfaces (default)")
    if not strict:
        return []
    evidence = ["net.ipv4.conf.all.rp_filter = %s" % values["all"], "net.ipv4.conf.default.rp_filter = %s" % values["default"]]
    for name, own, effective in seen:
        evidence.append("net.ipv4.conf.%s.rp_filter = %s: effective %d (the larger of all and %s)" % (name, own, effective, name))
    return [
        Finding(
            "rp-filter-strict",
            severity,
            host,
            "strict reverse-path filtering (rp_filter effective 1) on %s" % ", ".join(strict),
            evidence,
            "With strict filtering the kernel drops a packet whose source it would not route back through the interface it "
            "came in on; calico's IP-in-IP/VXLAN and service traffic is asymmetric, so pods lose traffic and calico-node "
            "refuses to start (`felix: Kernel's RPF check is set to 'strict'`). CNI: %s." % ctx.get("cni", "unknown"),
            "Set loose filtering, `net.ipv4.conf.all.rp_filter = 2` and `net.ipv4.conf.default.rp_filter = 2`, now (`sysctl -w`) "
            "and in /etc/sysctl.d/ (role kubeprep.hostnet.hostnet_sysctl).",
            data={"interfaces": strict},
            # With the CNI unknown this is a warning, and loosening a security setting is not done on a guess.
            manual="the CNI is unknown: set hostnet_cni (calico, canal) to let the remediation loosen rp_filter" if severity == "warning" else None,
        )
    ]
