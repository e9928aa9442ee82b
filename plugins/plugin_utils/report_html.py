# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one HTML file: no external assets (inline CSS and a few lines of
script), the fleet at a glance, then every finding with its evidence, why and fix.
Its size is linear in hosts: beyond ``TILE_LIMIT`` hosts the glance is the rule groups (each rule and severity,
how many hosts it hit, expandable to their names) instead of a tile per host; beyond ``MATRIX_LIMIT`` probed
hosts the probe view is the failing pairs and each host's in/out counts instead of the source x destination
matrix (N x N cells); beyond ``TABLE_LIMIT`` hosts the MTU and clock table lists only the hosts it shades.
Every value from a host is escaped: ``safetext.visible`` (control characters shown), then HTML-escaped by
the template's autoescape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import safetext, templates
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
white-space:pre-wrap}.filters label{margin-right:12px}.failed{color:#c62828;font-weight:600}.note{color:#555}
summary a{color:inherit}
table.glance{border-collapse:collapse;background:#fff;margin-bottom:16px;font-size:13px}
table.glance th,table.glance td{border:1px solid #dde1e7;padding:3px 8px;text-align:left}
table.matrix td{text-align:center;min-width:44px}table.matrix td.none{background:#eceff3;color:#8a93a3}
.groups td.hosts{max-width:760px}.groups details{box-shadow:none;margin:0;background:none}
.groups summary{padding:0}.groups details>div{padding:4px 0 0;overflow-wrap:anywhere}
.search input[type=search]{width:240px}.search select{max-width:280px}.search label{margin-right:12px}
.failed details.names{display:inline;box-shadow:none;background:none;margin:0}.failed details.names summary{display:inline;padding:0}
details.finding,.big{content-visibility:auto;contain-intrinsic-size:auto 44px}
td.ok{color:#fff}td.error,td.warning{color:#fff}.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border-radius:4px;color:#fff}
"""

SCRIPT = """
(function(){
  var boxes=document.querySelectorAll('.filters input[type=checkbox]');
  var text=document.getElementById('search'),rule=document.getElementById('rule'),host=document.getElementById('host');
  var findings=document.querySelectorAll('details.finding'),rows=document.querySelectorAll('tr.group'),timer=null;
  var params=new URLSearchParams(location.search);
  if(params.has('q'))text.value=params.get('q');
  if(params.has('host'))host.value=params.get('host');
  if(params.has('rule'))rule.value=params.get('rule');
  if(params.has('severity')){var want=params.get('severity').split(',');boxes.forEach(function(b){b.checked=want.indexOf(b.value)>=0;});}
  function shown(e){return e&&!e.hidden&&e.getClientRects().length>0;}
  function apply(){
    var show={};boxes.forEach(function(b){show[b.value]=b.checked;});
    var q=text.value.trim().toLowerCase(),r=rule.value,h=host.value.trim().toLowerCase();
    findings.forEach(function(d){
      d.hidden=!show[d.dataset.severity]||(r&&d.dataset.rule!==r)||(h&&d.dataset.host.toLowerCase().indexOf(h)<0)||
        (q&&d.textContent.toLowerCase().indexOf(q)<0);
    });
    rows.forEach(function(t){
      t.hidden=!show[t.dataset.severity]||(r&&t.dataset.rule!==r)||(h&&t.dataset.host.toLowerCase().indexOf(h)<0)||
        (q&&t.textContent.toLowerCase().indexOf(q)<0);
    });
    document.body.dataset.findingsShown=String(Array.prototype.filter.call(findings,function(d){return !d.hidden;}).length);
    document.body.dataset.groupsShown=String(Array.prototype.filter.call(rows,shown).length);
  }
  function later(){clearTimeout(timer);timer=setTimeout(apply,150);}
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  rule.addEventListener('change',apply);text.addEventListener('input',later);host.addEventListener('input',later);
  function all(open){document.querySelectorAll('details.finding').forEach(function(d){d.open=open;});}
  document.getElementById('expand').addEventListener('click',function(){all(true);});
  document.getElementById('collapse').addEventListener('click',function(){all(false);});
  apply();
  document.body.dataset.rendered=String(findings.length);
  document.body.dataset.searchShown=String(shown(text));
  document.body.dataset.readyMs=String(Math.round(performance.now()));
})();
"""


DOCS_URL = "https://github.com/kubeprep/hostnet/blob/main/docs/rules"
TILE_LIMIT = 48  # hosts: a tile each up to here, the rule groups alone beyond
MATRIX_LIMIT = 30  # probed hosts: the full source x destination matrix up to here
TABLE_LIMIT = 100  # hosts: the MTU and clock table lists every host up to here, only the shaded ones beyond
GROUP_NAMES = 8  # names a rule group shows before "+N more" (all of them when it is opened)


_BAD = ("refused", "timeout", "unreachable")


def _cell(entry):
    """(css class, text, title) of one source -> destination pair of the probe matrix."""
    if not entry["ran"]:
        return "warning", "not run", "the source's probe step did not run"
    failed = entry.get("failed") or []
    title = "; ".join("%s/%s %s: %s" % (r["proto"], r["port"], r.get("service") or "", r["result"]) for r in failed)
    title = "%d of %d port(s) open%s" % (entry["open"], entry["probed"], "; " + title if title else "")
    if entry.get("df"):
        title += "; DF datagram of the MTU: %s" % entry["df"]
    text = "%d/%d" % (entry["open"], entry["probed"])
    if entry.get("not_probed"):
        title += "; %d port(s) not probed (see the finding)" % entry["not_probed"]
        text += " +%d?" % entry["not_probed"]
    if any(r["result"] in _BAD for r in failed):
        return "error", text, title
    if failed or entry.get("not_probed") or entry.get("df") in ("lost", "too_big", "unreachable", "error"):
        return "warning", text + (" DF" if entry.get("df") in ("lost", "too_big") else ""), title
    return "ok", text, title


def _probe_counts(matrix, cells):
    """Per probed host: pairs out (as source) and in (as destination), each [all open, probed], and how many
    of them are not all open."""
    counts = {}
    for entry in matrix:
        ok = cells[(entry["source"], entry["destination"])][0] == "ok"
        for host, way in ((entry["source"], "out"), (entry["destination"], "in")):
            row = counts.setdefault(host, {"host": host, "out": [0, 0], "in": [0, 0], "failing": 0})
            row[way][1] += 1
            if ok:
                row[way][0] += 1
            else:
                row["failing"] += 1
    return sorted(counts.values(), key=lambda row: (-row["failing"], row["host"]))


def glance(report):
    """What the page shows about the fleet besides the rule groups: MTUs and clocks, the probes (the matrix for
    small fleets; the failing pairs and each host's in/out counts for any fleet)."""
    overview = report.get("overview") or {}
    mtus = overview.get("mtu") or {}
    clocks = overview.get("clock") or {}
    # What the rules said (their overview sections), never recomputed here: the page and the findings agree.
    common = next((m.get("common") for m in mtus.values() if m.get("common") is not None), None)
    limit = next((c.get("limit_s") for c in clocks.values() if c.get("limit_s") is not None), None)
    rows = []
    for host in sorted(report["hosts"]):
        mtu, clock = mtus.get(host), clocks.get(host)
        rows.append({"host": host, "mtu": mtu, "mtu_odd": bool(mtu and mtu.get("odd")), "clock": clock, "skew": bool(clock and clock.get("skewed"))})
    measured = sum(1 for row in rows if row["mtu"] or row["clock"])
    if len(rows) > TABLE_LIMIT:
        rows = [row for row in rows if row["mtu_odd"] or row["skew"]]
    probes = overview.get("probes") or {}
    matrix = probes.get("matrix") or []
    cells = {(m["source"], m["destination"]): _cell(m) for m in matrix}
    probed = sorted({m["source"] for m in matrix} | {m["destination"] for m in matrix})
    small = len(probed) <= MATRIX_LIMIT
    return {
        "rows": rows,
        "measured": measured,
        "table_all": len(report["hosts"]) <= TABLE_LIMIT,
        "common_mtu": common,
        "limit": limit,
        "probes": probes,
        "pairs": len(matrix),
        "probed": len(probed),
        "failing": [pair + cells[pair] for pair in ((m["source"], m["destination"]) for m in matrix) if cells[pair][0] != "ok"],
        "per_host": _probe_counts(matrix, cells),
        "matrix": small,
        "sources": sorted({m["source"] for m in matrix}) if small else [],
        "destinations": sorted({m["destination"] for m in matrix}) if small else [],
        "cells": cells,
    }


def rule_groups(report):
    """One row per rule and severity: how many hosts its findings name and the names (a host finding names its
    host; a fleet finding the hosts it lists, or the fleet), worst first, then the most hosts."""
    groups = {}
    for finding in ordered_findings(report):
        key = (finding["id"], finding["severity"])
        group = groups.setdefault(key, {"id": finding["id"], "severity": finding["severity"], "hosts": {}, "findings": 0})
        group["findings"] += 1
        for name in [finding["host"]] if finding.get("host") else finding.get("hosts") or ["(fleet)"]:
            group["hosts"].setdefault(name, finding)
    registry = report.get("rules") if isinstance(report.get("rules"), dict) else {}
    out = []
    for group in groups.values():
        names = sorted(group["hosts"])
        declared = registry.get(group["id"])
        title = declared.get("title") if isinstance(declared, dict) else None
        out.append(dict(group, names=names, first=names[:GROUP_NAMES], more=max(0, len(names) - GROUP_NAMES), title=title))
    return sorted(out, key=lambda g: (SEVERITY_RANK[g["severity"]], -len(g["names"]), g["id"]))


def _anchor(finding, who):
    return "f-%s-%s" % (finding["id"], who)


def _finding_anchors():
    """A unique id per finding, in page order: a host can have two findings of one rule (an error and a
    warning of node-port-unreachable; mtu-mismatch from the facts and from the DF probe). The first keeps the
    plain id the host tiles link to."""
    seen = {}

    def anchor(finding, who):
        base = _anchor(finding, who)
        seen[base] = seen.get(base, 0) + 1
        return base if seen[base] == 1 else "%s-%d" % (base, seen[base])

    return anchor


def render_html(report):
    """The page, from the collection's template (roles/audit/templates/hostnet-report.html.j2)."""
    report = safetext.deep(report)
    summary = report["summary"]
    tiles = sorted(report["hosts"].items(), key=lambda item: (SEVERITY_RANK.get(item[1]["status"], 3), item[0])) if len(report["hosts"]) <= TILE_LIMIT else []
    groups = rule_groups(report)
    cards = [("hosts", summary["hosts"]), ("ok", summary["hosts_ok"]), ("errors", summary["errors"]), ("warnings", summary["warnings"])]
    return templates.render(
        "hostnet-report.html.j2",
        report=report,
        summary=summary,
        cards=cards,
        tiles=tiles,
        findings=ordered_findings(report),
        css=CSS,
        script=SCRIPT,
        docs_url=DOCS_URL,
        glance=glance(report),
        groups=groups,
        group_rules=sorted({g["id"] for g in groups}),
        tile_limit=TILE_LIMIT,
        group_names=GROUP_NAMES,
        anchor=_anchor,
        finding_anchor=_finding_anchors(),
    )
