# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the audit result: the JSON report, console lines, Markdown, JUnit XML.

Pure functions over the dict ``rules.evaluate`` returns (controller side).
The JSON layout is documented in docs/report-schema.md. The JSON keeps host text as it is; every
other output shows it through ``safetext`` (no raw control character, no markup from a host).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip, report_html, safetext, templates
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules import SEVERITY_RANK, ordered_findings

REPORT_SCHEMA_VERSION = 1
COLLECTION_VERSION = "0.2.0"  # kept equal to galaxy.yml by a unit test
FAIL_ON = ("error", "warning", "never")
LABELS = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}
COLORS = {"error": "red", "warning": "bright purple", "info": "cyan", "ok": "green"}


def at_or_above(severity, threshold):
    return threshold != "never" and SEVERITY_RANK[severity] <= SEVERITY_RANK[threshold]


def _counts(findings):
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in findings:
        counts[finding["severity"]] += 1
    return counts


def build_report(result, generated_at, fail_on="error", collection_version=None):
    """The report document: result plus per-host status and a summary."""
    hosts = {}
    all_findings = []
    for name, data in result["hosts"].items():
        findings = data["findings"]
        all_findings.extend(findings)
        worst = min((f["severity"] for f in findings), key=SEVERITY_RANK.get, default=None)
        hosts[name] = {"status": worst or "ok", "findings": findings, "skipped_rules": data["skipped_rules"]}
    fleet = result["fleet"]["findings"]
    all_findings.extend(fleet)
    counts = _counts(all_findings)
    failing = sorted({f["host"] or "(fleet)" for f in all_findings if at_or_above(f["severity"], fail_on)})
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "generated_at": generated_at,
        "tool": {"name": "kubeprep.hostnet", "version": collection_version},
        "fail_on": fail_on,
        "options": result.get("options", {}),
        "input_sources": result.get("input_sources") or {},
        "summary": {
            "hosts": len(hosts),
            "hosts_ok": sum(1 for h in hosts.values() if h["status"] == "ok"),
            "errors": counts["error"],
            "warnings": counts["warning"],
            "infos": counts["info"],
            "failing_hosts": failing,
            "failed": bool(failing),
        },
        "rules": result["rules"],
        "skipped_rules": result.get("skipped_rules", []),
        "warn_rules": result.get("warn_rules", []),
        "recommendations": result.get("recommendations", {}),
        "overview": result.get("overview") or {"mtu": {}, "clock": {}, "probes": {"enabled": False}},
        "hosts": hosts,
        "fleet": {"findings": fleet},
    }


def gate(report, report_path=None):
    """host -> one line saying why the fail_on gate stops it (a fleet finding stops every host it names,
    or every host when it names none)."""
    threshold = report["fail_on"]
    reasons = {}
    for name, data in report["hosts"].items():
        for finding in data["findings"]:
            if at_or_above(finding["severity"], threshold):
                reasons.setdefault(name, []).append(finding["id"])
    for finding in report["fleet"]["findings"]:
        if at_or_above(finding["severity"], threshold):
            for name in finding.get("hosts") or sorted(report["hosts"]):
                if name in report["hosts"]:
                    reasons.setdefault(name, []).append(finding["id"])
    where = " - report: %s" % os.path.abspath(report_path) if report_path else ""
    return {
        name: "%d finding(s) at or above fail_on=%s: %s%s" % (len(ids), threshold, ", ".join(sorted(set(ids))), where) for name, ids in sorted(reasons.items())
    }


CONSOLE_NAMES = 5  # hosts a summary line names before "and N more"


def _first(names, count=CONSOLE_NAMES):
    """The first names and how many more: the line stays one line at 5,000 hosts."""
    shown = ", ".join(names[:count])
    return shown + (" and %d more" % (len(names) - count) if len(names) > count else "")


