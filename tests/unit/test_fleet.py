"""Fleet rules (F4) and the interface recommendation, on Vagrant-shaped fleets."""

import copy

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip, rules

from helpers import healthy_kernel, host_facts


def vagrant_node(base, index, nat="10.0.2.15"):
    """eth0 = the NAT NIC with the default route (same address everywhere), eth1 = the private network."""
    facts = copy.deepcopy(base)
    facts["interfaces"]["list"] = [
        {"name": "lo", "link_type": "loopback", "mac": None, "addresses": [{"family": 4, "address": "127.0.0.1", "prefixlen": 8, "scope": "host"}]},
        {
            "name": "eth0",
            "link_type": "ether",
            "mac": "08:00:27:00:00:%02x" % index,
            "addresses": [{"family": 4, "address": nat, "prefixlen": 24, "scope": "global"}],
        },
        {
            "name": "eth1",
            "link_type": "ether",
            "mac": "08:00:27:01:00:%02x" % index,
            "addresses": [{"family": 4, "address": "192.168.56.%d" % (10 + index), "prefixlen": 24, "scope": "global"}],
        },
    ]
    default = {"family": 4, "dst": "default", "default": True, "gateway": "10.0.2.2", "dev": "eth0", "metric": 100, "type": "unicast"}
    facts["routes"]["default_ipv4"] = [default]
    facts["routes"]["ipv4"] = [default]
    facts["identity"] = {"hostname": "node%d" % index, "machine_id": "%032x" % index, "product_uuid": None}
    return facts


def fleet(tmp_path, count=3, **kw):
    base = host_facts(tmp_path, "debian12", kernel=healthy_kernel())
    return {"node%d" % i: vagrant_node(base, i, **kw) for i in range(1, count + 1)}


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


def test_duplicate_identity(tmp_path):
    nodes = fleet(tmp_path, count=2)
    nodes["node2"]["identity"]["machine_id"] = nodes["node1"]["identity"]["machine_id"]
    nodes["node2"]["interfaces"]["list"][2]["mac"] = nodes["node1"]["interfaces"]["list"][2]["mac"]
    found = {f["message"].split()[0]: f for f in rules.evaluate(nodes)["fleet"]["findings"] if f["id"] == "duplicate-node-identity"}
    assert set(found) == {"machine_id", "MAC"}
    assert found["MAC"]["hosts"] == ["node1", "node2"]
    assert "node1 (eth1)" in found["MAC"]["message"]


def test_vars_file(tmp_path):
    rec = rules.evaluate(fleet(tmp_path))["recommendations"]["node1"]
    text = nodeip.vars_file("node1", rec, "shared-default-address")
    assert "ip: 192.168.56.11\n" in text and "flannel_interface: eth1\n" in text
    assert 'calico_ip_auto_method: "interface=eth1"\n' in text
    assert "# eth1 (192.168.56.0/24) reaches 2 other host(s); the default route is on eth0.\n" in text


def test_docker_bip_mismatch(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    facts["container_network"] = {
        "flannel_subnet_env": {"status": "ok", "values": {"FLANNEL_SUBNET": "10.244.1.1/24", "FLANNEL_MTU": "1450"}},
        "docker_daemon_json": {"status": "missing", "path": "/etc/docker/daemon.json"},
    }
    [finding] = rules.evaluate({"h": facts})["hosts"]["h"]["findings"]
    assert finding["id"] == "docker-bip-mismatch"
    assert "bip is unset (docker0 keeps 172.17.0.1/16), FLANNEL_SUBNET is 10.244.1.1/24" in finding["message"]
    facts["container_network"]["docker_daemon_json"] = {"status": "ok", "path": "/etc/docker/daemon.json", "bip": "10.244.1.1/24", "mtu": 1450}
    assert rules.evaluate({"h": facts})["hosts"]["h"]["findings"] == []


def test_single_host_gets_a_recommendation_without_findings(tmp_path):
    result = rules.evaluate(fleet(tmp_path, count=1))
    assert result["fleet"]["findings"] == [] and result["hosts"]["node1"]["findings"] == []


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


def test_flag_values():
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import cniconf

    assert cniconf.flag_values("--node-ip=1.2.3.4 -iface eth1 --v=2") == {"node-ip": "1.2.3.4", "iface": "eth1", "v": "2"}


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
