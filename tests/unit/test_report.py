"""Report rendering: schema, console, Markdown, JUnit."""

import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report, rules

from helpers import as_other_node, healthy_kernel, host_facts, lo_without_ipv6, read_fixture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sample(tmp_path, fail_on="error"):
    bad = host_facts(tmp_path / "a", "centos7", overrides={"etc/hosts": read_fixture("centos7", "hosts.f1-broken")}, kernel=lo_without_ipv6(healthy_kernel()))
    good = host_facts(tmp_path / "b", "debian12", kernel=as_other_node(healthy_kernel(), 2))
    result = rules.evaluate({"node1": bad, "node2": good, "node3": None}, {"skip_rules": ["ip-forward-disabled"]})
    return report.build_report(result, "2026-01-01T00:00:00+00:00", fail_on, "0.1.0")


def test_schema_and_summary(tmp_path):
    doc = sample(tmp_path)
    assert doc["summary"] == {"hosts": 3, "hosts_ok": 1, "errors": 2, "warnings": 0, "infos": 1, "failing_hosts": ["node1", "node3"], "failed": True}
    assert doc["hosts"]["node1"]["status"] == "error"
    assert doc["hosts"]["node1"]["findings"][0]["id"] == "localhost-unreachable"
    assert doc["fleet"] == {"findings": []}
    assert sample(tmp_path / "n", fail_on="never")["summary"]["failed"] is False


def test_console_lines_kubeadm_style(tmp_path):
    lines = [text for text, _color in report.console_lines(sample(tmp_path))]
    assert lines[0] == "[ERROR facts-missing] node3: no hostnet facts for this host (facts were not gathered)"
    assert "[ERROR localhost-unreachable] node1: localhost resolves only to ::1 but IPv6 is disabled on lo" in lines
    assert "[OK] node2: no findings" in lines
    assert lines[-1].startswith("hostnet audit: 3 host(s), 1 ok, 2 error(s), 0 warning(s); failing")


def test_junit_is_well_formed(tmp_path):
    doc = sample(tmp_path)
    tree = ET.fromstring(report.render_junit(doc))
    suite = tree.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3 * len(rules.all_rules())
    assert suite.get("failures") == "2"
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert {c.get("name") for c in skipped} == {"ip-forward-disabled"}


def test_written_files(tmp_path):
    paths = report.write_report(sample(tmp_path / "s"), str(tmp_path / "out"))
    assert sorted(os.listdir(str(tmp_path / "out"))) == ["hostnet-report.html", "hostnet-report.json", "hostnet-report.junit.xml", "hostnet-report.md"]
    with open(paths["markdown"]) as handle:
        text = handle.read()
    assert "| node1 | ERROR | `localhost-unreachable`, `slow-resolver` |" in text


def test_version_matches_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = [line.split(":", 1)[1].strip() for line in handle if line.startswith("version:")][0]
    assert report.COLLECTION_VERSION == version


def test_junit_carries_evidence_and_fix_and_fleet_findings_below_the_gate(tmp_path):
    doc = sample(tmp_path)
    doc["fleet"]["findings"].append(
        {
            "id": "duplicate-node-identity",
            "severity": "info",
            "host": None,
            "hosts": ["node1"],
            "message": "m <x>",
            "evidence": ["seen & this"],
            "why": "w",
            "fix": "f",
            "docs": "d",
        }
    )
    tree = ET.fromstring(report.render_junit(doc))
    failures = tree.findall(".//failure")
    assert failures and all("fix: " in f.text and "seen: " in f.text for f in failures)
    [fleet_case] = [c for c in tree.iter("testcase") if c.get("classname") == "fleet" and c.get("name") == "duplicate-node-identity"]
    out = fleet_case.find("system-out").text
    assert "info: m <x>" in out and "seen: seen & this" in out and "fix: f" in out


def test_reports_match_the_json_schema(tmp_path):
    import json

    import jsonschema

    with open(os.path.join(ROOT, "docs", "schemas", "hostnet-report.schema.json")) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = sample(tmp_path)
    jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
    broken = dict(doc, summary=dict(doc["summary"], errors="two"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_junit_stays_well_formed_with_control_characters_from_a_host(tmp_path):
    """A host can put control characters in what findings quote (an interface named "odd\\x01if", a form feed in a
    file line): XML 1.0 allows none of them, and one made the whole JUnit report unparseable for CI."""
    doc = sample(tmp_path)
    finding = doc["hosts"]["node1"]["findings"][0]
    finding["message"] += " on odd\x01if"
    finding["evidence"].append("/etc/hosts:1: 10.9.9.9 alias\flocalhost\x1b[31m")
    tree = ET.fromstring(report.render_junit(doc))
    texts = [(f.get("message"), f.text) for f in tree.iter("failure")]
    assert any(m.endswith("on odd\\x01if") and "alias\\x0clocalhost\\x1b[31m" in t for m, t in texts), texts


def test_summary_console_is_one_line_per_rule_with_its_host_count(tmp_path):
    """hostnet_console=summary at 300 hosts: a line per rule and severity (not per finding, not per host); a rule
    that hit one host keeps that finding's line."""
    from test_report_scale import synth

    fleet = {"node%d" % i: synth.node(i, faults=False) for i in range(300)}  # healthy: node7's is the one bad name
    fleet["node7"]["identity"]["hostname"] = "Bad_Name"
    fleet["node9"] = None
    doc = report.build_report(rules.evaluate(fleet), "2026-01-01T00:00:00+00:00", "error", "0.2.0")
    groups = {}
    for finding in rules.ordered_findings(doc):
        groups.setdefault((finding["id"], finding["severity"]), []).append(finding)
    lines = [text for text, _color in report.console_lines(doc, verbose=False)]
    assert len(lines) == len(groups) + 1 and all(len(line) < 400 for line in lines), lines
    assert "[ERROR facts-missing] node9: no hostnet facts for this host (facts were not gathered)" in lines
    assert [line for line in lines if line.startswith("[ERROR hostname-invalid] node7: the kernel's hostname Bad_Name")]
    (shared,) = [f for f in doc["fleet"]["findings"] if len(f["hosts"]) == 299]
    names = sorted(shared["hosts"])
    line = "[%s %s] 299 host(s): %s and 294 more: %s" % (report.LABELS[shared["severity"]], shared["id"], ", ".join(names[:5]), shared["message"])
    assert line in lines
    several = [(key, found) for key, found in groups.items() if len(found) > 1]
    assert several
    for (rule_id, severity), found in several:
        head = "[%s %s] %d host(s): " % (report.LABELS[severity], rule_id, len(found))
        assert [line for line in lines if line.startswith(head) and line.endswith(": " + doc["rules"][rule_id]["title"])], (head, lines)
    assert lines[-1].startswith("hostnet audit: 300 host(s), 0 ok,") and "; failing (fail_on=error): 3 host(s): (fleet), node7, node9" in lines[-1]


def test_summary_console_names_hosts_without_findings_in_one_line(tmp_path):
    doc = sample(tmp_path)
    doc["hosts"].update({"node%d" % i: {"status": "ok", "findings": [], "skipped_rules": []} for i in range(4, 12)})
    lines = [text for text, _color in report.console_lines(doc, verbose=False)]
    assert "[OK] 9 host(s) with no findings: node10, node11, node2, node4, node5 and 4 more" in lines
    assert not [line for line in lines if line.endswith(": no findings")]
    assert "[OK] node2: no findings" in [text for text, _color in report.console_lines(doc, verbose=True)]
