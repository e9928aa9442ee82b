"""Reliability suite, pure part: every rewriter keeps unrelated lines byte for
byte, is idempotent and parses back to the intended state; every parser and
every edit survives arbitrary bytes (no exception but a clear ValueError)."""

import configparser
import ipaddress
import json
import os
import re
import subprocess
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.kubeprep.hostnet.plugins.module_utils import cniconf, edits, gather, hostsfile, iproute, libc, netpersist, nsswitch, resolvconf

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENDINGS = st.sampled_from([b"\n", b"\r\n"])
# Lines of any bytes but a line break; what sysctl.d, resolv.conf and env files may hold.
ANY_LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))
TEXT_LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40).map(lambda t: t.encode("utf-8"))


def as_text(data):
    """How the facts module decodes a file it reads."""
    return data.decode("utf-8", "replace")


def join(lines, endings, last_newline=True):
    out = b"".join(line + end for line, end in zip(lines, endings))
    return out if last_newline or not out else out[: -len(endings[len(lines) - 1])]


def unrelated_kept(before, after, is_ours):
    """Every line of ``before`` that is not ours is in ``after``, same bytes, same order."""
    kept = [line.rstrip(b"\r\n") for line in edits.split_lines(before) if not is_ours(line)]
    remaining = iter(line.rstrip(b"\r\n") for line in edits.split_lines(after))
    return all(any(line == other for other in remaining) for line in kept)


# -- sysctl.d (hostnet_sysctl) ----------------------------------------------------------

SYSCTL_KEY = "net.ipv6.conf.lo.disable_ipv6"
SYSCTL_LINE = re.compile(rb"^\s*-?net[./]ipv6[./]conf[./]lo[./]disable_ipv6\s*=")


def sysctl_effective(data, key):
    """sysctl.d(5): the last assignment of a key wins; '/' and '.' are the same; '-' ignores errors."""
    value = None
    for raw in edits.split_lines(data):
        line = raw.strip()
        if not line or line[:1] in (b"#", b";") or b"=" not in line:
            continue
        name, _sep, rest = line.partition(b"=")
        if name.strip().lstrip(b"-").replace(b"/", b".") == key.encode():
            value = rest.strip()
    return value


@SETTINGS
@given(
    st.lists(
        st.one_of(ANY_LINE, st.sampled_from([b"net.ipv6.conf.lo.disable_ipv6 = 1", b"-net/ipv6/conf/lo/disable_ipv6=1", b"vm.swappiness=1"])), max_size=12
    ),
    st.lists(ENDINGS, min_size=12, max_size=12),
    st.booleans(),
    st.sampled_from(["0", "1"]),
)
def test_sysctl_edit_properties(lines, endings, last_newline, value):
    data = join(lines, endings, last_newline)
    new, _actions = edits.ensure_key_value(data, SYSCTL_KEY, value)
    assert sysctl_effective(new, SYSCTL_KEY) == value.encode()
    assert unrelated_kept(data, new, SYSCTL_LINE.match)
    assert edits.ensure_key_value(new, SYSCTL_KEY, value) == (new, [])


# -- resolv.conf options (hostnet_resolv_conf) ----------------------------------------------

RESOLV_LINES = st.one_of(
    TEXT_LINE,
    st.sampled_from([b"nameserver 10.0.0.2", b"search example.org", b"options ndots:5", b"options timeout:30 rotate attempts:5", b"# options timeout:9"]),
)


@SETTINGS
@given(st.lists(RESOLV_LINES, max_size=10), st.lists(ENDINGS, min_size=10, max_size=10), st.booleans(), st.integers(1, 30), st.integers(1, 5))
def test_resolv_options_edit_properties(lines, endings, last_newline, timeout, attempts):
    data = join(lines, endings, last_newline)
    new, _actions = edits.ensure_resolv_options(data, timeout=timeout, attempts=attempts)
    conf = resolvconf.parse_resolv_conf(as_text(new))
    assert (conf["timeout"], conf["attempts"]) == (timeout, min(attempts, 5))
    assert conf["nameservers"] == resolvconf.parse_resolv_conf(as_text(data))["nameservers"]
    last_options = max((i for i, line in enumerate(edits.split_lines(data)) if re.match(rb"^\s*options\s", line)), default=-1)
    assert unrelated_kept(data, new, lambda line: line == edits.split_lines(data)[last_options] if last_options >= 0 else False)
    assert edits.ensure_resolv_options(new, timeout=timeout, attempts=attempts) == (new, [])


# -- VAR="--flag=value" files (hostnet_env_flag) ------------------------------------------

