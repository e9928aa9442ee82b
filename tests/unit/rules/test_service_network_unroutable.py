"""Rule service-network-unroutable over captured and built facts: it fires on the fault and its variants, not on near misses."""

from helpers import healthy_kernel, host_facts, ids, judge, read_fixture


def test_f2_no_route_to_service_ip(tmp_path):
    kernel = healthy_kernel()
    kernel["routes"]["ipv4"] = [r for r in kernel["routes"]["ipv4"] if not r["default"]]
    kernel["routes"]["default_ipv4"] = []
    kernel["routes"]["ipv6"] = []
    kernel["routes"]["default_ipv6"] = []
    kernel["service_route_lookups"] = [
        {
            "address": "10.96.0.1",
            "reachable": False,
            "error": "ENETUNREACH: Network is unreachable",
            "ip_route_get": read_fixture("iproute", "route-get-unreachable.txt").strip(),
        }
    ]
    findings = judge(host_facts(tmp_path, "debian12", kernel=kernel))
    assert ids(findings) == ["no-default-route", "service-network-unroutable"]
    unroutable = findings[0]
    assert unroutable["id"] == "service-network-unroutable"  # errors sort first
    assert "ip route get 10.96.0.1: RTNETLINK answers: Network is unreachable" in unroutable["evidence"]
    assert "IPv4 routes: 10.213.1.0/24 dev eth1" in unroutable["evidence"]


def test_f2_specific_route_without_default_is_only_a_warning(tmp_path):
    kernel = healthy_kernel()
    kernel["routes"]["default_ipv4"] = []
    kernel["routes"]["default_ipv6"] = []
    assert ids(judge(host_facts(tmp_path, "debian12", kernel=kernel))) == ["no-default-route"]
