"""Rule clock-skew over captured and built facts: it fires on the fault and its variants, not on near misses."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import fleet


def test_clock_skew_on_facts(tmp_path):
    """Clocks cannot differ between test hosts (one kernel clock), so the rule is judged on facts here."""
    nodes = fleet(tmp_path, count=3)
    for name, offset in (("node1", 0.2), ("node2", -95.3), ("node3", 30.4)):
        nodes[name]["clock"] = {"host_epoch": 1796130000.0 + offset, "offset_s": offset, "uncertainty_s": 0.6}
    result = rules.evaluate(nodes)
    skewed = {h: [f for f in d["findings"] if f["id"] == "clock-skew"] for h, d in result["hosts"].items()}
    (behind,) = skewed["node2"]
    assert behind["severity"] == "error" and "95.3 s behind the controller's (limit 30 s" in behind["message"], behind
    assert behind["evidence"] == [
        "node1: +0.2 s (+/- 0.6 s) from the controller",
        "node2: -95.3 s (+/- 0.6 s) from the controller",
        "node3: +30.4 s (+/- 0.6 s) from the controller",
    ]
    # 30.4 s +/- 0.6 s may be within 30 s: not certain, not reported.
    assert skewed["node1"] == [] and skewed["node3"] == []
    assert [f["id"] for f in rules.evaluate(nodes, {"max_clock_skew": 120})["hosts"]["node2"]["findings"] if f["id"] == "clock-skew"] == []


def test_a_large_fleets_finding_lists_its_host_the_other_skewed_ones_and_counts_the_rest(tmp_path):
    """Each finding used to list every host's offset: with 2 % of 10,000 hosts skewed the report grew with the
    square of the fleet. Beyond 20 hosts: this host, the other skewed hosts, then a count."""
    nodes = fleet(tmp_path, count=30)
    for index, name in enumerate(sorted(nodes)):
        offset = -95.0 if index in (4, 17) else 0.1
        nodes[name]["clock"] = {"host_epoch": 1796130000.0 + offset, "offset_s": offset, "uncertainty_s": 0.2}
    skewed = sorted(nodes)[4], sorted(nodes)[17]
    result = rules.evaluate(nodes)
    for host in skewed:
        (finding,) = [f for f in result["hosts"][host]["findings"] if f["id"] == "clock-skew"]
        other = [h for h in skewed if h != host][0]
        assert finding["evidence"] == [
            "%s: -95.0 s (+/- 0.2 s) from the controller" % host,
            "%s: -95.0 s (+/- 0.2 s) from the controller" % other,
            "and 28 more hosts (every host's value is in the report's overview)",
        ], finding["evidence"]
