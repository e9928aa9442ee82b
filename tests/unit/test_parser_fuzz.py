"""Every host-side parser fed 1,000 hostile inputs (tests/unit/hostile.py: raw bytes, control characters,
line breaks of every kind, invalid UTF-8, NUL, very long lines; decoded with replacement where the gather
decodes): each returns, or raises the error its caller handles, and in bounded time. test_robustness.py
does the same with hypothesis on short inputs; this one adds the long lines and the byte-level parsers."""

import json
import struct
import time

import pytest
from hostile import Hostile

from ansible_collections.kubeprep.hostnet.plugins.module_utils import (
    cniconf,
    dnsquery,
    gather,
    gobuild,
    hostsfile,
    iproute,
    libc,
    nmconf,
    nsswitch,
    portprobe,
    resolvconf,
    sysctlconf,
)

CASES = 1000
# A runaway detector, not a speed target: this process's CPU seconds per call (other processes' load does not
# count, so a busy machine cannot fail it). Every parser here is linear: a 64 kB line takes milliseconds, the
# quadratic regex this found took 6 s.
CPU_SECONDS = 5.0

VOCABULARY = {
    "hosts": ["127.0.0.1", "::1", "::ffff:127.0.0.1", "fe80::1%eth0", "localhost", "node1", "#", "\t"],
    "nsswitch": ["hosts:", "files", "dns", "myhostname", "[NOTFOUND=return]", "[!UNAVAIL=continue]", "#", "passwd:"],
    "resolv": ["nameserver", "search", "domain", "options", "timeout:1", "attempts:9", "ndots:x", "rotate", "#", ";", "10.0.0.2"],
    "sysctl": ["net.ipv4.ip_forward", "=", "1", "-net/ipv6/conf/lo/disable_ipv6", "#", ";", "kernel.*"],
    "env": ["KUBELET_EXTRA_ARGS=", '"', "'", "--node-ip=10.0.0.1", "--bip", "=", "\\", "FLANNEL_MTU=1450", "export"],
    "nm": ["[keyfile]", "unmanaged-devices=", "interface-name:eth*", "[device-x]", "match-device=", "managed=0", "+=", "-=", ";"],
    "proc": ["Iface", "eth0", "00000000", "0102000A", "0003", "0", "FFFFFFFF", "\t"],
    "net": ["sl", "0:", "0100007F:1A0B", "00000000000000000000000001000000:0050", "0A", "07", "00000000:0000"],
}


def text_inputs(seed, vocabulary):
    gen = Hostile(seed)
    for _n in range(CASES):
        yield gen.data(vocabulary).decode("utf-8", "replace")  # as the gather decodes a file


def byte_inputs(seed, vocabulary):
    gen = Hostile(seed)
    for _n in range(CASES):
        yield gen.data(vocabulary)


def json_inputs(seed):
    """Half `ip -json`-like documents with hostile strings and wrong types, half hostile text."""
    gen = Hostile(seed)
    rng = gen.rng
    keys = ["ifname", "addr_info", "local", "prefixlen", "family", "dst", "gateway", "dev", "prefsrc", "type", "flags", "metric", "mtu", "bip"]

    def value(depth=0):
        kind = rng.randrange(8 if depth < 3 else 5)
        if kind == 0:
            return None
        if kind == 1:
            return rng.choice([True, False, 0, -1, 2**70, 1.5])
        if kind in (2, 3, 4):
            return gen.text(2)
        if kind in (5, 6):
            return {rng.choice(keys + [gen.text(1)]): value(depth + 1) for _n in range(rng.randrange(6))}
        return [value(depth + 1) for _n in range(rng.randrange(4))]

    for case in range(CASES):
        if case % 2:
            yield json.dumps([value(1) for _n in range(rng.randrange(4))], ensure_ascii=rng.randrange(2) == 0)
        else:
            yield gen.data(["[", "]", "{", "}", '"ifname"', ":", ",", "null", '"addr_info"', "1"]).decode("utf-8", "replace")


def bounded(call, data):
    started = time.process_time()
    try:
        return call(data)
    finally:
        spent = time.process_time() - started
        assert spent < CPU_SECONDS, "%r took %.1f CPU seconds" % (data[:80], spent)


