# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule slow-resolver."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts, resolution_evidence
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: error when a slow lookup is observed; warning when predicted and localhost itself reaches DNS; info when
predicted but localhost is answered from files.

Fault F3, the other half: how long a lookup waits when no nameserver answers.

## What is checked
- Observed: the module's own `getaddrinfo("localhost")` (bounded by `hostnet_resolver_timeout`, default 2 s)
  timed out or took more than 1 s: error.
- Predicted: the worst case of one lookup that no nameserver answers, from `/etc/resolv.conf`, above
  `hostnet_resolver_max_seconds` (default 20 s), on a host whose `hosts:` sources include `dns`: warning.

The model (at most 3 nameservers are used; `timeout` default 5, `attempts` default 2; each search domain
adds one more name to try):
- glibc: per attempt, nameserver 0 waits `timeout`, nameserver *i* waits `(timeout << i) / count`;
  3 silent nameservers with defaults: (5 + 3 + 6) x 2 = 28 s (measured on a test host: 28.0 s);
- Go's pure resolver: `timeout x attempts x count` = 30 s;
- musl: all nameservers at once, `timeout` in total = 5 s.

## Why it breaks Kubernetes
Kubernetes clients time out before the lookup returns: `dial tcp: i/o timeout`.

## Fix
List only reachable nameservers (at most 3), bound the wait with `options timeout:1 attempts:2` through
whatever owns `/etc/resolv.conf` (systemd-resolved, NetworkManager, resolvconf: the report names it), and keep
`hosts: files dns` so `localhost` never needs DNS.
"""

# A live lookup of localhost slower than this (ms) is an observed slow resolver.
OBSERVED_SLOW_MS = 1000
RESOLVER_OWNER_STEPS = {
    "systemd-resolved": "systemd-resolved writes no resolver options: keep /etc/resolv.conf linked to its stub "
    "(`ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf`; it answers localhost itself), list only reachable "
    "servers in `DNS=` of /etc/systemd/resolved.conf.d/*.conf, and keep `hosts: files dns` so localhost never needs DNS.",
    "resolvconf": "set `options timeout:1 attempts:2` in /etc/resolvconf/resolv.conf.d/head (or base), run `resolvconf -u`, "
    "and list only reachable nameservers.",
    "netconfig": 'set NETCONFIG_DNS_RESOLVER_OPTIONS="timeout:1 attempts:2" in /etc/sysconfig/network/config and run `netconfig update -f`.',
}


@rule(
    "slow-resolver",
    "a failed lookup can outlive Kubernetes clients' timeouts",
    severities=("error", "warning", "info"),
    fix=Fix(
        role="hostnet_name_service",
        does="resolver_options",
        inputs=("hostnet_name_service_resolver_timeout",),
        what=(
            "writes `options timeout/attempts` to `resolv.conf`; where NetworkManager writes the file, sets them as "
            "`ipv4.dns-options` of its active connections (profile and applied connection), so they hold after its rewrite "
            "and a reboot. Where systemd-resolved, resolvconf or netconfig own it (found through every link of the chain) "
            "the finding is a manual step naming the owner's setting."
        ),
    ),
    reads=(
        "localhost_resolution",
        "resolv_conf",
        "nsswitch",
        "hosts_file",
    ),
    options=(
        Option(
            "resolver_max_seconds",
            "hostnet_resolver_max_seconds",
            "float",
            "Worst-case lookup time (seconds) above which a lookup no nameserver answers is reported.",
            20,
            minimum=0.1,
            maximum=3600,
        ),
    ),
    doc=DOC,
    fault="a lookup can wait 28 s on silent nameservers",
    breaks="Kubernetes clients time out first",
)
def check(host, facts, ctx):
    res = kernel_facts(facts, "localhost_resolution") or {}
    observed_slow = res.get("status") == "timeout" or (res.get("duration_ms") or 0) > OBSERVED_SLOW_MS
    conf = facts.get("resolv_conf") or {}
    ns = facts.get("nsswitch") or {}
    uses_dns = "dns" in (ns.get("effective_sources") or ["dns"])
    worst = None
    if conf.get("status") == "ok":
        worst = (conf.get("worst_case_lookup_s") or {}).get(conf.get("worst_case_model", "glibc"))
    if observed_slow:
        evidence, fix, manual = _details(conf, worst)
        return [
            Finding(
                "slow-resolver",
                "error",
                host,
                "looking up localhost %s"
                % ("did not finish within %s ms" % res.get("duration_ms") if res.get("status") == "timeout" else "took %s ms" % res.get("duration_ms")),
                resolution_evidence(facts) + evidence,
                _WHY,
                fix,
                manual=manual,
            )
        ]
    if uses_dns and worst is not None and worst > ctx["resolver_max_seconds"]:
        # Only a warning where localhost itself would wait on DNS; elsewhere it is
        # worth knowing (other names wait too) but does not break an install.
        hosts_names = (facts.get("hosts_file") or {}).get("names") or {}
        localhost_via_dns = bool(ns.get("dns_before_files")) or "localhost" not in hosts_names
        evidence, fix, manual = _details(conf, worst)
        return [
            Finding(
                "slow-resolver",
                "warning" if localhost_via_dns else "info",
                host,
                "a lookup no nameserver answers can take %s s (limit %s s)" % (worst, ctx["resolver_max_seconds"]),
                evidence,
                _WHY,
                fix,
                manual=manual,
            )
        ]
    return []


_WHY = (
    "Lookups that reach unresponsive nameservers block for the worst-case time; Kubernetes clients "
    "(kube-apiserver's loopback client, kubelet, CNI plugins) time out first with `dial tcp: i/o timeout`."
)


def _details(conf, worst):
    """(evidence from resolv.conf, fix, manual) of a finding (built only for one: most hosts have none)."""
    evidence = []
    if conf.get("status") == "ok":
        servers = [n["address"] for n in conf.get("nameservers") or []]
        evidence = [
            "/etc/resolv.conf nameservers: %s" % (", ".join(servers) or "none (127.0.0.1 implied)"),
            "options timeout:%s attempts:%s%s; search: %s"
            % (conf.get("timeout"), conf.get("attempts"), " rotate" if conf.get("rotate") else "", " ".join(conf.get("search") or []) or "none"),
            "worst case for one lookup that no nameserver answers (%s model): %s s" % (conf.get("worst_case_model", "glibc"), worst),
        ]
        if len(servers) > 3:
            evidence.append("only the first 3 nameservers are used; %d listed" % len(servers))
    fix = (
        "List only reachable nameservers (at most 3) and bound the wait with `options timeout:1 attempts:2` "
        "through whatever manages /etc/resolv.conf%s; keep `hosts: files dns` so localhost never needs DNS."
        % (" (%s)" % conf["managed_by"] if conf.get("managed_by") else "")
    )
    owner = conf.get("managed_by")
    manual = None
    if owner in RESOLVER_OWNER_STEPS:
        # These owners write /etc/resolv.conf without options the role could keep there.
        fix = RESOLVER_OWNER_STEPS[owner]
        manual = "%s owns /etc/resolv.conf and keeps no resolver options there" % owner
    return evidence, fix, manual


# A DNS-1123 subdomain, as Kubernetes requires of a node name (kubelet lowercases the hostname first).
