"""Rule shared-default-address over captured and built facts: it fires on the fault and its variants, not on near misses."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip, rules

from helpers import fleet


def test_distinct_nat_addresses_do_not_fire_shared(tmp_path):
    nodes = fleet(tmp_path)
    for i, facts in enumerate(nodes.values()):
        facts["interfaces"]["list"][1]["addresses"][0]["address"] = "10.0.%d.15" % (10 + i)
    result = rules.evaluate(nodes)
    assert result["fleet"]["findings"] == []


def test_node_cidr_decides(tmp_path):
    result = rules.evaluate(fleet(tmp_path), {"node_cidr": "10.0.2.0/24"})
    assert all(r["interface"] == "eth0" for r in result["recommendations"].values())
    assert all(not h["findings"] for h in result["hosts"].values())  # the default interface is the node network


def test_pinned_hosts_turn_the_shared_address_into_info(tmp_path):
    nodes = fleet(tmp_path)
    for i, facts in enumerate(nodes.values(), start=1):
        facts["node_pinning"] = {"kubelet_node_ip": "192.168.56.%d" % (10 + i)}
    result = rules.evaluate(nodes)
    [shared] = result["fleet"]["findings"]
    assert shared["severity"] == "info" and "all pin kubelet's --node-ip elsewhere" in shared["message"]
    assert all(h["findings"] == [] for h in result["hosts"].values())
    nodes["node3"]["node_pinning"] = {"kubelet_node_ip": None}
    [shared] = rules.evaluate(nodes)["fleet"]["findings"]
    assert shared["severity"] == "error" and shared["message"].endswith("not pinned: node3")


def test_vagrant_fleet_shares_10_0_2_15(tmp_path):
    result = rules.evaluate(fleet(tmp_path))
    [shared] = result["fleet"]["findings"]
    assert shared["id"] == "shared-default-address" and shared["severity"] == "error"
    assert shared["hosts"] == ["node1", "node2", "node3"]
    assert "node2: default route via 10.0.2.2 dev eth0, eth0 has 10.0.2.15" in shared["evidence"]
    assert "node1: eth1 192.168.56.11" in shared["fix"]
    for i in (1, 2, 3):
        rec = result["recommendations"]["node%d" % i]
        assert (rec["interface"], rec["address"], rec["reaches_hosts"]) == ("eth1", "192.168.56.%d" % (10 + i), 2)
        assert rec["forms"]["calico"] == "IP_AUTODETECTION_METHOD=interface=eth1"
        assert rec["forms"]["kubelet"] == "--node-ip=192.168.56.%d" % (10 + i)
        [warning] = result["hosts"]["node%d" % i]["findings"]
        assert warning["id"] == "default-interface-not-cluster" and warning["severity"] == "warning"


def test_vars_file(tmp_path):
    rec = rules.evaluate(fleet(tmp_path))["recommendations"]["node1"]
    text = nodeip.vars_file("node1", rec, "shared-default-address")
    assert "ip: 192.168.56.11\n" in text and "flannel_interface: eth1\n" in text
    assert 'calico_ip_auto_method: "interface=eth1"\n' in text
    assert "# eth1 (192.168.56.0/24) reaches 2 other host(s); the default route is on eth0.\n" in text


def test_a_hostile_interface_name_cannot_write_yaml_into_the_vars_file(tmp_path):
    """An interface name is host text: it may hold '#', '"', '{', ': ' or a newline (the kernel allows all but
    '/', NUL and whitespace; a host may lie). The host_vars file must still say exactly that name, and nothing more."""
    import yaml

    rec = rules.evaluate(fleet(tmp_path))["recommendations"]["node1"]
    for name in ('e"th1', "eth1 #x", "{eth1}", "a: b", "eth1\nhostnet_node_ip_enabled: true", "true", "1e5", "\x1b]0;pwn\x07"):
        hostile = dict(rec, interface=name, default_interface=name)
        text = nodeip.vars_file("node1", hostile, "shared-default-address")
        parsed = yaml.safe_load(text)
        assert parsed["flannel_interface"] == name and parsed["hostnet_node_ip_interface"] == name, (name, text)
        assert "hostnet_node_ip_enabled" not in parsed and "\x1b" not in text, text
