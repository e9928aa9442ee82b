"""Rule ipv6-ra-ignored: the kernel learnt the IPv6 default route from router advertisements, and with forwarding
on (or about to be turned on for a cluster with IPv6) it ignores them where accept_ra is 1."""

from helpers import healthy_kernel, host_facts, judge

DUAL = {"service_cidrs": ["10.96.0.0/12,fd00:10:96::/108"]}


def kernel_with(iface=None, all_forwarding="0", **entry):
    kernel = healthy_kernel()
    item = {"name": iface or "eth1", "protocol": "ra", "gateway": "fe80::1", "accept_ra": "1", "accept_ra_defrtr": "1", "forwarding": "1", "networkd": None}
    item.update(entry)
    kernel["ipv6"] = {
        "status": "ok",
        "forwarding": {"all": {"status": "ok", "value": all_forwarding}, "default": {"status": "ok", "value": all_forwarding}},
        "interfaces": [item],
    }
    return kernel


def found(tmp_path, kernel, **options):
    return [f for f in judge(host_facts(tmp_path, "debian12", kernel=kernel), **options) if f["id"] == "ipv6-ra-ignored"]


def test_ra_route_with_forwarding_on_and_accept_ra_1_is_an_error(tmp_path):
    [finding] = found(tmp_path, kernel_with(all_forwarding="1"))  # any cluster: the route expires now
    assert finding["severity"] == "error"
    assert finding["message"] == "the IPv6 default route on eth1 comes from router advertisements that forwarding makes the kernel ignore"
    assert finding["evidence"] == [
        "ip -6 route: default via fe80::1 dev eth1 proto ra",
        "/proc/sys/net/ipv6/conf/eth1/accept_ra = 1",
        "/proc/sys/net/ipv6/conf/eth1/forwarding = 1",
    ]
    assert "ENETUNREACH" in finding["why"]
    assert finding["fix"].startswith("`sysctl -w net.ipv6.conf.eth1.accept_ra=2` and persist `net.ipv6.conf.eth1.accept_ra = 2`")
    assert "data" not in finding  # the role fixes it
    # near misses
    assert found(tmp_path / "nm-a", kernel_with(accept_ra="2"), **DUAL) == []  # taken with forwarding on
    assert found(tmp_path / "nm-b", kernel_with(accept_ra="0"), **DUAL) == []  # NetworkManager / networkd handle RAs
    assert found(tmp_path / "nm-c", kernel_with(networkd=True), **DUAL) == []  # systemd-networkd configures the link
    assert found(tmp_path / "nm-d", kernel_with(protocol="static"), **DUAL) == []  # not learnt from advertisements
    assert found(tmp_path / "nm-e", kernel_with(protocol="boot"), **DUAL) == []
    assert found(tmp_path / "nm-f", healthy_kernel(), **DUAL) == []  # no kernel facts (an image root)


def test_forwarding_off_fires_only_where_the_cluster_needs_ipv6_forwarding(tmp_path):
    [finding] = found(tmp_path / "a", kernel_with(forwarding="0"), **DUAL)
    assert finding["message"] == (
        "the IPv6 default route on eth1 comes from router advertisements that the kernel will ignore once IPv6 forwarding is on (the cluster needs it)"
    )
    assert "the cluster has IPv6 (fd00:10:96::/108): forwarding must be turned on" in finding["evidence"]
    assert "dropped at once when forwarding is turned on" in finding["why"]
    assert found(tmp_path / "b", kernel_with(forwarding="0")) == []  # IPv4-only: nothing turns IPv6 forwarding on


def test_a_vlan_interface_is_a_manual_step_in_the_slash_form(tmp_path):
    [finding] = found(tmp_path, kernel_with("eth0.100"))
    assert "net/ipv6/conf/eth0.100/accept_ra=2" in finding["fix"]
    assert "has a dot" in finding["data"]["manual"]


def test_after_the_fact_an_address_from_advertisements_and_no_route_with_forwarding_on(tmp_path):
    kernel = kernel_with(all_forwarding="1")
    autoconf = {"name": "eth1", "address": "fd00:213:3::2", "accept_ra": "1", "accept_ra_defrtr": "1", "forwarding": "1", "networkd": None}
    kernel["ipv6"].update(interfaces=[], autoconf=[autoconf])
    [finding] = found(tmp_path / "a", kernel)
    assert finding["message"] == (
        "eth1 has no IPv6 default route although it has an address from router advertisements: forwarding makes the kernel ignore them"
    )
    assert finding["evidence"][:2] == [
        "ip -6 route: no default route via eth1",
        "eth1 holds fd00:213:3::2 with a lifetime (learnt from advertisements or DHCPv6)",
    ]
    assert finding["fix"].startswith("`sysctl -w net.ipv6.conf.eth1.accept_ra=2`")
    # near misses: forwarding off (advertisements are taken), accept_ra 2, networkd's link
    for n, change in enumerate(({"forwarding": "0"}, {"accept_ra": "2"}, {"networkd": True})):
        kernel["ipv6"]["autoconf"] = [dict(autoconf, **change)]
        assert found(tmp_path / str(n), kernel) == [], change
