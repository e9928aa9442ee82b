"""Rule rp-filter-strict over captured and built facts: it fires on the fault and its variants, not on near misses."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import fleet, host_facts, judge, rp_facts


@pytest.mark.parametrize(
    "all_value, default_value, eth0, cni, expected",
    [
        (1, 1, 1, "calico", "error"),  # RHEL's default
        (0, 0, 1, "calico", "error"),  # the interface's own 1 wins over all=0
        (2, 1, 1, "calico", None),  # all=2 makes every interface loose
        (0, 1, 0, "canal", "error"),  # the CNI's new interfaces would start strict
        (2, 2, 2, "calico", None),  # Debian/Ubuntu (systemd's 50-default.conf)
        (1, 1, 1, "unknown", "warning"),
        (1, 1, 1, "flannel", None),
    ],
)
def test_rp_filter_strict(tmp_path, all_value, default_value, eth0, cni, expected):
    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import remediation

    facts = rp_facts(host_facts(tmp_path, "debian12"), all_value, default_value, eth0)
    found = [f for f in judge(facts, cni=cni) if f["id"] == "rp-filter-strict"]
    assert [f["severity"] for f in found] == ([expected] if expected else []), found
    if expected:
        plan = remediation.plan(found, ["h"], {"h": {}})["h"]
        # An error is fixed by hostnet_sysctl; a warning (CNI unknown) is a manual step naming hostnet_cni.
        assert bool(plan["roles"]) == (expected == "error") and bool(plan["manual"]) == (expected == "warning"), plan


def test_the_recommended_node_interface_is_judged_not_only_the_default_route_one(tmp_path):
    """Vagrant-shaped nodes: the default route is on eth0 (NAT), the audit recommends eth1 (the node network).
    Strict rp_filter on eth1 alone must be found (the rule once saw only eth0: the recommendations were made
    after the host rules ran)."""
    nodes = fleet(tmp_path, count=3)
    for facts in nodes.values():
        for key in ("all", "default"):
            facts["sysctl"]["net.ipv4.conf.%s.rp_filter" % key] = {"status": "ok", "value": "0"}
        for iface in facts["interfaces"]["list"]:
            iface["rp_filter"] = 1 if iface["name"] == "eth1" else 0
    result = rules.evaluate(nodes, {"cni": "calico"})
    assert result["recommendations"]["node1"]["interface"] == "eth1"
    found = [f for f in result["hosts"]["node1"]["findings"] if f["id"] == "rp-filter-strict"]
    assert [(f["severity"], f["data"]["interfaces"]) for f in found] == [("error", ["eth1"])], found
    assert "net.ipv4.conf.eth1.rp_filter = 1: effective 1 (the larger of all and eth1)" in found[0]["evidence"]
