"""The engine: what every rule shares (clean stock distros, fleet rules, pages, recommendations)."""

import os

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import fleet, host_facts, judge


@pytest.mark.parametrize("distro", ["debian12", "ubuntu2204", "fedora39"])
def test_stock_distros_are_clean(tmp_path, distro):
    assert judge(host_facts(tmp_path, distro)) == []


def test_fleet_rules_see_every_host():
    seen = {}

    @rules.rule("test-fleet-probe", "test only", severities=("info",), fix=rules.Fix(manual="test only"), scope="fleet")
    def probe(facts_by_host, ctx):
        seen.update(facts_by_host)
        return [rules.Finding("test-fleet-probe", "info", None, "m", ["e"], "w", "f", hosts=sorted(facts_by_host))]

    result = rules.evaluate({"x": {"schema_version": 1}, "y": {"schema_version": 1}, "z": None}, extra_rules=[probe])
    assert "test-fleet-probe" not in rules.RULES
    assert sorted(seen) == ["x", "y"]
    assert result["fleet"]["findings"][0]["hosts"] == ["x", "y"]


def test_every_rule_has_a_doc_page():

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    for rule_id in rules.all_rules():
        assert os.path.isfile(os.path.join(root, "docs", "rules", rule_id + ".md")), rule_id


def test_single_host_gets_a_recommendation_without_findings(tmp_path):
    result = rules.evaluate(fleet(tmp_path, count=1))
    assert result["fleet"]["findings"] == [] and result["hosts"]["node1"]["findings"] == []
