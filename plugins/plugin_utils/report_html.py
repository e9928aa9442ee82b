# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one HTML file: no external assets (inline CSS and a few lines of
script), the fleet at a glance, then every finding with its evidence, why and fix.
Every value from a host is escaped."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules import SEVERITY_RANK, ordered_findings

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c3c8d2}main{padding:16px 24px;max-width:1200px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 16px}.card{background:#fff;border-radius:6px;padding:10px 16px;
box-shadow:0 1px 2px rgba(0,0,0,.08);min-width:110px}.card b{display:block;font-size:24px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin-bottom:20px}
.host{border-radius:6px;padding:8px 10px;color:#fff;text-decoration:none;font-weight:600;overflow-wrap:anywhere}
.host small{display:block;font-weight:400;opacity:.9}
.ok{background:#2e7d32}.error{background:#c62828}.warning{background:#b26a00}.info{background:#1565c0}
.badge{border-radius:4px;padding:1px 6px;color:#fff;font-size:12px;font-weight:600;margin-right:6px}
details{background:#fff;border-radius:6px;margin:8px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
summary{cursor:pointer;padding:10px 12px}details>div{padding:0 12px 12px}
code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}pre{background:#f0f2f5;padding:8px;overflow-x:auto;
white-space:pre-wrap}.filters label{margin-right:12px}.failed{color:#c62828;font-weight:600}
"""

SCRIPT = """
(function(){
  var boxes=document.querySelectorAll('.filters input');
  function apply(){
    var show={};boxes.forEach(function(b){show[b.value]=b.checked;});
    document.querySelectorAll('details.finding').forEach(function(d){d.hidden=!show[d.dataset.severity];});
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  apply();
  document.body.dataset.rendered=String(document.querySelectorAll('details.finding').length);
})();
"""


def _finding_html(finding):
    who = finding.get("host") or "fleet (%s)" % ", ".join(finding.get("hosts") or [])
    evidence = "\n".join(finding.get("evidence") or [])
    return (
        '<details class="finding" data-severity="{sev}" id="{anchor}"{open}><summary><span class="badge {sev}">{label}</span>'
        "<code>{rule}</code> {who}: {message}</summary><div>"
        "<p><b>Evidence</b></p><pre>{evidence}</pre><p><b>Why it breaks Kubernetes</b><br>{why}</p>"
        "<p><b>Fix</b><br>{fix}</p></div></details>"
    ).format(
        sev=escape(finding["severity"]),
        open=" open" if finding["severity"] == "error" else "",
        anchor=escape("f-%s-%s" % (finding["id"], who)),
        label=escape(finding["severity"].upper()),
        rule=escape(finding["id"]),
        who=escape(who),
        message=escape(finding["message"]),
        evidence=escape(evidence),
        why=escape(finding.get("why") or ""),
        fix=escape(finding.get("fix") or ""),
    )


def render_html(report):
    summary = report["summary"]
    findings = ordered_findings(report)
    tiles = []
    for name, data in sorted(report["hosts"].items(), key=lambda item: (SEVERITY_RANK.get(item[1]["status"], 3), item[0])):
        count = len(data["findings"])
        tiles.append(
            '<a class="host {status}" href="#f-{first}" title="{name}">{name}<small>{status_text}</small></a>'.format(
                status=escape(data["status"]),
                first=escape("%s-%s" % (data["findings"][0]["id"], name)) if count else "",
                name=escape(name),
                status_text=escape("no findings" if not count else "%d finding(s), worst: %s" % (count, data["status"])),
            )
        )
    cards = [("hosts", summary["hosts"]), ("ok", summary["hosts_ok"]), ("errors", summary["errors"]), ("warnings", summary["warnings"])]
    verdict = (
        '<p class="failed">Failing (fail_on={0}): {1}</p>'.format(escape(report["fail_on"]), escape(", ".join(summary["failing_hosts"])))
        if summary["failed"]
        else "<p>Passing (fail_on=%s).</p>" % escape(report["fail_on"])
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>kubeprep.hostnet audit - {title}</title><style>{css}</style></head><body>"
        "<header><h1>Host networking audit for Kubernetes</h1><p>kubeprep.hostnet {version} &middot; {generated}</p></header><main>"
        '<div class="cards">{cards}</div>{verdict}<h2>Fleet at a glance</h2><div class="grid">{tiles}</div>'
        '<h2>Findings</h2><p class="filters">{filters}</p>{findings}</main><script>{script}</script></body></html>\n'
    ).format(
        title=escape("%d host(s), %d error(s), %d warning(s)" % (summary["hosts"], summary["errors"], summary["warnings"])),
        css=CSS,
        version=escape(str(report["tool"].get("version") or "")),
        generated=escape(report["generated_at"]),
        cards="".join('<div class="card"><b>%d</b>%s</div>' % (value, label) for label, value in cards),
        verdict=verdict,
        tiles="".join(tiles) or "<p>No hosts.</p>",
        filters="".join('<label><input type="checkbox" value="%s" checked> %s</label>' % (s, s) for s in ("error", "warning", "info")),
        findings="".join(_finding_html(f) for f in findings) or "<p>No findings.</p>",
        script=SCRIPT,
    )
