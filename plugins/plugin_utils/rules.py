# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules engine: judge the hostnet facts of many hosts on the controller.

Pure Python over plain dicts (the facts published by ``hostnet_facts``), so
it is importable and testable without Ansible. Per-host rules see one host's
facts; fleet rules see every host's at once (and must stay O(hosts)).

Each finding says what was seen (``evidence``), why it breaks Kubernetes
(``why``, naming the symptom users see) and the exact ``fix``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import ipaddress
import re
import socket
import struct

from ansible_collections.kubeprep.hostnet.plugins.module_utils import hostsfile, nmconf, nsswitch
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip, siterules

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
DOCS_BASE = "docs/rules/"

DEFAULT_OPTIONS = {
    "skip_rules": (),
    "warn_rules": (),
    "site_rules": (),
    "node_cidr": None,
    "ansible_hosts": None,
    "resolver_max_seconds": 20,
    "observed_lookup_slow_ms": 1000,
    # F5: calico-node v2.x reads ~6 keys per node at startup, one round trip each
    # (ip_addr_v4, network_v4, ip_addr_v6, network_v6, as_num, orchestrator_refs).
    "cluster_nodes": None,  # default: the number of audited hosts
    "requests_per_node": 6,
    # The calico-node manifest's liveness probe (v2.6): 10 + 6 x 10 = 70 s.
    "liveness_initial_delay": 10,
    "liveness_period": 10,
    "liveness_failure_threshold": 6,
    "probe_margin": 1.5,
    "cni": "unknown",
    "service_cidrs": ("10.96.0.1",),
    "pod_cidr": "10.244.0.0/16",
    "max_clock_skew": 30.0,
    "port_probes": {},
}


class Finding:
    __slots__ = ("rule", "severity", "host", "message", "evidence", "why", "fix", "hosts", "data", "docs")

    def __init__(self, rule, severity, host, message, evidence, why, fix, hosts=None, data=None, docs=None):
        if severity not in SEVERITY_RANK:
            raise ValueError("unknown severity %r" % severity)
        self.rule = rule
        self.severity = severity
        self.host = host
        self.message = message
        self.evidence = list(evidence)
        self.why = why
        self.fix = fix
        self.hosts = list(hosts) if hosts else None
        self.data = data
        self.docs = docs

    def to_dict(self):
        data = {
            "id": self.rule,
            "severity": self.severity,
            "host": self.host,
            "message": self.message,
            "evidence": self.evidence,
            "why": self.why,
            "fix": self.fix,
            "docs": self.docs or DOCS_BASE + self.rule + ".md",
        }
        if self.hosts is not None:
            data["hosts"] = self.hosts
        if self.data is not None:
            data["data"] = self.data  # machine-readable details (e.g. recommended probe values)
        return data


class Fix:
    """How a rule's findings get fixed: by a role of this collection, or by hand.

    ``role``: the role ``kubeprep.hostnet.remediate`` runs on each host with the
    finding. ``inputs``: variables the role cannot guess (unset: the host
    "needs input" and the variable is named). ``opt_in``: a variable that must
    be true before the role may run (unset: the finding is manual, with the way
    to opt in). ``manual``: why no role can fix it; the finding's own ``fix``
    text is then the exact step. ``only``: a finding data key/value pair the
    role can fix (other findings of the rule are manual).
    """

    __slots__ = ("role", "inputs", "opt_in", "manual", "only")

    def __init__(self, role=None, inputs=(), opt_in=None, manual=None, only=None):
        if bool(role) == bool(manual):
            raise ValueError("a fix has a role or a manual reason, not both")
        self.role = role
        self.inputs = tuple(inputs)
        self.opt_in = opt_in
        self.manual = manual
        self.only = only

    def to_dict(self):
        if self.manual:
            return {"kind": "manual", "reason": self.manual}
        data = {"kind": "role", "role": "kubeprep.hostnet." + self.role, "inputs": list(self.inputs), "opt_in": self.opt_in}
        if self.only:
            data["only"] = dict([self.only])
        return data


class Rule:
    __slots__ = ("id", "scope", "title", "check", "severities", "fix")

    def __init__(self, rule_id, scope, title, check, severities, fix):
        self.id = rule_id
        self.scope = scope
        self.title = title
        self.check = check
        self.severities = tuple(severities)
        self.fix = fix

    def to_dict(self):
        return {
            "scope": self.scope,
            "title": self.title,
            "severities": list(self.severities),
            "fix": self.fix.to_dict(),
            "docs": DOCS_BASE + self.id + ".md",
        }


RULES = {}


def rule(rule_id, title, severities, fix, scope="host"):
    """Register a rule with everything it means: the severities it reports, how it is
    fixed, its docs page (docs/rules/<id>.md). Host rules: check(host, facts, options)
    -> [Finding]. Fleet rules: check(facts_by_host, options) -> [Finding]."""

    def register(func):
        if rule_id in RULES:
            raise ValueError("duplicate rule id %s" % rule_id)
        unknown = set(severities) - set(SEVERITIES)
        if unknown:
            raise ValueError("rule %s: unknown severities %s" % (rule_id, sorted(unknown)))
        RULES[rule_id] = Rule(rule_id, scope, title, func, severities, fix)
        return func

    return register


# -- helpers over facts -------------------------------------------------------------


def _kernel_facts(facts, key):
    """The kernel fact group, or None when it does not apply (image root) or failed."""
    value = facts.get(key)
    if not isinstance(value, (dict, list)):
        return None
    if isinstance(value, dict) and value.get("status") in ("not_applicable", "unavailable"):
        return None
    return value


def sysctl_value(facts, key):
    entry = (_kernel_facts(facts, "sysctl") or {}).get(key) or {}
    return entry.get("value") if entry.get("status") == "ok" else None


def interface(facts, name):
    for iface in (_kernel_facts(facts, "interfaces") or {}).get("list") or []:
        if iface.get("name") == name:
            return iface
    return None


def loopback_state(facts):
    """Which loopback families a client can really use, with the evidence."""
    evidence = []
    lo_v6_off = sysctl_value(facts, "net.ipv6.conf.lo.disable_ipv6") == "1"
    all_v6_off = sysctl_value(facts, "net.ipv6.conf.all.disable_ipv6") == "1"
    for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6", "net.ipv6.conf.lo.disable_ipv6"):
        value = sysctl_value(facts, key)
        if value is not None:
            evidence.append("%s = %s" % (key, value))
    lo = interface(facts, "lo")
    if lo is None:
        v4 = True
        v6 = not (lo_v6_off or all_v6_off)
    else:
        addrs = [a["address"] for a in lo.get("addresses") or []]
        evidence.append("lo addresses: %s" % (", ".join(addrs) or "none"))
        v4 = any(a.startswith("127.") for a in addrs)
        v6 = "::1" in addrs and not lo_v6_off
    return v4, v6, evidence


def _hosts_lines(facts, name):
    lines = []
    for entry in (facts.get("hosts_file") or {}).get("entries") or []:
        if name in (n.lower() for n in entry["names"]):
            lines.append("/etc/hosts:%d: %s" % (entry["line"], entry["raw"].strip()))
    return lines


def _resolution_evidence(facts):
    res = _kernel_facts(facts, "localhost_resolution")
    if not res:
        return []
    if res.get("status") == "timeout":
        return ['getaddrinfo("localhost") had not returned after %s ms (timed out)' % res.get("duration_ms")]
    if res.get("status") != "ok":
        return ['getaddrinfo("localhost") failed after %s ms: %s' % (res.get("duration_ms"), res.get("error"))]
    parts = []
    for entry in res.get("addresses") or []:
        state = "connect ok" if entry.get("usable") else "connect fails: %s" % entry.get("error")
        parts.append("%s (%s)" % (entry["address"], state))
    return ['getaddrinfo("localhost") -> %s in %s ms' % (", ".join(parts) or "nothing", res.get("duration_ms"))]


def _loopback_answers(facts):
    """Whether the live lookup of localhost gave a loopback address a client can connect to."""
    res = _kernel_facts(facts, "localhost_resolution") or {}
    return any(a.get("usable") and _is_loopback(a["address"]) for a in res.get("addresses") or [])


def _is_loopback(address):
    try:
        return hostsfile.is_loopback(ipaddress.ip_address(address.split("%")[0]))
    except ValueError:
        return False


