"""bench/rules_engine.py's synthetic fleet (issue 21: every rule on 10,000 hosts under 2 s) gives every rule of the
registry the facts it reads, so each does its real work there, and each rule has a finding on it (or is listed as
quiet with why). A new rule whose facts node() lacks fails here. Nothing is timed: bench/rules_engine.py prints
the seconds."""

import importlib.util
import os

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location("bench_rules_engine_synthetic", os.path.join(ROOT, "bench", "rules_engine.py"))
synth = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(synth)
REGISTRY = rules.registry()


@pytest.fixture(scope="module")
def judged():
    """One evaluation of the synthetic fleet with port probes: every fault slot twice and an unreachable host."""
    hosts = synth.fleet(synth.MISSING_EVERY)
    result = rules.evaluate(hosts, dict(synth.OPTIONS, port_probes=synth.with_probes(hosts)))
    return hosts, result


def gathered(facts, key):
    """Whether the facts hold ``key`` as a running host gives it: set, and not "not_applicable" or "unavailable"."""
    value = facts.get(key)
    return value is not None and not (isinstance(value, dict) and value.get("status") in ("not_applicable", "unavailable"))


@pytest.mark.parametrize("rule_id", sorted(REGISTRY))
def test_node_gives_every_fact_the_rule_reads(rule_id):
    """Each key of the rule's ``reads`` is on some synthetic node, as a running host's facts module gives it (not
    "not_applicable", as for an image root); the controller's own facts come from with_probes()."""
    nodes = [synth.node(i) for i in range(synth.SLOTS)]
    probed = {"node%d" % i: facts for i, facts in enumerate(nodes)}
    synth.with_probes(probed)
    for key in REGISTRY[rule_id].reads:
        if key in rules.CONTROLLER_FACTS:
            assert all(key in facts for facts in probed.values()), (rule_id, key)
        else:
            assert any(gathered(facts, key) for facts in nodes), (rule_id, key)


def test_every_rule_has_a_finding_on_the_synthetic_fleet_or_is_quiet_with_why():
    rows = synth.time_rules([synth.MISSING_EVERY], repeat=1, probes=False) + synth.time_rules([synth.MISSING_EVERY], repeat=1, probes=True)
    silent, loud, unknown, failed = synth.unfired(rows)
    assert (silent, loud, unknown, failed) == ([], [], [], [])
    assert all(isinstance(why, str) and why for why in synth.QUIET.values())


def test_healthy_nodes_have_only_the_fleets_findings_and_each_fault_adds_its_own(judged):
    """A healthy node's findings are those of the fleet's shared NAT address (fleet rules); each fault slot's host
    has a finding of a rule a healthy node does not have, with evidence, why and fix."""
    hosts, result = judged
    fleet_rules = {rule_id for rule_id, item in REGISTRY.items() if item.scope == "fleet"}
    healthy = ["node%d" % i for i in range(synth.SLOTS) if i >= len(synth.FAULTS) or synth.FAULTS[i] is None]
    assert len(healthy) > 10
    usual = set()
    for name in healthy:
        ids = {f["id"] for f in result["hosts"][name]["findings"]}
        assert ids <= fleet_rules, (name, ids)
        usual |= ids
    for slot, fault in enumerate(synth.FAULTS):
        if fault is None:
            continue
        findings = [f for f in result["hosts"]["node%d" % slot]["findings"] if f["id"] not in usual]
        if fault in synth.FEW or fault in ("machine_id_copied", "k3s_service_cidr_differs"):  # fleet rules: judged on the whole fleet
            findings += [f for f in result["fleet"]["findings"] if "node%d" % slot in (f.get("hosts") or ()) and f["id"] not in usual]
        assert findings, (slot, fault)
        for finding in findings:
            assert finding["evidence"] and finding["why"] and finding["fix"], finding
            assert not (finding.get("data") or {}).get("rule_error"), finding
