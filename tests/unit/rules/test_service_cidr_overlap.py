"""Rule service-cidr-overlap over captured and built facts: it fires on the fault and its variants, not on near misses."""

from helpers import host_facts, ids, judge


def test_service_and_pod_cidr_overlaps(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": "nameserver 10.244.0.10\n"})
    eth0 = [i for i in facts["interfaces"]["list"] if i["name"] != "lo"][0]
    eth0["addresses"].append({"family": "inet", "address": "10.96.5.5", "prefixlen": 24, "cidr": "10.96.5.5/24", "scope": "global"})
    route = {"family": 4, "default": False, "gateway": "10.0.2.2", "dev": "nat0", "protocol": "static", "type": "unicast", "table": None}
    facts["routes"]["ipv4"] += [
        dict(route, dst="10.96.128.0/17"),  # captures half the Service network: warning evidence
        dict(route, dst="10.96.0.0/12", dev="eth1"),  # exactly the Service CIDR: the deliberate route
        dict(route, dst="10.244.1.0/24", dev="flannel.1"),  # the CNI's own
    ]
    facts["routes"]["other_tables_ipv4"] = [dict(route, dst="10.244.0.0/24", table="100")]
    found = {f["id"]: f for f in judge(facts)}
    service = found["service-cidr-overlap"]
    assert service["severity"] == "error" and "overlaps address 10.96.5.5/24 (on eth1)" in service["message"], service
    assert "Service CIDR 10.96.0.0/12: route 10.96.128.0/17 (dev nat0 via 10.0.2.2, table main)" in service["evidence"]
    assert not any("10.96.0.0/12 (dev eth1" in e for e in service["evidence"])
    pod = found["pod-cidr-overlap"]
    assert pod["severity"] == "error" and "nameserver 10.244.0.10" in pod["message"], pod
    assert "Pod CIDR 10.244.0.0/16: route 10.244.0.0/24 (dev nat0 via 10.0.2.2, table 100)" in pod["evidence"]
    assert not any("flannel.1" in e for e in pod["evidence"])
    # Other CIDRs: nothing overlaps.
    assert not {"service-cidr-overlap", "pod-cidr-overlap"} & set(ids(judge(facts, service_cidrs=["10.233.0.0/18"], pod_cidr="10.233.64.0/18")))


def test_a_route_alone_is_a_warning(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    route = {"family": 4, "default": False, "gateway": "10.0.2.2", "dev": "nat0", "protocol": "static", "type": "unicast", "table": None, "dst": "10.96.0.0/16"}
    facts["routes"]["ipv4"].append(route)
    (finding,) = [f for f in judge(facts) if f["id"] == "service-cidr-overlap"]
    assert finding["severity"] == "warning" and "route 10.96.0.0/16" in finding["message"]
