# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules engine: what a rule is, how rules are found, and how the fleet is judged.

Pure Python over plain dicts (the facts published by ``hostnet_facts``), so it is importable and testable
without Ansible. A rule is a module of this package named after its id (``rp-filter-strict`` ->
``rp_filter_strict.py``) that declares one :class:`Rule` with ``@rule(...)``: its id, title, scope (``host``:
``check(host, facts, ctx)``; ``fleet``: ``check(facts_by_host, ctx)``), severities, the fact keys it reads, its
options (each a hostnet_* variable, declared once), its fix path and its page's text. The engine imports every
module of the package whose name does not start with ``_``; it names no rule.

Each finding says what was seen (``evidence``), why it breaks Kubernetes (``why``, naming the symptom users
see) and the exact ``fix``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import importlib
import ipaddress
import os

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import factmemo, nodeip, siterules

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
DOCS_BASE = "docs/rules/"
SCOPES = ("host", "fleet")
# The order the remediation runs the fixing roles in (written once; playbooks/remediate.yml's tags are
# checked against it, in order): names before routes, kernel settings before the interfaces they apply to.
ROLE_ORDER = (
    "hostnet_localhost",
    "hostnet_name_service",
    "hostnet_service_route",
    "hostnet_sysctl",
    "hostnet_node_ip",
    "hostnet_machine_id",
    "hostnet_docker_bip",
    "hostnet_networkmanager",
    "hostnet_kubelet_resolv_conf",
)
# Fact keys the judge adds to a host's facts on the controller (the port probe steps' results of this run):
# documented in docs/facts.md, not returned by the facts module.
CONTROLLER_FACTS = ("port_probes",)
_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": (list, tuple), "dict": dict, "raw": object}


