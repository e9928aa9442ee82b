# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule facts-missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

The host has no `hostnet` facts: it was unreachable, Python was missing, or the facts task failed or was
skipped. The audit keeps such hosts in the play so the report names them instead of silently judging
fewer hosts.

## Fix
Make the host reachable (SSH, `become`, a Python interpreter) and run the audit again.
"""


@rule(
    "facts-missing",
    "the host could not be audited",
    severities=("error",),
    fix=Fix(manual="the host could not be reached or could not run the facts module"),
    applies="missing",  # judged on the hosts that have no facts, with the engine's reason (ctx.missing)
    doc=DOC,
    fault="a host or a fact source could not be read",
    breaks="a fault would go unreported",
)
def check(host, facts, ctx):
    return [
        Finding(
            "facts-missing",
            "error",
            host,
            "no hostnet facts for this host (%s)" % ctx.missing.get(host, "facts were not gathered"),
            ["ansible_facts['hostnet'] is not set"],
            "A host that could not be audited may carry any of the faults this audit exists for.",
            "Make the host reachable (check SSH, become and Python) and run the audit again.",
        )
    ]