# -- per-host rules -----------------------------------------------------------------

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
    fix=Fix(role="hostnet_localhost"),
)
def check_localhost(host, facts, options):
    hosts_file = facts.get("hosts_file") or {}
    if hosts_file.get("status") == "missing":
        works = _loopback_answers(facts)
        target = hosts_file.get("symlink_target")
        return [
            Finding(
                "localhost-unreachable",
                "warning" if works else "error",
                host,
                "/etc/hosts is missing%s" % (" (a dangling link to %s)" % target if target else "")
                + (" (another name service answers for now)" if works else ": localhost does not resolve from files"),
                ["/etc/hosts: %s" % (hosts_file.get("error") or "missing")] + _resolution_evidence(facts),
                _WHY_LOCALHOST,
                "Create /etc/hosts with `127.0.0.1 localhost` (kubeprep.hostnet.remediate does this).",
            )
        ]
    if hosts_file.get("status") != "ok":
        return []  # facts-incomplete reports the unreadable file
    addresses = (hosts_file.get("names") or {}).get("localhost") or []
    v4_ok, v6_ok, lo_evidence = loopback_state(facts)
    evidence = _hosts_lines(facts, "localhost") + lo_evidence + _resolution_evidence(facts)
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

    if not addresses:
        works = _loopback_answers(facts)
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
    foreign = [a for a in addresses if not _is_loopback(a)]
    if foreign:
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
        v6_only = all(":" in a for a in addresses)
        message = (
            "localhost resolves only to %s but IPv6 is disabled on lo" % ", ".join(addresses)
            if v6_only
            else "no address of localhost (%s) is configured on lo" % ", ".join(addresses)
        )
        return [Finding("localhost-unreachable", "error", host, message, evidence, _WHY_LOCALHOST, fix)]
    return []


@rule(
    "service-network-unroutable",
    "the kernel has no route to the Kubernetes Service network",
    severities=("error",),
    fix=Fix(role="hostnet_service_route", inputs=("hostnet_service_route_gateway",)),
)
def check_service_route(host, facts, options):
    lookups = _kernel_facts(facts, "service_route_lookups")
    if not isinstance(lookups, list):
        return []
    routes = _kernel_facts(facts, "routes") or {}
    findings = []
    for lookup in lookups:
        if lookup.get("reachable") is None and lookup.get("error"):
            # Defence in depth: hostnet_inputs refuses such entries before any host is contacted.
            findings.append(
                Finding(
                    "service-network-unroutable",
                    "error",
                    host,
                    "Service IP entry %r could not be checked: %s" % (lookup.get("address"), lookup.get("error")),
                    ["service_ips entry %r: %s" % (lookup.get("address"), lookup.get("error"))],
                    "An entry the audit cannot use must not pass the gate: the route it names was never looked up.",
                    "Set hostnet_service_ips to Service IPs or CIDRs (for example 10.96.0.1 or 10.233.0.0/18).",
                )
            )
            continue
        via_lo = lookup.get("reachable") and lookup.get("dev") == "lo" and lookup.get("type") not in ("local", None)
        if lookup.get("reachable") is not False and not via_lo:
            continue
        if via_lo:
            evidence = ["route lookup for %s: via %s dev lo (packets to it never leave the host)" % (lookup["address"], lookup.get("gateway"))]
        else:
            evidence = ["route lookup for %s: %s" % (lookup["address"], lookup.get("error"))]
        if lookup.get("ip_route_get"):
            evidence.append("ip route get %s: %s" % (lookup["address"], lookup["ip_route_get"]))
        defaults = routes.get("default_ipv4")
        if defaults is not None:
            evidence.append("IPv4 default routes: %s" % (", ".join("via %s dev %s" % (r.get("gateway"), r.get("dev")) for r in defaults) or "none"))
        table = [("%s dev %s" % (r["dst"], r.get("dev"))) for r in routes.get("ipv4") or []][:10]
        evidence.append("IPv4 routes: %s" % ("; ".join(table) or "none"))
        findings.append(
            Finding(
                "service-network-unroutable",
                "error",
                host,
                ("Service IP %s is routed into lo, a black hole" if via_lo else "no route to Service IP %s") % lookup["address"],
                evidence,
                "The routing decision happens before kube-proxy's DNAT can apply, so pods and host-network "
                "components (calico-node, CoreDNS) get `dial tcp %s:443: connect: network is unreachable`." % lookup["address"],
                "Add a persistent route covering the Service CIDR: a default route via the node's gateway, or "
                "`<service CIDR> via <gateway> dev <cluster NIC>`, through the host's network manager "
                "(a route added with `ip route` alone is lost at reboot).",
            )
        )
    return findings


@rule(
    "no-default-route",
    "the host has no default route",
    severities=("warning",),
    fix=Fix(role="hostnet_service_route", inputs=("hostnet_service_route_gateway",)),
)
def check_default_route(host, facts, options):
    routes = _kernel_facts(facts, "routes")
    if not routes or routes.get("status") != "ok":
        return []
    if routes.get("default_ipv4") or routes.get("default_ipv6"):
        return []
    table = [("%s dev %s" % (r["dst"], r.get("dev"))) for r in routes.get("ipv4") or []][:10]
    return [
        Finding(
            "no-default-route",
            "warning",
            host,
            "no IPv4 or IPv6 default route",
            ["ip route: %s" % ("; ".join(table) or "no IPv4 routes"), "ip -6 route: no default route"],
            "Without a default route every address not covered by a specific route is unreachable; after a "
            "reboot without a DHCP lease this is how calico-node ends in CrashLoopBackOff with "
            "`dial tcp 10.96.0.1:443: connect: network is unreachable`.",
            "Configure a persistent default route (or a route for the Service CIDR) in the host's network "
            "manager and check the DHCP lease of the NIC that should provide it.",
        )
    ]


@rule(
    "dns-before-files",
    "localhost can be looked up in DNS before /etc/hosts",
    severities=("error", "warning"),
    fix=Fix(role="hostnet_name_service"),
)
def check_dns_first(host, facts, options):
    ns = facts.get("nsswitch") or {}
    libc = facts.get("libc") or {}
    libc_text = "%s %s" % (libc.get("family"), libc.get("version") or "(version unknown)")
    why = (
        "A lookup of localhost goes to the nameservers first; when they are slow or unreachable it outlives "
        "the client's timeout and kube-apiserver dies with `dial tcp: i/o timeout` / `Unable to perform "
        "initial IP allocation check`."
    )
    fix = "Write `hosts: files dns` in /etc/nsswitch.conf (files before dns, other sources kept)."
    if ns.get("status") == "ok" and ns.get("hosts_sources") is not None:
        if not ns.get("dns_before_files"):
            return []
        return [
            Finding(
                "dns-before-files",
                "error",
                host,
                "nsswitch.conf asks DNS before /etc/hosts (hosts: %s)"
                % (
                    " ".join(ns["hosts_sources"])
                    if nsswitch.dns_before_files(ns["hosts_sources"])
                    else "%s for glibc, but %s for Go programs" % (" ".join(ns["hosts_sources"]), " ".join(ns.get("go_hosts_sources") or []))
                ),
                ["/etc/nsswitch.conf:%s: %s" % (ns.get("hosts_line"), (ns.get("hosts_raw") or "").strip())]
                + (
                    [
                        "hosts: is defined on lines %s: glibc uses the last one (line %s: %s), Go's resolver reads them all in order (%s)"
                        % (
                            ", ".join(str(n) for n in ns["hosts_lines"]),
                            ns.get("hosts_line"),
                            " ".join(ns["hosts_sources"]),
                            " ".join(ns.get("go_hosts_sources") or []),
                        )
                    ]
                    if len(ns.get("hosts_lines") or []) > 1
                    else []
                )
                + _resolution_evidence(facts),
                why,
                fix,
            )
        ]
    if ns.get("status") not in ("ok", "missing"):
        return []  # unreadable: facts-incomplete says so
    state = "missing" if ns.get("status") == "missing" else "present without a hosts: line"
    evidence = ["/etc/nsswitch.conf: %s" % state, "libc: %s" % libc_text]
    go = facts.get("go_binaries") if isinstance(facts.get("go_binaries"), dict) else {}
    go_list = [b for b in go.get("list") or [] if isinstance(b, dict)]
    old_go = [b for b in go_list if b.get("files_first_without_nsswitch") is False]
    go_evidence = [
        "%s: built with %s (%s)" % (b.get("path"), b.get("go_version"), "DNS before /etc/hosts" if b in old_go else "/etc/hosts first")
        for b in (old_go + [b for b in go_list if b not in old_go])[:10]
    ]
    if len(go_list) > 10:
        go_evidence.append("... and %d more Go programs" % (len(go_list) - 10))
    evidence += go_evidence
    if old_go and not ns.get("dns_before_files"):
        return [
            Finding(
                "dns-before-files",
                "error",
                host,
                "/etc/nsswitch.conf is %s and %d Go program(s) built before Go 1.16 then ask DNS first: %s"
                % (state, len(old_go), ", ".join("%s (%s)" % (b.get("path"), b.get("go_version")) for b in old_go[:3])),
                evidence + _resolution_evidence(facts),
                "Go's own resolver (used by statically linked Kubernetes components, etcd and CNI plugins) read a "
                "missing nsswitch.conf as `hosts: dns files` before Go 1.16: `localhost` goes to the nameservers "
                "first, the cause of kube-apiserver's `dial tcp: i/o timeout` on localhost.",
                "Create /etc/nsswitch.conf with `hosts: files dns` (in the image, or on the host), or rebuild the programs with Go 1.16 or later.",
            )
        ]
    if ns.get("dns_before_files"):
        return [
            Finding(
                "dns-before-files",
                "error",
                host,
                "/etc/nsswitch.conf is %s and %s then asks DNS first" % (state, libc_text),
                evidence + ["glibc < 2.35 default: hosts: dns [!UNAVAIL=return] files"] + _resolution_evidence(facts),
                why,
                "Create /etc/nsswitch.conf with `hosts: files dns`.",
            )
        ]
    return [
        Finding(
            "dns-before-files",
            "warning",
            host,
            "/etc/nsswitch.conf is %s: Go programs built before Go 1.16 ask DNS before /etc/hosts" % state,
            evidence + ["libc default order: %s" % " ".join(ns.get("libc_default_sources") or ["unknown"])],
            "Statically linked Go binaries (Kubernetes components, etcd, CNI plugins) do not use libc; before "
            "Go 1.16 they treated a missing nsswitch.conf as DNS first, the cause of kube-apiserver's "
            "`dial tcp: i/o timeout` on localhost.",
            "Create /etc/nsswitch.conf with `hosts: files dns` so every resolver agrees.",
        )
    ]


