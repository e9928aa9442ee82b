# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site rules as data (hostnet_site_rules): a site adds its own checks without Python.

Each rule is ``{id, severity, when, message, fix, why}``; ``when`` is a JMESPath
expression over one host's hostnet facts plus ``default_interface`` (the
interface of the IPv4 default route, with its name, mtu and addresses). A host
whose expression gives a true value (not null, false, 0, "" or []) gets a finding,
reported, skipped and downgraded like a built-in rule's. Checked on the
controller before any host is contacted. jmespath is a controller-side package.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
    from jmespath.visitor import TreeInterpreter

    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - the collection's requirements pin it
    HAS_JMESPATH = False
    JMESPathError = ValueError
    TreeInterpreter = object

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
KEYS = ("id", "severity", "when", "message", "fix", "why")
# Bounds on an expression, checked before any host is contacted: its text, and the depth of its syntax tree
# (each level can multiply the work); and on its evaluation, in node visits per host.
MAX_LENGTH = 1000
MAX_DEPTH = 12
MAX_STEPS = 20000
# Words the engine gives a meaning in hostnet_skip_rules / hostnet_warn_rules: never a rule id.
RESERVED_IDS = ("all",)


class SiteRuleError(ValueError):
    pass


def compile_rules(entries, builtin_ids, severities):
    """Validated site rules with their compiled expressions; SiteRuleError naming the entry and the value."""
    if not entries:
        return []
    if not HAS_JMESPATH:
        raise SiteRuleError("hostnet_site_rules needs the Python package jmespath on the controller (pip install jmespath)")
    if not isinstance(entries, list):
        raise SiteRuleError("hostnet_site_rules: %r is not a list of rules" % (entries,))
    compiled, seen = [], set()
    for index, entry in enumerate(entries):
        where = "hostnet_site_rules[%d]" % index
        if not isinstance(entry, dict):
            raise SiteRuleError("%s: %r is not a dict with id, severity, when, message, fix" % (where, entry))
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise SiteRuleError("%s: unknown key(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(KEYS)))
        for key in ("id", "severity", "when", "message", "fix"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise SiteRuleError("%s: %s is missing or empty (got %r)" % (where, key, entry.get(key)))
        rule_id = entry["id"].strip()
        if not _ID.fullmatch(rule_id):
            raise SiteRuleError("%s: id %r is not lowercase words joined by dashes" % (where, rule_id))
        if rule_id in RESERVED_IDS:
            raise SiteRuleError("%s: id %r is reserved (hostnet_skip_rules=%s means every rule)" % (where, rule_id, rule_id))
        if rule_id in builtin_ids or rule_id in seen:
            raise SiteRuleError("%s: id %r is already taken" % (where, rule_id))
        if entry["severity"] not in severities:
            raise SiteRuleError("%s: severity %r is not one of %s" % (where, entry["severity"], ", ".join(severities)))
        if len(entry["when"]) > MAX_LENGTH:
            raise SiteRuleError("%s (%s): when is %d characters long (at most %d)" % (where, rule_id, len(entry["when"]), MAX_LENGTH))
        try:
            expression = jmespath.compile(entry["when"])
        except (JMESPathError, RecursionError) as exc:
            reason = "it nests too deeply" if isinstance(exc, RecursionError) else exc
            raise SiteRuleError("%s (%s): when %r is not a valid JMESPath expression: %s" % (where, rule_id, entry["when"][:80], reason)) from None
        depth = _depth(expression.parsed)
        if depth > MAX_DEPTH:
            raise SiteRuleError(
                "%s (%s): when %r nests %d levels deep (at most %d: each level can multiply the work on every host)"
                % (where, rule_id, entry["when"][:80], depth, MAX_DEPTH)
            )
        seen.add(rule_id)
        compiled.append(dict(entry, id=rule_id, expression=expression))
    return compiled


def _depth(node):
    """The depth of a parsed expression, without recursion (a hostile one can be thousands deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        for child in current.get("children") or []:
            if isinstance(child, dict):
                stack.append((child, level + 1))
    return deepest


def search_data(facts):
    """The document a site rule's expression sees: the host's facts and ``default_interface``."""
    data = dict(facts)
    routes = facts.get("routes") if isinstance(facts.get("routes"), dict) else {}
    default = (routes.get("default_ipv4") or [{}])[0] if isinstance(routes.get("default_ipv4"), list) else {}
    interfaces = facts.get("interfaces") if isinstance(facts.get("interfaces"), dict) else {}
    data["default_interface"] = next((i for i in interfaces.get("list") or [] if isinstance(i, dict) and i.get("name") == default.get("dev")), None)
    return data


class _Bounded(TreeInterpreter):
    """JMESPath's interpreter with a budget of node visits per search: nested projections and multiselects
    can grow the work exponentially with the expression's depth (depth 22 took 25 s a host)."""

    def __init__(self, budget):
        TreeInterpreter.__init__(self)
        self.left = budget

    def visit(self, node, *args, **kwargs):
        self.left -= 1
        if self.left < 0:
            raise SiteRuleError("evaluation stopped after %d steps (MAX_STEPS)" % MAX_STEPS)
        return TreeInterpreter.visit(self, node, *args, **kwargs)


def judge(rule, facts):
    """(matched, the expression's value) for one host; SiteRuleError when its evaluation outgrows MAX_STEPS,
    a JMESPath error when the expression cannot apply to these facts (the engine makes either a finding)."""
    value = _Bounded(MAX_STEPS).visit(rule["expression"].parsed, search_data(facts))
    return value not in (None, False, 0, "", [], {}), value


def as_rules(compiled, rule_class, fix_class, finding_class):
    """The site rules as the engine's Rule objects: judged, skipped, downgraded and reported like built-in ones."""
    made = []
    for entry in compiled:

        def check(host, facts, ctx, entry=entry):
            matched, value = judge(entry, facts)
            if not matched:
                return []
            return [
                finding_class(
                    entry["id"],
                    entry["severity"],
                    host,
                    entry["message"],
                    ["site rule %s: when %s -> %s" % (entry["id"], entry["when"], shown(value))],
                    entry.get("why") or "A check of this site (hostnet_site_rules).",
                    entry["fix"],
                    docs="hostnet_site_rules",
                )
            ]

        item = rule_class(entry["id"], "host", entry["message"], check, (entry["severity"],), fix_class(manual="a site rule (hostnet_site_rules)"), site=entry)
        made.append(item)
    return made


def shown(value):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