def _rule_lines(report):
    """hostnet_console=summary: one line per rule and severity, worst first. A rule that hit one host keeps that
    finding's line; one that hit several says how many, names the first few and gives the finding's message
    (one finding) or the rule's title (several)."""
    groups = {}
    for finding in ordered_findings(report):
        groups.setdefault((finding["id"], finding["severity"]), []).append(finding)
    registry = report.get("rules") if isinstance(report.get("rules"), dict) else {}
    lines = []
    for (rule_id, severity), findings in groups.items():
        names = []
        for finding in findings:
            for name in [finding["host"]] if finding.get("host") else finding.get("hosts") or ["(fleet)"]:
                if name not in names:
                    names.append(name)
        if len(findings) == 1 and findings[0].get("host"):
            text = "[%s %s] %s: %s" % (LABELS[severity], rule_id, findings[0]["host"], findings[0]["message"])
        else:
            declared = registry.get(rule_id)
            title = declared.get("title") if isinstance(declared, dict) else None
            what = findings[0]["message"] if len(findings) == 1 or not title else title
            text = "[%s %s] %d host(s): %s: %s" % (LABELS[severity], rule_id, len(names), _first(sorted(names)), what)
        lines.append((text, COLORS[severity]))
    return lines


def input_sources(report):
    """ "var from source" for each input not at its default (user, kubespray <variable>, kubeadm <file> <key>)."""
    return ["%s from %s" % (var, source) for var, source in sorted((report.get("input_sources") or {}).items()) if source != "default"]


def console_lines(report, verbose=True):
    """(text, colour) pairs: kubeadm-style finding lines, worst first, then a summary. Each line is
    ``safetext.visible``: host text cannot move the cursor, start a line or talk to the terminal.
    ``verbose``: each finding's line with its evidence, why and fix, and a line per host without findings;
    not verbose (hostnet_console=summary): one line per rule (``_rule_lines``), one for the hosts without
    findings, and the failing hosts' first few names (the per-host gate lines name each)."""
    lines = []
    if verbose:
        for finding in ordered_findings(report):
            who = finding.get("host") or "fleet(%s)" % ", ".join(finding.get("hosts") or [])
            lines.append(("[%s %s] %s: %s" % (LABELS[finding["severity"]], finding["id"], who, finding["message"]), COLORS[finding["severity"]]))
            for item in finding["evidence"]:
                lines.append(("    seen: %s" % item, None))
            lines.append(("    why:  %s" % finding["why"], None))
            lines.append(("    fix:  %s" % finding["fix"], None))
    else:
        lines.extend(_rule_lines(report))
    if input_sources(report):
        lines.append(("[INPUTS] %s; the rest are defaults" % ", ".join(input_sources(report)), COLORS["info"]))
    if report.get("skipped_rules"):
        lines.append(("[SKIPPED] not evaluated on any host (hostnet_skip_rules): %s" % ", ".join(report["skipped_rules"]), COLORS["info"]))
    if report.get("warn_rules"):
        lines.append(("[WARN-ONLY] errors reported as warnings (hostnet_warn_rules): %s" % ", ".join(report["warn_rules"]), COLORS["info"]))
    ok = sorted(name for name, data in report["hosts"].items() if data["status"] == "ok")
    if verbose or len(ok) == 1:
        lines.extend(("[OK] %s: no findings" % name, COLORS["ok"]) for name in ok)
    elif ok:
        lines.append(("[OK] %d host(s) with no findings: %s" % (len(ok), _first(ok)), COLORS["ok"]))
    summary = report["summary"]
    text = "hostnet audit: %d host(s), %d ok, %d error(s), %d warning(s)" % (
        summary["hosts"],
        summary["hosts_ok"],
        summary["errors"],
        summary["warnings"],
    )
    if summary["failed"]:
        failing = summary["failing_hosts"]
        text += "; failing (fail_on=%s): %s" % (report["fail_on"], ", ".join(failing) if verbose else "%d host(s): %s" % (len(failing), _first(failing)))
    lines.append((text, COLORS["error"] if summary["failed"] else COLORS["ok"]))
    return [(safetext.visible(line), color) for line, color in lines]