# Where the owner of /etc/resolv.conf keeps no options, the step is the owner's, not a role's.
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
    fix=Fix(role="hostnet_name_service", inputs=("hostnet_name_service_resolver_timeout",)),
)
def check_slow_resolver(host, facts, options):
    findings = []
    res = _kernel_facts(facts, "localhost_resolution") or {}
    observed_slow = res.get("status") == "timeout" or (res.get("duration_ms") or 0) > options["observed_lookup_slow_ms"]
    conf = facts.get("resolv_conf") or {}
    ns = facts.get("nsswitch") or {}
    uses_dns = "dns" in (ns.get("effective_sources") or ["dns"])
    conf_evidence = []
    worst = None
    if conf.get("status") == "ok":
        model = conf.get("worst_case_model", "glibc")
        worst = (conf.get("worst_case_lookup_s") or {}).get(model)
        servers = [n["address"] for n in conf.get("nameservers") or []]
        conf_evidence = [
            "/etc/resolv.conf nameservers: %s" % (", ".join(servers) or "none (127.0.0.1 implied)"),
            "options timeout:%s attempts:%s%s; search: %s"
            % (conf.get("timeout"), conf.get("attempts"), " rotate" if conf.get("rotate") else "", " ".join(conf.get("search") or []) or "none"),
            "worst case for one lookup that no nameserver answers (%s model): %s s" % (model, worst),
        ]
        if len(servers) > 3:
            conf_evidence.append("only the first 3 nameservers are used; %d listed" % len(servers))
    why = (
        "Lookups that reach unresponsive nameservers block for the worst-case time; Kubernetes clients "
        "(kube-apiserver's loopback client, kubelet, CNI plugins) time out first with `dial tcp: i/o timeout`."
    )
    fix = (
        "List only reachable nameservers (at most 3) and bound the wait with `options timeout:1 attempts:2` "
        "through whatever manages /etc/resolv.conf%s; keep `hosts: files dns` so localhost never needs DNS."
        % (" (%s)" % conf["managed_by"] if conf.get("managed_by") else "")
    )
    owner = conf.get("managed_by")
    data = None
    if owner in RESOLVER_OWNER_STEPS:
        # These owners write /etc/resolv.conf without options the role could keep there.
        fix = RESOLVER_OWNER_STEPS[owner]
        data = {"manual": "%s owns /etc/resolv.conf and keeps no resolver options there" % owner}
    if observed_slow:
        findings.append(
            Finding(
                "slow-resolver",
                "error",
                host,
                "looking up localhost %s"
                % ("did not finish within %s ms" % res.get("duration_ms") if res.get("status") == "timeout" else "took %s ms" % res.get("duration_ms")),
                _resolution_evidence(facts) + conf_evidence,
                why,
                fix,
                data=data,
            )
        )
    elif uses_dns and worst is not None and worst > options["resolver_max_seconds"]:
        # Only a warning where localhost itself would wait on DNS; elsewhere it is
        # worth knowing (other names wait too) but does not break an install.
        hosts_names = (facts.get("hosts_file") or {}).get("names") or {}
        localhost_via_dns = bool(ns.get("dns_before_files")) or "localhost" not in hosts_names
        findings.append(
            Finding(
                "slow-resolver",
                "warning" if localhost_via_dns else "info",
                host,
                "a lookup no nameserver answers can take %s s (limit %s s)" % (worst, options["resolver_max_seconds"]),
                conf_evidence,
                why,
                fix,
                data=data,
            )
        )
    return findings


# A DNS-1123 subdomain, as Kubernetes requires of a node name (kubelet lowercases the hostname first).
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LOCALHOST_NAMES = ("localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6")


def hostname_problem(name):
    """Why ``name`` cannot be a node name, or None."""
    lowered = name.lower()
    if lowered in _LOCALHOST_NAMES:
        return "is %s: every such node registers as the same node, and localhost means this machine to every client" % name
    if len(lowered) > 253:
        return "is %d characters long (at most 253)" % len(lowered)
    bad = [label for label in lowered.split(".") if not _DNS1123_LABEL.match(label)]
    if bad:
        return "is not a DNS-1123 name (label %r: lowercase letters, digits and '-', at most 63, starting and ending alphanumeric)" % bad[0]
    return None


@rule(
    "hostname-invalid",
    "the host's name cannot be a Kubernetes node name",
    severities=("error",),
    fix=Fix(manual="renaming a host changes its identity everywhere it is known (DNS, certificates, monitoring): do it before the install, by hand"),
)
def check_hostname(host, facts, options):
    ident = facts.get("identity") or {}
    names = []
    if ident.get("hostname"):
        names.append(("the kernel's hostname", ident["hostname"]))
    etc = ident.get("etc_hostname")
    if etc and etc != ident.get("hostname"):
        names.append(("/etc/hostname (the name at the next boot)", etc))
    problems = [(where, name, hostname_problem(name)) for where, name in names]
    problems = [item for item in problems if item[2]]
    if not problems:
        return []
    where, name, problem = problems[0]
    evidence = ["%s: %s" % (w, n) for w, n in names] + ["%s %s %s" % (w, n, why) for w, n, why in problems]
    return [
        Finding(
            "hostname-invalid",
            "error",
            host,
            "%s %s %s" % (where, name, problem),
            evidence,
            "kubelet registers the node under its lowercased hostname: kubeadm init/join stops with `a lowercase RFC 1123 subdomain must "
            "consist of lower case alphanumeric characters, '-' or '.'`, and two hosts named localhost become one node that flaps.",
            "Give the host a unique DNS-1123 name before the install: `hostnamectl set-hostname node-1.example.internal` (it writes "
            "/etc/hostname too), and update its own line in /etc/hosts.",
            data={"names": [n for _w, n in names]},
        )
    ]


# CNIs that need loose (2) or no (0) reverse-path filtering on the node's interfaces.
RP_FILTER_CNIS = {"calico": "error", "canal": "error", "unknown": "warning"}


@rule(
    "rp-filter-strict",
    "strict reverse-path filtering drops the CNI's asymmetric traffic",
    severities=("error", "warning"),
    fix=Fix(role="hostnet_sysctl"),
)
def check_rp_filter(host, facts, options):
    severity = RP_FILTER_CNIS.get(options.get("cni") or "unknown")
    if severity is None:
        return []
    values = {key: sysctl_value(facts, "net.ipv4.conf.%s.rp_filter" % key) for key in ("all", "default")}
    if values["all"] is None:
        return []
    node_ifaces = []
    dev, _gateway = nodeip.default_interface(facts)
    rec = (options.get("_recommendations") or {}).get(host)
    for name in ([rec["interface"]] if rec else []) + ([dev] if dev else []):
        if name not in node_ifaces:
            node_ifaces.append(name)
    strict = []
    evidence = ["net.ipv4.conf.all.rp_filter = %s" % values["all"], "net.ipv4.conf.default.rp_filter = %s" % values["default"]]
    for name in node_ifaces:
        iface = interface(facts, name) or {}
        own = iface.get("rp_filter")
        effective = max(int(values["all"]), own if own is not None else 0)
        evidence.append("net.ipv4.conf.%s.rp_filter = %s: effective %d (the larger of all and %s)" % (name, own, effective, name))
        if effective == 1:
            strict.append(name)
    # Interfaces made later (the CNI's cali*, tunl0, vxlan.calico) start with the default value.
    if values["default"] is not None and max(int(values["all"]), int(values["default"])) == 1:
        strict.append("new interfaces (default)")
    if not strict:
        return []
    return [
        Finding(
            "rp-filter-strict",
            severity,
            host,
            "strict reverse-path filtering (rp_filter effective 1) on %s" % ", ".join(strict),
            evidence,
            "With strict filtering the kernel drops a packet whose source it would not route back through the interface it "
            "came in on; calico's IP-in-IP/VXLAN and service traffic is asymmetric, so pods lose traffic and calico-node "
            "refuses to start (`felix: Kernel's RPF check is set to 'strict'`). CNI: %s." % options.get("cni", "unknown"),
            "Set loose filtering, `net.ipv4.conf.all.rp_filter = 2` and `net.ipv4.conf.default.rp_filter = 2`, now (`sysctl -w`) "
            "and in /etc/sysctl.d/ (role kubeprep.hostnet.hostnet_sysctl).",
            data=dict(
                {"interfaces": strict},
                # With the CNI unknown this is a warning, and loosening a security setting is not done on a guess.
                **({"manual": "the CNI is unknown: set hostnet_cni (calico, canal) to let the remediation loosen rp_filter"} if severity == "warning" else {}),
            ),
        )
    ]


