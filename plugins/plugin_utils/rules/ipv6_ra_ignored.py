# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule ipv6-ra-ignored."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

The host's IPv6 default route was learnt by the kernel from router advertisements (`proto ra` in `ip -6 route`)
on an interface whose `accept_ra` is 1, and IPv6 forwarding is on there, or is off on a cluster with IPv6 (an
IPv6 Service or Pod CIDR), where kubeadm's preflight and `ipv6-forwarding-disabled`'s fix turn it on. With
forwarding on, the kernel ignores advertisements on an interface whose `accept_ra` is below 2.

Not judged: an interface where systemd-networkd or NetworkManager handle advertisements themselves (they set
the kernel's `accept_ra` to 0 and install the route from user space; the fact `ipv6.interfaces[].networkd`
and `accept_ra = 0` show it), `accept_ra = 2` (advertisements are taken with forwarding on), a static default
route (`proto static`, `boot`, `dhcp`), and an interface name with a dot (a VLAN such as `eth0.100`; the finding
is then a manual step, since the sysctl key spells the dot as a slash).

## Why it breaks Kubernetes
The default route is never renewed: it expires at the router lifetime of the last advertisement (often 30 min)
and every IPv6 destination beyond the link fails with `connect: network is unreachable` (ENETUNREACH): image
pulls over IPv6, pods' egress, the API server of another node. Turning forwarding on drops such a route at
once (the kernel purges the default routes it learnt from advertisements where `accept_ra` is not 2). It is
fault F2 in IPv6, the one reported as cilium#21819, calico#6751, talos#3841 and docker/for-linux#1373.

The same fault after the fact: an interface with no IPv6 default route that holds a global address with a
lifetime (learnt from advertisements, `ipv6.autoconf`), with forwarding on and `accept_ra` 1 there: turning
forwarding on already purged the route. (A router that advertises no default route at all, lifetime 0, would
look the same: the fix then changes nothing and `no-default-route` stays.)

## Evidence
`ip -6 route: default via fe80::1 dev eth1 proto ra`, `/proc/sys/net/ipv6/conf/eth1/accept_ra = 1`,
`/proc/sys/net/ipv6/conf/eth1/forwarding = 1`.

## Fix
`sysctl -w net.ipv6.conf.eth1.accept_ra=2`, persisted as `net.ipv6.conf.eth1.accept_ra = 2` in
`/etc/sysctl.d/k8s.conf` (systemd-sysctl applies it at boot, and udev applies it when the interface appears
later), before forwarding is turned on. The next advertisement installs the route again.
"""


@rule(
    "ipv6-ra-ignored",
    "the IPv6 default route comes from router advertisements the kernel ignores with forwarding on",
    severities=("error",),
    fix=Fix(
        role="hostnet_sysctl",
        does="accept_ra",
        what=(
            "`accept_ra=2` on each interface whose IPv6 default route the kernel learnt from router advertisements "
            "(`accept_ra` 1, not systemd-networkd's), now and in `/etc/sysctl.d/90-kubeprep-hostnet.conf`, before any forwarding change."
        ),
    ),
    reads=("ipv6",),
    doc=DOC,
    fault="the IPv6 default route is `proto ra` while forwarding is on (or will be) and `accept_ra` < 2",
    breaks="the IPv6 default route expires: ENETUNREACH",
)
def check(host, facts, ctx):
    ipv6 = kernel_facts(facts, "ipv6")
    if not ipv6 or ipv6.get("status") != "ok":
        return []
    forwarding = ipv6.get("forwarding") or {}
    will_forward = ctx.ipv6 and any(((forwarding.get(scope) or {}).get("value") == "0") for scope in ("all", "default"))
    findings = []
    for entry in ipv6.get("interfaces") or []:
        name = entry.get("name") or ""
        if entry.get("protocol") != "ra" or entry.get("networkd") or entry.get("accept_ra") != "1":
            continue
        on = entry.get("forwarding") == "1"
        if not (on or will_forward):
            continue
        route = "ip -6 route: default%s dev %s proto ra" % (" via %s" % entry["gateway"] if entry.get("gateway") else "", name)
        evidence = [
            route,
            "/proc/sys/net/ipv6/conf/%s/accept_ra = 1" % name,
            "/proc/sys/net/ipv6/conf/%s/forwarding = %s" % (name, entry.get("forwarding")),
        ]
        if not on:
            evidence.append(
                "the cluster has IPv6 (%s): forwarding must be turned on" % ", ".join(str(n) for n in ctx.service_networks + ctx.pod_networks if n.version == 6)
            )
        why = (
            "With forwarding on the kernel ignores router advertisements on %s (accept_ra 1), so the IPv6 default route "
            "is not renewed: it expires at the router lifetime%s and IPv6 connects beyond the link fail with ENETUNREACH "
            "(network is unreachable), as in cilium#21819 and docker/for-linux#1373."
            % (name, "" if on else ", or is dropped at once when forwarding is turned on")
        )
        key = "net.ipv6.conf.%s.accept_ra" % name
        message = "the IPv6 default route on %s comes from router advertisements that %s" % (
            name,
            "forwarding makes the kernel ignore" if on else "the kernel will ignore once IPv6 forwarding is on (the cluster needs it)",
        )
        if "." in name:
            findings.append(
                Finding(
                    "ipv6-ra-ignored",
                    "error",
                    host,
                    message,
                    evidence,
                    why,
                    "`sysctl -w net/ipv6/conf/%s/accept_ra=2` and persist `net/ipv6/conf/%s/accept_ra = 2` in /etc/sysctl.d/k8s.conf "
                    "(the slash form: the interface name has a dot)." % (name, name),
                    manual="the interface name %s has a dot; the role writes dotted sysctl keys only" % name,
                )
            )
            continue
        findings.append(
            Finding(
                "ipv6-ra-ignored",
                "error",
                host,
                message,
                evidence,
                why,
                "`sysctl -w %s=2` and persist `%s = 2` in /etc/sysctl.d/k8s.conf, before turning forwarding on." % (key, key),
            )
        )
    for entry in ipv6.get("autoconf") or []:
        name = entry.get("name") or ""
        if entry.get("networkd") or entry.get("accept_ra") != "1" or entry.get("forwarding") != "1" or "." in name:
            continue
        key = "net.ipv6.conf.%s.accept_ra" % name
        findings.append(
            Finding(
                "ipv6-ra-ignored",
                "error",
                host,
                "%s has no IPv6 default route although it has an address from router advertisements: forwarding makes the kernel ignore them" % name,
                [
                    "ip -6 route: no default route via %s" % name,
                    "%s holds %s with a lifetime (learnt from advertisements or DHCPv6)" % (name, entry.get("address")),
                    "/proc/sys/net/ipv6/conf/%s/accept_ra = 1" % name,
                    "/proc/sys/net/ipv6/conf/%s/forwarding = 1" % name,
                ],
                "Turning forwarding on purged the default route the kernel had learnt from advertisements on %s, and with "
                "accept_ra 1 it takes no advertisement since: IPv6 connects beyond the link fail with ENETUNREACH (network is "
                "unreachable), as in docker/for-linux#1373 and cilium#21819." % name,
                "`sysctl -w %s=2` and persist `%s = 2` in /etc/sysctl.d/k8s.conf; the next advertisement installs the route "
                "again (if the router advertises none, configure the default route in the host's network manager)." % (key, key),
            )
        )
    return findings
