"""Rule default-interface-not-cluster: the default route is on another interface than the one that reaches
the other nodes (Vagrant: NAT on eth0, the node network on eth1)."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report, rules

from helpers import fleet


def warnings(result):
    return {h: [f for f in d["findings"] if f["id"] == "default-interface-not-cluster"] for h, d in result["hosts"].items()}


def test_each_host_is_told_the_interface_to_pin(tmp_path):
    nodes = fleet(tmp_path)
    for index, facts in enumerate(nodes.values(), 1):  # distinct NAT addresses: no shared-default-address
        for iface in facts["interfaces"]["list"]:
            if iface["name"] == "eth0":
                iface["addresses"][0]["address"] = "10.0.%d.15" % index
    found = warnings(rules.evaluate(nodes))
    assert sorted(found) == ["node1", "node2", "node3"] and all(len(v) == 1 for v in found.values())
    finding = found["node2"][0]
    assert finding["severity"] == "warning" and finding["message"].startswith("default route is on eth0, but eth1 (192.168.56.12)")
    assert finding["data"]["pin_node_ip"] == ["node2"]  # the report writes its host_vars file
    assert report.pin_reasons(report.build_report(rules.evaluate(nodes), "now")) == dict.fromkeys(nodes, "default-interface-not-cluster")


def test_a_node_pinned_to_the_recommended_address_is_fine(tmp_path):
    nodes = fleet(tmp_path, count=2)
    for index, facts in enumerate(nodes.values(), 1):
        facts["node_pinning"] = {"kubelet_node_ip": "192.168.56.%d" % (10 + index)}
    assert warnings(rules.evaluate(nodes)) == {"node1": [], "node2": []}
