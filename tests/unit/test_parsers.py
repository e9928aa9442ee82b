"""Parsers over captured real files, and arbitrary text (hypothesis): never raise."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kubeprep.hostnet.plugins.module_utils import hostsfile, iproute, libc, nsswitch, resolvconf

from helpers import read_fixture


@pytest.mark.parametrize(
    "distro, expected",
    [
        ("debian12", ["127.0.0.1", "::1"]),
        ("ubuntu2204", ["127.0.0.1"]),
        ("centos7", ["127.0.0.1", "::1"]),
        ("fedora39", ["127.0.0.1", "::1"]),
        ("alpine318", ["127.0.0.1", "::1"]),
    ],
)
def test_hosts_localhost_addresses_in_file_order(distro, expected):
    parsed = hostsfile.parse_hosts(read_fixture(distro, "etc", "hosts"))
    assert parsed["names"]["localhost"] == expected
    assert parsed["invalid"] == []


def test_hosts_f1_incident_file():
    parsed = hostsfile.parse_hosts(read_fixture("centos7", "hosts.f1-broken"))
    assert parsed["names"]["localhost"] == ["::1"]
    assert parsed["names"]["centos7.localdomain"] == ["127.0.0.1"]
    first = parsed["entries"][0]
    assert (first["line"], first["family"], first["loopback"]) == (1, 6, True)
    assert first["names"][:2] == ["localhost", "localhost.localdomain"]


def test_hosts_ubuntu_127_0_1_1_is_loopback_entry():
    parsed = hostsfile.parse_hosts(read_fixture("ubuntu2204", "etc", "hosts"))
    line = hostsfile.entries_for(parsed, "ubuntu-jammy")[0]
    assert line["address"] == "127.0.1.1" and line["loopback"] and line["line"] == 2


def test_hosts_odd_lines():
    text = "bogus localhost\n10.0.0.1\n\t127.0.0.1\tlocalhost # comment\r\nfe80::1%eth0 ll\n# 1.2.3.4 x\n"
    parsed = hostsfile.parse_hosts(text)
    assert [i["line"] for i in parsed["invalid"]] == [1, 2]
    assert parsed["names"]["localhost"] == ["127.0.0.1"]
    assert parsed["names"]["ll"] == ["fe80::1%eth0"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_hosts_never_raises_and_entries_are_valid(text):
    parsed = hostsfile.parse_hosts(text)
    for entry in parsed["entries"]:
        assert hostsfile.classify_address(entry["address"])[0] in (4, 6)
        assert entry["names"]


@pytest.mark.parametrize(
    "distro, sources, dns_first",
    [
        ("debian12", ["files", "dns"], False),
        ("ubuntu2204", ["files", "mdns4_minimal", "dns"], False),
        ("centos7", ["files", "dns", "myhostname"], False),
        ("fedora39", ["files", "myhostname", "resolve", "dns"], False),
    ],
)
def test_nsswitch_hosts_sources(distro, sources, dns_first):
    parsed = nsswitch.parse_nsswitch(read_fixture(distro, "etc", "nsswitch.conf"))
    hosts = parsed["databases"]["hosts"]
    assert nsswitch.source_names(hosts) == sources
    assert nsswitch.dns_before_files(sources) is dns_first


def test_nsswitch_actions_and_last_definition_wins():
    """glibc (getent on 2.31 and 2.36) and Go's resolver use the last hosts: line."""
    parsed = nsswitch.parse_nsswitch("hosts: files dns\nhosts: dns [!UNAVAIL=return] files\n")
    hosts = parsed["databases"]["hosts"]
    assert hosts["line"] == 2 and hosts["lines"] == [1, 2]
    assert hosts["sources"][0] == {"name": "dns", "actions": ["[!UNAVAIL=return]"]}
    assert nsswitch.dns_before_files(nsswitch.source_names(hosts))
    # A form feed is a character inside a line for glibc, not a line break.
    assert nsswitch.parse_nsswitch("# note\x0chosts: dns files\nhosts: files dns\n")["databases"]["hosts"]["lines"] == [2]
    assert nsswitch.dns_before_files(["dns"])
    assert not nsswitch.dns_before_files(["files"])