ENV_VALUE = st.lists(st.sampled_from(["--v=2", "--max-pods=200", "--node-ip=10.0.2.15", "--node-ip", "10.0.2.15", "--cgroup-driver=systemd"]), max_size=5)


# The other lines of an environment file: comments of any text, and other variables, quoted as sh reads them
# (an arbitrary line may be no shell at all: the editor refuses those, see test_edits_survive_arbitrary_bytes).
OTHER_ENV_LINE = st.one_of(
    TEXT_LINE.map(lambda b: b"#" + b),
    st.just(b""),
    st.tuples(st.sampled_from([b"OTHER", b"export PATH_X", b"A1"]), TEXT_LINE.filter(lambda b: b"'" not in b)).map(lambda p: p[0] + b"='" + p[1] + b"'"),
)


@SETTINGS
@given(st.lists(OTHER_ENV_LINE.filter(lambda b: b"KUBELET_EXTRA_ARGS" not in b), max_size=6), ENV_VALUE, st.booleans(), ENDINGS)
def test_env_flag_edit_properties(others, args, has_line, nl):
    lines = list(others)
    if has_line:
        lines.insert(len(lines) // 2, ('KUBELET_EXTRA_ARGS="%s"' % " ".join(args)).encode())
    data = b"".join(line + nl for line in lines)
    new, _actions = edits.ensure_env_flag(data, "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1")
    value = cniconf.parse_env_file(as_text(new))["KUBELET_EXTRA_ARGS"]
    assert cniconf.flag_values(value)["node-ip"] == "10.1.1.1"
    kept, skip = [], False
    for arg in args if has_line else []:
        if skip or arg == "--node-ip" or arg.startswith("--node-ip="):
            skip = not skip and arg == "--node-ip"  # pflag: "--flag value" takes the next word, whatever it is
            continue
        kept.append(arg)
    assert [a for a in value.split() if not a.startswith("--node-ip")] == kept
    assert unrelated_kept(data, new, lambda line: line.startswith(b"KUBELET_EXTRA_ARGS="))
    assert edits.ensure_env_flag(new, "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1") == (new, [])


# -- network manager files (hostnet_route persist=...) -------------------------------------

NETWORKS = st.one_of(
    st.just("default"),
    st.builds(lambda a, p: str(ipaddress.ip_network("%s/%d" % (ipaddress.IPv4Address(a), p), strict=False)), st.integers(0, 2**32 - 1), st.integers(8, 32)),
)
GATEWAYS = st.builds(lambda a: str(ipaddress.IPv4Address(a)), st.integers(1, 2**32 - 2))
IFACES = st.from_regex(r"\A[a-z][a-z0-9]{0,9}\Z")


@SETTINGS
@given(NETWORKS, GATEWAYS, IFACES)
def test_netplan_and_networkd_files_parse_back(dest, gateway, iface):
    with tempfile.TemporaryDirectory() as root:
        netplan_and_networkd(dest, gateway, iface, root)


def netplan_and_networkd(dest, gateway, iface, root):
    path, edit, mode = netpersist.netplan(dest, gateway, iface, root=root)
    text, actions = edit(None)
    assert actions and mode == 0o600 and edit(text) == (text, [])
    route = yaml.safe_load(text)["network"]["ethernets"][iface]["routes"][0]
    assert (route["to"], route["via"]) == (dest, gateway)

    os.makedirs(os.path.join(root, "etc/systemd/network"))
    with open(os.path.join(root, "etc/systemd/network/10-%s.network" % iface), "w") as handle:
        handle.write("[Match]\nName=%s\n" % iface)
    path, edit, mode = netpersist.networkd(dest, gateway, iface, root=root)
    text, _actions = edit(None)
    assert path.endswith("10-%s.network.d/90-kubeprep-hostnet-route-%s.conf" % (iface, netpersist.slug(dest, gateway)))
    unit = configparser.ConfigParser()
    unit.read_string(text.decode())
    assert unit["Route"]["Gateway"] == gateway
    assert unit["Route"].get("Destination") == (None if dest == "default" else dest)


@SETTINGS
@given(NETWORKS, GATEWAYS, IFACES)
def test_ifupdown_hook_is_valid_shell(dest, gateway, iface):
    path, edit, mode = netpersist.ifupdown(dest, gateway, iface)
    text, _actions = edit(None)
    assert mode == 0o755 and os.path.basename(path) == "kubeprep-hostnet-route-%s" % netpersist.slug(dest, gateway)
    assert subprocess.run(["sh", "-n"], input=text, check=False).returncode == 0
    assert ("|| ip route add %s via %s dev %s\n" % (dest, gateway, iface)).encode() in text
    assert ('[ "$IFACE" = %s ] || exit 0\n' % iface).encode() in text


@SETTINGS
@given(
    st.lists(st.one_of(ANY_LINE, st.just(b"10.96.0.0/12 via 10.0.0.1 dev eth0")), max_size=8),
    st.lists(ENDINGS, min_size=8, max_size=8),
    st.booleans(),
    NETWORKS,
    GATEWAYS,
)
def test_network_scripts_route_file_properties(lines, endings, last_newline, dest, gateway):
    data = join(lines, endings, last_newline)
    _path, edit, _mode = netpersist.network_scripts(dest, gateway, "eth0")
    new, _actions = edit(data)
    wanted = ("%s via %s dev eth0" % (dest, gateway)).encode()
    assert wanted in [line.strip() for line in edits.split_lines(new)]
    assert unrelated_kept(data, new, lambda line: False)
    assert edit(new) == (new, [])


# -- arbitrary bytes into every parser and edit -------------------------------------------

PARSERS = [
    hostsfile.parse_hosts,
    nsswitch.parse_nsswitch,
    nsswitch.parse_version,
    resolvconf.parse_resolv_conf,
    cniconf.parse_env_file,
    cniconf.docker_flags,
    cniconf.flag_values,
    gather.first_service_ip,
    iproute.parse_proc_net_route,
]
# These take `ip -json` or JSON output: garbage must be a ValueError (the facts
# module turns it into a problem entry), never another exception.
JSON_PARSERS = [
    iproute.parse_ip_addr,
    lambda text: iproute.parse_ip_route(text, 4),
    iproute.parse_ip_route_get,
    cniconf.docker_daemon_json,
]
EDITS = [
    edits.ensure_localhost,
    edits.ensure_nsswitch_files_first,
    lambda data: edits.ensure_key_value(data, SYSCTL_KEY, "0"),
    lambda data: edits.ensure_resolv_options(data, timeout=1, attempts=2),
    lambda data: edits.ensure_env_flag(data, "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1"),
    netpersist.network_scripts("10.96.0.0/12", "10.0.0.1", "eth0")[1],
]
IP_JSON_KEYS = ["dst", "gateway", "dev", "ifname", "addr_info", "local", "prefixlen", "family", "flags", "metric", "bip"]
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(IP_JSON_KEYS), children, max_size=5),
    max_leaves=12,
)


