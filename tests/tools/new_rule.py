"""Write a new rule's module and its unit test, with the parts to fill in marked TODO.

  make new-rule ID=my-new-rule SCOPE=host|fleet

Then fill in the check, the page text and the test, write its end-to-end test under tests/integration/,
and run `make docs-rules` (its page, the README row and the remediation row are generated).
"""

import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES_DIR = os.path.join(ROOT, "plugins", "plugin_utils", "rules")
TESTS_DIR = os.path.join(ROOT, "tests", "unit", "rules")

HOST_CHECK = '''def check(host, facts, ctx):
    """One host's facts -> its findings (facts: ansible_facts['hostnet'], see docs/facts.md; ctx: the options
    (ctx["name"]) and what the engine derived from the fleet: ctx.recommendations, ctx.service_networks, ...)."""
    value = (facts.get("TODO-fact-key") or {}).get("TODO")
    if not value:
        return []
    return [
        Finding(
            "{id}",
            "error",
            host,
            "TODO: what is wrong, in one line",
            ["TODO: what was seen (a file line, a sysctl value, a command's answer)"],
            "TODO: why it breaks Kubernetes, naming the symptom users see",
            "TODO: the exact fix",
        )
    ]
'''
FLEET_CHECK = '''def check(facts_by_host, ctx):
    """Every host's facts (those that have them) -> findings; a finding with host=None is the fleet's and names
    its hosts (hosts=[...]). Keep it O(hosts)."""
    findings = []
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        if (facts.get("TODO-fact-key") or {}).get("TODO"):
            findings.append(
                Finding(
                    "{id}",
                    "error",
                    host,
                    "TODO: what is wrong, in one line",
                    ["TODO: what was seen"],
                    "TODO: why it breaks Kubernetes, naming the symptom users see",
                    "TODO: the exact fix",
                )
            )
    return findings
'''
MODULE = '''# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule {id}."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\\
Severity: TODO (when it is an error, when a warning).

TODO: what the rule checks, from which facts, and what it does not judge.

## Why it breaks Kubernetes
TODO: the symptom, with the error text users see and the issue numbers that report it.

## Evidence
TODO: the evidence lines a finding carries.

## Fix
TODO: the fix by hand (and what the role does, when there is one).
"""


@rule(
    "{id}",
    "TODO: the title, lowercase, what is wrong",
    severities=("error",),
    # A role of ROLE_ORDER (Fix(role="hostnet_...", does="its step", inputs=(...), opt_in="..."), or manual:
    fix=Fix(manual="TODO: why no role fixes it"),
    scope="{scope}",
    reads=("TODO-fact-key",),  # top-level keys of the facts it reads: docs/facts.md and the facts RETURN must have them
    doc=DOC,
    fault="TODO: the README's fault cell",
    breaks="TODO: the README's what-breaks cell",
)
{check}'''
TEST = '''"""Rule {id}: TODO - the fault and its variants fire, near misses do not."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import {builder}


def test_{name}_fires_on_the_fault(tmp_path):
    facts = {build}
    # TODO: make the fault in the facts
    result = rules.evaluate({evaluate})
    found = [f for d in result["hosts"].values() for f in d["findings"] if f["id"] == "{id}"]
    assert found, "TODO: assert the severity, message and evidence"


def test_{name}_near_miss_is_clean(tmp_path):
    facts = {build}
    result = rules.evaluate({evaluate})
    assert not [f for d in result["hosts"].values() for f in d["findings"] if f["id"] == "{id}"]
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description="write a new rule module and its unit test")
    parser.add_argument("id", help="the rule id: lowercase words joined by dashes")
    parser.add_argument("scope", choices=("host", "fleet"))
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", args.id):
        parser.error("ID %r is not lowercase words joined by dashes (at least two words)" % args.id)
    name = args.id.replace("-", "_")
    module = os.path.join(RULES_DIR, name + ".py")
    test = os.path.join(TESTS_DIR, "test_%s.py" % name)
    for path in (module, test):
        if os.path.exists(path):
            parser.error("%s exists already" % os.path.relpath(path, ROOT))
    check = (HOST_CHECK if args.scope == "host" else FLEET_CHECK).replace("{id}", args.id)
    with open(module, "w") as handle:
        handle.write(MODULE.replace("{id}", args.id).replace("{scope}", args.scope).replace("{check}", check))
    if args.scope == "host":
        values = {"builder": "host_facts", "build": 'host_facts(tmp_path, "debian12")', "evaluate": '{"h": facts}'}
    else:
        values = {"builder": "fleet", "build": "fleet(tmp_path, count=3)", "evaluate": "facts"}
    text = TEST
    for key, value in dict(values, id=args.id, name=name).items():
        text = text.replace("{%s}" % key, value)
    with open(test, "w") as handle:
        handle.write(text)
    print("wrote %s and %s: fill in the TODOs, add an end-to-end test, then run make docs-rules" % (os.path.relpath(module, ROOT), os.path.relpath(test, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
