"""The ipv6 fact (module_utils/ipv6ra.py): forwarding of all/default, and per interface with an IPv6 default route
its accept_ra, accept_ra_defrtr, forwarding and whether systemd-networkd configures it; read from a fake /proc and
/run, bounded, host text decoded with replacement."""

from ansible_collections.kubeprep.hostnet.plugins.module_utils import ipv6ra


def conf(tmp_path, values):
    proc = tmp_path / "conf"
    for key, value in values.items():
        path = proc / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value if isinstance(value, bytes) else (value + "\n").encode())
    return str(proc)


def routes(*devs, protocol="ra"):
    return {"default_ipv6": [{"dst": "default", "default": True, "dev": dev, "gateway": "fe80::1", "protocol": protocol} for dev in devs]}


INTERFACES = {"list": [{"name": "eth1", "index": 7}, {"name": "eth2", "index": 8}]}


def test_forwarding_and_the_default_route_interfaces_settings(tmp_path):
    proc = conf(
        tmp_path,
        {
            "all/forwarding": "1",
            "default/forwarding": "0",
            "eth1/accept_ra": "1",
            "eth1/accept_ra_defrtr": "1",
            "eth1/forwarding": "1",
            "eth2/accept_ra": "0",
            "eth2/accept_ra_defrtr": "1",
            "eth2/forwarding": "1",
        },
    )
    links = tmp_path / "links"
    links.mkdir()
    (links / "8").write_text("# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n")
    (links / "7").write_text("ADMIN_STATE=unmanaged\n")
    fact, problems = ipv6ra.gather(routes("eth1", "eth2", "eth1"), INTERFACES, proc=proc, links_dir=str(links))
    assert problems == []
    assert fact["status"] == "ok"
    assert fact["forwarding"] == {"all": {"value": "1", "status": "ok"}, "default": {"value": "0", "status": "ok"}}
    assert fact["interfaces"] == [
        {"name": "eth1", "protocol": "ra", "gateway": "fe80::1", "accept_ra": "1", "accept_ra_defrtr": "1", "forwarding": "1", "networkd": False},
        {"name": "eth2", "protocol": "ra", "gateway": "fe80::1", "accept_ra": "0", "accept_ra_defrtr": "1", "forwarding": "1", "networkd": True},
    ]
    # no networkd state directory: unknown (None), not "unmanaged"
    fact, _problems = ipv6ra.gather(routes("eth1"), INTERFACES, proc=proc, links_dir=str(tmp_path / "none"))
    assert fact["interfaces"][0]["networkd"] is None


def test_ipv6_disabled_in_the_kernel_is_absent_not_zero(tmp_path):
    (tmp_path / "empty").mkdir()
    fact, problems = ipv6ra.gather(routes(), INTERFACES, proc=str(tmp_path / "empty" / "conf"))
    assert fact["status"] == "absent" and "IPv6 is disabled in the kernel" in fact["reason"] and problems == []
    assert fact["interfaces"] == []


def test_host_text_is_bounded_and_odd_names_are_not_paths(tmp_path):
    proc = conf(tmp_path, {"all/forwarding": b"1\xff" + b"9" * 5000, "default/forwarding": "1"})
    fact, _problems = ipv6ra.gather(routes("../all", "eth9"), INTERFACES, proc=proc, links_dir=str(tmp_path))
    value = fact["forwarding"]["all"]["value"]
    assert value.startswith("1\ufffd") and len(value) <= 64  # decoded with replacement, read at most 64 bytes
    odd, missing = fact["interfaces"]
    assert odd["name"] == "../all" and odd["accept_ra"] is None and odd["accept_ra_error"] == "not an interface name"
    assert missing["accept_ra"] is None and missing["accept_ra_error"] == "absent" and missing["networkd"] is None


def test_many_default_routes_are_capped_with_a_problem(tmp_path):
    proc = conf(tmp_path, {"all/forwarding": "0", "default/forwarding": "0"})
    fact, problems = ipv6ra.gather(routes(*["eth%d" % n for n in range(40)]), INTERFACES, proc=proc)
    assert len(fact["interfaces"]) == ipv6ra.MAX_INTERFACES
    assert problems == [("ipv6", "more than 16 interfaces with an IPv6 default route; the first 16 are kept")]


def test_the_facts_module_gathers_it_on_the_running_system_and_not_on_an_image_root(tmp_path):
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather

    live = gather.gather()["ipv6"]
    assert live["status"] in ("ok", "absent")
    assert set(live["forwarding"]) == {"all", "default"}
    with open("/proc/sys/net/ipv6/conf/all/forwarding") as handle:  # this machine's own value, as the kernel says
        assert live["forwarding"]["all"]["value"] == handle.read().strip()
    image = gather.gather(root=str(tmp_path))["ipv6"]
    assert image["status"] == "not_applicable"


IF_INET6 = (
    "fd002133000000000000000000000002 07 40 00 00     eth1\n"  # SLAAC: global, with a lifetime
    "fd002133000000000000000000000009 07 40 00 80     eth1\n"  # permanent (by hand): not learnt
    "fe800000000000000000000000000001 07 40 20 80     eth1\n"  # link-local
    "20010db8000000000000000000000005 08 40 00 00     eth2\n"  # eth2 has the default route: not listed
    "00000000000000000000000000000001 01 80 10 80       lo\n"
    "nothex 07 40 00 00 eth3\n"
)


def test_an_address_from_advertisements_without_a_default_route_is_listed(tmp_path):
    proc = conf(tmp_path, {"all/forwarding": "1", "default/forwarding": "1", "eth1/accept_ra": "1", "eth1/accept_ra_defrtr": "1", "eth1/forwarding": "1"})
    (tmp_path / "if_inet6").write_text(IF_INET6)
    fact, problems = ipv6ra.gather(routes("eth2"), INTERFACES, proc=proc, links_dir=str(tmp_path / "none"), if_inet6=str(tmp_path / "if_inet6"))
    assert problems == []
    assert fact["autoconf"] == [{"name": "eth1", "address": "fd00:2133::2", "accept_ra": "1", "accept_ra_defrtr": "1", "forwarding": "1", "networkd": None}]
    assert [entry["name"] for entry in fact["interfaces"]] == ["eth2"]
