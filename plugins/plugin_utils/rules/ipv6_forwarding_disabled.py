# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule ipv6-forwarding-disabled."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error. Only on a cluster with IPv6: an IPv6 Service or Pod CIDR (`hostnet_service_ips`,
`hostnet_pod_cidr`; dual-stack as kubeadm writes it, `10.96.0.0/12,fd00:10:96::/108`). An IPv4-only cluster
does not need IPv6 forwarding and gets no finding.

`/proc/sys/net/ipv6/conf/default/forwarding` (the file kubeadm's preflight reads) or
`/proc/sys/net/ipv6/conf/all/forwarding` (what the interfaces that exist now forward with) is `0`, or IPv6 is
disabled in the kernel (`/proc/sys/net/ipv6` does not exist: `ipv6.disable=1`).

## Why it breaks Kubernetes
IPv6 pod traffic that leaves the node is not forwarded: pods on other nodes and Services' IPv6 addresses do
not answer. kubeadm's preflight stops with `[ERROR FileContent--proc-sys-net-ipv6-conf-default-forwarding]:
/proc/sys/net/ipv6/conf/default/forwarding contents are not set to 1`.

## Evidence
`/proc/sys/net/ipv6/conf/all/forwarding = 0`, `/proc/sys/net/ipv6/conf/default/forwarding = 0`.

## Fix
`sysctl -w net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1`, persisted in
`/etc/sysctl.d/k8s.conf`. Turning forwarding on makes the kernel drop the default routes it learnt from router
advertisements on every interface whose `accept_ra` is not 2 (see `ipv6-ra-ignored`): the role sets
`accept_ra=2` on such interfaces first. Where IPv6 is disabled in the kernel, remove `ipv6.disable=1` from
the kernel command line and reboot.
"""


def _families(ctx):
    return ", ".join(str(n) for n in ctx.service_networks + ctx.pod_networks if n.version == 6)


@rule(
    "ipv6-forwarding-disabled",
    "IPv6 forwarding is off on a cluster with IPv6",
    severities=("error",),
    fix=Fix(
        role="hostnet_sysctl",
        does="ipv6_forward",
        what=(
            "`net.ipv6.conf.all.forwarding=1` and `default.forwarding=1` now and in `/etc/sysctl.d/90-kubeprep-hostnet.conf`, "
            "after `accept_ra=2` on each interface whose IPv6 default route the kernel learnt from router advertisements."
        ),
    ),
    reads=("ipv6",),
    doc=DOC,
    fault="`net.ipv6.conf.{all,default}.forwarding = 0` on an IPv6 or dual-stack cluster",
    breaks="kubeadm preflight error; IPv6 pod traffic dropped",
)
def check(host, facts, ctx):
    if not ctx.ipv6:
        return []
    ipv6 = kernel_facts(facts, "ipv6")
    if not ipv6:
        return []
    why = (
        "IPv6 pod traffic leaving the node is dropped; kubeadm's preflight stops with `[ERROR "
        "FileContent--proc-sys-net-ipv6-conf-default-forwarding]: /proc/sys/net/ipv6/conf/default/forwarding contents "
        "are not set to 1`."
    )
    if ipv6.get("status") == "absent":
        families = _families(ctx)
        return [
            Finding(
                "ipv6-forwarding-disabled",
                "error",
                host,
                "IPv6 is disabled in the kernel on a cluster with IPv6 (%s)" % families,
                ["/proc/sys/net/ipv6/conf: absent (IPv6 disabled in the kernel)"],
                why,
                "Remove `ipv6.disable=1` from the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then "
                "update-grub) and reboot; then set net.ipv6.conf.all.forwarding=1 and net.ipv6.conf.default.forwarding=1.",
                manual="IPv6 is disabled on the kernel command line: a reboot with another command line",
            )
        ]
    off = []
    for scope in ("all", "default"):
        entry = (ipv6.get("forwarding") or {}).get(scope) or {}
        if entry.get("status") == "ok" and entry.get("value") == "0":
            off.append(scope)
    if not off:
        return []
    families = _families(ctx)  # only for a finding: str() of an IPv6 network costs more than the whole check
    return [
        Finding(
            "ipv6-forwarding-disabled",
            "error",
            host,
            "net.ipv6.conf.%s.forwarding is 0 on a cluster with IPv6 (%s)" % ("{%s}" % ",".join(off) if len(off) > 1 else off[0], families),
            ["/proc/sys/net/ipv6/conf/%s/forwarding = 0" % scope for scope in off],
            why,
            "`sysctl -w %s` and persist %s in /etc/sysctl.d/k8s.conf (first `accept_ra=2` on an interface whose IPv6 "
            "default route comes from router advertisements, else turning forwarding on drops that route)."
            % (" ".join("net.ipv6.conf.%s.forwarding=1" % s for s in ("all", "default")), "both"),
        )
    ]
