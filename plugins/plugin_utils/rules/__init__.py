# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules: one module per rule id in this package (see engine.py for what a rule declares and how the
engine finds them), the engine, and the helpers the rules share (modules starting with ``_``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import (  # noqa: F401 - the package's API
    CONTROLLER_FACTS,
    DOCS_BASE,
    ENGINE_OPTIONS,
    ROLE_ORDER,
    SEVERITIES,
    SEVERITY_RANK,
    Context,
    Finding,
    Fix,
    Option,
    Rule,
    all_rules,
    declared_options,
    default_options,
    evaluate,
    finding_sort_key,
    fix_roles,
    ordered_findings,
    registry,
    rule,
    service_networks,
)

RULES = registry()