class Option:
    """One input of a rule (or of the engine): the hostnet_* variable a user sets, declared once.

    ``name``: the key rules read (``ctx[name]``); ``var``: the variable; ``type``, ``elements``, ``choices``,
    ``default``: as in an argument spec (the audit role's meta/argument_specs.yml must agree, a test checks it);
    ``format``: what a type cannot say (ip, cidr, ip_or_cidr, rule_or_all, ...; see inputs.py); ``minimum`` and
    ``maximum``: the documented range of a number (numbers must also be finite); ``non_empty``: an empty list
    would turn the check off."""

    __slots__ = ("name", "var", "type", "elements", "choices", "default", "format", "minimum", "maximum", "non_empty", "description")

    def __init__(
        self,
        name,
        var,
        type,
        description,
        default=None,
        elements=None,
        choices=None,
        format=None,
        minimum=None,
        maximum=None,
        non_empty=False,
    ):
        if type not in _TYPES:
            raise ValueError("option %s: unknown type %s" % (name, type))
        self.name = name
        self.var = var
        self.type = type
        self.elements = elements
        self.choices = tuple(choices) if choices else None
        self.default = default
        self.format = format
        self.minimum = minimum
        self.maximum = maximum
        self.non_empty = non_empty
        self.description = description

    def spec(self):
        """The argument spec entry this declaration means (compared with the role's argument_specs)."""
        spec = {"type": self.type}
        if self.elements:
            spec["elements"] = self.elements
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.default is not None:
            spec["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return spec

    def range_text(self):
        if self.minimum is None and self.maximum is None:
            return ""
        if self.maximum is None:
            return "at least %s" % self.minimum
        if self.minimum is None:
            return "at most %s" % self.maximum
        return "%s to %s" % (self.minimum, self.maximum)


class Fix:
    """How a rule's findings get fixed: by a role of this collection, or by hand.

    ``role``: the role ``kubeprep.hostnet.remediate`` runs on each host with the finding; ``does``: the step of
    that role the rule needs (the role reads the plan's steps, never rule ids). ``inputs``: variables the role
    cannot guess (unset: the host "needs input" and the variable is named). ``opt_in``: a variable that must be
    true before the role may run (unset: the finding is manual, with the way to opt in). ``manual``: why no role
    can fix it; the finding's own ``fix`` text is then the exact step. A finding can also say it is beyond the
    role (``Finding(manual=...)``): that one is manual, with the finding's fix as its step.
    """

    __slots__ = ("role", "does", "inputs", "opt_in", "manual", "what")

    def __init__(self, role=None, does=None, inputs=(), opt_in=None, manual=None, what=None):
        if bool(role) == bool(manual):
            raise ValueError("a fix has a role or a manual reason, not both")
        if role and role not in ROLE_ORDER:
            raise ValueError("fix role %s is not in ROLE_ORDER" % role)
        self.role = role
        self.does = does
        self.inputs = tuple(inputs)
        self.opt_in = opt_in
        self.manual = manual
        self.what = what  # what the role does, for docs/remediation.md

    def to_dict(self):
        if self.manual:
            return {"kind": "manual", "reason": self.manual}
        return {"kind": "role", "role": "kubeprep.hostnet." + self.role, "inputs": list(self.inputs), "opt_in": self.opt_in}


class Finding:
    __slots__ = ("rule", "severity", "host", "message", "evidence", "why", "fix", "hosts", "data", "docs")

    def __init__(self, rule, severity, host, message, evidence, why, fix, hosts=None, data=None, docs=None, manual=None):
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
        if manual:
            # This finding is beyond the rule's role: the remediation reports it as manual, ``fix`` is the step.
            data = dict(data or {}, manual=manual)
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


class Rule:
    """A rule and everything it means. Made by ``@rule(...)`` in the rule's own module."""

    __slots__ = ("id", "scope", "title", "check", "severities", "fix", "reads", "options", "doc", "fault", "breaks", "overview", "applies", "site", "module")

    def __init__(
        self,
        rule_id,
        scope,
        title,
        check,
        severities,
        fix,
        reads=(),
        options=(),
        doc="",
        fault=None,
        breaks=None,
        applies="facts",
        site=None,
        module=None,
    ):
        if scope not in SCOPES:
            raise ValueError("rule %s: unknown scope %s" % (rule_id, scope))
        unknown = set(severities) - set(SEVERITIES)
        if unknown or not severities:
            raise ValueError("rule %s: unknown or no severities %s" % (rule_id, sorted(unknown)))
        self.id = rule_id
        self.scope = scope
        self.title = title
        self.check = check
        self.severities = tuple(sorted(severities, key=SEVERITY_RANK.get))
        self.fix = fix
        self.reads = tuple(reads)
        self.options = tuple(options)
        self.doc = doc
        self.fault = fault or title  # the README's "fault" cell
        self.breaks = breaks or ""  # the README's "what breaks" cell
        self.overview = None  # (section, function(facts_by_host, ctx, findings)) -> what the reports show for this rule
        self.applies = applies  # "facts": hosts with facts; "missing": hosts without facts (with the reason)
        self.site = site  # the site rule's entry (hostnet_site_rules), None for a built-in rule
        self.module = module

    def report(self, section):
        """Decorator: ``function(facts_by_host, ctx, findings) -> dict``, the data the reports draw for this rule
        (``report["overview"][section]``), from the same values its findings came from."""

        def register(func):
            self.overview = (section, func)
            return func

        return register

    def to_dict(self):
        if self.site is not None:
            return {
                "scope": self.scope,
                "title": self.title,
                "severities": list(self.severities),
                "fix": {"kind": "manual", "reason": "a site rule (hostnet_site_rules)"},
                "docs": "hostnet_site_rules",
                "site": True,
                "when": self.site["when"],
            }
        return {
            "scope": self.scope,
            "title": self.title,
            "severities": list(self.severities),
            "fix": self.fix.to_dict(),
            "docs": DOCS_BASE + self.id + ".md",
        }


def rule(rule_id, title, severities, fix, scope="host", reads=(), options=(), doc="", fault=None, breaks=None, applies="facts"):
    """Declare the rule of this module: ``@rule(...)`` over its check returns the :class:`Rule`.

    ``reads``: the top-level keys of the host's facts the check reads (checked against docs/facts.md and the
    facts module's RETURN); ``doc``: the text of its page (docs/rules/<id>.md is generated from it and the
    declaration: make docs-rules); ``fault`` and ``breaks``: its row in the README's table."""

    def register(func):
        return Rule(rule_id, scope, title, func, severities, fix, reads, options, doc, fault, breaks, applies, module=func.__module__)

    return register


# The engine's own inputs: the cluster the hosts are judged for, and which rules run.
ENGINE_OPTIONS = (
    Option("skip_rules", "hostnet_skip_rules", "list", "Rule ids not to evaluate, or `all`; listed in the report.", (), "str", format="rule_or_all"),
    Option("warn_rules", "hostnet_warn_rules", "list", "Rule ids (or `all`) whose errors are reported as warnings.", (), "str", format="rule_or_all"),
    Option("site_rules", "hostnet_site_rules", "list", "Site rules as data (docs/site-rules.md).", (), "dict"),
    Option("node_cidr", "hostnet_node_cidr", "str", "The node network: the interface to pin on each node is the one inside it.", format="cidr"),
    Option(
        "service_cidrs",
        "hostnet_service_ips",
        "list",
        "Service IPs or CIDRs (kubespray's kube_service_addresses when set, else 10.96.0.1).",
        elements="str",
        format="ip_or_cidr",
        non_empty=True,
    ),
    Option(
        "pod_cidr",
        "hostnet_pod_cidr",
        "str",
        "The Pod network (kubespray's kube_pods_subnet when set, else 10.244.0.0/16); dual-stack: IPv4,IPv6 as kubeadm's podSubnet.",
        format="cidrs",
    ),
    Option(
        "cni",
        "hostnet_cni",
        "str",
        "The CNI plugin the cluster will run; rules whose verdict depends on it read it.",
        "unknown",
        choices=("unknown", "calico", "canal", "flannel", "cilium", "weave", "other"),
    ),
)
# What the engine needs when the caller gives nothing (the audit role's defaults give the same).
_ENGINE_FALLBACK = {"service_cidrs": ("10.96.0.1",), "pod_cidr": "10.244.0.0/16"}


def service_networks(items, default="10.96.0.1"):
    """The networks to judge: CIDRs as given (kubeadm's dual-stack "IPv4,IPv6" as both), a bare IP as itself, and
    ``default`` (the default Service IP 10.96.0.1) as kubeadm's 10.96.0.0/12."""
    networks = []
    for text in (part.strip() for item in items or () for part in str(item or "").split(",")):
        try:
            network = ipaddress.ip_network("10.96.0.0/12" if default and text == default else text, strict=False)
        except ValueError:
            continue
        if network not in networks:
            networks.append(network)
    return networks


class Context:
    """What every rule is handed besides the facts: the options (``ctx[name]``) and what the engine derives
    from the whole fleet before any rule runs."""

    __slots__ = ("options", "service_networks", "pod_networks", "recommendations", "port_probes", "fleet_size", "missing", "ipv6")

    def __init__(self, options, recommendations=None, port_probes=None, fleet_size=0, missing=None):
        self.options = options
        self.service_networks = service_networks(options.get("service_cidrs"))
        self.pod_networks = service_networks([options.get("pod_cidr")], default=None)
        self.recommendations = recommendations or {}
        self.port_probes = port_probes or {}
        self.fleet_size = fleet_size
        self.missing = missing or {}
        # Whether the cluster has IPv6 (single-stack IPv6 or dual-stack): an IPv6 Service or Pod CIDR.
        self.ipv6 = any(network.version == 6 for network in self.service_networks + self.pod_networks)

    def __getitem__(self, name):
        return self.options[name]

    def get(self, name, default=None):
        return self.options.get(name, default)


# -- the registry ---------------------------------------------------------------------------

_REGISTRY = {}


def registry():
    """Every built-in rule, found by listing this package: id -> Rule, sorted by id."""
    if _REGISTRY:
        return _REGISTRY
    package = __name__.rsplit(".", 1)[0]
    found = {}
    for name in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
        stem, ext = os.path.splitext(name)
        if ext != ".py" or stem.startswith("_") or stem == "engine":
            continue
        module = importlib.import_module("%s.%s" % (package, stem))
        declared = [value for value in vars(module).values() if isinstance(value, Rule) and value.module == module.__name__]
        if len(declared) != 1:
            raise ValueError("rule module %s declares %d rules (one per module)" % (stem, len(declared)))
        item = declared[0]
        if item.id.replace("-", "_") != stem:
            raise ValueError("rule %s lives in %s.py, not %s.py" % (item.id, stem, item.id.replace("-", "_")))
        found[item.id] = item
    options = {}
    for item in list(found.values()) + [None]:
        for option in item.options if item else ENGINE_OPTIONS:
            if option.name in options or option.var in {o.var for o in options.values()}:
                raise ValueError("option %s (%s) is declared twice" % (option.name, option.var))
            options[option.name] = option
    _REGISTRY.update(sorted(found.items()))
    return _REGISTRY


def declared_options():
    """name -> Option: the engine's and every rule's, each declared once."""
    found = {o.name: o for o in ENGINE_OPTIONS}
    for item in registry().values():
        for option in item.options:
            found[option.name] = option
    return found


def default_options():
    defaults = {name: option.default for name, option in declared_options().items()}
    defaults.update(_ENGINE_FALLBACK)
    return defaults


def all_rules():
    """The registry as data: every rule id the engine can report, with what it means."""
    return {rule_id: item.to_dict() for rule_id, item in registry().items()}


def fix_roles():
    """The roles that fix rules, in the remediation's order, without the collection prefix."""
    used = {item.fix.role for item in registry().values() if item.fix.role}
    return [role for role in ROLE_ORDER if role in used]


# -- judging ----------------------------------------------------------------------------------


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


def _failed(item, host, exc):
    """A rule that cannot judge a host costs that host a finding naming the rule and the error, never the report."""
    return Finding(
        item.id,
        item.severities[0],
        host,
        "rule %s could not judge %s: %s: %s" % (item.id, host or "the fleet", type(exc).__name__, str(exc)[:300]),
        ["%s raised %s: %s" % ("site rule " + item.id if item.site else item.id, type(exc).__name__, str(exc)[:1000])],
        "A rule that could not judge this host may hide the fault it looks for.",
        "Fix the rule (a site rule's expression must handle hosts whose facts lack the keys it reads) and audit again.",
        data={"rule_error": True},
    )


def _run(item, host, args):
    try:
        findings = list(item.check(*args) or ())
    except Exception as exc:  # any error of one rule is that host's finding, never the report's
        return [_failed(item, host, exc)]
    for finding in findings:
        if finding.severity not in item.severities:
            raise ValueError("rule %s reported severity %s, not in its registry entry" % (item.id, finding.severity))
    return findings


def evaluate(facts_by_host, options=None, extra_rules=()):
    """Judge every host, then the fleet (see _evaluate). The judgement allocates a few small objects per
    fact and creates no cycles, so the cyclic garbage collector only costs: its full collections rescan
    every object allocated so far, which made 10,000 hosts 1.3x slower per host than 1,000 (bench)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with factmemo.judging():  # what several rules derive from a host's facts, derived once
            return _evaluate(facts_by_host, options, extra_rules)
    finally:
        if enabled:
            gc.enable()


def _evaluate(facts_by_host, options, extra_rules):
    """``facts_by_host``: host name -> hostnet facts dict, or None/str (the reason) when the host has none.
    ``options``: name -> value of the declared options (unset or None: the declared default), plus
    ``ansible_hosts`` (host -> address Ansible connects to), ``node_addresses`` (host -> the node address the
    installer names: kubespray's ip) and ``port_probes`` (the probe plan).
    ``extra_rules``: more Rule objects (the site rules). Returns a plain dict:
    {"hosts": {host: {"findings": [...], "skipped_rules": [...]}}, "fleet": {"findings": [...]},
     "rules": {id: ...}, "overview": {...}, "recommendations": {...}, "options": {...}}."""
    options = dict(options or {})
    ansible_hosts = options.pop("ansible_hosts", None)
    node_addresses = options.pop("node_addresses", None)
    port_probes = options.pop("port_probes", None) or {}
    opts = default_options()
    opts.update({k: v for k, v in options.items() if v is not None})
    every = dict(registry())
    site = siterules.compile_rules(list(opts["site_rules"] or ()), set(every), SEVERITIES)
    for item in list(extra_rules) + siterules.as_rules(site, Rule, Fix, Finding):
        every[item.id] = item
    # kubeadm's --ignore-preflight-errors: ids, or "all". Skipped rules are listed in the report, never silent.
    skip = set(opts["skip_rules"] or ())
    skip = set(every) if "all" in skip else skip
    warn = set(opts["warn_rules"] or ())
    warn = set(every) if "all" in warn else warn
    active = [item for item in every.values() if item.id not in skip]
    host_rules = [r for r in active if r.scope == "host" and r.applies == "facts"]
    missing_rules = [r for r in active if r.scope == "host" and r.applies == "missing"]
    fleet_rules = [r for r in active if r.scope == "fleet"]
    valid, missing = {}, {}
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        if isinstance(facts, dict) and "schema_version" in facts:
            valid[host] = facts
        else:
            missing[host] = facts if isinstance(facts, str) else "facts were not gathered"
    # Everything derived from the whole fleet, before any rule runs.
    needs_nodes = any(r.scope == "fleet" for r in active) or bool(opts.get("node_cidr")) or bool(node_addresses)
    recommendations = nodeip.recommend(valid, opts.get("node_cidr"), ansible_hosts, node_addresses) if valid and needs_nodes else {}
    ctx = Context(opts, recommendations, port_probes, len(valid), missing)
    hosts = {}
    skipped = sorted(skip)
    for host in sorted(facts_by_host):
        findings = []
        facts = valid.get(host)
        for item in host_rules if facts is not None else missing_rules:
            try:  # _run inlined: 30 rules x 10,000 hosts calls
                found = item.check(host, facts, ctx)
                if found.__class__ is not list:
                    found = list(found or ())  # a generator raises while it runs: inside the try
            except Exception as exc:  # any error of one rule is that host's finding, never the report's
                findings.append(_failed(item, host, exc).to_dict())
                continue
            if found:
                for finding in found:
                    if finding.severity not in item.severities:
                        raise ValueError("rule %s reported severity %s, not in its registry entry" % (item.id, finding.severity))
                    findings.append(finding.to_dict())
        hosts[host] = {"findings": findings, "skipped_rules": list(skipped)}
    fleet = []
    overview = {}
    for item in fleet_rules:
        found = _run(item, None, (valid, ctx))
        for finding in found:
            if finding.host is not None and finding.host in hosts:  # a fleet judgement about one host goes to that host
                hosts[finding.host]["findings"].append(finding.to_dict())
            else:
                fleet.append(finding.to_dict())
    for item in every.values():  # what the reports draw, also for a skipped rule
        if item.overview:
            section, func = item.overview
            overview[section] = func(valid, ctx)
    all_findings = [f for data in hosts.values() for f in data["findings"]] + fleet
    for finding in all_findings:
        if finding["id"] in warn and finding["severity"] == "error":
            finding.update(severity="warning", downgraded_from="error", message=finding["message"] + " (downgraded to a warning by hostnet_warn_rules)")
    for data in hosts.values():
        data["findings"].sort(key=finding_sort_key)
    return {
        "hosts": hosts,
        "fleet": {"findings": sorted(fleet, key=finding_sort_key)},
        "skipped_rules": sorted(skip),
        "warn_rules": sorted(warn),
        "rules": {rule_id: item.to_dict() for rule_id, item in sorted(every.items())},
        "overview": overview,
        "recommendations": recommendations,
        "options": {k: (sorted(v) if isinstance(v, (set, tuple, list)) else v) for k, v in opts.items() if k not in ("site_rules",)},
    }