@SETTINGS
@given(st.binary(max_size=400))
@pytest.mark.parametrize("parser", PARSERS, ids=lambda f: f.__name__)
def test_parsers_survive_arbitrary_bytes(parser, data):
    parser(as_text(data))


@SETTINGS
@given(st.one_of(st.binary(max_size=300).map(as_text), JSONISH.map(json.dumps)))
@pytest.mark.parametrize("parser", JSON_PARSERS, ids=["ip_addr", "ip_route", "ip_route_get", "daemon_json"])
def test_json_parsers_raise_only_value_error(parser, text):
    try:
        parser(text)
    except ValueError:
        pass


@SETTINGS
@given(st.binary(max_size=400))
def test_libc_banners_survive_arbitrary_bytes(data):
    for found in (libc.glibc_version_from_bytes(data), libc.musl_version_from_bytes(data)):
        assert found is None or isinstance(found, str)


@SETTINGS
@given(st.one_of(st.none(), st.binary(max_size=400)))
@pytest.mark.parametrize("edit", EDITS, ids=["hosts", "nsswitch", "sysctl", "resolv", "env_flag", "network_scripts"])
def test_edits_survive_arbitrary_bytes(edit, data):
    try:
        new, actions = edit(data)
    except ValueError:
        return  # a clear error: the module reports it and writes nothing
    assert isinstance(new, bytes) and isinstance(actions, list)
    assert (new == data) == (not actions) or data is None
    assert edit(new)[0] == new


GATHERED_FILES = [
    "etc/hosts",
    "etc/nsswitch.conf",
    "etc/resolv.conf",
    "etc/docker/daemon.json",
    "etc/sysconfig/flanneld",
    "etc/hostname",
    "etc/machine-id",
    "run/flannel/subnet.env",
    "etc/cloud/cloud.cfg",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(GATHERED_FILES), st.binary(max_size=300)))
def test_gather_on_a_root_of_arbitrary_files(tmp_path, files):
    root = tmp_path / ("root%d" % len(list(tmp_path.iterdir())))
    for relpath, data in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    root.mkdir(exist_ok=True)
    facts = gather.gather(root=str(root))
    assert facts["hosts_file"]["status"] in ("ok", "missing")
    for problem in facts["problems"]:
        assert set(problem) == {"source", "message"}