# Interfaces a CNI or kube-proxy makes: their routes into the Pod or Service network are the cluster's own.
_CLUSTER_DEVICES = re.compile(r"^(cni\d*|flannel[.\d]*|cali.*|tunl\d+|vxlan[.-]calico|cilium_.*|lxc.*|weave|vethwe.*|kube-ipvs0|kube-bridge|docker\d+|cbr0)$")


def service_networks(items, default="10.96.0.1"):
    """The networks to judge: CIDRs as given, a bare IP as itself, and ``default`` (the default Service IP
    10.96.0.1) as kubeadm's 10.96.0.0/12."""
    networks = []
    for item in items or ():
        text = str(item or "").strip()
        try:
            network = ipaddress.ip_network("10.96.0.0/12" if default and text == default else text, strict=False)
        except ValueError:
            continue
        if network not in networks:
            networks.append(network)
    return networks


def _net(text):
    """'a.b.c.d[/n]' -> (version, int, prefix) using inet_pton (the rules run for every address of 10,000 hosts)."""
    address, _sep, length = str(text).partition("/")
    address = address.split("%")[0]
    try:
        if ":" in address:
            value, bits = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big"), 128
        else:
            value, bits = struct.unpack("!I", socket.inet_pton(socket.AF_INET, address))[0], 32
        prefix = int(length) if length else bits
    except (OSError, ValueError, TypeError):
        return None
    if not 0 <= prefix <= bits:
        return None
    return (bits, value >> (bits - prefix) << (bits - prefix) if prefix else 0, prefix)


def _contains(network, net):
    """Whether net (version, value, prefix) lies inside network (same shape)."""
    bits, value, prefix = network
    return net[0] == bits and net[2] >= prefix and net[1] >> (bits - prefix) == value >> (bits - prefix) if prefix else net[0] == bits


def _overlap(network, net):
    bits = network[0]
    if net[0] != bits:
        return False
    shortest = min(network[2], net[2])
    return not shortest or network[1] >> (bits - shortest) == net[1] >> (bits - shortest)


def _overlaps(facts, network):
    """(severity, what, where) for each thing of the host inside/overlapping ``network`` (an ipaddress network)."""
    target = _net(str(network))
    found = []
    for iface in (_kernel_facts(facts, "interfaces") or {}).get("list") or []:
        if _CLUSTER_DEVICES.match(iface.get("name") or ""):
            continue  # cni0's 10.244.0.1 is the cluster's own (an audit of a running node)
        for addr in iface.get("addresses") or []:
            if addr.get("scope") in ("host", "link"):
                continue
            net = _net(addr.get("address"))
            if net and _contains(target, net):
                found.append(("error", "address %s" % addr.get("cidr", addr.get("address")), "on %s" % iface.get("name")))
    routes = _kernel_facts(facts, "routes") or {}
    for route in (routes.get("default_ipv4") or []) + (routes.get("default_ipv6") or []):
        net = _net(route.get("gateway") or "")
        if net and _contains(target, net):
            found.append(("error", "default gateway %s" % route.get("gateway"), "dev %s" % route.get("dev")))
    for server in (facts.get("resolv_conf") or {}).get("nameservers") or []:
        net = _net(server.get("address") or "")
        if net and _contains(target, net):
            found.append(("error", "nameserver %s" % server["address"], "in /etc/resolv.conf line %s" % server.get("line")))
    for route in (routes.get("ipv4") or []) + (routes.get("ipv6") or []) + (routes.get("other_tables_ipv4") or []):
        if route.get("default") or route.get("type") not in (None, "unicast") or route.get("protocol") == "kernel":
            continue  # a kernel route is the subnet of an address, already judged above
        if _CLUSTER_DEVICES.match(route.get("dev") or ""):
            continue
        net = _net(route.get("dst") or "")
        if not net or not _overlap(target, net) or net == target:
            continue  # a route for exactly this network is the deliberate one (the F2 fix routes the Service CIDR)
        where = "dev %s%s, table %s" % (route.get("dev"), " via %s" % route["gateway"] if route.get("gateway") else "", route.get("table") or "main")
        found.append(("warning", "route %s" % route.get("dst"), where))
    return found


def _cidr_overlap(rule_id, host, facts, networks, label, why):
    findings = []
    for network in networks:
        found = _overlaps(facts, network)
        if not found:
            continue
        severity = "error" if any(level == "error" for level, _w, _h in found) else "warning"
        first = next(item for item in found if item[0] == severity)
        findings.append(
            Finding(
                rule_id,
                severity,
                host,
                "the %s %s overlaps %s (%s)" % (label, network, first[1], first[2]),
                ["%s %s: %s (%s)" % (label, network, what, where) for _level, what, where in found],
                why,
                "Choose a %s that overlaps nothing the hosts use (addresses, routes, gateways, nameservers) before the install, "
                "and pass it to the installer and this audit; or renumber what overlaps." % label,
                data={"network": str(network), "overlaps": [{"severity": lvl, "what": w, "where": h} for lvl, w, h in found]},
            )
        )
    return findings


@rule(
    "service-cidr-overlap",
    "the Service network overlaps the host's addresses, routes, gateways or nameservers",
    severities=("error", "warning"),
    fix=Fix(manual="the Service CIDR is fixed at install time (kubeadm --service-cidr, kubespray kube_service_addresses): choose one that overlaps nothing"),
)
def check_service_cidr_overlap(host, facts, options):
    return _cidr_overlap(
        "service-cidr-overlap",
        host,
        facts,
        options["_service_networks"] if "_service_networks" in options else service_networks(options.get("service_cidrs")),
        "Service CIDR",
        "kube-proxy DNATs every Service IP; the host's own address, gateway or nameserver inside the Service network "
        "becomes unreachable from pods and from the host, and a host route into it sends Service traffic out of the wrong "
        "interface before kube-proxy's rules apply.",
    )


@rule(
    "pod-cidr-overlap",
    "the Pod network overlaps the host's addresses, routes, gateways or nameservers",
    severities=("error", "warning"),
    fix=Fix(
        manual="the Pod CIDR is fixed at install time (kubeadm --pod-network-cidr, kubespray kube_pods_subnet, the CNI's pool): "
        "choose one that overlaps nothing"
    ),
)
def check_pod_cidr_overlap(host, facts, options):
    networks = options["_pod_networks"] if "_pod_networks" in options else service_networks([options.get("pod_cidr")], default=None)
    return _cidr_overlap(
        "pod-cidr-overlap",
        host,
        facts,
        networks,
        "Pod CIDR",
        "The CNI routes the Pod network to pods: hosts, gateways or nameservers inside it become unreachable from pods "
        "(and DNS fails cluster-wide when a nameserver is), and an existing route into it competes with the CNI's routes.",
    )


@rule(
    "networkmanager-manages-cni",
    "NetworkManager would manage the CNI's interfaces",
    severities=("warning",),
    fix=Fix(role="hostnet_networkmanager"),
)
def check_networkmanager_cni(host, facts, options):
    config = facts.get("networkmanager") or {}
    if not config.get("running"):
        return []
    managed = [name for name in nmconf.CNI_INTERFACES if not nmconf.covers(config, name)]
    if not managed:
        return []
    specs = config.get("unmanaged_devices") or []
    sections = ["[%s] managed=0 for %s (%s)" % (s["section"], ";".join(s["specs"]), s["path"]) for s in config.get("unmanaged_sections") or []]
    return [
        Finding(
            "networkmanager-manages-cni",
            "warning",
            host,
            "NetworkManager runs and no unmanaged-devices setting covers %s" % ", ".join(managed),
            ["NetworkManager is running", "configuration read: %s" % (", ".join(config.get("config_files") or []) or "none")]
            + ["[keyfile] unmanaged-devices=%s" % (";".join(specs) or "(none)")]
            + sections,
            "NetworkManager takes the interfaces the CNI and kube-proxy create (cali*, flannel.1, cni0, tunl0, kube-ipvs0): it "
            "removes their routes and addresses or brings them down, and pods on the node lose their network (rke2#786, "
            "kubespray's calico and flannel roles write the same exclusion).",
            "Tell NetworkManager to leave them alone: a drop-in in /etc/NetworkManager/conf.d/ with a [device-...] section, "
            "`match-device=interface-name:cali*;interface-name:flannel*;...` and `managed=0`, then `nmcli general reload conf` "
            "(role kubeprep.hostnet.hostnet_networkmanager).",
            data={"managed": managed},
        )
    ]