@pytest.mark.parametrize(
    "family, version, expected",
    [
        ("glibc", "2.17", (["dns", "files"], True)),
        ("glibc", "2.34", (["dns", "files"], True)),
        ("glibc", "2.35", (["files", "dns"], False)),
        ("glibc", "2.36", (["files", "dns"], False)),
        ("musl", None, (["files", "dns"], False)),
        ("glibc", None, (None, None)),
        ("unknown", None, (None, None)),
    ],
)
def test_default_hosts_sources_by_libc(family, version, expected):
    assert nsswitch.default_hosts_sources(family, version) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_nsswitch_never_raises(text):
    for entry in nsswitch.parse_nsswitch(text)["databases"].values():
        assert isinstance(entry["sources"], list)


def test_resolv_conf_systemd_stub():
    conf = resolvconf.parse_resolv_conf(read_fixture("ubuntu2204", "etc", "resolv.conf"))
    assert [n["address"] for n in conf["nameservers"]] == ["127.0.0.53"]
    assert conf["generated_by"] == "systemd-resolved"
    assert conf["search"] == ["."]
    assert conf["options"] == {"edns0": True, "trust-ad": True}


@pytest.mark.parametrize(
    "text, glibc, go, musl",
    [
        # The F3 test host: three silent nameservers, defaults. Measured: getent 28.0 s.
        ("nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n", 28, 30, 5),
        ("nameserver 10.0.0.1\n", 10, 10, 5),
        ("nameserver 10.0.0.1\nnameserver 10.0.0.2\n", 20, 20, 5),
        ("nameserver 10.0.0.1\noptions timeout:1 attempts:1\n", 1, 1, 1),
        # Only three nameservers count; a search domain doubles the names tried.
        ("search a.example\nnameserver 1.1.1.1\nnameserver 1.1.1.2\nnameserver 1.1.1.3\nnameserver 1.1.1.4\n", 56, 60, 10),
        ("options timeout:99 attempts:99\nnameserver 10.0.0.1\n", 150, 150, 30),
        ("", 10, 10, 5),
    ],
)
def test_worst_case_lookup_models(text, glibc, go, musl):
    conf = resolvconf.parse_resolv_conf(text)
    assert resolvconf.worst_case_seconds(conf, "glibc") == glibc
    assert resolvconf.worst_case_seconds(conf, "go") == go
    assert resolvconf.worst_case_seconds(conf, "musl") == musl


@pytest.mark.parametrize(
    "line, addresses",
    [
        ("nameserver 127.0.0.53#systemd-resolved", ["127.0.0.53"]),
        ("nameserver 127.0.0.53;x", ["127.0.0.53"]),
        ("nameserver 10.0.0.1 # the router", ["10.0.0.1"]),
        ("nameserver #nothing", []),
        ("nameserver ;", []),
        ("# nameserver 10.0.0.2", []),
    ],
)
def test_a_comment_glued_to_a_nameserver_ends_it_as_glibc_and_kubelet_read_it(line, addresses):
    assert [n["address"] for n in resolvconf.parse_resolv_conf(line + "\n")["nameservers"]] == addresses


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_resolv_conf_never_raises(text):
    conf = resolvconf.parse_resolv_conf(text)
    assert 1 <= conf["timeout"] <= resolvconf.MAX_TIMEOUT
    assert resolvconf.worst_case_seconds(conf) >= 1


