# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule bridge-nf-call-iptables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: warning when absent, error when 0.

## What is checked
`net.bridge.bridge-nf-call-iptables`: absent means the `br_netfilter` module is not loaded (reported as
absent, never as 0); `0` means it is loaded but bridged traffic bypasses iptables.

## Why it breaks Kubernetes
Traffic between pods on the same Linux bridge skips kube-proxy's iptables rules, so Services answer from
some pods and not others. kubeadm's preflight reports the missing file or the wrong value.

On a cluster with IPv6 (an IPv6 Service or Pod CIDR, dual-stack included) `net.bridge.bridge-nf-call-ip6tables`
is judged too (kubeadm's preflight checks it there): `0` is an error.

## Fix
`modprobe br_netfilter`, persisted in `/etc/modules-load.d/k8s.conf`, and
`net.bridge.bridge-nf-call-iptables = 1` in `/etc/sysctl.d/k8s.conf`. CNIs that do not use a Linux bridge
(e.g. Cilium in eBPF mode) do not need it: skip the rule there.
"""


@rule(
    "bridge-nf-call-iptables",
    "bridged traffic bypasses iptables",
    severities=("error", "warning"),
    fix=Fix(
        role="hostnet_sysctl",
        does="bridge_nf",
        what=(
            "loads `br_netfilter` and lists it in `/etc/modules-load.d/kubeprep-hostnet.conf`; "
            "`net.bridge.bridge-nf-call-iptables=1` and `-ip6tables=1`. Where the kernel cannot load the module it fails "
            "with the reason and writes nothing."
        ),
    ),
    reads=("sysctl",),
    doc=DOC,
    fault="`br_netfilter` not loaded, or the sysctl is 0",
    breaks="Services skip kube-proxy rules on a bridge",
)
def check(host, facts, ctx):
    sysctl = kernel_facts(facts, "sysctl") or {}
    entry = sysctl.get("net.bridge.bridge-nf-call-iptables") or {}
    if entry.get("status") == "absent":
        return [
            Finding(
                "bridge-nf-call-iptables",
                "warning",
                host,
                "net.bridge.bridge-nf-call-iptables does not exist (br_netfilter not loaded)",
                ["/proc/sys/net/bridge/bridge-nf-call-iptables: absent"],
                "Without br_netfilter, traffic between pods on the same bridge skips kube-proxy's iptables rules, "
                "so Services answer from some pods and not others; kubeadm's preflight reports the missing file.",
                (
                    "`modprobe br_netfilter`, persist it in /etc/modules-load.d/k8s.conf, and set "
                    "net.bridge.bridge-nf-call-iptables=1 in /etc/sysctl.d/k8s.conf."
                ),
            )
        ]
    findings = []
    six = sysctl.get("net.bridge.bridge-nf-call-ip6tables") or {}
    if ctx.ipv6 and six.get("status") == "ok" and six.get("value") == "0":
        findings.append(
            Finding(
                "bridge-nf-call-iptables",
                "error",
                host,
                "net.bridge.bridge-nf-call-ip6tables is 0 on a cluster with IPv6",
                ["/proc/sys/net/bridge/bridge-nf-call-ip6tables = 0"],
                "Bridged IPv6 pod traffic skips ip6tables, so kube-proxy's IPv6 Service rules do not apply to it; kubeadm's "
                "preflight fails with `[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-ip6tables]`.",
                "`sysctl -w net.bridge.bridge-nf-call-ip6tables=1` and persist it in /etc/sysctl.d/k8s.conf.",
            )
        )
    if entry.get("value") == "0":
        return [
            Finding(
                "bridge-nf-call-iptables",
                "error",
                host,
                "net.bridge.bridge-nf-call-iptables is 0",
                ["/proc/sys/net/bridge/bridge-nf-call-iptables = 0"],
                "Bridged pod traffic skips iptables, so kube-proxy's Service rules do not apply to it; kubeadm's "
                "preflight fails with `[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]`.",
                "`sysctl -w net.bridge.bridge-nf-call-iptables=1` and persist it in /etc/sysctl.d/k8s.conf.",
            )
        ] + findings
    return findings
