# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule facts-incomplete."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: warning.

Some fact sources could not be read: no permission (run with `become: true`), no `ip` binary (iproute2),
a file that is a directory. Each source and the reason are the evidence. Rules that need a missing source
do not judge it, so a fault there would go unreported; this finding makes that visible.

## Fix
Run the audit with `become: true`, install iproute2, or fix the listed paths.
"""


@rule(
    "facts-incomplete",
    "some facts could not be read, so some rules could not judge",
    severities=("warning",),
    fix=Fix(manual="the missing access (become, iproute2, file permissions) is the operator's to grant"),
    reads=("problems",),
    doc=DOC,
    fault="a host or a fact source could not be read",
    breaks="a fault would go unreported",
)
def check(host, facts, ctx):
    problems = facts.get("problems") or []
    if not problems:
        return []
    return [
        Finding(
            "facts-incomplete",
            "warning",
            host,
            "%d fact source(s) could not be read or held odd bytes (not UTF-8, control characters); rules that need them may not have judged" % len(problems),
            ["%s: %s" % (p.get("source"), p.get("message")) for p in problems],
            "A fault in what could not be read would go unreported.",
            "Run the audit with become: true, install iproute2, or fix the listed files' permissions.",
        )
    ]


# -- fleet rules (F4) -----------------------------------------------------------------
