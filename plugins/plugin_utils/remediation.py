# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the remediation does per host, decided from the audit's findings and the
rule registry (rules.RULES[...].fix), and what came of it.

plan(): for each host, the roles to run (each with the rules it fixes), the
findings that need an input the user has not given (the variable is named),
and the findings that are manual (with the exact step).

outcomes(): after the fixes and the second audit, each host's outcome:
ok, fixed (would_fix in check mode), needs_input, manual or failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

OUTCOME_RANK = {"failed": 0, "needs_input": 1, "manual": 2, "fixed": 3, "would_fix": 3, "ok": 4}
_TRUE = ("1", "true", "yes", "on", "y", "t")


def is_true(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def is_set(value):
    return value is not None and str(value).strip() != ""


def settings_names():
    """Every variable the registry's fixes read (inputs and opt-ins)."""
    names = []
    for item in rules.RULES.values():
        for name in item.fix.inputs + ((item.fix.opt_in,) if item.fix.opt_in else ()):
            if name not in names:
                names.append(name)
    return names


def findings_by_host(findings, hosts):
    """host -> findings, a fleet finding going to every host it names."""
    mine = {host: [] for host in hosts}
    for finding in findings:
        targets = [finding["host"]] if finding.get("host") else list(finding.get("hosts") or [])
        for host in targets:
            if host in mine:
                mine[host].append(finding)
    return mine


def _manual(finding, reason, step=None):
    return {"rule": finding["id"], "message": finding.get("message"), "reason": reason, "step": step or finding.get("fix")}


def selected(role, run_tags=None, skip_tags=None):
    """Whether --tags / --skip-tags let the role's tasks run (each role's tasks carry its name as a tag)."""
    run_tags = set(run_tags or ["all"])
    skip_tags = set(skip_tags or [])
    if role in skip_tags or "hostnet_remediate" in skip_tags:
        return False
    return bool(run_tags & {"all", "hostnet_remediate", role})


def plan_host(findings, settings, run_tags=None, skip_tags=None):
    roles = {}
    needs_input = []
    manual = []
    for finding in findings:
        item = rules.RULES.get(finding["id"])
        if item is None or finding.get("severity") == "info":
            continue
        fix = item.fix
        data = finding.get("data") or {}
        if fix.manual:
            manual.append(_manual(finding, fix.manual))
            continue
        if data.get("manual"):
            # The rule found this instance beyond its role (Finding(manual=...); the finding's fix is the exact step).
            manual.append(_manual(finding, data["manual"]))
            continue
        if fix.opt_in and not is_true(settings.get(fix.opt_in)):
            manual.append(_manual(finding, "opt-in: set %s=true to let kubeprep.hostnet.remediate run kubeprep.hostnet.%s" % (fix.opt_in, fix.role)))
            continue
        if not selected(fix.role, run_tags, skip_tags):
            manual.append(_manual(finding, "not run: --tags/--skip-tags did not select %s" % fix.role))
            continue
        missing = [name for name in fix.inputs if not is_set(settings.get(name))]
        if missing:
            needs_input.append(
                {
                    "rule": finding["id"],
                    "message": finding.get("message"),
                    "variables": missing,
                    "step": "set %s for this host (-e or host_vars) and run the remediation again" % " and ".join(missing),
                }
            )
            continue
        entry = roles.setdefault(fix.role, {"rules": [], "does": []})
        if finding["id"] not in entry["rules"]:
            entry["rules"].append(finding["id"])
        if fix.does and fix.does not in entry["does"]:
            entry["does"].append(fix.does)
    # Each role gets the steps its rules need (``does``, its hostnet_fix_does): roles read the plan, never rule ids.
    ordered = [dict(roles[role], role="kubeprep.hostnet." + role) for role in rules.fix_roles() if role in roles]
    return {"roles": ordered, "needs_input": needs_input, "manual": manual}


def plan(findings, hosts, settings_by_host, run_tags=None, skip_tags=None):
    """host -> {roles: [{role, rules}], needs_input: [...], manual: [...]}."""
    mine = findings_by_host(findings, hosts)
    return {host: plan_host(mine[host], settings_by_host.get(host) or {}, run_tags, skip_tags) for host in hosts}


def outcome_of(host_plan, after_findings, changes, failure, left_play, check_mode):
    """One host's outcome and the reasons, from its plan and what happened."""
    fixed_rules = [rule_id for entry in host_plan.get("roles") or [] for rule_id in entry["rules"]]
    left = [f for f in after_findings if f["id"] in fixed_rules and f["severity"] == "error"]
    still = {f["id"] for f in after_findings}

    def current(items):  # a finding another fix cured needs nothing more (check mode fixed nothing)
        return [item for item in items or [] if check_mode or item["rule"] in still]

    details = {
        "changes": changes,
        "needs_input": current(host_plan.get("needs_input")),
        "manual": current(host_plan.get("manual")),
        "roles": host_plan.get("roles") or [],
    }
    reasons = []
    missing = [f for f in after_findings if getattr(rules.RULES.get(f["id"]), "applies", None) == "missing"]  # the host was not audited
    if missing:
        outcome = "failed"
        reasons.append("not remediated: %s" % missing[0].get("message"))
    elif left_play:
        outcome = "failed"
        reasons.append("the host left the play (unreachable or failed) during remediation")
    elif failure:
        outcome = "failed"
        reasons.append("%s: %s" % (failure.get("task") or "a fix", failure.get("msg")))
    elif left and not check_mode:
        outcome = "failed"
        reasons.extend("error left after its fix ran: %s: %s" % (f["id"], f.get("message")) for f in left)
    elif details["needs_input"]:
        outcome = "needs_input"
    elif details["manual"]:
        outcome = "manual"
    elif fixed_rules:
        outcome = "would_fix" if check_mode else "fixed"
    else:
        outcome = "ok"
    details["errors_left"] = [{"rule": f["id"], "message": f.get("message")} for f in left]
    details["outcome"] = outcome
    details["reasons"] = reasons
    details["summary"] = summary_line(outcome, details, check_mode)
    return details


def summary_line(outcome, details, check_mode):
    changed = len(details["changes"])
    if check_mode:
        did = "would change %d thing(s)" % sum(len(e["rules"]) for e in details["roles"]) if details["roles"] else "nothing to change"
    else:
        did = "changed %d file(s)/setting(s)" % changed if changed else "nothing was changed"
    parts = [outcome.replace("_", " "), did]
    if details["reasons"]:
        parts.append("; ".join(details["reasons"]))
    for item in details["needs_input"]:
        parts.append("%s needs %s" % (item["rule"], ", ".join(item["variables"])))
    for item in details["manual"]:
        parts.append("%s is manual (%s): %s" % (item["rule"], item["reason"], item["step"]))
    return " - ".join(parts)


def worst(outcomes):
    return min(outcomes, key=OUTCOME_RANK.get, default="ok")
