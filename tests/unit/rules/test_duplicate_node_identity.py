"""Rule duplicate-node-identity over captured and built facts: it fires on the fault and its variants, not on near misses."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import fleet


def test_duplicate_identity(tmp_path):
    nodes = fleet(tmp_path, count=2)
    nodes["node2"]["identity"]["machine_id"] = nodes["node1"]["identity"]["machine_id"]
    nodes["node2"]["interfaces"]["list"][2]["mac"] = nodes["node1"]["interfaces"]["list"][2]["mac"]
    found = {f["message"].split()[0]: f for f in rules.evaluate(nodes)["fleet"]["findings"] if f["id"] == "duplicate-node-identity"}
    assert set(found) == {"machine_id", "MAC"}
    assert found["MAC"]["hosts"] == ["node1", "node2"]
    assert "node1 (eth1)" in found["MAC"]["message"]
