# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule localhost-unreachable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import (
    hosts_lines,
    is_loopback,
    loopback_answers,
    loopback_evidence,
    loopback_state,
    resolution_evidence,
)
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error; warning when another name service still answers.

Fault F1. `localhost` resolves only to addresses a client cannot connect to.

## What is checked
- The addresses `localhost` maps to in `/etc/hosts`, in file order.
- Which loopback families work: `lo` carries `127.0.0.1` (IPv4), `lo` carries `::1` and
  `net.ipv6.conf.lo.disable_ipv6` is not `1` (IPv6).
- What the host's resolver really returns (`getaddrinfo("localhost")`) and whether a connect to each
  address can be routed.

It fires when:
- every `localhost` address is IPv6 while IPv6 is disabled on `lo` (the incident: CentOS 7.8,
  `::1 localhost localhost.localdomain ...` and `127.0.0.1 centos7.Localdomain`);
- `localhost` maps to a non-loopback address;
- `/etc/hosts` has no `localhost` line (a warning when `nss-myhostname` or another source still returns a
  working loopback address, an error when nothing does);
- `/etc/hosts` is missing or a dangling link (`getent ahosts localhost` fails): an error, and the fix creates
  the file with `127.0.0.1 localhost`.

`::ffff:127.0.0.1` (IPv4-mapped loopback) counts as loopback. A hosts file larger than 8 MiB is read that far,
and the evidence says so: a `localhost` line after it was not judged.

Not a finding: `::1 localhost` with IPv6 enabled on `lo`; Ubuntu's `127.0.1.1 <hostname>` line;
`localhost` on both `127.0.0.1` and `::1` with IPv6 off (clients fall back to `127.0.0.1`).

## Why it breaks Kubernetes
kube-apiserver's own loopback client and RKE's health check dial `https://localhost:6443`. With only `::1`
and IPv6 off on `lo` they get `dial tcp [::1]:6443: connect: no route to host` (or `cannot assign requested
address`), and the apiserver exits with `Unable to perform initial IP allocation check`. `ping localhost`
still works (it falls back to IPv4), which is why this is hard to see.

## Evidence in the report
```
/etc/hosts:1: ::1         localhost localhost.localdomain localhost6 localhost6.localdomain6
net.ipv6.conf.lo.disable_ipv6 = 1
lo addresses: 127.0.0.1
getaddrinfo("localhost") -> ::1 (connect fails: ENETUNREACH: Network is unreachable) in 0.2 ms
```