TEXT_PARSERS = [
    ("hosts", hostsfile.parse_hosts, "hosts"),
    ("nsswitch", nsswitch.parse_nsswitch, "nsswitch"),
    ("nsswitch_lines", nsswitch.lines_of, "nsswitch"),
    ("libc_version", nsswitch.parse_version, "nsswitch"),
    ("resolv_conf", lambda text: [resolvconf.worst_case_seconds(resolvconf.parse_resolv_conf(text), model) for model in ("glibc", "go", "musl")], "resolv"),
    ("env_file", cniconf.parse_env_file, "env"),
    ("docker_flags", cniconf.docker_flags, "env"),
    ("flag_values", cniconf.flag_values, "env"),
    ("proc_net_route", iproute.parse_proc_net_route, "proc"),
    ("networkmanager_conf", lambda text: nmconf.covers(nmconf.parse([("/etc/NetworkManager/conf.d/x.conf", text)]), "eth1"), "nm"),
    ("service_cidr", gather.first_service_ip, "proc"),
    ("go_version", gobuild.parse_go_version, "proc"),
]


@pytest.mark.parametrize("name,parser,vocabulary", TEXT_PARSERS, ids=[p[0] for p in TEXT_PARSERS])
def test_text_parsers_return_on_hostile_text(name, parser, vocabulary):
    for text in text_inputs(name, VOCABULARY[vocabulary]):
        bounded(parser, text)


BYTE_PARSERS = [
    ("sysctl_d", sysctlconf.assignments, "sysctl"),
    ("glibc_banner", libc.glibc_version_from_bytes, "proc"),
    ("musl_banner", libc.musl_version_from_bytes, "proc"),
    ("go_buildinfo", lambda data: gobuild.version_from_bytes(b"\x7fELF" + data), "proc"),  # "never raises on junk"
]


@pytest.mark.parametrize("name,parser,vocabulary", BYTE_PARSERS, ids=[p[0] for p in BYTE_PARSERS])
def test_byte_parsers_return_on_hostile_bytes(name, parser, vocabulary):
    for data in byte_inputs(name, VOCABULARY[vocabulary]):
        bounded(parser, data)


JSON_PARSERS = [
    ("ip_addr", iproute.parse_ip_addr),
    ("ip_route4", lambda text: iproute.parse_ip_route(text, 4)),
    ("ip_route6", lambda text: iproute.parse_ip_route(text, 6)),
    ("ip_route_get", iproute.parse_ip_route_get),
    ("docker_daemon_json", cniconf.docker_daemon_json),
]


@pytest.mark.parametrize("name,parser", JSON_PARSERS, ids=[p[0] for p in JSON_PARSERS])
def test_json_parsers_return_or_raise_value_error(name, parser):
    """Documented: ValueError when the output is not what `ip -json` (or daemon.json) gives; the facts
    module turns it into a problem entry."""
    for text in json_inputs(name):
        try:
            bounded(parser, text)
        except ValueError:
            pass


def test_dns_answer_parser_raises_only_what_its_caller_handles():
    """query_a skips a datagram parse_answer fails on with ValueError, IndexError or struct.error."""
    gen = Hostile("dns")
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 0)
    for case in range(CASES):
        data = gen.data(["\x03www", "\x00", "\xc0\x0c", "\x00\x01\x00\x01", "\x00\x04"]) if case % 2 else header + gen.raw_bytes(80)
        try:
            bounded(lambda d: dnsquery.parse_answer(d, 7), data)
        except (ValueError, IndexError, struct.error):
            pass


def test_port_holder_reads_any_proc_net_file(tmp_path):
    """/proc/net/{tcp,udp}[6] as the kernel writes them, or anything: the holder of a port or None."""
    (tmp_path / "net").mkdir()
    gen = Hostile("proc-net")
    for _n in range(CASES):
        for name in ("tcp", "tcp6", "udp", "udp6"):
            (tmp_path / "net" / name).write_bytes(b"header\n" + gen.data(VOCABULARY["net"]))
        for proto in ("tcp", "udp"):
            found = bounded(lambda args: portprobe.holder(*args, proc=str(tmp_path)), (proto, 80))
            assert found is None or isinstance(found, str)