@rule(
    "search-domain-answers-localhost",
    "DNS answers localhost.<search domain> with a non-loopback address",
    severities=("error", "warning"),
    fix=Fix(manual="the record (often a wildcard) is in the site's DNS zone: remove it there, or drop the domain from the search list"),
)
def check_search_domain_localhost(host, facts, options):
    lookups = _kernel_facts(facts, "search_domains") or {}
    bad = []
    for item in lookups.get("results") or []:
        addresses = [a for a in item.get("addresses") or [] if not _is_loopback(a)]
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


@rule(
    "ip-forward-disabled",
    "IPv4 forwarding is off",
    severities=("error",),
    fix=Fix(role="hostnet_sysctl"),
)
def check_ip_forward(host, facts, options):
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


@rule(
    "bridge-nf-call-iptables",
    "bridged traffic bypasses iptables",
    severities=("error", "warning"),
    fix=Fix(role="hostnet_sysctl"),
)
def check_bridge_nf(host, facts, options):
    sysctl = _kernel_facts(facts, "sysctl") or {}
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
                "`modprobe br_netfilter`, persist it in /etc/modules-load.d/k8s.conf, and set net.bridge.bridge-nf-call-iptables=1 in /etc/sysctl.d/k8s.conf.",
            )
        ]
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
        ]
    return []


@rule(
    "facts-incomplete",
    "some facts could not be read, so some rules could not judge",
    severities=("warning",),
    fix=Fix(manual="the missing access (become, iproute2, file permissions) is the operator's to grant"),
)
def check_facts_incomplete(host, facts, options):
    problems = facts.get("problems") or []
    if not problems:
        return []
    return [
        Finding(
            "facts-incomplete",
            "warning",
            host,
            "%d fact source(s) could not be read; rules that need them were not judged" % len(problems),
            ["%s: %s" % (p.get("source"), p.get("message")) for p in problems],
            "A fault in what could not be read would go unreported.",
            "Run the audit with become: true, install iproute2, or fix the listed files' permissions.",
        )
    ]


# -- fleet rules (F4) -----------------------------------------------------------------


def _pin_fix(recommendations, hosts):
    parts = []
    for host in hosts:
        rec = recommendations.get(host)
        if rec:
            parts.append("%s: %s %s" % (host, rec["interface"], rec["address"]))
    if not parts:
        return "Pin each node's cluster interface (set hostnet_node_cidr to let the audit recommend one)."
    return (
        "Pin the cluster interface on each node (%s): kubelet --node-ip, flannel --iface, calico "
        "IP_AUTODETECTION_METHOD=interface=<nic> (kubespray: ip/access_ip/flannel_interface/calico_ip_auto_method). "
        "The report directory has a host_vars file per host with these values." % "; ".join(parts)
    )


@rule(
    "shared-default-address",
    "the address on the default-route interface is the same on several hosts",
    severities=("error", "info"),
    fix=Fix(role="hostnet_node_ip", opt_in="hostnet_node_ip_enabled"),
    scope="fleet",
)
def check_shared_default_address(facts_by_host, options):
    groups = {}
    for host in sorted(facts_by_host):
        for name, address in nodeip.default_addresses(facts_by_host[host]):
            groups.setdefault(address, []).append((host, name))
    recommendations = options["_recommendations"]
    findings = []
    for address, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        hosts = [host for host, _iface in members]
        evidence = []
        unpinned = []
        for host, name in members:
            _dev, gateway = nodeip.default_interface(facts_by_host[host])
            evidence.append("%s: default route via %s dev %s, %s has %s" % (host, gateway, name, name, address))
            pinned = nodeip.pinned_address(facts_by_host[host])
            if pinned and pinned != address:
                evidence.append("%s: kubelet pinned with --node-ip=%s" % (host, pinned))
            else:
                unpinned.append(host)
        message = "%d hosts have %s on their default-route interface" % (len(hosts), address)
        if not unpinned:
            message += "; all pin kubelet's --node-ip elsewhere (check that the CNI is pinned too)"
        elif len(unpinned) < len(hosts):
            message += "; not pinned: %s" % ", ".join(unpinned)
        findings.append(
            Finding(
                "shared-default-address",
                "error" if unpinned else "info",
                None,
                message,
                evidence,
                "flannel, calico (first-found) and kubelet pick the default-route interface, so every node advertises %s, "
                "an address the others cannot reach: `Dial failed: dial tcp %s:6443: connection refused`, flanneld "
                "`Using %s as external interface`." % (address, address, address),
                _pin_fix(recommendations, hosts),
                hosts=hosts,
            )
        )
    return findings


@rule(
    "clock-skew",
    "a host's clock differs from the controller's",
    severities=("error",),
    fix=Fix(manual="set the clock from the site's time source (chrony or systemd-timesyncd) and keep it running; the audit never changes a clock"),
    scope="fleet",
)
def check_clock_skew(facts_by_host, options):
    limit = float(options.get("max_clock_skew") or DEFAULT_OPTIONS["max_clock_skew"])
    offsets = {}
    for host in sorted(facts_by_host):
        clock = facts_by_host[host].get("clock") or {}
        if isinstance(clock.get("offset_s"), (int, float)):
            offsets[host] = (float(clock["offset_s"]), float(clock.get("uncertainty_s") or 0.0))
    evidence = ["%s: %+.1f s (+/- %.1f s) from the controller" % (host, off, unc) for host, (off, unc) in sorted(offsets.items())]
    findings = []
    for host, (offset, uncertainty) in sorted(offsets.items()):
        # Only what is certain: the offset less the time the round trip leaves open.
        if abs(offset) - uncertainty <= limit:
            continue
        findings.append(
            Finding(
                "clock-skew",
                "error",
                host,
                "the clock is %.1f s %s the controller's (limit %.0f s, hostnet_max_clock_skew)" % (abs(offset), "ahead of" if offset > 0 else "behind", limit),
                evidence,
                "Certificates kubeadm issues are not yet valid (or already expired) on a host whose clock is off: `x509: certificate "
                "has expired or is not yet valid`; etcd's leases and raft timeouts and token expiry misbehave. k0sctl refuses "
                "hosts more than 30 s apart.",
                "Point the host at the site's time source (chrony or systemd-timesyncd), check `timedatectl` shows `System clock "
                "synchronized: yes`, then audit again.",
                data={"offset_s": offset, "uncertainty_s": uncertainty},
            )
        )
    return findings


def node_interface(host, facts, options):
    """The interface the node's cluster traffic uses: the audit's recommendation, else the default route's."""
    rec = (options.get("_recommendations") or {}).get(host)
    if rec:
        return rec["interface"]
    return nodeip.default_interface(facts)[0]


@rule(
    "mtu-mismatch",
    "the node interfaces' MTUs differ across the fleet, or (with port probes) an MTU-sized DF packet does not reach a peer",
    severities=("warning",),
    fix=Fix(manual="an MTU is the network's, set where the network manager configures the interface on every host alike; no role guesses it"),
    scope="fleet",
)
def check_mtu_mismatch(facts_by_host, options):
    return _mtu_facts_findings(facts_by_host, options) + _df_findings(facts_by_host, options)


def node_mtus(facts_by_host, options):
    """host -> (node interface, its MTU) where both are known."""
    mtus = {}
    for host in sorted(facts_by_host):
        name = node_interface(host, facts_by_host[host], options)
        iface = interface(facts_by_host[host], name) if name else None
        if iface and isinstance(iface.get("mtu"), int):
            mtus[host] = (name, iface["mtu"])
    return mtus


def _mtu_facts_findings(facts_by_host, options):
    mtus = node_mtus(facts_by_host, options)
    values = sorted({mtu for _name, mtu in mtus.values()})
    if len(values) < 2:
        return []
    common = max(values, key=lambda v: (sum(1 for _n, m in mtus.values() if m == v), v))
    evidence = ["%s: %s mtu %d" % (host, name, mtu) for host, (name, mtu) in sorted(mtus.items())]
    findings = []
    for host, (name, mtu) in sorted(mtus.items()):
        if mtu == common:
            continue
        findings.append(
            Finding(
                "mtu-mismatch",
                "warning",
                host,
                "%s has mtu %d, most node interfaces of the fleet %d" % (name, mtu, common),
                evidence,
                "The CNI sizes its overlay (VXLAN, IP-in-IP) from one MTU: a packet sized for the larger MTU is dropped on "
                "the way to or from this host, without an error (a PMTU black hole): connections hang after the handshake, "
                "large DNS answers and image pulls stall (ceph-medic#7).",
                "Give every node interface of the cluster network the same MTU, where its network manager configures it, "
                "and set the CNI's MTU to it less the overlay's header (VXLAN 50 bytes, IP-in-IP 20).",
                data={"interface": name, "mtu": mtu, "common": common},
            )
        )
    return findings


