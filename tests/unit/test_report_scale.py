"""Issue 22 ("A fleet of 5,000"): every report file is linear in hosts, and the HTML still works at 5,000 hosts.

The fleets are bench/rules_engine.py's synthetic nodes (a shared eth0 and a unique eth1, so every host has
findings) with its port probe reports (3 peers, one port in 100 timing out). Sizes are compared, never times:
speed is measured by ``make bench`` (bench/fleet.py prints the seconds of each artifact)."""

import copy
import importlib.util
import os
import re

import pytest
from test_report_html import chromium

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report, report_html, rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location("bench_rules_engine", os.path.join(ROOT, "bench", "rules_engine.py"))
synth = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(synth)

ARTIFACTS = ("json", "markdown", "junit", "html")


def written(tmp_path, size, probes=True):
    fleet = {"node%d" % i: copy.deepcopy(synth.node(i)) for i in range(size)}
    options = {"port_probes": synth.with_probes(fleet)} if probes else {}
    doc = report.build_report(rules.evaluate(fleet, options), "2026-01-01T00:00:00+00:00", "error", "0.2.0")
    paths = report.write_report(doc, str(tmp_path / str(size)))
    return doc, {kind: paths[kind] for kind in ARTIFACTS}


@pytest.fixture(scope="module")
def fleets(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("scale")
    return {size: written(tmp_path, size) for size in (500, 5000)}


def test_every_report_file_is_linear_in_hosts_with_port_probes(fleets):
    per_host = {size: {kind: os.path.getsize(path) / size for kind, path in paths.items()} for size, (_doc, paths) in fleets.items()}
    for kind in ARTIFACTS:
        assert per_host[5000][kind] <= 1.25 * per_host[500][kind], (kind, per_host)


def test_a_large_fleets_probe_view_is_the_failing_pairs_and_each_hosts_counts(fleets):
    doc, paths = fleets[5000]
    with open(paths["html"], encoding="utf-8") as handle:
        page = handle.read()
    matrix = doc["overview"]["probes"]["matrix"]
    failing = [m for m in matrix if m["open"] < m["probed"]]
    assert len(matrix) == 3 * 5000 and failing  # the fleet has pairs with a port timing out
    assert 'id="probe-matrix"' not in page and 'id="probe-failing"' in page and 'id="probe-hosts"' in page
    rows = re.search(r'<table class="glance" id="probe-failing">(.*?)</table>', page, re.S).group(1).count("<tr>") - 1
    assert rows == len(failing)
    hosts = re.search(r'<table class="glance" id="probe-hosts">(.*?)</table>', page, re.S).group(1)
    assert hosts.count("<tr>") - 1 == 5000
    name = failing[0]["destination"]
    out = [m["open"] == m["probed"] for m in matrix if m["source"] == name]
    into = [m["open"] == m["probed"] for m in matrix if m["destination"] == name]
    row = "<tr><td>%s</td><td>%d/%d</td><td>%d/%d</td>" % (name, sum(out), len(out), sum(into), len(into))
    assert row in hosts and sum(into) < len(into), (row, name)


def test_a_large_fleet_is_grouped_by_rule_not_a_tile_per_host(fleets):
    doc, paths = fleets[5000]
    with open(paths["html"], encoding="utf-8") as handle:
        page = handle.read()
    assert '<a class="host ' not in page
    groups = report_html.rule_groups(doc)
    assert groups and page.count('<tr class="group"') == len(groups)
    hit = {(f["id"], f["severity"]) for f in rules.ordered_findings(doc)}
    assert {(g["id"], g["severity"]) for g in groups} == hit
    widest = max(groups, key=lambda g: len(g["names"]))
    assert len(widest["names"]) == 5000  # the shared eth0: every host, named once each when opened
    row = re.search(r'<tr class="group" data-rule="%s" data-severity="%s".*?</tr>' % (widest["id"], widest["severity"]), page).group(0)
    assert "<td>5000</td>" in row and "and 4992 more</summary>" in row
    listed = re.sub(r"<[^>]+>", "", re.search(r"</summary><div>(.*?)</div>", row).group(1)).split(", ")
    assert listed == widest["names"] == sorted(doc["hosts"])


def test_a_large_fleets_failing_line_names_a_few_hosts_and_counts_the_rest(fleets):
    doc, paths = fleets[5000]
    with open(paths["html"], encoding="utf-8") as handle:
        page = handle.read()
    failing = doc["summary"]["failing_hosts"]
    assert len(failing) > report_html.GROUP_NAMES
    line = re.search(r'<p class="failed" id="failing">.*?</p>', page, re.S).group(0)
    shown = re.search(r"<summary>(.*?)</summary>", line).group(1)
    assert shown == "%s and %d more" % (", ".join(failing[: report_html.GROUP_NAMES]), len(failing) - report_html.GROUP_NAMES)
    assert re.search(r"</summary><div>(.*?)</div>", line).group(1).split(", ") == failing  # every name when opened


def test_the_5000_host_page_shows_its_rule_groups_and_search_box_in_headless_chromium(fleets, tmp_path):
    doc, paths = fleets[5000]
    proc = chromium(tmp_path, "--dump-dom", "file://" + os.path.abspath(paths["html"]))
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body[^>]*>", proc.stdout).group(0)
    findings = sum(len(h["findings"]) for h in doc["hosts"].values()) + len(doc["fleet"]["findings"])
    assert 'data-rendered="%d"' % findings in body, body  # the script ran to its end
    assert 'data-groups-shown="%d"' % len(report_html.rule_groups(doc)) in body, body  # every rule group laid out
    assert 'data-search-shown="true"' in body, body


def test_the_5000_host_pages_filters_from_its_address_in_headless_chromium(fleets, tmp_path):
    """?host=...&severity=... (what the host box and severity boxes hold) hide the findings and rule groups that
    do not match: the page counts what it still shows."""
    doc, paths = fleets[5000]
    url = "file://%s?host=node42&severity=error" % os.path.abspath(paths["html"])
    proc = chromium(tmp_path, "--dump-dom", url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = re.search(r"<body[^>]*>", proc.stdout).group(0)

    def names(finding):
        return (finding["host"] or " ".join(finding.get("hosts") or [])).lower()

    findings = [f for f in rules.ordered_findings(doc) if f["severity"] == "error" and "node42" in names(f)]
    groups = [g for g in report_html.rule_groups(doc) if g["severity"] == "error" and "node42" in " ".join(g["names"]).lower()]
    everything = sum(len(h["findings"]) for h in doc["hosts"].values()) + len(doc["fleet"]["findings"])
    assert 0 < len(findings) < everything and 0 < len(groups) < len(report_html.rule_groups(doc))
    assert 'data-findings-shown="%d"' % len(findings) in body and 'data-groups-shown="%d"' % len(groups) in body, body
