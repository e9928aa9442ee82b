# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule kubelet-dns-limits."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error when the file lists no nameserver; warning when it is over one of kubelet's limits.

kubelet builds each pod's `resolv.conf` from the node's (for `dnsPolicy: Default`, which CoreDNS itself uses,
and for the node's search domains in every `ClusterFirst` pod) and holds it to the limits of the libc
resolvers (Kubernetes' `MaxDNSNameservers`, `MaxDNSSearchPaths`, `MaxDNSSearchListChars`):

- more than 3 nameservers: kubelet keeps the first 3, as glibc does (`MAXNS`);
- more than 32 search domains, or a search line (the domains joined by spaces) over 2,048 characters: kubelet
  keeps the first 32, then drops domains from the end until the line fits;
- a search domain over 253 characters (a DNS name's limit): kubelet drops it;
- no nameserver at all: pods with `dnsPolicy: Default` and CoreDNS's `forward . /etc/resolv.conf` get no
  nameserver (an error).

The file judged is the one kubelet hands to pods, from the `kubelet_resolv_conf` facts (the rule
`resolv-conf-loopback-nameserver` says how it is found: `hostnet_kubelet_resolv_conf`, kubelet's
`--resolv-conf`, its config's `resolvConf`, or `/run/systemd/resolve/resolv.conf` where kubeadm would choose it
because systemd-resolved runs, else `/etc/resolv.conf`); facts without it (an older facts module) fall back to
`/etc/resolv.conf`'s `resolv_conf` facts. The evidence names the file and why it was chosen. Its nameservers and
its search list (the last `search` or `domain` line; as kubelet does, a trailing dot is dropped and a lone `.`
skipped before counting) are judged. A missing file is `resolv-conf-loopback-nameserver`'s; an unreadable one
is not this rule's (`facts-incomplete` names it); an empty `resolvConf` hands pods no host DNS and is not judged;
an image root is not judged (kubelet writes a pod's `resolv.conf` from the node's).
`ClusterFirst` pods get 3 cluster domains in front of the node's search list, so there the node's 30th
domain is already cut: this rule judges the node's own list against kubelet's limits.

## Why it breaks Kubernetes
kubelet drops what is over the limits and says so only in events and its log, on every pod it starts:
`Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ...`
and `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ...`
(kubernetes#82756, kubesphere#935, kube-ovn#497). Names that only the omitted nameservers answer, or that
need the omitted search domains, do not resolve in pods (and, for the nameservers, on the node itself: glibc
reads only 3). With no nameserver, pods and CoreDNS have no DNS at all.

## Evidence
The file and which limit: `/etc/resolv.conf lists 4 nameservers (at most 3): 10.0.0.2, 10.0.0.3, 10.0.0.4,
10.0.0.5`, `kubelet keeps the first 3 (10.0.0.2 10.0.0.3 10.0.0.4) and omits 10.0.0.5`; the search list's
count and length and the domains kubelet omits. The finding's `data` has `limits`, `omitted_nameservers` and
`omitted_search`.

## Fix
Manual: list at most 3 reachable nameservers (and at least one) and at most 32 search domains (a search line
of at most 2,048 characters, each domain at most 253) through whatever manages `/etc/resolv.conf`
(NetworkManager, systemd-resolved, resolvconf, DHCP: the report names it when it can), or give kubelet a file
of its own within the limits with `resolvConf:` in its KubeletConfiguration (`--resolv-conf`).
"""

MAX_NAMESERVERS = 3  # validation.MaxDNSNameservers (glibc's MAXNS)
MAX_SEARCH_PATHS = 32  # validation.MaxDNSSearchPaths
MAX_SEARCH_LINE_CHARS = 2048  # validation.MaxDNSSearchListChars
MAX_DOMAIN_CHARS = 253  # utilvalidation.DNS1123SubdomainMaxLength

NAMESERVER_MESSAGE = "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: %s"
SEARCH_MESSAGE = "Search Line limits were exceeded, some search paths have been omitted"


def _search_domains(search):
    """The search list as kubelet reads it: a trailing dot dropped, a lone '.' skipped."""
    domains = []
    for domain in search or []:
        domain = str(domain)
        if domain == ".":
            continue
        domains.append(domain[:-1] if domain.endswith(".") else domain)
    return domains


def _applied_search(domains):
    """kubelet's formDNSSearchFitsLimits over the node's list: (kept, omitted)."""
    kept = [d for d in domains[:MAX_SEARCH_PATHS] if len(d) <= MAX_DOMAIN_CHARS]
    while kept and len(" ".join(kept)) > MAX_SEARCH_LINE_CHARS:
        kept.pop()
    kept_set = set(kept)
    return kept, [d for d in domains if d not in kept_set]


def _sentence(text):
    return text[:1].upper() + text[1:]


def _short(domain, width=60):
    return domain if len(domain) <= width else "%s... (%d characters)" % (domain[:width], len(domain))


def _shorts(domains, most=8):
    text = ", ".join(_short(d) for d in domains[:most])
    return text + (" and %d more" % (len(domains) - most) if len(domains) > most else "")


def _why(limits):
    parts = []
    if "no-nameserver" in limits:
        parts.append(
            (
                "With no nameserver here, pods with dnsPolicy Default get none and CoreDNS (`forward . /etc/resolv.conf`) has "
                "no upstream: no name outside the cluster resolves in pods."
            )
        )
    if "nameservers" in limits:
        parts.append(
            "kubelet hands pods with dnsPolicy Default and CoreDNS (the upstreams of every pod's lookups) only the first 3 nameservers, "
            "and glibc on the node reads only 3: names only the omitted ones answer do not resolve. kubelet says so only in events and "
            'its log, for every pod it starts: "Nameserver limits were exceeded, some nameservers have been omitted".'
        )
    if set(limits) - {"no-nameserver", "nameservers"}:
        parts.append(
            "kubelet drops the search domains over its limits from the resolv.conf of every pod: short names that need them do not "
            'resolve in pods, and kubelet says so only in events and its log: "Search Line limits were exceeded".'
        )
    return " ".join(parts) + " (kubernetes#82756, kubesphere#935, kube-ovn#497)"


@rule(
    "kubelet-dns-limits",
    "the resolv.conf kubelet hands to pods is over its DNS limits, or lists no nameserver",
    severities=("error", "warning"),
    fix=Fix(
        manual="the nameservers and search domains come from whatever manages resolv.conf (DHCP, NetworkManager, systemd-resolved) "
        "or from kubelet's own resolvConf setting"
    ),
    reads=("kubelet_resolv_conf", "resolv_conf", "live"),
    doc=DOC,
    fault="kubelet's resolv.conf has more than 3 nameservers, more than 32 search domains (or 2,048 characters, or one over 253), or no nameserver",
    breaks="kubelet drops the rest in every pod (`Nameserver limits were exceeded`); no nameserver: no DNS in pods",
)
def check(host, facts, ctx):
    """The node's resolv.conf against the limits kubelet holds a pod's resolv.conf to."""
    conf = facts.get("kubelet_resolv_conf")
    chosen = None
    if isinstance(conf, dict):
        chosen = conf.get("origin")
    else:
        conf = facts.get("resolv_conf") or {}  # facts of an older module: the default file
    if conf.get("status") != "ok" or facts.get("live") is False:
        return []  # missing, unreadable or disabled: other rules'; an image root: kubelet never hands it to pods
    path = conf.get("path") or "/etc/resolv.conf"
    where = path + (" (-> %s)" % conf["symlink_target"] if conf.get("symlink_target") else "")
    servers = [str(n.get("address")) for n in conf.get("nameservers") or []]
    domains = _search_domains(conf.get("search"))
    limits, evidence, problems, fixes = [], [], [], []
    omitted_servers, omitted_search = [], []
    if not servers:
        limits.append("no-nameserver")
        problems.append("lists no nameserver")
        evidence.append("%s lists no nameserver: pods with dnsPolicy Default and CoreDNS get none" % where)
        fixes.append("list at least one reachable nameserver")
    elif len(servers) > MAX_NAMESERVERS:
        kept, omitted_servers = servers[:MAX_NAMESERVERS], servers[MAX_NAMESERVERS:]
        limits.append("nameservers")
        problems.append("lists %d nameservers (at most %d): kubelet omits %s" % (len(servers), MAX_NAMESERVERS, ", ".join(omitted_servers)))
        evidence.append("%s lists %d nameservers (at most %d): %s" % (where, len(servers), MAX_NAMESERVERS, ", ".join(servers)))
        evidence.append(
            "kubelet keeps the first %d (%s) and omits %s: %s"
            % (MAX_NAMESERVERS, " ".join(kept), ", ".join(omitted_servers), NAMESERVER_MESSAGE % " ".join(kept))
        )
        fixes.append("list at most %d reachable nameservers" % MAX_NAMESERVERS)
    too_long = [d for d in domains if len(d) > MAX_DOMAIN_CHARS]
    line_chars = len(" ".join(domains))
    if len(domains) > MAX_SEARCH_PATHS:
        limits.append("search-domains")
        problems.append("has %d search domains (at most %d)" % (len(domains), MAX_SEARCH_PATHS))
        evidence.append("%s search line has %d domains (at most %d): %s" % (where, len(domains), MAX_SEARCH_PATHS, _shorts(domains)))
    if line_chars > MAX_SEARCH_LINE_CHARS:
        limits.append("search-line-length")
        problems.append("has a search line of %s characters (at most %s)" % ("{:,}".format(line_chars), "{:,}".format(MAX_SEARCH_LINE_CHARS)))
        evidence.append("%s search line is %s characters long (at most %s)" % (where, "{:,}".format(line_chars), "{:,}".format(MAX_SEARCH_LINE_CHARS)))
    if too_long:
        limits.append("search-domain-length")
        problems.append("has a search domain over %d characters" % MAX_DOMAIN_CHARS)
        evidence.append("%s search domain longer than %d characters: %s" % (where, MAX_DOMAIN_CHARS, _shorts(too_long)))
    if {"search-domains", "search-line-length", "search-domain-length"} & set(limits):
        kept_search, omitted_search = _applied_search(domains)
        evidence.append("kubelet omits %s (%s), keeping %d domains" % (_shorts(omitted_search), SEARCH_MESSAGE, len(kept_search)))
        fixes.append(
            "list at most %d search domains, each at most %d characters, %s characters in all"
            % (MAX_SEARCH_PATHS, MAX_DOMAIN_CHARS, "{:,}".format(MAX_SEARCH_LINE_CHARS))
        )
    if not limits:
        return []
    if chosen:
        evidence.append("%s is kubelet's: %s" % (path, chosen))
    etc = facts.get("resolv_conf") or {}
    owner = conf.get("managed_by") or (etc.get("managed_by") if etc.get("path") == path else None) or conf.get("generated_by")
    return [
        Finding(
            "kubelet-dns-limits",
            "error" if "no-nameserver" in limits else "warning",
            host,
            "%s %s" % (path, "; ".join(problems)),
            evidence,
            _why(limits),
            "%s through whatever manages %s%s, or give kubelet a file of its own within these limits (`resolvConf:` in its "
            "KubeletConfiguration, `--resolv-conf`)." % (_sentence("; ".join(fixes)), path, " (%s)" % owner if owner else ""),
            data={"limits": limits, "omitted_nameservers": omitted_servers, "omitted_search": omitted_search},
        )
    ]
