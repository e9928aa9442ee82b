# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule ip-forward-disabled."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import sysctl_value
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

`net.ipv4.ip_forward` is `0`.

## Why it breaks Kubernetes
Traffic from pods that leaves the node is not forwarded. kubeadm's preflight stops with `[ERROR
FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1`.

## Evidence
`/proc/sys/net/ipv4/ip_forward = 0`

## Fix
`sysctl -w net.ipv4.ip_forward=1`, persisted as `net.ipv4.ip_forward = 1` in `/etc/sysctl.d/k8s.conf`.
kubespray and most installers set it; on a host you audit before installing, expect this finding.
"""


@rule(
    "ip-forward-disabled",
    "IPv4 forwarding is off",
    severities=("error",),
    fix=Fix(role="hostnet_sysctl", does="ip_forward", what="`net.ipv4.ip_forward=1` now and in `/etc/sysctl.d/90-kubeprep-hostnet.conf`."),
    reads=("sysctl",),
    doc=DOC,
    fault="`net.ipv4.ip_forward = 0`",
    breaks="kubeadm preflight error; pod traffic dropped",
)
def check(host, facts, ctx):
    if sysctl_value(facts, "net.ipv4.ip_forward") != "0":
        return []
    return [
        Finding(
            "ip-forward-disabled",
            "error",
            host,
            "net.ipv4.ip_forward is 0",
            ["/proc/sys/net/ipv4/ip_forward = 0"],
            "Pod traffic leaving the node is dropped; kubeadm's preflight stops with `[ERROR "
            "FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1`.",
            "`sysctl -w net.ipv4.ip_forward=1` and persist it in /etc/sysctl.d/k8s.conf.",
        )
    ]
