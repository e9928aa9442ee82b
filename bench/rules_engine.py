"""Time the controller-side rules engine (per-host and fleet rules) and the report writing on synthetic fleets.

The synthetic hosts (node()) carry every fact the registry's rules read, healthy but for one fault in 50 hosts
per fault (FAULTS), judged as a dual-stack calico cluster (OPTIONS), one host in 500 unreachable: every rule
does its real work and has findings. Prints, per size, wall and CPU seconds and microseconds per host, so
linearity shows as a flat per-host column (issue 21: every rule on 10,000 hosts under 2 s); then each rule's
CPU seconds alone at the smallest and largest size (one slow or non-linear rule shows in its own row); the
rules whose findings' bytes per host grow with the fleet when the FEW faults are on 2 % of the hosts; which
rules had findings (exit 1 when a registered rule had none and is not in QUIET with why, or raised); then, per
report artifact (JSON, Markdown, JUnit, HTML), the seconds to render and write it, its bytes and bytes per
host, and each size's bytes per host over the smallest size's (1.0 is linear; issue 22 asks <= 1.25 from 500 to
5,000 hosts and all four written in under 10 s at 5,000).
Not part of `make test`: speed is measured here, never asserted (tests/unit/test_bench_synthetic.py checks the
synthetic facts and findings, untimed).

usage: bench/rules_engine.py [N ...]   (default 1000 5000 10000)
"""

import copy
import gc
import importlib
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "dev"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
conftest = importlib.import_module("conftest")  # creates the build/dev import tree the next import needs
rules = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules")
gather = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.module_utils.gather")
netfilter = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.module_utils.netfilter")
proxyenv = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.module_utils.proxyenv")
probeplan = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.probeplan")
nodeip = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.nodeip")
report = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.report")
report_html = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.report_html")
ARTIFACTS = ("json", "markdown", "junit", "html")


