"""Rule node-port-unreachable (and the DF part of mtu-mismatch) over probe reports as the audit action
attaches them: failures named by source, destination, port and result; what could not be probed is a warning;
the overview the HTML draws; the report schema."""

import json
import os
import re

import jsonschema

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import probeplan, report, report_html, rules

from helpers import listener, make_plan
from helpers import probe_fleet as fleet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


# -- the rules over probe reports ------------------------------------------------------


def judged(tmp_path, failures=(), df_lost=(), not_run=(), in_use=None, count=4):
    """Facts with this run's probe reports as the audit action attaches them; the evaluate() result."""
    nodes, plan = make_plan(tmp_path, count=count)
    for host in plan["hosts"]:
        listen = listener(host, in_use=(in_use or {}).get(host, ()))
        nodes[host] = dict(nodes[host], port_probes={"listen": listen})
    listeners = {h: nodes[h]["port_probes"]["listen"] for h in plan["hosts"]}
    for source in plan["hosts"]:
        if source in not_run:
            continue
        port_targets, df_targets, notes, _done = probeplan.targets(plan, source, listeners)
        results = []
        for target in port_targets:
            outcome = failures.get((source, target["host"], target["port"]), "open") if isinstance(failures, dict) else "open"
            results.append(dict(target, result=outcome, detail=None, ms=2002 if outcome == "timeout" else 1))
        df = [dict(t, result="lost" if (source, t["host"]) in df_lost else "passed", detail=None) for t in df_targets]
        nodes[source]["port_probes"]["results"] = {"token": plan["token"], "results": results, "df": df, "notes": notes, "seconds": 0.1}
    return plan, rules.evaluate(nodes, {"port_probes": plan, "cni": "flannel"})


def found(result, rule_id, host=None):
    return [f for name, data in result["hosts"].items() for f in data["findings"] if f["id"] == rule_id and (host is None or name == host)]


def test_all_open_is_clean_and_drawn(tmp_path):
    plan, result = judged(tmp_path)
    assert found(result, "node-port-unreachable") == [] and found(result, "mtu-mismatch") == []
    probes = result["overview"]["probes"]
    assert probes["enabled"] and probes["hosts"] == sorted(plan["hosts"]) and len(probes["matrix"]) == 4 * 3
    assert all(cell["ran"] and cell["df"] == "passed" and cell["failed"] == [] and cell["open"] == cell["probed"] == 3 for cell in probes["matrix"])


def test_a_dropped_and_a_refused_port_name_source_destination_port_and_result(tmp_path):
    _nodes, plan = make_plan(tmp_path)
    sources = plan["hosts"]["node2"]["probed_by"]
    failures = {(sources[0], "node2", 10250): "timeout", (sources[1], "node2", 8472): "refused"}
    _plan, result = judged(tmp_path / "j", failures=failures)
    (finding,) = found(result, "node-port-unreachable")
    assert finding["host"] == "node2" and finding["severity"] == "error"
    assert finding["message"] == "tcp/10250, udp/8472 on node2 not reachable from %s (refused, timeout)" % ", ".join(sorted(sources[:2]))
    src = plan["hosts"][sources[0]]["address"]
    assert "%s (%s) -> node2 192.168.56.12 tcp/10250 (kubelet): timeout after 2002 ms" % (sources[0], src) in finding["evidence"]
    assert {(f["source"], f["port"], f["result"]) for f in finding["data"]["failures"]} == {(sources[0], 10250, "timeout"), (sources[1], 8472, "refused")}
    assert "--add-port=10250/tcp --add-port=8472/udp" in finding["fix"]


def test_what_could_not_be_probed_is_a_warning_never_silence(tmp_path):
    _plan, result = judged(tmp_path, not_run={"node3"}, in_use={"node1": {("udp", 8472)}})
    warnings = {f["host"]: f for f in found(result, "node-port-unreachable")}
    assert set(warnings) == {"node1", "node3"} and {f["severity"] for f in warnings.values()} == {"warning"}
    assert any("udp/8472: not probed: in use by 0.0.0.0:8472" in line for line in warnings["node1"]["evidence"])
    assert any(line.startswith("node3: its probes of") and "did not run" in line for line in warnings["node3"]["evidence"])
    assert [c for c in result["overview"]["probes"]["matrix"] if c["source"] == "node3" and c["ran"]] == []