def test_ip_json_captured_from_test_host():
    interfaces = iproute.parse_ip_addr(read_fixture("iproute", "addr.json"))
    names = [i["name"] for i in interfaces]
    assert names == ["lo", "eth1"]
    lo, eth1 = interfaces
    assert [a["address"] for a in lo["addresses"]] == ["127.0.0.1", "::1"]
    assert lo["mac"] is None and eth1["mac"].count(":") == 5
    assert eth1["addresses"][0]["cidr"] == "10.213.1.11/24"
    routes = iproute.parse_ip_route(read_fixture("iproute", "route4.json"), 4)
    assert iproute.default_routes(routes) == [routes[0]]
    assert routes[0]["gateway"] == "10.213.1.1"
    assert iproute.default_routes(iproute.parse_ip_route(read_fixture("iproute", "route4-no-default.json"), 4)) == []
    got = iproute.parse_ip_route_get(read_fixture("iproute", "route-get.json"))
    assert got == {"dev": "eth1", "gateway": "10.213.1.1", "prefsrc": "10.213.1.11", "type": "unicast"}


def test_proc_net_route_matches_ip_json():
    proc = iproute.parse_proc_net_route(read_fixture("iproute", "proc-net-route.txt"))
    assert [(r["dst"], r["gateway"], r["dev"]) for r in proc] == [("default", "10.213.1.1", "eth1"), ("10.213.1.0/24", None, "eth1")]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_ip_json_garbage_is_a_value_error_not_a_crash(text):
    for parse in (iproute.parse_ip_addr, lambda t: iproute.parse_ip_route(t, 4), iproute.parse_ip_route_get):
        try:
            parse(text)
        except ValueError:
            pass
    iproute.parse_proc_net_route(text)


def test_libc_version_from_bytes():
    banner = b"junk\x00GNU C Library (GNU libc) stable release version 2.17, by Roland McGrath et al.\x00"
    assert libc.glibc_version_from_bytes(banner) == "2.17"
    assert libc.musl_version_from_bytes(b"\x00abc\x001.2.4\x00") == "1.2.4"
    assert libc.glibc_version_from_bytes(b"nothing here") is None


def test_run_readonly_returns_text_and_exit_code(tmp_path):
    script = tmp_path / "fake-ip"
    script.write_bytes(b'#!/bin/sh\nprintf \'[{"ifname":"\\377x"}]\'\necho "lc=$LC_ALL" >&2\nexit 3\n')
    script.chmod(0o755)
    rc, out, err = iproute.run_readonly([str(script)])
    assert rc == 3
    assert out == '[{"ifname":"\ufffdx"}]'  # a byte that is not UTF-8 is replaced, never raised
    assert err.strip() == "lc=C"


def test_run_readonly_missing_binary_and_timeout(tmp_path):
    rc, out, err = iproute.run_readonly([str(tmp_path / "no-such-ip"), "-json", "addr"])
    assert (rc, out) == (127, "") and "No such file or directory" in err
    script = tmp_path / "slow-ip"
    script.write_text("#!/bin/sh\nexec sleep 5\n")
    script.chmod(0o755)
    rc, out, err = iproute.run_readonly([str(script)], timeout=0.2)
    assert (rc, out) == (124, "") and "did not finish" in err