# The cluster the synthetic fleet is judged for: dual-stack (IPv6 Service and Pod CIDRs) with calico, so the
# rules that judge IPv6 and the CNI's modules, ports and rp_filter run too.
OPTIONS = {
    "cni": "calico",
    "service_cidrs": ["10.96.0.0/12", "fd00:10:96::/112"],
    "pod_cidr": "10.244.0.0/16,fd00:10:244::/56",
    "kubernetes_version": "1.31.4",
}
# Faults: host i has the fault of slot i % SLOTS (so each is in 1 host of 50, 2 %); slot 0 and the slots
# past the list are healthy. Every rule of the registry that judges one host's facts has one here.
SLOTS = 50
FAULTS = (
    None,
    "bridge_nf_off",
    "ip_forward_off",
    "ipv6_forwarding_off",
    "ipv6_ra_ignored",
    "vxlan_missing",
    "port_6443_held",
    "nsenter_socat_missing",
    "iptables_both_backends",
    "forward_drop",
    "kubelet_resolv_loopback",
    "four_nameservers",
    "hostname_underscore",
    "dns_before_files",
    "hosts_file_missing",
    "slow_resolv_conf",
    "search_domain_wildcard",
    "networkmanager_unmanaged_cni",
    "docker_bip",
    "rp_filter_strict",
    "no_ipv6_default",
    "nameserver_in_pod_cidr",
    "nameserver_in_service_cidr",
    "service_ip_unroutable",
    "unreadable_source",
    "slow_datastore",
    "clock_ahead",
    "machine_id_copied",
    "jumbo_mtu",
    "proxy_without_service_cidr",
    "nodeports_in_local_range",
    "k3s_service_cidr_differs",
)
# Faults a fleet has on a few hosts, not on a share of them. Their findings compare a host with the fleet; they
# listed every host in their evidence (with 2 % of hosts at fault the report grew with the square of the fleet)
# and now list at most 20 (rules._facts.fleet_evidence): print_spread_growth spreads them to check it stays so.
FEW = ("clock_ahead", "jumbo_mtu")
# Rules the synthetic fleet never fires, and why (bench_main checks every other rule fires at least once).
# Empty today: every rule fires on fleet(); a rule that cannot (it needs an option the synthetic cluster does not
# set, say) goes here as {rule id: why}, and bench_main says so instead of failing.
QUIET = {}
# One host in MISSING_EVERY has no facts (unreachable), as in a real run: the rules for such hosts judge it.
MISSING_EVERY = 500
UNREACHABLE = "UNREACHABLE: Failed to connect to the host via ssh: ssh: connect to host 192.168.1.1 port 22: Connection timed out"
FIXTURE_ROOT = os.path.join(ROOT, "tests", "unit", "fixtures", "debian12")
MODULES = ("br_netfilter", "overlay", "nf_conntrack", "nf_tables", "vxlan", "ipip", "dummy", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh")
TOOLS = {
    "ip": "/usr/sbin/ip",
    "iptables": "/usr/sbin/iptables",
    "mount": "/usr/bin/mount",
    "nsenter": "/usr/bin/nsenter",
    "conntrack": "/usr/sbin/conntrack",
    "ethtool": "/usr/sbin/ethtool",
    "socat": "/usr/bin/socat",
    "tc": "/usr/sbin/tc",
}
NFT_SAVE = (
    "# Generated by iptables-nft-save v1.8.9 (nf_tables)\n*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
    "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD %s [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n-A FORWARD -i docker0 -o docker0 -j ACCEPT\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
)
LEGACY_SAVE = "# Generated by iptables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -s 203.0.113.0/24 -j DROP\nCOMMIT\n"
_CAPTURED = {}


def _netfilter(forward="ACCEPT", legacy=""):
    """The netfilter fact as the real collector builds it from these iptables-save outputs (nft and firewall-cmd
    not installed; no firewalld process in the empty /proc given)."""
    outputs = {"iptables-nft-save": NFT_SAVE % forward, "iptables-legacy-save": legacy}
    key = ("netfilter", forward, legacy)
    if key not in _CAPTURED:

        def run(args, timeout=None):
            return 0, outputs[os.path.basename(args[0])], ""

        def which(name):
            return "/usr/sbin/" + name if name in outputs else None

        _CAPTURED[key] = netfilter.netfilter(run, which, root=FIXTURE_ROOT, proc=os.path.join(FIXTURE_ROOT, "no-proc"))
    return copy.deepcopy(_CAPTURED[key])


def _file_facts():
    """The file facts the real collector reads from the captured Debian 12 root (once), as a running host has them."""
    if "files" not in _CAPTURED:
        facts = gather.gather(root=FIXTURE_ROOT)
        for key in ("root", "duration_ms", "port_holders", "kernel_modules", "ipv6", "search_domains", "netfilter"):
            facts.pop(key, None)
        facts["live"] = True
        _CAPTURED["files"] = facts
    return copy.deepcopy(_CAPTURED["files"])


def _proxy_env(fault):
    """proxy_env as the real gatherer reads it: no proxy, or (fault) containerd and kubelet sent through a proxy
    whose NO_PROXY lacks the Service and Pod CIDRs (read once from a scratch root)."""
    if fault != "proxy_without_service_cidr":
        return {"status": "ok", "services": {}, "login": {"files": [], "vars": {}}, "partial": [], "parser": "simple assignments only"}
    if "proxy" not in _CAPTURED:
        with tempfile.TemporaryDirectory(prefix="kubeprep-proxy-") as root:
            for unit in ("containerd", "kubelet"):
                drop_in = os.path.join(root, "etc/systemd/system/%s.service.d/http-proxy.conf" % unit)
                os.makedirs(os.path.dirname(drop_in))
                with open(os.path.join(root, "etc/systemd/system/%s.service" % unit), "w") as handle:
                    handle.write("[Service]\nExecStart=/usr/bin/%s\n" % unit)
                with open(drop_in, "w") as handle:
                    handle.write("[Service]\nEnvironment=HTTPS_PROXY=http://192.0.2.3:3128\nEnvironment=NO_PROXY=localhost,127.0.0.1\n")
            _CAPTURED["proxy"] = proxyenv.gather(root)
    return copy.deepcopy(_CAPTURED["proxy"])


def _rancher_config(fault):
    """A k3s server's /etc/rancher/k3s/config.yaml as the facts module reads it: the fleet's Service CIDR, or
    (fault) another one."""
    cidr = "10.44.0.0/16" if fault == "k3s_service_cidr_differs" else "10.43.0.0/16"
    path = "/etc/rancher/k3s/config.yaml"
    return {
        "distribution": "k3s",
        "also_present": [],
        "files": [path],
        "values": {"service-cidr": {"value": cidr, "file": path, "line": 2}},
        "errors": [],
    }


def _local_ports(fault):
    low, high = (1024, 65535) if fault == "nodeports_in_local_range" else (32768, 60999)
    return {"status": "ok", "port_range": [low, high], "reserved": [], "raw": {"port_range": "%d\t%d" % (low, high), "reserved": ""}}


def _iface(name, index, mac, mtu, addresses, rp_filter=2):
    flags = ["LOOPBACK", "UP", "LOWER_UP"] if name == "lo" else ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
    return {
        "name": name,
        "index": index,
        "mac": mac,
        "link_type": "loopback" if name == "lo" else "ether",
        "mtu": mtu,
        "state": "UNKNOWN" if name == "lo" else "UP",
        "up": True,
        "flags": flags,
        "rp_filter": 0 if name == "lo" else rp_filter,
        "addresses": [
            dict(family=6 if ":" in a else 4, address=a.split("/")[0], prefixlen=int(a.split("/")[1]), scope=scope, cidr=a) for a, scope in addresses
        ],
    }


def _route(dst, dev, gateway=None, protocol=None, prefsrc=None, family=4, metric=0):
    default = dst == "default"
    return {
        "family": family,
        "dst": dst,
        "default": default,
        "gateway": gateway,
        "dev": dev,
        "protocol": protocol,
        "scope": "link" if protocol == "kernel" and family == 4 else None,
        "metric": metric,
        "prefsrc": prefsrc,
        "type": "unicast",
        "table": None,
    }


def _sysctl(fault):
    values = {
        "net.ipv6.conf.all.disable_ipv6": "0",
        "net.ipv6.conf.default.disable_ipv6": "0",
        "net.ipv6.conf.lo.disable_ipv6": "0",
        "net.ipv4.ip_forward": "0" if fault == "ip_forward_off" else "1",
        "net.bridge.bridge-nf-call-iptables": "0" if fault == "bridge_nf_off" else "1",
        "net.bridge.bridge-nf-call-ip6tables": "0" if fault == "bridge_nf_off" else "1",
        "net.ipv4.conf.all.rp_filter": "1" if fault == "rp_filter_strict" else "2",
        "net.ipv4.conf.default.rp_filter": "1" if fault == "rp_filter_strict" else "2",
    }
    return {key: {"status": "ok", "value": value} for key, value in values.items()}


def _kernel_modules(fault):
    release = "6.1.0-28-amd64"
    loaded = ["br_netfilter", "overlay", "nf_conntrack", "nf_tables", "vxlan", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "bridge", "stp", "llc"]
    modules = {}
    for name in MODULES:
        gone = fault == "vxlan_missing" and name == "vxlan"
        on = name in loaded and not gone
        modules[name] = {
            "loaded": on,
            "builtin": False,
            "loadable": None if gone else "kernel/%s.ko.xz" % name,
            "sysfs": on,
            "sign": None,
        }
    if fault == "vxlan_missing":
        loaded.remove("vxlan")
    return {
        "status": "ok",
        "release": release,
        "errors": [],
        "loaded": {"status": "ok", "names": sorted(loaded), "truncated": False},
        "module_support": True,
        "module_dir": "/lib/modules/" + release,
        "module_dir_exists": True,
        "builtin": {"status": "ok", "path": "/lib/modules/%s/modules.builtin" % release, "count": 612, "truncated": False},
        "loadable": {"status": "ok", "path": "/lib/modules/%s/modules.dep" % release, "count": 3914 - (fault == "vxlan_missing"), "truncated": False},
        "modules": modules,
        "config": {"source": "/boot/config-" + release, "status": "ok"},
    }


def _port_holders(fault):
    socks = [{"proto": "udp", "port": 4789, "address": "0.0.0.0:4789", "inode": 0, "processes": []}]  # the kernel's VXLAN socket
    if fault == "port_6443_held":
        socks.append(
            {
                "proto": "tcp",
                "port": 6443,
                "address": "0.0.0.0:6443",
                "inode": 48213,
                "processes": [{"pid": 812, "comm": "haproxy", "command": "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg"}],
            }
        )
    return {"status": "ok", "ports": ["tcp/6443", "tcp/10250", "tcp/2379", "udp/4789"], "list": socks}


def _tools(fault):
    in_path = dict(TOOLS)
    elsewhere = {}
    if fault == "nsenter_socat_missing":
        in_path.update(nsenter=None, socat=None)
        elsewhere["nsenter"] = "/usr/local/bin/nsenter"
    return {"ip": "/usr/sbin/ip", "path": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "in_path": in_path, "elsewhere": elsewhere}


def _ipv6(fault):
    on = {"status": "ok", "value": "1"}
    forwarding = {"all": dict(on), "default": dict(on)}
    if fault == "ipv6_forwarding_off":
        forwarding["all"]["value"] = forwarding["default"]["value"] = "0"
    entry = {
        "name": "eth0",
        "protocol": "ra",
        "gateway": "fe80::1",
        "accept_ra": "1" if fault == "ipv6_ra_ignored" else "2",
        "accept_ra_defrtr": "1",
        "forwarding": "1",
        "networkd": False,
    }
    return {"status": "ok", "forwarding": forwarding, "interfaces": [] if fault == "no_ipv6_default" else [entry], "autoconf": []}


def node(i, spread=False, faults=True):
    """A Vagrant-shaped node of the dual-stack cluster OPTIONS describes: eth0 10.0.2.15 with the default routes
    (shared), eth1 unique in a /16; every fact the registry's rules read (``reads``), with the shapes the facts
    module gives (its file facts read by the real collector from the captured Debian 12 root, its netfilter fact
    built by the real parser); healthy, but for the fault of slot ``i % SLOTS`` (FAULTS). The FEW faults are in
    the first SLOTS hosts only, unless ``spread`` (see FEW); ``faults=False``: healthy whatever the slot."""
    fault = FAULTS[i % SLOTS] if faults and i % SLOTS < len(FAULTS) else None
    if fault in FEW and i >= SLOTS and not spread:
        fault = None
    facts = _file_facts()
    mac = "08:00:27:%02x:%02x:%%02x" % (i // 256 % 256, i % 256)
    eth1 = "192.168.%d.%d" % (i // 250, i % 250 + 1)
    mtu = 9000 if fault == "jumbo_mtu" else 1500
    rp = 1 if fault == "rp_filter_strict" else 2
    facts["interfaces"] = {
        "status": "ok",
        "source": "ip",
        "list": [
            _iface("eth0", 2, mac % 0, 1500, [("10.0.2.15/24", "global"), ("fd00:2::15/64", "global"), ("fe80::a00:27ff:fe00:%x/64" % i, "link")], rp),
            _iface("eth1", 3, mac % 1, mtu, [(eth1 + "/16", "global"), ("fd00:56::%x/64" % (i + 1), "global")], rp),
            _iface("lo", 1, None, 65536, [("127.0.0.1/8", "host"), ("::1/128", "host")]),
        ],
    }
    ipv4 = [
        _route("default", "eth0", "10.0.2.2", "dhcp", "10.0.2.15", metric=100),
        _route("10.0.2.0/24", "eth0", None, "kernel", "10.0.2.15"),
        _route("192.168.0.0/16", "eth1", None, "kernel", eth1),
    ]
    default6 = [] if fault == "no_ipv6_default" else [_route("default", "eth0", "fe80::1", "ra", None, 6, 1024)]
    ipv6 = [_route("fd00:2::/64", "eth0", None, "kernel", None, 6, 256), _route("fd00:56::/64", "eth1", None, "kernel", None, 6, 256)] + default6
    facts["routes"] = {"status": "ok", "ipv4": ipv4, "ipv6": ipv6, "default_ipv4": ipv4[:1], "default_ipv6": default6, "other_tables_ipv4": []}
    facts["sysctl"] = _sysctl(fault)
    facts["ipv6"] = _ipv6(fault)
    facts["kernel_modules"] = _kernel_modules(fault)
    facts["port_holders"] = _port_holders(fault)
    facts["tools"] = _tools(fault)
    facts["proxy_env"] = _proxy_env(fault)
    facts["local_ports"] = _local_ports(fault)
    facts["rancher_config"] = _rancher_config(fault)
    facts["netfilter"] = _netfilter(
        forward="DROP" if fault == "forward_drop" else "ACCEPT",
        legacy=LEGACY_SAVE if fault == "iptables_both_backends" else "",
    )
    hostname = "node_%d" % i if fault == "hostname_underscore" else "node%d" % i
    machine_id = "%032x" % (i - 1 if fault == "machine_id_copied" else i)
    facts["identity"] = {
        "hostname": hostname,
        "etc_hostname": hostname,
        "etc_hostname_status": "ok",
        "fqdn": None,
        "machine_id": machine_id,
        "machine_id_status": "ok",
        "product_uuid": None,
    }
    facts["service_route_lookups"] = [
        {"address": "10.96.0.1", "reachable": True, "source": "10.0.2.15", "dev": "eth0", "gateway": "10.0.2.2", "prefsrc": "10.0.2.15", "type": "unicast"}
    ]
    if fault == "service_ip_unroutable":
        facts["service_route_lookups"] = [{"address": "10.96.0.1", "reachable": False, "error": "ENETUNREACH"}]
    facts["localhost_resolution"] = {
        "status": "ok",
        "duration_ms": 0.3,
        "addresses": [{"family": 4, "address": "127.0.0.1", "usable": True}, {"family": 6, "address": "::1", "usable": True}],
    }
    wildcard = fault == "search_domain_wildcard"
    answer = {"name": "localhost.example.com", "server": "192.0.2.53", "status": "answered", "rcode": 0 if wildcard else 3}
    answer.update(addresses=["192.0.2.80"] if wildcard else [], domain="example.com", wildcard=wildcard, random_name="kubeprep-0123456789.example.com")
    facts["search_domains"] = {"status": "ok", "server": "192.0.2.53", "timeout_s": 1.0, "results": [answer]}
    offset = 42.0 if fault == "clock_ahead" else 0.004 * (i % 7)
    facts["clock"] = {
        "host_epoch": 1796600000.0 + offset,
        "controller_before": 1796600000.0,
        "controller_after": 1796600000.2,
        "offset_s": round(offset - 0.1, 3),
        "uncertainty_s": 0.1,
    }
    if fault == "slow_datastore":  # measured only where asked (hostnet_datastore_endpoints)
        facts["datastore_rtt"] = [
            {
                "url": "https://10.0.2.100:2379/health",
                "path": "/health",
                "connect": {"samples_ms": [180.0, 190.0, 210.0], "median_ms": 190.0, "worst_ms": 210.0},
                "request": {"samples_ms": [380.0, 400.0, 640.0], "median_ms": 400.0, "worst_ms": 640.0},
                "http_status": 200,
                "errors": [],
            }
        ]
    resolv = facts["resolv_conf"]
    kubelet = facts["kubelet_resolv_conf"]
    if fault == "kubelet_resolv_loopback":
        kubelet["nameservers"] = [{"address": "127.0.0.53", "line": 12}]
    elif fault == "four_nameservers":
        kubelet["nameservers"] = [{"address": "192.0.2.%d" % n, "line": 3 + n} for n in range(1, 5)]
    elif fault == "nameserver_in_pod_cidr":
        resolv["nameservers"] = [{"address": "10.244.0.10", "line": 3}]
    elif fault == "nameserver_in_service_cidr":
        resolv["nameservers"] = [{"address": "10.96.0.10", "line": 3}]
    elif fault == "slow_resolv_conf":
        resolv.update(timeout=10, attempts=5, worst_case_lookup_s={"glibc": 100, "musl": 50, "go": 100})
    ns = facts["nsswitch"]
    if fault == "dns_before_files":
        ns.update(hosts_sources=["dns", "files"], hosts_raw="hosts:          dns files", effective_sources=["dns", "files"], dns_before_files=True)
        ns.update(go_hosts_sources=["dns", "files"], go_dns_before_files=True)
    if fault == "hosts_file_missing":
        facts["hosts_file"] = {"path": "/etc/hosts", "status": "missing", "error": "ENOENT: No such file or directory"}
        facts["localhost_resolution"] = {"status": "error", "duration_ms": 1.2, "error": "[Errno -2] Name or service not known", "addresses": []}
    if fault == "networkmanager_unmanaged_cni":
        nm_conf = ["/etc/NetworkManager/NetworkManager.conf"]
        facts["networkmanager"] = {"running": True, "config_files": nm_conf, "unmanaged_devices": [], "unmanaged_sections": []}
    if fault == "docker_bip":
        facts["container_network"] = {
            "flannel_subnet_env": {
                "path": "/run/flannel/subnet.env",
                "status": "ok",
                "values": {"FLANNEL_SUBNET": "10.244.%d.1/24" % (i % 256), "FLANNEL_MTU": "1450"},
            },
            "docker_daemon_json": {"path": "/etc/docker/daemon.json", "status": "ok", "bip": "172.18.0.1/16", "mtu": 1500},
        }
    if fault == "unreadable_source":
        facts["problems"] = [{"source": "/etc/nsswitch.conf", "message": "EACCES: Permission denied"}]
    return facts


def fleet(size):
    """host -> facts of ``size`` synthetic hosts: node(i), but the reason of an unreachable host for one in MISSING_EVERY."""
    return {"node%d" % i: UNREACHABLE if i % MISSING_EVERY == MISSING_EVERY - 1 else node(i) for i in range(size)}


def with_probes(fleet):
    """The port probe reports of a run with 3 peers (as the audit action attaches them), one port in 100 dropped,
    and the plan: node-port-unreachable and the DF part of mtu-mismatch then judge 3 x N pairs (hosts with facts)."""
    fleet = {name: facts for name, facts in fleet.items() if isinstance(facts, dict)}
    sources = probeplan.pairs(fleet, 3)
    token = "bench"
    hosts = {}
    for name, facts in fleet.items():
        address = [i for i in facts["interfaces"]["list"] if i["name"] == "eth1"][0]["addresses"][0]["address"]
        hosts[name] = {"address": address, "interface": "eth1", "mtu": 1500, "ports": probeplan.ports_for(name, "calico", set()), "probed_by": sources[name]}
    for name in hosts:
        hosts[name]["probes"] = []
    for dest, srcs in sources.items():
        for src in srcs:
            hosts[src]["probes"].append(dest)
    for index, (name, facts) in enumerate(sorted(fleet.items())):
        listen = {"token": token, "listening": hosts[name]["ports"], "in_use": [], "not_bound": [], "echo_port": 40000}
        results = []
        for dest in hosts[name]["probes"]:
            for k, port in enumerate(hosts[dest]["ports"]):
                result = "timeout" if (index + k) % 100 == 0 else "open"
                results.append(dict(port, host=dest, address=hosts[dest]["address"], result=result, detail=None, ms=1))
        df = [
            {"host": dest, "address": hosts[dest]["address"], "ports": [40000], "port": 40000, "size": 1500, "result": "passed"}
            for dest in hosts[name]["probes"]
        ]
        facts["port_probes"] = {"listen": listen, "results": {"token": token, "results": results, "df": df, "notes": [], "seconds": 0.1}}
    return {"token": token, "hosts": hosts, "skipped": {}, "peers": 3}


def time_rules(sizes, repeat=3, probes=False):
    """[{hosts, seconds (wall, min of repeat), cpu_seconds (this process's, min of repeat), us_per_host, findings,
    fired, failed}] for each fleet size (``probes``: with port probe reports); ``fired``: the ids of the rules with
    a finding; ``failed``: those that raised on a host (the engine's "could not judge" finding, not counted as fired)."""
    template = fleet(max(sizes))
    rows = []
    for size in sizes:
        best, best_cpu, findings, fired, failed = None, None, 0, set(), []
        for _attempt in range(repeat):
            hosts = {"node%d" % i: copy.deepcopy(template["node%d" % i]) for i in range(size)}
            options = dict(OPTIONS, port_probes=with_probes(hosts)) if probes else dict(OPTIONS)
            start, cpu = time.perf_counter(), time.process_time()
            result = rules.evaluate(hosts, options)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            best = elapsed if best is None else min(best, elapsed)
            best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
            everything = rules.ordered_findings(result)
            findings, fired = len(everything), {f["id"] for f in everything if not (f.get("data") or {}).get("rule_error")}
            failed = sorted({f["id"] for f in everything if (f.get("data") or {}).get("rule_error")})
        row = {"hosts": size, "probes": probes, "seconds": round(best, 4), "cpu_seconds": round(best_cpu, 4), "us_per_host": round(best / size * 1e6, 1)}
        rows.append(dict(row, findings=findings, fired=sorted(fired), failed=failed))  # lists: bench/fleet.py writes rows as JSON
    return rows


def time_each_rule(size, repeat=3):
    """rule id -> {scope, seconds, findings} with port probe reports (seconds: this process's CPU seconds, min of
    repeat, so the load of other processes on the cores does not count): each rule's check (and its
    report overview) alone over ``size`` hosts, in the context the engine derives first (its cost: "(engine)").
    This repeats what rules.evaluate does before the rules run; the sum leaves out the engine's own work per host
    and finding (calling each check, to_dict, sorting). It runs outside factmemo.judging(), so each rule pays for
    what it derives from the facts (a host's interfaces, default route, the overlap rules' addresses), which
    rules.evaluate derives once for all of them: a rule's row is its cost alone, and the sum can exceed evaluate's
    seconds (1.95 against 1.93 s at 10,000 hosts in one run). A rule's ratio below 1 ms is noise."""
    hosts = fleet(size)
    options = dict(OPTIONS, port_probes=with_probes(hosts))
    port_probes = options.pop("port_probes")
    opts = rules.default_options()
    opts.update(options)
    valid = {name: facts for name, facts in hosts.items() if isinstance(facts, dict)}
    missing = {name: facts for name, facts in hosts.items() if not isinstance(facts, dict)}
    times = {}
    enabled = gc.isenabled()
    gc.disable()  # as rules.evaluate does
    try:
        best = None
        for _attempt in range(repeat):
            start = time.process_time()
            ctx = rules.Context(opts, nodeip.recommend(valid, opts.get("node_cidr"), None), port_probes, len(valid), missing)
            elapsed = time.process_time() - start
            best = elapsed if best is None else min(best, elapsed)
        times["(engine)"] = {"scope": "-", "seconds": best, "findings": 0}
        for rule_id, item in rules.registry().items():
            best, found = None, 0
            for _attempt in range(repeat):
                start = time.process_time()
                if item.scope == "fleet":
                    found = len(list(item.check(valid, ctx) or ()))
                else:
                    judged = missing if item.applies == "missing" else valid
                    found = 0
                    for name in sorted(judged):
                        found += len(list(item.check(name, valid.get(name), ctx) or ()))
                if item.overview:
                    item.overview[1](valid, ctx)
                elapsed = time.process_time() - start
                best = elapsed if best is None else min(best, elapsed)
            times[rule_id] = {"scope": item.scope, "seconds": best, "findings": found}
    finally:
        if enabled:
            gc.enable()
    return times


def print_rule_times(sizes):
    """The per-rule table: seconds at each size and, per rule, its microseconds per host at the largest size over
    those at the smallest (1.0 is linear): one slow or non-linear rule shows in its own row."""
    small, large = min(sizes), max(sizes)
    tables = {size: time_each_rule(size) for size in sorted({small, large})}
    print("\nper rule, with port probe reports: CPU seconds at %d and %d hosts, us per host at %d over at %d (1.0 is linear)" % (small, large, large, small))
    print("%-34s %6s %10s %10s %8s %10s" % ("rule", "scope", "s @%d" % small, "s @%d" % large, "ratio", "findings"))
    order = sorted(tables[large], key=lambda rule_id: -tables[large][rule_id]["seconds"])
    for rule_id in order:
        a, b = tables[small][rule_id], tables[large][rule_id]
        ratio = (b["seconds"] / large) / (a["seconds"] / small) if a["seconds"] else float("nan")
        print("%-34s %6s %10.4f %10.4f %8.2f %10d" % (rule_id, b["scope"], a["seconds"], b["seconds"], ratio, b["findings"]))
    print("%-34s %6s %10.4f %10.4f" % ("sum", "", sum(t["seconds"] for t in tables[small].values()), sum(t["seconds"] for t in tables[large].values())))


def spread_growth(sizes):
    """rule id -> (JSON bytes per host of its findings at the smallest and the largest size, their ratio) for the
    rules whose ratio is above 1.25, with every fault (FEW too) on 2 % of the hosts and port probe reports."""
    per_host = {}
    for size in (min(sizes), max(sizes)):
        hosts = {"node%d" % i: node(i, spread=True) for i in range(size)}
        result = rules.evaluate(hosts, dict(OPTIONS, port_probes=with_probes(hosts)))
        sizes_of = {}
        for finding in rules.ordered_findings(result):
            sizes_of[finding["id"]] = sizes_of.get(finding["id"], 0) + len(json.dumps(finding))
        per_host[size] = {rule_id: total / size for rule_id, total in sizes_of.items()}
    small, large = per_host[min(sizes)], per_host[max(sizes)]
    growth = {rule_id: (small.get(rule_id, 0.0), large[rule_id], large[rule_id] / small[rule_id] if small.get(rule_id) else float("inf")) for rule_id in large}
    return {rule_id: row for rule_id, row in growth.items() if row[2] > 1.25}


def print_spread_growth(sizes):
    growth = spread_growth(sizes)
    print("\nwith the FEW faults on 2 %% of hosts too: findings whose JSON bytes per host grow more than 1.25x from %d to %d hosts" % (min(sizes), max(sizes)))
    for rule_id, (small, large, ratio) in sorted(growth.items(), key=lambda item: -item[1][2]):
        print("%-34s %10.1f %10.1f %8.2f" % (rule_id, small, large, ratio))
    if not growth:
        print("none")


def unfired(rows):
    """(rule ids with no finding on any fleet of ``rows`` and not in QUIET, QUIET ids that did fire, QUIET ids not
    registered, rule ids that raised on a synthetic host)."""
    fired = set().union(*(set(row["fired"]) for row in rows))
    registered = set(rules.registry())
    failed = sorted(set().union(*(row["failed"] for row in rows)))
    return sorted(registered - fired - set(QUIET)), sorted(set(QUIET) & fired), sorted(set(QUIET) - registered), failed


RENDER = {
    "json": lambda doc: json.dumps(doc, indent=2, sort_keys=True) + "\n",
    "markdown": report.render_markdown,
    "junit": report.render_junit,
    "html": report_html.render_html,
}


def time_reports(sizes, probes=False):
    """[{hosts, probes, four_seconds, write_seconds, host_vars, artifacts: {kind: {seconds, bytes, bytes_per_host}}}]
    per fleet size: each artifact of a synthetic fleet's report rendered and written on its own (as
    report.write_report does; four_seconds is their sum), and report.write_report itself (write_seconds: the
    four files and the host_vars file of each host whose node IP it says to pin, ``host_vars`` of them)."""
    rows = []
    for size in sizes:
        hosts = fleet(size)
        options = dict(OPTIONS, port_probes=with_probes(hosts)) if probes else dict(OPTIONS)
        doc = report.build_report(rules.evaluate(hosts, options), "2026-01-01T00:00:00+00:00", "error", "0.2.0")
        out = tempfile.mkdtemp(prefix="hostnet-bench-report-")
        try:
            start = time.perf_counter()
            paths = report.write_report(doc, out)
            total = time.perf_counter() - start
            artifacts = {}
            for kind in ARTIFACTS:
                path = os.path.join(out, "again-%s" % kind)
                start = time.perf_counter()
                report.atomic_write(path, RENDER[kind](doc))
                seconds = time.perf_counter() - start
                size_bytes = os.path.getsize(paths[kind])
                artifacts[kind] = {"seconds": round(seconds, 3), "bytes": size_bytes, "bytes_per_host": round(size_bytes / size, 1)}
        finally:
            shutil.rmtree(out)
        four = sum(a["seconds"] for a in artifacts.values())
        row = {"hosts": size, "probes": probes, "four_seconds": round(four, 3), "write_seconds": round(total, 3), "host_vars": len(paths.get("host_vars", []))}
        rows.append(dict(row, artifacts=artifacts))
    return rows


def report_linearity(rows):
    """Per artifact and probes yes/no: the largest size's bytes per host over the smallest's (1.0 is linear)."""
    ratios = {}
    for probes in (False, True):
        mine = sorted((r for r in rows if r["probes"] == probes), key=lambda r: r["hosts"])
        if len(mine) > 1:
            ratios["with_probes" if probes else "without_probes"] = {
                kind: round(mine[-1]["artifacts"][kind]["bytes_per_host"] / mine[0]["artifacts"][kind]["bytes_per_host"], 3) for kind in ARTIFACTS
            }
    return ratios


def print_reports(rows):
    kinds = "  ".join("%-32s" % (kind + ": s, bytes, bytes/host") for kind in ARTIFACTS)
    print("%8s %8s %8s %18s  %s" % ("hosts", "probes", "4 files", "write_report (vars)", kinds))
    for row in rows:
        cells = ["%6.2f %11d %9.1f    " % (a["seconds"], a["bytes"], a["bytes_per_host"]) for a in (row["artifacts"][k] for k in ARTIFACTS)]
        print(
            "%8d %8s %8.2f %11.2f (%5d)  %s"
            % (row["hosts"], "yes" if row["probes"] else "no", row["four_seconds"], row["write_seconds"], row["host_vars"], "  ".join(cells))
        )
    for probes, ratios in report_linearity(rows).items():
        print("bytes per host, largest / smallest fleet, %s: %s (1.0 is linear)" % (probes.replace("_", " "), ratios))


def main(sizes):
    """Prints the tables; exits 1 when a registered rule had no finding on any synthetic fleet (and is not in QUIET)."""
    print("%8s %8s %10s %10s %14s %10s %6s" % ("hosts", "probes", "seconds", "cpu s", "us per host", "findings", "rules"))
    rows = []
    for probes in (False, True):
        for row in time_rules(sizes, probes=probes):
            rows.append(row)
            cells = (row["hosts"], "yes" if probes else "no", row["seconds"], row["cpu_seconds"], row["us_per_host"], row["findings"], len(row["fired"]))
            print("%8d %8s %10.3f %10.3f %14.1f %10d %6d" % cells)
    print_rule_times(sizes)
    print_spread_growth(sizes)
    silent, loud, unknown, failed = unfired(rows)
    print("\nrules: %d registered, %d with findings on the synthetic fleets" % (len(rules.registry()), len(set().union(*(set(r["fired"]) for r in rows)))))
    for rule_id, why in sorted(QUIET.items()):
        print("intentionally quiet: %s (%s)" % (rule_id, why))
    print("\nreport writing, seconds (4 files: the artifacts' sum; write_report: with the host_vars files, their count)")
    print_reports(time_reports(sizes) + time_reports(sizes, probes=True))
    if silent or loud or unknown or failed:
        for ids, what in (
            (silent, "no finding on the synthetic fleets (give node() the fault, or list the rule in QUIET with why)"),
            (loud, "listed in QUIET but fired"),
            (unknown, "listed in QUIET but not registered"),
            (failed, "raised on a synthetic host (the engine's could-not-judge finding)"),
        ):
            if ids:
                print("FAIL: %s: %s" % (what, ", ".join(ids)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [1000, 5000, 10000]))
