"""Rule mtu-mismatch over captured and built facts: it fires on the fault and its variants, not on near misses."""

import re

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip, report, report_html, rules

from helpers import fleet


def test_mtu_mismatch(tmp_path):
    nodes = fleet(tmp_path, count=3)
    for nodefacts in nodes.values():
        for entry in nodefacts["interfaces"]["list"]:
            entry["mtu"] = 65536 if entry["name"] == "lo" else 1500
    assert not [f for d in rules.evaluate(nodes)["hosts"].values() for f in d["findings"] if f["id"] == "mtu-mismatch"]
    iface = nodeip.recommend(nodes, None, None)["node2"]["interface"]  # eth1, the private network
    [entry for entry in nodes["node2"]["interfaces"]["list"] if entry["name"] == iface][0]["mtu"] = 1400
    found = [f for d in rules.evaluate(nodes)["hosts"].values() for f in d["findings"] if f["id"] == "mtu-mismatch"]
    assert [(f["host"], f["severity"]) for f in found] == [("node2", "warning")], found
    assert "%s has mtu 1400, most node interfaces of the fleet 1500" % iface in found[0]["message"]
    assert found[0]["evidence"] == ["node1: eth1 mtu 1500", "node2: eth1 mtu 1400", "node3: eth1 mtu 1500"]


def test_a_two_two_split_shades_exactly_the_hosts_the_finding_names(tmp_path):
    """Two hosts at 1400, two at 1500: the finding and the HTML's MTU table break the tie the same way (the
    page once shaded the 1500 hosts while the finding named the 1400 ones)."""
    nodes = fleet(tmp_path, count=4)
    for name, facts in nodes.items():
        for entry in facts["interfaces"]["list"]:
            entry["mtu"] = 65536 if entry["name"] == "lo" else (1400 if name in ("node1", "node2") else 1500)
    result = rules.evaluate(nodes)
    named = sorted(f["host"] for d in result["hosts"].values() for f in d["findings"] if f["id"] == "mtu-mismatch")
    page = report_html.render_html(report.build_report(result, "2026-12-07T00:00:00+00:00"))
    shaded = sorted(re.findall(r'<tr><td>([^<]+)</td><td>[^<]*</td><td class="warning">', page))
    assert named and shaded == named, (named, shaded)


def test_a_large_fleets_finding_is_bounded(tmp_path):
    """Beyond 20 hosts a finding lists its host and the other odd ones, then counts the rest (it listed every
    host: with 2 % of 10,000 hosts odd the report grew with the square of the fleet)."""
    nodes = fleet(tmp_path, count=40)
    for nodefacts in nodes.values():
        for entry in nodefacts["interfaces"]["list"]:
            entry["mtu"] = 65536 if entry["name"] == "lo" else 1500
    recommended = nodeip.recommend(nodes, None, None)
    odd = sorted(nodes)[5:8]
    for name in odd:
        [entry for entry in nodes[name]["interfaces"]["list"] if entry["name"] == recommended[name]["interface"]][0]["mtu"] = 1400
    result = rules.evaluate(nodes)
    for host in odd:
        (finding,) = [f for f in result["hosts"][host]["findings"] if f["id"] == "mtu-mismatch"]
        lines = ["%s: %s mtu 1400" % (name, recommended[name]["interface"]) for name in [host] + [n for n in odd if n != host]]
        assert finding["evidence"] == lines + ["and 37 more hosts (every host's value is in the report's overview)"], finding["evidence"]
