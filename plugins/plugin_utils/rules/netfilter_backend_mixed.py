# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule netfilter-backend-mixed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: warning.

Both iptables backends hold rules: `iptables-legacy-save` and `iptables-nft-save` (the `netfilter` fact's
`iptables` counts, IPv4) each print at least one `-A` rule, in any table. Where one of the two save commands is
not installed there is nothing to compare and the rule is silent; ip6tables is not counted.

## Why it breaks Kubernetes
The kernel runs both: a packet passes the legacy tables (x_tables) and the nf_tables ones, and a drop in either
drops it. kube-proxy, the CNI and `iptables -S` each use one backend (the `iptables` alternative, or
kube-proxy's own detection that picks the backend with more rules), so a rule written through the other is
invisible to them and to whoever debugs with them: `iptables-nft -S` shows no drop while a legacy rule drops
Service or pod traffic (rke2#863, k3s#3167, kubernetes#71305, kubernetes#109811). kube-proxy may also program
its chains into the backend the host's own rules are not in, so both apply in an order nobody chose.

## Evidence
The rule count of each backend, per table (`iptables-legacy-save: 3 rules (filter 1, nat 2)`).

## Fix
Manual: keep one backend. Save the other's rules (`iptables-legacy-save > /root/iptables-legacy.rules`), move
those you still need to the kept one (`iptables-nft-restore --noflush < /root/iptables-legacy.rules` after
reviewing them), flush the other (`iptables-legacy -F; iptables-legacy -X; iptables-legacy -t nat -F;
iptables-legacy -t nat -X; iptables-legacy -t mangle -F; iptables-legacy -t raw -F`), and make every tool use the
kept one (`update-alternatives --set iptables /usr/sbin/iptables-nft`; the same for whatever wrote the other's
rules: a Docker or firewall service started with the other `iptables`).
"""

_SAVE = {"legacy": "iptables-legacy-save", "nft": "iptables-nft-save"}


@rule(
    "netfilter-backend-mixed",
    "rules in both the iptables-legacy and the iptables-nft tables",
    severities=("warning",),
    fix=Fix(
        manual="which backend keeps which rules is the operator's firewall policy, and the rules of one cannot be moved "
        "to the other without reviewing what each is for"
    ),
    reads=("netfilter",),
    doc=DOC,
    fault="rules in both the iptables-legacy and the iptables-nft tables",
    breaks="a drop invisible to `iptables -S`, kube-proxy and the CNI still applies",
)
def check(host, facts, ctx):
    netfilter = kernel_facts(facts, "netfilter")
    backends = (netfilter or {}).get("iptables") if isinstance(netfilter, dict) else None
    if not isinstance(backends, dict):
        return []
    legacy, nft = backends.get("legacy") or {}, backends.get("nft") or {}
    if any(entry.get("status") not in ("ok", "partial") for entry in (legacy, nft)):
        return []
    counts = {name: int(entry.get("rules") or 0) for name, entry in (("legacy", legacy), ("nft", nft))}
    if not all(counts.values()):
        return []
    evidence = []
    for name, entry in (("legacy", legacy), ("nft", nft)):
        tables = entry.get("tables") if isinstance(entry.get("tables"), dict) else {}
        shown = ", ".join("%s %s" % (table, tables[table]) for table in sorted(tables) if tables[table])
        evidence.append(
            "%s: %d rule%s%s%s"
            % (
                _SAVE[name],
                counts[name],
                "" if counts[name] == 1 else "s",
                " (%s)" % shown if shown else "",
                " (output cut: at least this many)" if entry.get("cut") else "",
            )
        )
    fewer = "legacy" if counts["legacy"] <= counts["nft"] else "nft"
    kept = "nft" if fewer == "legacy" else "legacy"
    return [
        Finding(
            "netfilter-backend-mixed",
            "warning",
            host,
            "both iptables backends hold rules: %d in iptables-legacy, %d in iptables-nft" % (counts["legacy"], counts["nft"]),
            evidence,
            "The kernel applies both backends' rules, but kube-proxy, the CNI and `iptables -S` each see one: a rule in the other "
            "drops Service or pod traffic while `iptables-%s -S` shows nothing, and kube-proxy may program the backend the host's own rules are not in." % kept,
            "Keep one backend (here iptables-%s holds more rules): `iptables-%s-save > /root/iptables-%s.rules`, move the rules still "
            "needed with `iptables-%s-restore --noflush < /root/iptables-%s.rules` after reviewing them, flush iptables-%s in each table "
            "(`iptables-%s -F; iptables-%s -X; iptables-%s -t nat -F; iptables-%s -t nat -X; iptables-%s -t mangle -F; iptables-%s -t raw -F`), "
            "and make every tool use iptables-%s (`update-alternatives --set iptables /usr/sbin/iptables-%s`, and whatever wrote the other's rules)."
            % ((kept, fewer, fewer, kept, fewer, fewer) + (fewer,) * 6 + (kept, kept)),
            data={"rules": counts},
        )
    ]
