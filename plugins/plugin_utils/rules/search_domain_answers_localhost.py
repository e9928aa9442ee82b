# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule search-domain-answers-localhost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import is_loopback, kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error where localhost reaches DNS, else warning.

For each search domain of `/etc/resolv.conf` the facts module asks the first nameserver for the A record of
`localhost.<domain>`, and of a random label under the domain to tell a wildcard, straight over UDP and
bounded at 1 s (the queries run in parallel). A non-loopback answer is the finding. It is an error where
`localhost` itself reaches DNS on the host (`hosts: dns files`, or no `localhost` line in `/etc/hosts`),
otherwise a warning: pods still get the node's search list.

## Why it breaks Kubernetes
A name with fewer dots than `ndots` is tried with each search domain first. Where localhost reaches DNS, and
in every pod (their `resolv.conf` has `ndots:5` and the node's search domains), `localhost` resolves to the
wildcard's address: kube-apiserver's loopback client, health checks and sidecars that dial localhost connect
elsewhere or time out (kubeadm#302, k3os#106).

## Evidence
`localhost.corp.example answered by 10.0.0.53: 10.20.30.40 (a wildcard: kubeprep-1a2b3c4d5e.corp.example answered too)`,
and the search list.

## Fix
Manual: the record is in the site's DNS. Remove it (a `*.corp.example` wildcard answers every name) or drop the
domain from the search list, and keep `127.0.0.1 localhost` in `/etc/hosts` with `hosts: files dns`.
"""


@rule(
    "search-domain-answers-localhost",
    "DNS answers localhost.<search domain> with a non-loopback address",
    severities=("error", "warning"),
    fix=Fix(manual="the record (often a wildcard) is in the site's DNS zone: remove it there, or drop the domain from the search list"),
    reads=(
        "search_domains",
        "nsswitch",
        "hosts_file",
        "resolv_conf",
    ),
    doc=DOC,
    fault="DNS answers `localhost.<search domain>` with a non-loopback address (a wildcard)",
    breaks="`localhost` becomes that address where it reaches DNS, and in pods",
)
def check(host, facts, ctx):
    lookups = kernel_facts(facts, "search_domains") or {}
    bad = []
    for item in lookups.get("results") or []:
        addresses = [a for a in item.get("addresses") or [] if not is_loopback(a)]
        if addresses:
            bad.append((item, addresses))
    if not bad:
        return []
    ns = facts.get("nsswitch") or {}
    hosts_names = (facts.get("hosts_file") or {}).get("names") or {}
    # Where localhost itself reaches DNS (DNS first, or no localhost line), its lookups get this answer.
    reaches = bool(ns.get("dns_before_files")) or "localhost" not in hosts_names
    item, addresses = bad[0]
    evidence = [
        "%s answered by %s: %s%s" % (i["name"], i.get("server"), ", ".join(a), " (a wildcard: %s answered too)" % i["random_name"] if i.get("wildcard") else "")
        for i, a in bad
    ]
    evidence.append("search: %s" % " ".join((facts.get("resolv_conf") or {}).get("search") or []))
    return [
        Finding(
            "search-domain-answers-localhost",
            "error" if reaches else "warning",
            host,
            "%s resolves to %s in DNS%s" % (item["name"], ", ".join(addresses), " (a wildcard record)" if item.get("wildcard") else ""),
            evidence,
            "A name with fewer dots than ndots is tried with each search domain first: where localhost reaches DNS (and in pods, "
            "whose resolv.conf has ndots:5 and the node's search list), `localhost` becomes %s, and clients that dial "
            "localhost (kube-apiserver's loopback client, health checks) connect elsewhere or time out (kubeadm#302, k3os#106)." % ", ".join(addresses),
            "Remove the record from the zone (a `*.%s` wildcard answers every name), or drop %s from the search list; keep "
            "`127.0.0.1 localhost` in /etc/hosts with `hosts: files dns`." % (item["domain"], item["domain"]),
            data={"domains": [i["domain"] for i, _a in bad]},
        )
    ]
