"""Build realistic facts for rule tests: file facts from a captured distro root
(through the real gather code), kernel facts from captured `ip -json` output, Vagrant-shaped
fleets; and judge them. Every rule's tests (tests/unit/rules/) share these."""

import copy
import hashlib
import os
import shutil

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, iproute, kubeletdns
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import probeplan, rules

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
    root = make_root(tmp_path, distro, libc, overrides)
    facts = gather.gather(root=root)
    facts["live"] = True
    if os.path.exists(os.path.join(root, "run/systemd/resolve/resolv.conf")):
        # A captured host where systemd-resolved ran (its upstream file is there): the live module sees it running.
        facts["kubelet_resolv_conf"] = kubeletdns.choose(gather.Collector(root=root), None, True)
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


# -- judging and fleets -----------------------------------------------------------------


def judge(facts, include_info=False, **options):
    """Findings for one host; info findings only when asked (fixtures like centos7 carry one)."""
    result = rules.evaluate({"h": facts}, options)
    return [f for f in result["hosts"]["h"]["findings"] if include_info or f["severity"] != "info"]


def ids(findings):
    return sorted(f["id"] for f in findings)


def rp_facts(facts, all_value, default_value, eth0=None):
    facts["sysctl"]["net.ipv4.conf.all.rp_filter"] = {"status": "ok", "value": str(all_value)}
    facts["sysctl"]["net.ipv4.conf.default.rp_filter"] = {"status": "ok", "value": str(default_value)}
    for iface in facts["interfaces"]["list"]:
        iface["rp_filter"] = eth0 if iface["name"] != "lo" else 0
    return facts


def vagrant_node(base, index, nat="10.0.2.15"):
    """eth0 = the NAT NIC with the default route (same address everywhere), eth1 = the private network."""
    facts = copy.deepcopy(base)
    facts["interfaces"]["list"] = [
        {"name": "lo", "link_type": "loopback", "mac": None, "addresses": [{"family": 4, "address": "127.0.0.1", "prefixlen": 8, "scope": "host"}]},
        {
            "name": "eth0",
            "link_type": "ether",
            "mac": "08:00:27:00:00:%02x" % index,
            "addresses": [{"family": 4, "address": nat, "prefixlen": 24, "scope": "global"}],
        },
        {
            "name": "eth1",
            "link_type": "ether",
            "mac": "08:00:27:01:00:%02x" % index,
            "addresses": [{"family": 4, "address": "192.168.56.%d" % (10 + index), "prefixlen": 24, "scope": "global"}],
        },
    ]
    default = {"family": 4, "dst": "default", "default": True, "gateway": "10.0.2.2", "dev": "eth0", "metric": 100, "type": "unicast"}
    facts["routes"]["default_ipv4"] = [default]
    facts["routes"]["ipv4"] = [default]
    facts["identity"] = {"hostname": "node%d" % index, "machine_id": "%032x" % index, "product_uuid": None}
    return facts


def fleet(tmp_path, count=3, **kw):
    base = host_facts(tmp_path, "debian12", kernel=healthy_kernel())
    return {"node%d" % i: vagrant_node(base, i, **kw) for i in range(1, count + 1)}


# -- port probes ----------------------------------------------------------------------


def probe_fleet(tmp_path, count=3):
    """Vagrant-shaped nodes (a shared NAT address on eth0, the node network on eth1), every MTU 1500."""
    nodes = fleet(tmp_path, count=count)
    for facts in nodes.values():
        for iface in facts["interfaces"]["list"]:
            iface["mtu"] = 65536 if iface["name"] == "lo" else 1500
    return nodes


def listener(host, cni="flannel", groups=None, in_use=(), failed=(), pid=4242):
    """A listener report as the gather task leaves it (token "listen-<host>")."""
    listening, busy, bad = [], [], []
    ports = probeplan.listen_ports(host, groups or {}, cni)
    for item in ports:
        key = (item["proto"], item["port"])
        if key in in_use:
            busy.append(dict(item, holder="0.0.0.0:%d" % item["port"]))
        elif key in failed:
            bad.append(dict(item, error="Permission denied"))
        else:
            listening.append(item)
    key = host_key(host)
    return {"token": "listen-" + host, "key": key, "ports": ports, "listening": listening, "in_use": busy, "not_bound": bad, "pid": pid, "echo_port": 40000}


def host_key(host):
    """A listener's key (32 hex digits), one per host."""
    return hashlib.md5(host.encode()).hexdigest()


def make_plan(tmp_path, count=4, peers=3, cni="flannel", groups=None):
    nodes = probe_fleet(tmp_path, count=count)
    plan = probeplan.plan(nodes, {h: listener(h, cni, groups) for h in nodes}, peers)
    return nodes, plan
