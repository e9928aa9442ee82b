"""Rule no-default-route: neither family has a default route (the state F2's lost lease leaves)."""

from helpers import healthy_kernel, host_facts, judge


def routes(tmp_path, v4=True, v6=False):
    kernel = healthy_kernel()
    if not v4:
        kernel["routes"]["ipv4"] = [r for r in kernel["routes"]["ipv4"] if not r.get("default")]
        kernel["routes"]["default_ipv4"] = []
    kernel["routes"]["default_ipv6"] = [{"family": 6, "dst": "default", "default": True, "gateway": "fe80::1", "dev": "eth1"}] if v6 else []
    return [f for f in judge(host_facts(tmp_path, "debian12", kernel=kernel)) if f["id"] == "no-default-route"]


def test_no_default_route_in_either_family_is_a_warning(tmp_path):
    [finding] = routes(tmp_path, v4=False)
    assert finding["severity"] == "warning" and finding["message"] == "no IPv4 or IPv6 default route"
    assert finding["evidence"][1] == "ip -6 route: no default route"


def test_either_family_is_enough(tmp_path):
    assert routes(tmp_path / "a", v4=True) == []
    assert routes(tmp_path / "b", v4=False, v6=True) == []


DUAL = {"service_cidrs": ["10.96.0.0/12,fd00:10:96::/108"]}


def routes_on(tmp_path, v4, v6, **options):
    kernel = healthy_kernel()
    if not v4:
        kernel["routes"]["ipv4"] = [r for r in kernel["routes"]["ipv4"] if not r.get("default")]
        kernel["routes"]["default_ipv4"] = []
    kernel["routes"]["default_ipv6"] = [{"family": 6, "dst": "default", "default": True, "gateway": "fe80::1", "dev": "eth1"}] if v6 else []
    return [f for f in judge(host_facts(tmp_path, "debian12", kernel=kernel), **options) if f["id"] == "no-default-route"]


def test_a_cluster_with_ipv6_needs_an_ipv6_default_route(tmp_path):
    [finding] = routes_on(tmp_path, v4=True, v6=False, **DUAL)
    assert finding["severity"] == "warning"
    assert finding["message"] == "no IPv6 default route on a cluster with IPv6 (fd00:10:96::/108)"
    assert finding["evidence"] == ["ip -6 route: fe80::/64 dev eth1", "ip -6 route: no default route"]
    assert finding["data"]["manual"]  # hostnet_service_route adds an IPv4 route: the IPv6 one is the network manager's


def test_dual_stack_needs_both_families_and_ipv6_only_needs_ipv6(tmp_path):
    [finding] = routes_on(tmp_path / "a", v4=False, v6=True, pod_cidr="10.244.0.0/16,fd00:10:244::/56")
    assert finding["message"] == "no IPv4 default route on a cluster with IPv4 (10.96.0.0/12, 10.244.0.0/16)"
    assert "manual" not in (finding.get("data") or {})
    assert routes_on(tmp_path / "b", v4=False, v6=True, service_cidrs=["fd00:10:96::/108"], pod_cidr="fd00:10:244::/56") == []
    assert routes_on(tmp_path / "c", v4=True, v6=True, **DUAL) == []
    # near misses
    assert routes_on(tmp_path / "nm-a", v4=True, v6=False) == []
    assert routes_on(tmp_path / "nm-b", v4=False, v6=True) == []
