# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one HTML file: no external assets (inline CSS and a few lines of
script), the fleet at a glance, then every finding with its evidence, why and fix.
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
td.ok{color:#fff}td.error,td.warning{color:#fff}.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border-radius:4px;color:#fff}
"""

SCRIPT = """
(function(){
  var boxes=document.querySelectorAll('.filters input');
  function apply(){
    var show={};boxes.forEach(function(b){show[b.value]=b.checked;});
    document.querySelectorAll('details.finding').forEach(function(d){d.hidden=!show[d.dataset.severity];});
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});
  function all(open){document.querySelectorAll('details.finding').forEach(function(d){d.open=open;});}
  document.getElementById('expand').addEventListener('click',function(){all(true);});
  document.getElementById('collapse').addEventListener('click',function(){all(false);});
  apply();
  document.body.dataset.rendered=String(document.querySelectorAll('details.finding').length);
})();
"""


DOCS_URL = "https://github.com/kubeprep/hostnet/blob/main/docs/rules"


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


def glance(report):
    """What the page shows about the fleet besides the host tiles: MTUs and clocks, the probe matrix."""
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
    probes = overview.get("probes") or {}
    matrix = probes.get("matrix") or []
    sources = sorted({m["source"] for m in matrix})
    destinations = sorted({m["destination"] for m in matrix})
    cells = {(m["source"], m["destination"]): _cell(m) for m in matrix}
    return {"rows": rows, "common_mtu": common, "limit": limit, "probes": probes, "sources": sources, "destinations": destinations, "cells": cells}


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
    tiles = sorted(report["hosts"].items(), key=lambda item: (SEVERITY_RANK.get(item[1]["status"], 3), item[0]))
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
        anchor=_anchor,
        finding_anchor=_finding_anchors(),
    )