def test_networkmanager_unmanaged_merge_and_match():
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import nmconf

    config = nmconf.parse(
        [
            ("/etc/NetworkManager/NetworkManager.conf", "[main]\nplugins=ifupdown,keyfile\n[keyfile]\nunmanaged-devices=interface-name:docker0\n"),
            ("/etc/NetworkManager/conf.d/calico.conf", "[keyfile]\nunmanaged-devices+=interface-name:cali*;interface-name:tunl*\n"),
            ("/etc/NetworkManager/conf.d/x.conf", "[device-cni]\nmatch-device=interface-name:=cni0;interface-name:~flannel*\nmanaged=0\n"),
        ]
    )
    assert config["unmanaged_devices"] == ["interface-name:docker0", "interface-name:cali*", "interface-name:tunl*"]
    assert [nmconf.covers(config, n) for n in ("cali0123", "tunl0", "cni0", "flannel.1", "eth1", "kube-ipvs0")] == [True, True, True, True, False, False]
    replaced = nmconf.parse([("/a", "[keyfile]\nunmanaged-devices=interface-name:cali*\n"), ("/b", "[keyfile]\nunmanaged-devices=mac:00:11:22:33:44:55\n")])
    assert not nmconf.covers(replaced, "cali1")  # a later plain assignment replaces the earlier one
    removed = nmconf.parse([("/a", "[keyfile]\nunmanaged-devices=interface-name:cali*;interface-name:cni0\nunmanaged-devices-=interface-name:cni0\n")])
    assert nmconf.covers(removed, "cali1") and not nmconf.covers(removed, "cni0")
    assert not nmconf.covers(nmconf.parse([("/a", "[device-x]\nmatch-device=interface-name:cali*\nmanaged=1\n")]), "cali1")


def test_dns_query_and_answer():
    import struct

    from ansible_collections.kubeprep.hostnet.plugins.module_utils import dnsquery

    query = dnsquery.build_query("localhost.corp.example", 0x1234)
    assert query[12:] == b"\x09localhost\x04corp\x07example\x00\x00\x01\x00\x01"
    # A response: the question echoed, two answers (a compressed name pointer to offset 12), one A, one CNAME.
    answer_a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 213, 1, 250])
    answer_cname = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x0c"
    response = struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 2, 0, 0) + query[12:] + answer_cname + answer_a
    assert dnsquery.parse_answer(response, 0x1234) == ("NOERROR", ["10.213.1.250"])
    nx = struct.pack("!HHHHHH", 0x1234, 0x8183, 1, 0, 0, 0) + query[12:]
    assert dnsquery.parse_answer(nx, 0x1234) == ("NXDOMAIN", [])
    with pytest.raises(ValueError):
        dnsquery.parse_answer(nx, 0x9999)  # not our query
    with pytest.raises(ValueError):
        dnsquery.build_query("a" * 64 + ".example", 1)


def test_hosts_split_as_glibc_splits():
    """Lines end at newline only; inside a line glibc's isspace (space, \\t, \\v, \\f, \\r) separates fields,
    other characters Python counts as whitespace or line breaks do not; a NUL ends the line (getent on a test host:
    tests/integration/test_odd_input_e2e.py)."""
    text = (
        "10.9.9.9 alias\flocalhost\n"  # form feed: one line, localhost on it
        "10.8.8.8 vt\vvtname\n"  # vertical tab: a field separator
        "10.7.7.7 fs\x1cfsname gs\x1dx rs\x1ey nel\x85z ls\u2028w nb\xa0sp\n"  # one name each, no break
        "10.6.6.6 cr\rcrname\r\n"  # a lone carriage return separates; CRLF ends the line
        "10.4.4.4 nul\0nulname\n"  # glibc stops at the NUL
        "127.0.0.1 localhost\n"
    )
    parsed = hostsfile.parse_hosts(text)
    names = parsed["names"]
    assert names["localhost"] == ["10.9.9.9", "127.0.0.1"]
    assert names["vtname"] == ["10.8.8.8"]
    for name in ("fs\x1cfsname", "gs\x1dx", "rs\x1ey", "nel\x85z", "ls\u2028w", "nb\xa0sp"):
        assert names[name] == ["10.7.7.7"], name
    assert "fsname" not in names and "z" not in names
    assert names["crname"] == ["10.6.6.6"] and names["nul"] == ["10.4.4.4"] and "nulname" not in names
    assert [e["line"] for e in parsed["entries"]] == [1, 2, 3, 4, 5, 6]
    assert parsed["entries"][0]["raw"] == "10.9.9.9 alias\flocalhost"
    assert parsed["entries"][3]["raw"] == "10.6.6.6 cr\rcrname"
    assert parsed["invalid"] == []