def test_an_mtu_sized_df_packet_lost_is_mtu_mismatch_on_the_destination(tmp_path):
    _nodes, plan = make_plan(tmp_path)
    source = plan["hosts"]["node4"]["probed_by"][0]
    _plan, result = judged(tmp_path / "j", df_lost={(source, "node4")})
    (finding,) = found(result, "mtu-mismatch")
    assert finding["host"] == "node4" and finding["data"] == {"probe": "df", "sources": [source], "size": 1500}
    assert "a 1500-byte datagram with DF set gets no answer; a small one is answered" in finding["evidence"][0]


def test_probes_off_is_no_finding_and_said_in_the_overview(tmp_path):
    result = rules.evaluate(fleet(tmp_path, count=3))
    assert found(result, "node-port-unreachable") == [] and result["overview"]["probes"]["enabled"] is False
    assert {k: result["overview"]["mtu"]["node1"][k] for k in ("interface", "mtu")} == {"interface": "eth1", "mtu": 1500}


def test_report_with_probes_matches_the_schema_and_draws_the_matrix(tmp_path):
    _nodes, plan = make_plan(tmp_path)
    source = plan["hosts"]["node2"]["probed_by"][0]
    _plan, result = judged(tmp_path / "j", failures={(source, "node2", 6443): "timeout"})
    doc = report.build_report(result, "2026-01-01T00:00:00+00:00", "error", "0.2.0")
    with open(os.path.join(ROOT, "docs", "schemas", "hostnet-report.schema.json")) as handle:
        jsonschema.validate(doc, json.load(handle))
    page = report_html.render_html(doc)
    assert 'id="probe-matrix"' in page
    view = report_html.glance(doc)
    assert view["cells"][(source, "node2")][0] == "error" and view["cells"][(source, "node2")][1] == "2/3"
    others = [cell for key, cell in view["cells"].items() if key != (source, "node2")]
    assert others and {cell[0] for cell in others} == {"ok"}
    assert view["cells"][(source, "node2")][2] == "2 of 3 port(s) open; tcp/6443 kube-apiserver: timeout; DF datagram of the MTU: passed"


def test_two_findings_of_one_rule_on_one_host_have_their_own_ids(tmp_path):
    _nodes, plan = make_plan(tmp_path)
    source = plan["hosts"]["node2"]["probed_by"][0]
    _plan, result = judged(tmp_path / "j", failures={(source, "node2", 6443): "timeout"}, in_use={"node2": {("udp", 8472)}})
    assert len(found(result, "node-port-unreachable", "node2")) == 2  # the error, and the warning for the port in use
    page = report_html.render_html(report.build_report(result, "2026-01-01T00:00:00+00:00", "error", "0.2.0"))
    ids = re.findall(r'<details class="finding"[^>]* id="([^"]+)"', page)
    assert len(ids) == len(set(ids)) and "f-node-port-unreachable-node2" in ids and "f-node-port-unreachable-node2-2" in ids
    assert 'href="#f-node-port-unreachable-node2"' in page


def test_a_single_host_is_not_probed_and_told_why(tmp_path):
    nodes = fleet(tmp_path, count=1)
    plan = probeplan.plan(nodes, {"node1": listener("node1")}, 3)
    assert plan["hosts"] == {} and "at least two hosts" in plan["skipped"]["node1"] and plan["listening"] == ["node1"]
    (warning,) = found(rules.evaluate(nodes, {"port_probes": plan}), "node-port-unreachable")
    assert warning["severity"] == "warning" and warning["evidence"] == ["node1: not probed: " + plan["skipped"]["node1"]]