def render_markdown(report):
    """The report as Markdown (CommonMark with a GFM table). Host text is escaped where it is prose, a code
    span where it is an id, and the evidence is a fenced block no line of it can close."""
    summary = report["summary"]
    out = [
        "# kubeprep.hostnet audit report",
        "",
        "Generated %s. %d host(s): %d ok, %d error(s), %d warning(s). Fail on: %s."
        % (
            safetext.md_inline(report["generated_at"]),
            summary["hosts"],
            summary["hosts_ok"],
            summary["errors"],
            summary["warnings"],
            safetext.md_code(report["fail_on"]),
        ),
        "",
    ]
    if input_sources(report):
        out += ["Inputs: %s; the rest are defaults." % "; ".join(safetext.md_inline(text) for text in input_sources(report)), ""]
    out += [
        "| host | status | findings |",
        "| --- | --- | --- |",
    ]
    for name, data in sorted(report["hosts"].items()):
        ids = ", ".join(safetext.md_cell_code(f["id"]) for f in data["findings"]) or "-"
        out.append("| %s | %s | %s |" % (safetext.md_inline(name), safetext.md_inline(data["status"].upper()), ids))
    out.append("")
    for finding in ordered_findings(report):
        who = finding.get("host") or "fleet"
        out.extend(
            [
                "## %s %s on %s" % (LABELS[finding["severity"]], safetext.md_code(finding["id"]), safetext.md_inline(who)),
                "",
                safetext.md_inline(finding["message"]),
                "",
                "Evidence:",
                "",
            ]
            + safetext.md_fence(finding["evidence"])
            + [
                "",
                "**Why it breaks Kubernetes:** %s" % safetext.md_rich(finding["why"]),
                "",
                "**Fix:** %s" % safetext.md_rich(finding["fix"]),
                "",
                "Rule reference: %s" % safetext.md_code(finding["docs"]),
                "",
            ]
        )
    return "\n".join(out) + "\n"


def render_junit(report):
    """One testcase per host x rule and per fleet finding, from roles/audit/templates/hostnet-report.junit.xml.j2.
    A finding at or above fail_on is a failure with its evidence, why and fix; one below it is
    system-out with the same; a skipped rule is skipped. Every string is ``safetext.visible`` first: what
    XML 1.0 forbids (ESC, NUL, most C0) cannot reach the file, and CI pages show no control character."""
    report = safetext.deep({key: report[key] for key in ("generated_at", "fail_on", "rules", "hosts", "fleet")})  # not the overview: unused here
    cases = []
    for name, data in sorted(report["hosts"].items()):
        by_rule = {}
        for finding in data["findings"]:
            by_rule.setdefault(finding["id"], []).append(finding)
        for rule_id in sorted(report["rules"]):
            found = by_rule.get(rule_id, [])
            failing = [f for f in found if at_or_above(f["severity"], report["fail_on"])]
            skipped = "not evaluated (hostnet_skip_rules)" if rule_id in data["skipped_rules"] else None
            cases.append({"classname": name, "name": rule_id, "skipped": skipped, "failures": failing, "passing": [f for f in found if f not in failing]})
    for finding in report["fleet"]["findings"]:
        failing = at_or_above(finding["severity"], report["fail_on"])
        cases.append(
            {"classname": "fleet", "name": finding["id"], "skipped": None, "failures": [finding] if failing else [], "passing": [] if failing else [finding]}
        )
    return templates.render("hostnet-report.junit.xml.j2", report=report, cases=cases)


def atomic_write(path, text):
    """Write text to path via a temporary file and rename: readers never see half a report."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".hostnet-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def pin_reasons(report):
    """host -> the rule whose finding says to pin its node interface (``data.pin_node_ip``): fleet findings
    first, then each host's."""
    reasons = {}
    for finding in list(report["fleet"]["findings"]) + [f for _name, data in sorted(report["hosts"].items()) for f in data["findings"]]:
        for host in (finding.get("data") or {}).get("pin_node_ip") or []:
            reasons.setdefault(host, finding["id"])
    return reasons


def write_report(report, directory):
    """Write the report files, and a host_vars file per host whose interface should be pinned."""
    os.makedirs(directory, exist_ok=True)
    paths = {
        "json": os.path.join(directory, "hostnet-report.json"),
        "markdown": os.path.join(directory, "hostnet-report.md"),
        "junit": os.path.join(directory, "hostnet-report.junit.xml"),
        "html": os.path.join(directory, "hostnet-report.html"),
    }
    atomic_write(paths["json"], json.dumps(report, indent=2, sort_keys=True) + "\n")
    atomic_write(paths["markdown"], render_markdown(report))
    atomic_write(paths["junit"], render_junit(report))
    atomic_write(paths["html"], report_html.render_html(report))
    reasons = pin_reasons(report)
    if reasons:
        vars_dir = os.path.join(directory, "host_vars")
        os.makedirs(vars_dir, exist_ok=True)
        for host, reason in sorted(reasons.items()):
            rec = report["recommendations"].get(host)
            if rec:
                path = os.path.join(vars_dir, "%s.yml" % host)
                atomic_write(path, nodeip.vars_file(host, rec, reason))
                paths.setdefault("host_vars", []).append(path)
    return paths
