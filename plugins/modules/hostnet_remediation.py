#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_remediation
short_description: Plan the fixes from the audit's findings, then record each host's outcome
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - "Runs on the controller (an action plugin; this file only documents it), once per play (C(run_once: true)).
    Used by the C(kubeprep.hostnet.remediate) playbook; never connects to a managed host."
  - "O(stage=plan): for every host, from the audit result and the rule registry (each rule names the role that
    fixes it, the inputs that role needs and whether it is opt-in, or why it is manual): the roles to run, the
    findings that need an input (the variable is named) and the manual ones (with the exact step)."
  - "O(stage=record): after the fixes and the second audit, each host's outcome: C(ok), C(fixed)
    (C(would_fix) in check mode), C(needs_input), C(manual) or C(failed) (a fix failed, an error it was allowed
    to fix is left, or the host left the play). Writes C(hostnet-changes.json) in O(report_dir) (a relative
    path is resolved against the controller's working directory) and prints one line per host."
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.CONTROLLER
options:
  stage:
    description: C(plan) before the fixes, C(record) after them.
    type: str
    choices: [plan, record]
    required: true
  audit:
    description: The registered result of M(kubeprep.hostnet.hostnet_audit) (before the fixes for C(plan), after for C(record)).
    type: dict
    required: true
  plan:
    description: The C(plan) returned by O(stage=plan); required for O(stage=record).
    type: dict
  report_dir:
    description: Where C(hostnet-changes.json) is written (O(stage=record)).
    type: path
    default: ./hostnet-report
  reports_from:
    description:
      - With O(stage=record), a directory of report files (the audit before the fixes) to copy into O(report_dir)
        as the after-reports; used when no host had anything to fix, so nothing was audited again.
    type: path
seealso:
  - module: kubeprep.hostnet.hostnet_audit
"""

EXAMPLES = r"""
- name: Plan
  kubeprep.hostnet.hostnet_remediation:
    stage: plan
    audit: "{{ hostnet_audit_result }}"
  run_once: true
  register: plan
"""

RETURN = r"""
plan:
  description: Per host, the roles to run with the rules each fixes, and the findings that need input or are manual.
  returned: O(stage=plan)
  type: dict
  sample: {node1: {roles: [{role: kubeprep.hostnet.hostnet_sysctl, rules: [ip-forward-disabled]}],
           needs_input: [{rule: service-network-unroutable, variables: [hostnet_service_route_gateway]}], manual: []}}
anything_to_fix:
  description: Whether any host has a role to run (O(stage=plan)).
  returned: O(stage=plan)
  type: bool
outcomes:
  description: Per host, C(outcome), C(summary) (one line), C(changes), C(needs_input), C(manual), C(errors_left), C(reasons).
  returned: O(stage=record)
  type: dict
failing_hosts:
  description: Hosts whose outcome is C(failed).
  returned: O(stage=record)
  type: list
  elements: str
stats:
  description: What the playbook publishes with C(set_stats) for AWX job artifacts, C(hostnet_outcomes) (host to outcome),
    C(hostnet_failing_hosts), C(hostnet_changes_file) and C(hostnet_report_files).
  returned: O(stage=record)
  type: dict
changes_file:
  description: The absolute path of C(hostnet-changes.json).
  returned: O(stage=record)
  type: str
"""
