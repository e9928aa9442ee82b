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