## Fix
Add `127.0.0.1 localhost` (keeping every other line and alias), or re-enable IPv6 on `lo`
(`net.ipv6.conf.lo.disable_ipv6=0`, persisted in `/etc/sysctl.d/`). If cloud-init has
`manage_etc_hosts: true`, fix `/etc/cloud/templates/hosts.<distro>.tmpl` too, or the next boot undoes it.
"""

_WHY_LOCALHOST = (
    "kube-apiserver and RKE health checks dial https://localhost:6443; when localhost only has an unusable "
    "address they fail with `dial tcp [::1]:6443: connect: no route to host` and the apiserver exits with "
    "`Unable to perform initial IP allocation check`."
)
_FIX_LOCALHOST = (
    "Put `127.0.0.1 localhost` on the IPv4 loopback line of /etc/hosts, keeping every other line and alias "
    "(kubeprep.hostnet.remediate does this), or re-enable IPv6 on lo: `sysctl -w net.ipv6.conf.lo.disable_ipv6=0` "
    "persisted in /etc/sysctl.d/."
)


@rule(
    "localhost-unreachable",
    "localhost resolves to an address a client cannot connect to",
    severities=("error", "warning"),
    fix=Fix(
        role="hostnet_localhost",
        what=(
            "adds `127.0.0.1 localhost` before the first `localhost` line (every other byte kept, `::1` aliases kept); "
            "fixes cloud-init's `hosts.*.tmpl` when `manage_etc_hosts` is on. `hostnet_localhost_method: ipv6` re-enables "
            "IPv6 on `lo` instead, now and in `/etc/sysctl.d/90-kubeprep-hostnet.conf`, and comments out a later "
            "`disable_ipv6 = 1` in `/etc/sysctl.conf` (read last at boot) so the fix survives `sysctl --system`."
        ),
    ),
    reads=(
        "hosts_file",
        "localhost_resolution",
        "sysctl",
        "interfaces",
        "cloud_init",
    ),
    doc=DOC,
    fault="`localhost` only on `::1` with IPv6 off on `lo`, missing, or non-loopback",
    breaks="`dial tcp [::1]:6443: connect: no route to host`; kube-apiserver exits",
)
def check(host, facts, ctx):
    hosts_file = facts.get("hosts_file") or {}
    if hosts_file.get("status") == "missing":
        works = loopback_answers(facts)
        target = hosts_file.get("symlink_target")
        return [
            Finding(
                "localhost-unreachable",
                "warning" if works else "error",
                host,
                "/etc/hosts is missing%s" % (" (a dangling link to %s)" % target if target else "")
                + (" (another name service answers for now)" if works else ": localhost does not resolve from files"),
                ["/etc/hosts: %s" % (hosts_file.get("error") or "missing")] + resolution_evidence(facts),
                _WHY_LOCALHOST,
                "Create /etc/hosts with `127.0.0.1 localhost` (kubeprep.hostnet.remediate does this).",
            )
        ]
    if hosts_file.get("status") != "ok":
        return []  # facts-incomplete reports the unreadable file
    addresses = (hosts_file.get("names") or {}).get("localhost") or []
    v4_ok, v6_ok = loopback_state(facts)

    def details():
        """(evidence, fix) of a finding: built only for one (most hosts have none)."""
        evidence = hosts_lines(facts, "localhost") + loopback_evidence(facts) + resolution_evidence(facts)
        if hosts_file.get("truncated_at_bytes"):
            evidence.append("/etc/hosts is larger than %d bytes and was read only that far: lines after it were not judged" % hosts_file["truncated_at_bytes"])
        cloud = facts.get("cloud_init") or {}
        fix = _FIX_LOCALHOST
        if cloud.get("manages_hosts"):
            fix += " cloud-init rewrites /etc/hosts at boot (manage_etc_hosts: %s): fix %s too." % (
                cloud.get("manage_etc_hosts"),
                ", ".join(cloud.get("templates") or ["/etc/cloud/templates/hosts.*.tmpl"]),
            )
            evidence.append("cloud-init manage_etc_hosts: %s" % cloud.get("manage_etc_hosts"))
        return evidence, fix

    if not addresses:
        evidence, fix = details()
        works = loopback_answers(facts)
        return [
            Finding(
                "localhost-unreachable",
                "warning" if works else "error",
                host,
                "/etc/hosts has no localhost entry" + (" (another name service answers for now)" if works else ""),
                ["/etc/hosts: no line names localhost"] + evidence,
                _WHY_LOCALHOST,
                fix,
            )
        ]
    foreign = [a for a in addresses if not is_loopback(a)]
    if foreign:
        evidence, _fix = details()
        return [
            Finding(
                "localhost-unreachable",
                "error",
                host,
                "localhost maps to non-loopback address %s in /etc/hosts" % ", ".join(foreign),
                evidence,
                "Clients of localhost:6443 (kube-apiserver's own loopback client, RKE and kubeadm health checks) "
                "connect to %s instead of this host's loopback, and fail or reach the wrong host." % foreign[0],
                "Remove localhost from the line(s) of %s and keep `127.0.0.1 localhost`." % ", ".join(foreign),
            )
        ]
    usable = [a for a in addresses if (a.startswith("127.") and v4_ok) or (":" in a and v6_ok)]
    if not usable:
        evidence, fix = details()
        v6_only = all(":" in a for a in addresses)
        message = (
            "localhost resolves only to %s but IPv6 is disabled on lo" % ", ".join(addresses)
            if v6_only
            else "no address of localhost (%s) is configured on lo" % ", ".join(addresses)
        )
        return [Finding("localhost-unreachable", "error", host, message, evidence, _WHY_LOCALHOST, fix)]
    return []