def probe_results(facts):
    """(a host's port probe results of this run, None) when its probe step ran, else (None, why not)."""
    results = ((facts or {}).get("port_probes") or {}).get("results")
    if not isinstance(results, dict):
        return None, "the step did not run (the host failed or was unreachable)"
    if results.get("failed") is True:
        return None, results.get("msg")
    return results, None


def _df_failures(facts_by_host, options):
    """destination -> [(source, DF result)] of the probes whose MTU-sized DF datagram did not arrive."""
    failed = {}
    for source, facts in sorted(facts_by_host.items()):
        for item in (probe_results(facts)[0] or {}).get("df") or []:
            if item.get("result") in ("lost", "too_big"):
                failed.setdefault(item.get("host"), []).append((source, item))
    return failed


def _df_findings(facts_by_host, options):
    plan = (options.get("_port_probes") or {}).get("hosts") or {}
    findings = []
    for dest, items in sorted(_df_failures(facts_by_host, options).items()):
        if dest not in facts_by_host:
            continue
        evidence = []
        for source, item in items:
            node = plan.get(source) or {}
            evidence.append(
                "%s (%s, %s mtu %s) -> %s %s: a %d-byte datagram with DF set %s; a small one is answered%s"
                % (
                    source,
                    node.get("address"),
                    node.get("interface"),
                    node.get("mtu"),
                    dest,
                    item.get("address"),
                    item.get("size") or 0,
                    "is refused by the kernel (message too long)" if item["result"] == "too_big" else "gets no answer",
                    " (%s)" % item["detail"] if item.get("detail") else "",
                )
            )
        findings.append(
            Finding(
                "mtu-mismatch",
                "warning",
                dest,
                "packets of the senders' interface MTU with DF set do not reach %s from %s: the path MTU is smaller than the link MTU"
                % (dest, ", ".join(source for source, _item in items)),
                evidence,
                "The CNI sizes its overlay from the link MTU; where the path is smaller, full-size packets vanish (a PMTU "
                "black hole when ICMP 'fragmentation needed' is filtered): connections hang after the handshake, large DNS "
                "answers and image pulls stall (ceph-medic#7).",
                "Find the hop with the smaller MTU (`tracepath %s` from a sender) and raise it, or give every node interface "
                "and the CNI the path's MTU (less the overlay header: VXLAN 50 bytes, IP-in-IP 20)." % (items[0][1].get("address") or dest),
                data={"probe": "df", "sources": [source for source, _item in items], "size": items[0][1].get("size")},
            )
        )
    return findings


def _probe_line(source, plan, item):
    node = plan.get(source) or {}
    text = "%s (%s) -> %s %s %s/%s (%s): %s" % (
        source,
        node.get("address"),
        item.get("host"),
        item.get("address"),
        item.get("proto"),
        item.get("port"),
        item.get("service"),
        item.get("result"),
    )
    if item.get("result") == "timeout":
        text += " after %d ms" % (item.get("ms") or 0)
    if item.get("detail"):
        text += " (%s)" % item["detail"]
    if item.get("in_use"):
        text += " [the port is in use on %s: its own service was probed]" % item.get("host")
    return text


_PORT_HOWTO = {
    "refused": "something rejects it (a REJECT rule, or a TCP reset from a firewall)",
    "timeout": "something drops it (a DROP rule, a security group, a network ACL)",
    "unreachable": "the kernel or a router answers host/network unreachable (a reject rule with icmp, or no route)",
}


@rule(
    "node-port-unreachable",
    "a port a cluster needs is not reachable between the node addresses",
    severities=("error", "warning"),
    fix=Fix(
        manual="the firewall that drops or rejects the port (the host's nftables, iptables or firewalld, a security group, a network ACL) "
        "is the site's; open the port between the node addresses where that firewall is managed"
    ),
    scope="fleet",
)
def check_node_ports(facts_by_host, options):
    plan = options.get("_port_probes") or {}
    nodes = plan.get("hosts") or {}
    if not nodes and not plan.get("skipped"):
        return []
    failures, notes, findings = {}, {}, []
    for source in sorted(nodes):
        results, why = probe_results(facts_by_host.get(source))
        if results is None:
            notes.setdefault(source, []).append("%s: its probes of %s did not run: %s" % (source, ", ".join(nodes[source].get("probes") or []), why))
            continue
        for item in results.get("results") or []:
            if item.get("result") != "open":
                failures.setdefault(item.get("host"), []).append((source, item))
        for note in results.get("notes") or []:
            what = "%s/%s" % (note.get("proto"), note.get("port")) if note.get("port") else "every port"
            notes.setdefault(note.get("host"), []).append("%s -> %s %s: %s" % (source, note.get("host"), what, note.get("note")))
    for dest in sorted(failures):
        items = failures[dest]
        if dest not in facts_by_host:
            continue
        ports = sorted({"%s/%s" % (item["proto"], item["port"]) for _s, item in items})
        kinds = sorted({item["result"] for _s, item in items})
        findings.append(
            Finding(
                "node-port-unreachable",
                "error",
                dest,
                "%s on %s not reachable from %s (%s)" % (", ".join(ports), dest, ", ".join(sorted({s for s, _i in items})), ", ".join(kinds)),
                [_probe_line(source, nodes, item) for source, item in items] + ["%s: %s" % (kind, _PORT_HOWTO[kind]) for kind in kinds if kind in _PORT_HOWTO],
                "Each node must accept these ports from the others: `kubeadm join` stops at `dial tcp %s:6443: i/o timeout`, "
                "`kubectl logs/exec` fail with `dial tcp %s:10250: i/o timeout`, etcd members cannot form a quorum, "
                "VXLAN between nodes drops silently (pods on different nodes cannot talk), calico's BGP sessions stay in "
                "Connect or Active (kubeadm#12, deckhouse#5070)." % (nodes.get(dest, {}).get("address"), nodes.get(dest, {}).get("address")),
                "Open %s on %s for the node addresses, where its firewall is managed: nftables `nft add rule inet filter input "
                "ip saddr <node network> %s accept`, firewalld `firewall-cmd --permanent %s && firewall-cmd --reload`, or the "
                "cloud's security group / network ACL; then audit again with hostnet_probe_ports=true."
                % (
                    ", ".join(ports),
                    dest,
                    " ".join("%s dport %s" % tuple(p.split("/")) for p in ports[:1]),
                    " ".join("--add-port=%s/%s" % (p.split("/")[1], p.split("/")[0]) for p in ports),
                ),
                data={
                    "failures": [
                        {
                            "source": source,
                            "destination": dest,
                            "address": item.get("address"),
                            "proto": item.get("proto"),
                            "port": item.get("port"),
                            "service": item.get("service"),
                            "result": item.get("result"),
                            "detail": item.get("detail"),
                        }
                        for source, item in items
                    ]
                },
            )
        )
    for host, reason in sorted((plan.get("skipped") or {}).items()):
        if host in facts_by_host:
            notes.setdefault(host, []).append("%s: not probed: %s" % (host, reason))
    for host in sorted(notes):
        if host not in facts_by_host:
            continue
        findings.append(
            Finding(
                "node-port-unreachable",
                "warning",
                host,
                "%d port probe(s) involving %s could not be made" % (len(notes[host]), host),
                notes[host],
                "A port that was not probed is not known to be open: the audit cannot say whether the cluster's traffic passes.",
                "Free the port or run the probes with become (ports below 1024 need root); where a port is in use by a UDP "
                "service, check it with that service. Then audit again with hostnet_probe_ports=true.",
            )
        )
    return findings


@rule(
    "duplicate-node-identity",
    "hostname, MAC, machine-id or product_uuid shared by hosts",
    severities=("error",),
    fix=Fix(role="hostnet_machine_id", opt_in="hostnet_machine_id_regenerate", only=("key", "machine_id")),
    scope="fleet",
)
def check_duplicate_identity(facts_by_host, options):
    groups = {}
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        ident = facts.get("identity") or {}
        for key in ("hostname", "machine_id", "product_uuid"):
            value = ident.get(key)
            if value:
                groups.setdefault((key, value.lower()), []).append(host)
        ifaces = facts.get("interfaces") if isinstance(facts.get("interfaces"), dict) else {}
        for iface in ifaces.get("list") or []:
            mac = iface.get("mac")
            if mac and mac != "00:00:00:00:00:00":
                groups.setdefault(("MAC", mac.lower()), []).append("%s (%s)" % (host, iface.get("name")))
    findings = []
    for (key, value), hosts in sorted(groups.items()):
        if len(hosts) < 2:
            continue
        findings.append(
            Finding(
                "duplicate-node-identity",
                "error",
                None,
                "%s %s is shared by %s" % (key, value, ", ".join(hosts)),
                ["%s: %s = %s" % (host, key, value) for host in hosts],
                "kubeadm requires a unique hostname, MAC and product_uuid per node; duplicates make nodes replace each other "
                "in the API, break ARP between them, or make kubeadm join refuse (machine-id clones share DHCP leases too).",
                {
                    "hostname": "Give each node its own hostname (hostnamectl set-hostname).",
                    "machine_id": "Regenerate /etc/machine-id on cloned hosts (rm /etc/machine-id; systemd-machine-id-setup).",
                    "product_uuid": "Give each VM its own SMBIOS UUID (clone VMs with a new UUID).",
                    "MAC": "Give each VM NIC its own MAC address (clone with new MACs).",
                }[key],
                hosts=sorted({h.split(" ")[0] for h in hosts}),
                data={"key": key, "value": value},
            )
        )
    return findings


