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

    HAS_JMESPATH = True
except ImportError:  # pragma: no cover - the collection's requirements pin it
    HAS_JMESPATH = False
    JMESPathError = ValueError

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
KEYS = ("id", "severity", "when", "message", "fix", "why")


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
        if rule_id in builtin_ids or rule_id in seen:
            raise SiteRuleError("%s: id %r is already taken" % (where, rule_id))
        if entry["severity"] not in severities:
            raise SiteRuleError("%s: severity %r is not one of %s" % (where, entry["severity"], ", ".join(severities)))
        try:
            expression = jmespath.compile(entry["when"])
        except JMESPathError as exc:
            raise SiteRuleError("%s (%s): when %r is not a valid JMESPath expression: %s" % (where, rule_id, entry["when"], exc)) from exc
        seen.add(rule_id)
        compiled.append(dict(entry, id=rule_id, expression=expression))
    return compiled


def search_data(facts):
    """The document a site rule's expression sees: the host's facts and ``default_interface``."""
    data = dict(facts)
    routes = facts.get("routes") if isinstance(facts.get("routes"), dict) else {}
    default = (routes.get("default_ipv4") or [{}])[0] if isinstance(routes.get("default_ipv4"), list) else {}
    interfaces = facts.get("interfaces") if isinstance(facts.get("interfaces"), dict) else {}
    data["default_interface"] = next((i for i in interfaces.get("list") or [] if isinstance(i, dict) and i.get("name") == default.get("dev")), None)
    return data


def judge(rule, facts):
    """(matched, the expression's value) for one host."""
    value = rule["expression"].search(search_data(facts))
    return value not in (None, False, 0, "", [], {}), value


def shown(value):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
