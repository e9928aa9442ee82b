"""Build realistic facts for rule tests: file facts from a captured distro root
(through the real gather code), kernel facts from captured `ip -json` output."""

import copy
import os
import shutil

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, iproute

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
GLIBC_BANNER = b"\x00GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\x00"


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def read_fixture(*parts):
    with open(fixture(*parts)) as handle:
        return handle.read()


def make_root(tmp_path, distro, libc=("glibc", "2.36"), overrides=None):
    """Copy a captured distro /etc into tmp_path and add a libc file of the given version."""
    root = tmp_path / ("root-" + distro)
    shutil.copytree(fixture(distro), str(root))
    family, version = libc
    if family == "glibc":
        path = root / "lib/x86_64-linux-gnu/libc.so.6"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x7fELF" + b"\x00" * 64 + GLIBC_BANNER.replace(b"2.36.", version.encode() + b"."))
    elif family == "musl":
        path = root / "lib/ld-musl-x86_64.so.1"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x7fELF" + b"\x00" * 32 + b"\x00" + version.encode() + b"\x00")
    for relpath, text in (overrides or {}).items():
        target = root / relpath.lstrip("/")
        if text is None:
            if target.exists():
                target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return str(root)


def healthy_kernel():
    """Kernel facts of a real test host (captured), with IPv6 on and a default route."""
    routes4 = iproute.parse_ip_route(read_fixture("iproute", "route4.json"), 4)
    routes6 = iproute.parse_ip_route(read_fixture("iproute", "route6.json"), 6)
    route_get = iproute.parse_ip_route_get(read_fixture("iproute", "route-get.json"))
    return {
        "sysctl": {
            key: {"status": "ok", "value": value}
            for key, value in (
                ("net.ipv6.conf.all.disable_ipv6", "0"),
                ("net.ipv6.conf.default.disable_ipv6", "0"),
                ("net.ipv6.conf.lo.disable_ipv6", "0"),
                ("net.ipv4.ip_forward", "1"),
                ("net.bridge.bridge-nf-call-iptables", "1"),
                ("net.bridge.bridge-nf-call-ip6tables", "1"),
            )
        },
        "interfaces": {"status": "ok", "source": "ip", "list": iproute.parse_ip_addr(read_fixture("iproute", "addr.json"))},
        "routes": {
            "status": "ok",
            "ipv4": routes4,
            "ipv6": routes6,
            "default_ipv4": iproute.default_routes(routes4),
            "default_ipv6": iproute.default_routes(routes6),
        },
        "service_route_lookups": [dict(address="10.96.0.1", reachable=True, source="10.213.1.11", **route_get)],
        "localhost_resolution": {
            "status": "ok",
            "duration_ms": 0.3,
            "addresses": [{"family": 4, "address": "127.0.0.1", "usable": True}, {"family": 6, "address": "::1", "usable": True}],
        },
        "problems": [],
    }


def host_facts(tmp_path, distro, libc=("glibc", "2.36"), overrides=None, kernel=None):
    """File facts gathered from a distro root by the real collector, plus kernel facts."""
    facts = gather.gather(root=make_root(tmp_path, distro, libc, overrides))
    facts["live"] = True
    facts.update(copy.deepcopy(kernel if kernel is not None else healthy_kernel()))
    return facts


def lo_without_ipv6(kernel):
    """The F1 kernel state: net.ipv6.conf.lo.disable_ipv6=1 removes ::1 from lo."""
    kernel["sysctl"]["net.ipv6.conf.lo.disable_ipv6"]["value"] = "1"
    for iface in kernel["interfaces"]["list"]:
        if iface["name"] == "lo":
            iface["addresses"] = [a for a in iface["addresses"] if a["family"] == 4]
    return kernel


def as_other_node(kernel, index):
    """Make captured kernel facts those of another node: its own eth1 MAC and address."""
    for iface in kernel["interfaces"]["list"]:
        if iface["name"] == "eth1":
            iface["mac"] = "02:00:00:00:00:%02x" % index
            for addr in iface["addresses"]:
                if addr["family"] == 4:
                    addr["address"] = "10.213.1.%d" % (10 + index)
                    addr["cidr"] = "10.213.1.%d/24" % (10 + index)
    return kernel