@rule(
    "default-interface-not-cluster",
    "the default-route interface is not the one that reaches the other nodes",
    severities=("warning",),
    fix=Fix(role="hostnet_node_ip", opt_in="hostnet_node_ip_enabled"),
    scope="fleet",
)
def check_default_interface(facts_by_host, options):
    findings = []
    cidr = options.get("node_cidr")
    for host in sorted(facts_by_host):
        rec = options["_recommendations"].get(host)
        dev, gateway = nodeip.default_interface(facts_by_host[host])
        if rec is None or dev is None or rec["interface"] == dev or nodeip.pinned_address(facts_by_host[host]) == rec["address"]:
            continue
        reason = "inside hostnet_node_cidr %s" % cidr if cidr else "reaches %d other host(s)" % rec["reaches_hosts"]
        findings.append(
            Finding(
                "default-interface-not-cluster",
                "warning",
                host,
                "default route is on %s, but %s (%s) %s" % (dev, rec["interface"], rec["address"], reason),
                [
                    "default route via %s dev %s" % (gateway, dev),
                    "%s %s, subnet %s: %s" % (rec["interface"], rec["address"], rec["cidr"], reason),
                ],
                "Components that autodetect the node address (flannel, calico first-found, kubelet) take the default-route "
                "interface, so this node would advertise an address on %s." % dev,
                _pin_fix(options["_recommendations"], [host]),
            )
        )
    return findings


@rule(
    "docker-bip-mismatch",
    "docker's bridge does not match flannel's subnet",
    severities=("error",),
    fix=Fix(role="hostnet_docker_bip", opt_in="hostnet_docker_bip_enabled"),
)
def check_docker_bip(host, facts, options):
    net = facts.get("container_network") or {}
    env = (net.get("flannel_subnet_env") or {}).get("values")
    if not env or not env.get("FLANNEL_SUBNET"):
        return []
    docker = {}
    source = None
    for key in ("docker_daemon_json", "docker_options"):
        info = net.get(key) or {}
        if info.get("status") == "ok" and (info.get("bip") or info.get("mtu")):
            docker, source = info, info["path"]
            break
    subnet, mtu = env["FLANNEL_SUBNET"], env.get("FLANNEL_MTU")
    problems = []
    if docker.get("bip") != subnet:
        problems.append("bip is %s, FLANNEL_SUBNET is %s" % (docker.get("bip") or "unset (docker0 keeps 172.17.0.1/16)", subnet))
    if mtu and str(docker.get("mtu") or "") != str(mtu):
        problems.append("mtu is %s, FLANNEL_MTU is %s" % (docker.get("mtu") or "unset (1500)", mtu))
    if not problems:
        return []
    return [
        Finding(
            "docker-bip-mismatch",
            "error",
            host,
            "docker's bridge does not match flannel: " + "; ".join(problems),
            [
                "/run/flannel/subnet.env: FLANNEL_SUBNET=%s FLANNEL_MTU=%s" % (subnet, mtu),
                "docker (%s): bip=%s mtu=%s" % (source or "no setting", docker.get("bip"), docker.get("mtu")),
            ],
            "Containers on docker0 get addresses outside this node's flannel subnet (or a larger MTU), so traffic between "
            "nodes is not routed back or is fragmented and dropped.",
            'Set "bip": "%s" and "mtu": %s in /etc/docker/daemon.json (or --bip/--mtu), then restart docker.' % (subnet, mtu or 1500),
        )
    ]


# -- F5: liveness budget ----------------------------------------------------------------


def startup_model(rtt_ms, nodes, requests_per_node):
    """Predicted seconds of calico-node's startup reads: nodes x requests x one round trip."""
    return nodes * requests_per_node * rtt_ms / 1000.0


def recommend_probe(predicted_s, options):
    """Probe values that fit ``predicted_s`` with the margin, keeping the period."""
    import math

    needed = predicted_s * options["probe_margin"]
    period = options["liveness_period"]
    initial = max(options["liveness_initial_delay"], 10)
    threshold = max(options["liveness_failure_threshold"], int(math.ceil((needed - initial) / float(period))))
    return {
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "failureThreshold": threshold,
        "budget_s": initial + threshold * period,
        "needed_s": round(needed, 1),
        "startupProbe": {"periodSeconds": period, "failureThreshold": int(math.ceil(needed / float(period)))},
    }


@rule(
    "probe-budget-exceeded",
    "calico-node's startup reads outlast its liveness budget",
    severities=("error", "warning"),
    fix=Fix(manual="the liveness probe belongs to calico-node's DaemonSet in the cluster, not to the host"),
)
def check_probe_budget(host, facts, options):
    measured = [m for m in facts.get("datastore_rtt") or [] if (m.get("request") or {}).get("median_ms") is not None]
    if not measured:
        return []
    nodes = options.get("cluster_nodes") or options["_fleet_size"]
    per_node = options["requests_per_node"]
    budget = options["liveness_initial_delay"] + options["liveness_failure_threshold"] * options["liveness_period"]
    slowest = max(measured, key=lambda m: m["request"]["median_ms"])
    median_ms, worst_ms = slowest["request"]["median_ms"], slowest["request"]["worst_ms"]
    predicted = startup_model(median_ms, nodes, per_node)
    predicted_worst = startup_model(worst_ms, nodes, per_node)
    if predicted_worst <= budget:
        return []
    rec = recommend_probe(predicted_worst if predicted <= budget else predicted, options)
    evidence = [
        "%s: request round trip median %.1f ms, worst %.1f ms (%s samples); connect median %s ms"
        % (m["url"], m["request"]["median_ms"], m["request"]["worst_ms"], len(m["request"]["samples_ms"]), (m.get("connect") or {}).get("median_ms"))
        for m in measured
    ]
    evidence += [
        "predicted startup = %d nodes x %d requests x %.1f ms = %.1f s (worst samples: %.1f s)" % (nodes, per_node, median_ms, predicted, predicted_worst),
        "liveness budget = initialDelaySeconds %d + failureThreshold %d x periodSeconds %d = %d s"
        % (options["liveness_initial_delay"], options["liveness_failure_threshold"], options["liveness_period"], budget),
    ]
    patch = (
        '{"spec":{"template":{"spec":{"containers":[{"name":"calico-node","livenessProbe":'
        '{"initialDelaySeconds":%d,"periodSeconds":%d,"failureThreshold":%d}}]}}}}'
        % (rec["initialDelaySeconds"], rec["periodSeconds"], rec["failureThreshold"])
    )
    return [
        Finding(
            "probe-budget-exceeded",
            "error" if predicted > budget else "warning",
            host,
            "calico-node startup predicted at %.0f s, liveness budget %d s" % (predicted if predicted > budget else predicted_worst, budget),
            evidence,
            "kubelet kills calico-node before its startup reads finish, so it restarts in a loop without any error in its "
            "log; nodes near the datastore are fine.",
            "Give calico-node a budget of at least %.0f s: livenessProbe initialDelaySeconds %d, failureThreshold %d, "
            "periodSeconds %d (kubectl -n kube-system patch ds calico-node -p '%s'); better, add a startupProbe "
            "(periodSeconds %d, failureThreshold %d) so liveness stays strict after startup; or run the node closer to "
            "the datastore (Typha / Kubernetes datastore mode avoids per-node etcd reads)."
            % (
                rec["needed_s"],
                rec["initialDelaySeconds"],
                rec["failureThreshold"],
                rec["periodSeconds"],
                patch,
                rec["startupProbe"]["periodSeconds"],
                rec["startupProbe"]["failureThreshold"],
            ),
            data={"predicted_s": round(predicted, 1), "predicted_worst_s": round(predicted_worst, 1), "budget_s": budget, "nodes": nodes, "recommended": rec},
        )
    ]


# -- the engine ---------------------------------------------------------------------


def _missing_facts_finding(host, reason):
    return Finding(
        "facts-missing",
        "error",
        host,
        "no hostnet facts for this host (%s)" % reason,
        ["ansible_facts['hostnet'] is not set"],
        "A host that could not be audited may carry any of the faults this audit exists for.",
        "Make the host reachable (check SSH, become and Python) and run the audit again.",
    )


@rule(
    "facts-missing",
    "the host could not be audited",
    severities=("error",),
    fix=Fix(manual="the host could not be reached or could not run the facts module"),
)
def check_facts_missing(host, facts, options):
    """Reported by the engine itself for a host without facts (see evaluate)."""
    return []


def all_rules():
    """The registry: every rule id the engine can report, with what it means
    (scope, title, severities, fix path, docs page)."""
    return {rule_id: RULES[rule_id].to_dict() for rule_id in sorted(RULES)}


def fix_roles():
    """The roles that fix rules, in registry order (each named once), without the collection prefix."""
    roles = []
    for item in RULES.values():
        if item.fix.role and item.fix.role not in roles:
            roles.append(item.fix.role)
    return roles


def fleet_overview(facts_by_host, options):
    """The fleet at a glance: node MTUs, clock offsets and the port probe matrix (the HTML report draws them)."""
    mtus = {host: {"interface": name, "mtu": mtu} for host, (name, mtu) in node_mtus(facts_by_host, options).items()}
    clocks = {}
    for host, facts in sorted(facts_by_host.items()):
        clock = facts.get("clock") or {}
        if isinstance(clock.get("offset_s"), (int, float)):
            clocks[host] = {"offset_s": clock["offset_s"], "uncertainty_s": clock.get("uncertainty_s")}
    plan = options.get("_port_probes") or {}
    nodes = plan.get("hosts") or {}
    matrix = []
    for source in sorted(nodes):
        results, _why = probe_results(facts_by_host.get(source))
        ran, results = results is not None, results or {}
        counts, failed = {}, {}
        for item in results.get("results") or []:
            dest = item.get("host")
            tally = counts.setdefault(dest, [0, 0])
            tally[0] += 1
            if item.get("result") == "open":
                tally[1] += 1
            else:
                failed.setdefault(dest, []).append(
                    {"proto": item.get("proto"), "port": item.get("port"), "service": item.get("service"), "result": item.get("result")}
                )
        df = {item.get("host"): item.get("result") for item in results.get("df") or []}
        skipped = {}
        for note in results.get("notes") or []:
            skipped[note.get("host")] = skipped.get(note.get("host"), 0) + 1
        for dest in nodes[source].get("probes") or []:
            probed, opened = counts.get(dest, (0, 0))
            matrix.append(
                {
                    "source": source,
                    "destination": dest,
                    "ran": ran,
                    "probed": probed,
                    "open": opened,
                    "failed": failed.get(dest, []),
                    "not_probed": skipped.get(dest, 0),
                    "df": df.get(dest),
                }
            )
    listeners = {}
    for host in sorted(nodes):
        listen = (facts_by_host.get(host) or {}).get("port_probes", {}).get("listen") or {}
        listeners[host] = {
            "listening": ["%s/%s" % (i["proto"], i["port"]) for i in listen.get("listening") or []],
            "in_use": ["%s/%s (%s)" % (i["proto"], i["port"], i.get("holder")) for i in listen.get("in_use") or []],
            "not_bound": ["%s/%s: %s" % (i["proto"], i["port"], i.get("error")) for i in listen.get("not_bound") or []],
        }
    probes = {"enabled": bool(nodes), "peers": plan.get("peers"), "hosts": sorted(nodes), "matrix": matrix, "listeners": listeners}
    return {"mtu": mtus, "clock": clocks, "probes": probes}


def rule_of(rule_id):
    return RULES[rule_id]


def finding_sort_key(finding):
    """Worst first, then by rule id and host."""
    return (SEVERITY_RANK[finding["severity"]], finding["id"], finding.get("host") or "")


def ordered_findings(result):
    """Every finding of an evaluate() result or a report (hosts', then the fleet's), worst first."""
    items = []
    for data in result["hosts"].values():
        items.extend(data["findings"])
    items.extend(result["fleet"]["findings"])
    return sorted(items, key=finding_sort_key)


def evaluate(facts_by_host, options=None):
    """Judge every host, then the fleet (see _evaluate). The judgement allocates a few small objects per
    fact and creates no cycles, so the cyclic garbage collector only costs: its full collections rescan
    every object allocated so far, which made 10,000 hosts 1.3x slower per host than 1,000 (bench)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(facts_by_host, options)
    finally:
        if enabled:
            gc.enable()


def _evaluate(facts_by_host, options=None):
    """Judge every host, then the fleet.

    ``facts_by_host``: host name -> hostnet facts dict, or None/str (the
    reason) when the host has none. Returns a plain dict:
    {"hosts": {host: {"findings": [...], "skipped_rules": [...]}},
     "fleet": {"findings": [...]}, "rules": {id: {"scope", "title"}}}.
    """
    opts = dict(DEFAULT_OPTIONS)
    opts.update({k: v for k, v in (options or {}).items() if v is not None})
    site_all = siterules.compile_rules(list(opts["site_rules"] or ()), set(RULES), SEVERITIES)
    site_ids = {entry["id"] for entry in site_all}
    # kubeadm's --ignore-preflight-errors: ids, or "all". Skipped rules are listed in the report, never silent.
    skip = set(opts["skip_rules"] or ())
    skip = set(RULES) | site_ids if "all" in skip else skip
    warn = set(opts["warn_rules"] or ())
    warn = set(RULES) | site_ids if "all" in warn else warn
    site = [entry for entry in site_all if entry["id"] not in skip]
    host_rules = [r for r in RULES.values() if r.scope == "host" and r.id not in skip]
    fleet_rules = [r for r in RULES.values() if r.scope == "fleet" and r.id not in skip]
    needs_netaddr = bool(fleet_rules) or bool(opts["node_cidr"])
    hosts = {}
    valid = {}
    opts["_service_networks"] = service_networks(opts.get("service_cidrs"))
    opts["_pod_networks"] = service_networks([opts.get("pod_cidr")], default=None)
    opts["_port_probes"] = opts.pop("port_probes", None) or {}
    opts["_fleet_size"] = sum(1 for f in facts_by_host.values() if isinstance(f, dict) and "schema_version" in f)
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        findings = []
        if not isinstance(facts, dict) or "schema_version" not in facts:
            reason = facts if isinstance(facts, str) else "facts were not gathered"
            if "facts-missing" not in skip:
                findings.append(_missing_facts_finding(host, reason))
        else:
            valid[host] = facts
            for item in host_rules:
                for finding in item.check(host, facts, opts):
                    if finding.severity not in item.severities:
                        raise ValueError("rule %s reported severity %s, not in its registry entry" % (item.id, finding.severity))
                    findings.append(finding)
            for entry in site:
                matched, value = siterules.judge(entry, facts)
                if matched:
                    findings.append(
                        Finding(
                            entry["id"],
                            entry["severity"],
                            host,
                            entry["message"],
                            ["site rule %s: when %s -> %s" % (entry["id"], entry["when"], siterules.shown(value))],
                            entry.get("why") or "A check of this site (hostnet_site_rules).",
                            entry["fix"],
                            docs="hostnet_site_rules",
                        )
                    )
        hosts[host] = {
            "findings": sorted((f.to_dict() for f in findings), key=finding_sort_key),
            "skipped_rules": sorted(skip),
        }
    opts["_recommendations"] = nodeip.recommend(valid, opts["node_cidr"], opts["ansible_hosts"]) if valid and needs_netaddr else {}
    fleet = []
    for item in fleet_rules:
        for finding in item.check(valid, opts):
            if finding.host is not None:  # a fleet judgement about one host goes to that host
                hosts[finding.host]["findings"].append(finding.to_dict())
                hosts[finding.host]["findings"].sort(key=finding_sort_key)
            else:
                fleet.append(finding.to_dict())
    if warn:
        for finding in [f for data in hosts.values() for f in data["findings"]] + fleet:
            if finding["id"] in warn and finding["severity"] == "error":
                finding.update(severity="warning", downgraded_from="error", message=finding["message"] + " (downgraded to a warning by hostnet_warn_rules)")
        for data in hosts.values():
            data["findings"].sort(key=finding_sort_key)
        fleet.sort(key=finding_sort_key)
    return {
        "hosts": hosts,
        "fleet": {"findings": sorted(fleet, key=finding_sort_key)},
        "skipped_rules": sorted(skip),
        "warn_rules": sorted(warn),
        "rules": dict(
            all_rules(),
            **{
                e["id"]: {
                    "scope": "host",
                    "title": e["message"],
                    "severities": [e["severity"]],
                    "fix": {"kind": "manual", "reason": "a site rule (hostnet_site_rules)"},
                    "docs": "hostnet_site_rules",
                    "site": True,
                    "when": e["when"],
                }
                for e in site_all
            },
        ),
        "overview": fleet_overview(valid, opts),
        "recommendations": opts.pop("_recommendations"),
        "options": {
            k: (sorted(v) if isinstance(v, (set, tuple, list)) else v)
            for k, v in opts.items()
            if not k.startswith("_") and k not in ("ansible_hosts", "site_rules")
        },
    }
