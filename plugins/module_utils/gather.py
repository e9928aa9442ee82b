# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect every host-networking fact the rules need, in one pass.

This is the I/O shell around the pure parsers. It never imports
AnsibleModule: the module passes in a command runner, tests pass their own.
Nothing here writes anything. Every source that cannot be read becomes an
entry in ``problems`` with the reason, never an exception.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import glob
import ipaddress
import itertools
import os
import re
import socket
import threading
import time

from ansible_collections.kubeprep.hostnet.plugins.module_utils import (
    cniconf,
    dnsquery,
    hostsfile,
    iproute,
    ipv6ra,
    kmods,
    kubeletdns,
    libc,
    localports,
    nmconf,
    nmdetect,
    nsswitch,
    proxyenv,
    rancherconfig,
    resolvconf,
)
from ansible_collections.kubeprep.hostnet.plugins.module_utils.factbounds import (
    MAX_ADDRESSES_PER_NAME,
    _capped_addresses,
    bound_hosts_entries,
    clean_odd_text,
    escaped,
)
from ansible_collections.kubeprep.hostnet.plugins.module_utils.hostprocs import port_holders, tools_in_path
from ansible_collections.kubeprep.hostnet.plugins.module_utils.netfilter import netfilter_facts

SCHEMA_VERSION = 1
DEFAULT_SERVICE_IPS = ("10.96.0.1",)
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ENTRIES = 1000
SYSCTL_KEYS = (
    "net.ipv6.conf.all.disable_ipv6",
    "net.ipv6.conf.default.disable_ipv6",
    "net.ipv6.conf.lo.disable_ipv6",
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
)
_MANAGE_ETC_HOSTS = re.compile(r"^\s*manage_etc_hosts\s*:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)


def _errname(exc):
    code = getattr(exc, "errno", None)
    name = errno.errorcode.get(code, "") if code else ""
    text = getattr(exc, "strerror", None) or str(exc)
    return ("%s: %s" % (name, text)) if name else text


class Collector:
    """Reads one host (or an unpacked root) and records what could not be read."""

    def __init__(self, root="/", run_command=None, which=None):
        self.root = root or "/"
        self.live = os.path.realpath(self.root) == "/"
        self.run_command = run_command
        self.which = which or (lambda name: None)
        self.problems = []

    # -- helpers -----------------------------------------------------------------
    def path(self, relpath):
        return os.path.join(self.root, relpath.lstrip("/"))

    def problem(self, source, message):
        self.problems.append({"source": source, "message": message})

    def read_file(self, relpath, record=True):
        """Return {"path", "status", ...} and the text (or None)."""
        full = self.path(relpath)
        info = {"path": "/" + relpath.lstrip("/"), "status": "ok"}
        try:
            if os.path.islink(full):
                info["symlink_target"] = os.readlink(full)
            if os.path.exists(full) and not os.path.isfile(full):
                info["status"] = "not_a_file"
                info["error"] = "exists but is not a regular file"
            else:
                with open(full, "rb") as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    info["truncated_at_bytes"] = MAX_FILE_BYTES
                    data = data[:MAX_FILE_BYTES]
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    info["non_utf8_at_byte"] = exc.start
                    text = data.decode("utf-8", "replace")
                info["crlf"] = "\r\n" in text
                return info, text
        except (IOError, OSError) as exc:
            code = getattr(exc, "errno", None)
            info["status"] = "missing" if code == errno.ENOENT else "unreadable"
            info["error"] = _errname(exc)
        if record and info["status"] not in ("ok", "missing"):
            self.problem(info["path"], "%s: %s" % (info["status"], info.get("error")))
        return info, None

    def run_ip(self, *args):
        """Run ``ip -json ARGS``; return (stdout, error message)."""
        if self.run_command is None or not self.ip_path:
            return None, "the ip command (iproute2) is not installed"
        rc, out, err = self.run_command([self.ip_path, "-json"] + list(args))
        if rc != 0:
            return None, (err or out or "exit code %d" % rc).strip()
        return out, None

    # -- fact groups -----------------------------------------------------------------
    def hosts_file(self):
        info, text = self.read_file("/etc/hosts")
        if text is not None:
            parsed = hostsfile.parse_hosts(text, limit=MAX_ENTRIES)
            info["entries_total"] = parsed["entries_total"]
            info["entries"] = parsed["entries"]
            info["invalid_lines"] = parsed["invalid"]
            info["names"] = dict(itertools.islice(parsed["names"].items(), MAX_ENTRIES))
            # Always keep the names the rules look at, even past the cap.
            for name in ("localhost", "localhost.localdomain", "ip6-localhost"):
                if name in parsed["names"]:
                    info["names"][name] = parsed["names"][name]
            truncated = {}
            for name, addresses in info["names"].items():
                if len(addresses) > MAX_ADDRESSES_PER_NAME:
                    info["names"][name] = _capped_addresses(addresses)
                    truncated[name] = len(addresses)
            if truncated:
                info["names_truncated"] = truncated
        return info

    def nsswitch(self, libc_info):
        info, text = self.read_file("/etc/nsswitch.conf")
        info["hosts_sources"] = None
        info["hosts_line"] = None
        if text is not None:
            entry = nsswitch.parse_nsswitch(text)["databases"].get("hosts")
            if entry:
                info["hosts_sources"] = nsswitch.source_names(entry)
                info["hosts_line"] = entry["line"]
                info["hosts_raw"] = entry["raw"]
                info["hosts_lines"] = entry["lines"]  # every hosts: line; the last is glibc's
                # Go's resolver reads every hosts: line, in order.
                info["go_hosts_sources"] = nsswitch.source_names({"sources": entry["all_sources"]})
        sources, dns_first = nsswitch.default_hosts_sources(libc_info["family"], libc_info["version"])
        info["libc_default_sources"] = sources
        if info["hosts_sources"] is not None:
            info["effective_sources"] = info["hosts_sources"]
            info["effective_from"] = "file"
        else:
            info["effective_sources"] = sources
            info["effective_from"] = "libc default" if sources else "unknown"
        effective = info["effective_sources"]
        info["dns_before_files"] = nsswitch.dns_before_files(effective) if effective else dns_first
        go_sources = info.get("go_hosts_sources")
        info["go_dns_before_files"] = nsswitch.dns_before_files(go_sources) if go_sources else None
        if info["go_dns_before_files"]:
            info["dns_before_files"] = True  # Kubernetes' own components are Go programs
        return info

    def resolv_conf(self, libc_family):
        info, text = self.read_file("/etc/resolv.conf")
        if text is None:
            return info
        conf = resolvconf.parse_resolv_conf(text)
        info.update(conf)
        worst = {model: resolvconf.worst_case_seconds(conf, model) for model in ("glibc", "musl", "go")}
        info["worst_case_lookup_s"] = worst
        info["worst_case_model"] = libc_family if libc_family in worst else "glibc"
        target = info.get("symlink_target") or ""
        owner = conf["generated_by"]
        if "systemd/resolve" in target:
            owner = "systemd-resolved"
        elif "NetworkManager" in target:
            owner = "NetworkManager"
        elif "resolvconf" in target:
            owner = "resolvconf"
        info["managed_by"] = owner
        return info

    def sysctls(self):
        values = {}
        for key in SYSCTL_KEYS:
            relpath = "/proc/sys/" + key.replace(".", "/")
            try:
                with open(relpath) as handle:
                    values[key] = {"status": "ok", "value": handle.read().strip()}
            except (IOError, OSError) as exc:
                if getattr(exc, "errno", None) == errno.ENOENT:
                    values[key] = {"status": "absent", "value": None}
                else:
                    values[key] = {"status": "unreadable", "value": None, "error": _errname(exc)}
                    self.problem(relpath, _errname(exc))
        return values

    def interfaces(self):
        out, error = self.run_ip("addr", "show")
        if error is None:
            try:
                found = iproute.parse_ip_addr(out)
                for iface in found:
                    iface["rp_filter"] = self._rp_filter(iface.get("name"))
                    name = iface.get("name") or ""
                    if any(ord(c) < 32 or ord(c) == 127 for c in name) or "\ufffd" in name:
                        self.problem(
                            "interfaces",
                            "interface name %s has a control character or a byte that is not UTF-8; its facts are kept" % escaped(name),
                        )
                return {"status": "ok", "source": "ip", "list": found}
            except ValueError as exc:
                error = "unexpected output of ip -json addr: %s" % exc
        self.problem("interfaces", error)
        return {"status": "unavailable", "error": error, "list": []}

    @staticmethod
    def _rp_filter(name):
        if not name or "/" in name or name in (".", ".."):
            return None
        try:
            with open("/proc/sys/net/ipv4/conf/%s/rp_filter" % name) as handle:
                return int(handle.read().strip())
        except (IOError, OSError, ValueError):
            return None

    def routes(self):
        result = {"status": "ok"}
        for family in (4, 6):
            key = "ipv%d" % family
            out, error = self.run_ip("-%d" % family, "route", "show", "table", "main")
            routes = None
            if error is None:
                try:
                    routes = iproute.parse_ip_route(out, family)
                except ValueError as exc:
                    error = "unexpected output of ip -json route: %s" % exc
            if routes is None and family == 4:
                routes = self._proc_routes(error)
                if routes is not None:
                    result["source"] = "/proc/net/route"
            if routes is None:
                result["status"] = "partial"
                result[key + "_error"] = error
                routes = []
            result[key] = routes
            result["default_" + key] = iproute.default_routes(routes)
        # Policy-routing tables (not main, not local) can capture the Service or Pod networks too.
        out, error = self.run_ip("-4", "route", "show", "table", "all")
        others = []
        if error is None:
            try:
                others = [r for r in iproute.parse_ip_route(out, 4) if r.get("table") not in (None, "main", "local")]
            except ValueError as exc:
                error = "unexpected output of ip -json route show table all: %s" % exc
        if error is not None:
            result["status"] = "partial"
            result["other_tables_ipv4_error"] = error
        result["other_tables_ipv4"] = others
        return result

    def _proc_routes(self, ip_error):
        try:
            with open("/proc/net/route") as handle:
                return iproute.parse_proc_net_route(handle.read())
        except (IOError, OSError) as exc:
            self.problem("routes", "%s; /proc/net/route: %s" % (ip_error, _errname(exc)))
            return None

    def route_lookup(self, address):
        """The kernel's answer for a packet to ``address``, as a client sees it."""
        result = {"address": address}
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        except ValueError:
            result.update(reachable=None, error="not an IP address")
            return result
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.connect((address, 443))
            result["reachable"] = True
            result["source"] = sock.getsockname()[0]
        except (IOError, OSError) as exc:
            result["reachable"] = False
            result["error"] = _errname(exc)
        finally:
            sock.close()
        out, error = self.run_ip("route", "get", address)
        if error is None:
            try:
                result.update(iproute.parse_ip_route_get(out))
            except ValueError:
                pass
        else:
            result["ip_route_get"] = error
        return result

    def cloud_init(self):
        found = []
        paths = ["/etc/cloud/cloud.cfg"] + sorted("/" + os.path.relpath(p, self.root) for p in glob.glob(self.path("/etc/cloud/cloud.cfg.d/*.cfg")))
        paths.append("/var/lib/cloud/instance/cloud-config.txt")
        value = None
        present = False
        for relpath in paths:
            info, text = self.read_file(relpath, record=False)
            if text is None:
                continue
            present = True
            for match in _MANAGE_ETC_HOSTS.finditer(text):
                value = match.group(1)
                found.append({"path": relpath, "value": value})
        templates = sorted("/" + os.path.relpath(p, self.root) for p in glob.glob(self.path("/etc/cloud/templates/hosts.*.tmpl")))
        manages = value is not None and value.lower() in ("true", "yes", "template", "localhost", "1")
        return {"present": present, "manage_etc_hosts": value, "manages_hosts": manages, "settings": found, "templates": templates}

    def go_binaries(self, patterns=None):
        """Go programs under the root and the Go version each was built with (what decides
        their resolver order when nsswitch.conf is missing)."""
        # Imported only when a scan runs (nsswitch.conf without a hosts: line, or asked): a module sent
        # as a zip compiles every module_utils file it imports on each run.
        from ansible_collections.kubeprep.hostnet.plugins.module_utils import gobuild

        found, seen, scanned = [], set(), 0
        for pattern in patterns or gobuild.DEFAULT_PATTERNS:
            for full in sorted(glob.glob(self.path(pattern))):
                real = os.path.realpath(full)
                if real in seen or not os.path.isfile(real) or not os.access(real, os.X_OK):
                    continue
                seen.add(real)
                scanned += 1
                if scanned > gobuild.MAX_BINARIES * 4:
                    return {"status": "partial", "scanned": scanned - 1, "list": found, "error": "stopped after %d files" % (scanned - 1)}
                info = gobuild.inspect(real)
                if info is not None:
                    info["path"] = "/" + os.path.relpath(full, self.root)
                    found.append(info)
                    if len(found) >= gobuild.MAX_BINARIES:
                        return {"status": "partial", "scanned": scanned, "list": found, "error": "more than %d Go binaries" % gobuild.MAX_BINARIES}
        return {"status": "ok", "scanned": scanned, "list": found}

    def network_managers(self):
        checks = (
            ("NetworkManager", ("/etc/NetworkManager/system-connections/*", "/run/NetworkManager")),
            ("netplan", ("/etc/netplan/*.yaml", "/etc/netplan/*.yml")),
            ("systemd-networkd", ("/etc/systemd/network/*.network", "/run/systemd/netif/links")),
            ("ifupdown", ("/etc/network/interfaces",)),
            ("network-scripts", ("/etc/sysconfig/network-scripts/ifcfg-*",)),
        )
        found = []
        for name, patterns in checks:
            evidence = []
            for pattern in patterns:
                evidence.extend("/" + os.path.relpath(p, self.root) for p in glob.glob(self.path(pattern)))
            if evidence:
                found.append({"name": name, "evidence": sorted(evidence)[:10]})
        return found

    def networkmanager(self):
        """Whether NetworkManager runs, and which devices its configuration leaves alone."""
        # The host's own NetworkManager only: one in a container (another namespace) does not manage the host.
        running = nmdetect.running() if self.live else None
        files = nmconf.config_files(self.root)
        texts = []
        for path in files:
            _info, text = self.read_file(path, record=False)
            if text is not None:
                texts.append((path, text))
        result = {"running": running, "config_files": files}
        result.update(nmconf.parse(texts))
        return result

    def container_network(self):
        """flannel's /run/flannel/subnet.env and where docker's bridge address comes from."""
        result = {}
        info, text = self.read_file("/run/flannel/subnet.env", record=False)
        if text is not None:
            info["values"] = cniconf.parse_env_file(text)
        result["flannel_subnet_env"] = info
        info, text = self.read_file("/etc/docker/daemon.json", record=False)
        if text is not None:
            try:
                info.update(cniconf.docker_daemon_json(text))
            except ValueError as exc:
                info["status"] = "invalid"
                info["error"] = str(exc)
                self.problem("/etc/docker/daemon.json", "not valid JSON: %s" % exc)
        result["docker_daemon_json"] = info
        for path in ("/etc/default/docker", "/etc/sysconfig/docker"):
            info, text = self.read_file(path, record=False)
            if text is not None:
                values = cniconf.parse_env_file(text)
                options = " ".join(v for k, v in values.items() if k in ("DOCKER_OPTS", "OPTIONS", "DOCKER_NETWORK_OPTIONS"))
                info.update(cniconf.docker_flags(options))
                result["docker_options"] = info
                break
        return result

    def node_pinning(self):
        """kubelet's --node-ip and host-run flanneld's -iface, where they are pinned (F4)."""
        result = {"kubelet_node_ip": None, "kubelet_file": None, "flannel_iface": None}
        for path in ("/etc/default/kubelet", "/etc/sysconfig/kubelet"):
            _info, text = self.read_file(path, record=False)
            if text is not None:
                flags = cniconf.flag_values(cniconf.parse_env_file(text).get("KUBELET_EXTRA_ARGS", ""))
                result.update(kubelet_file=path, kubelet_node_ip=flags.get("node-ip"))
                break
        _info, text = self.read_file("/etc/sysconfig/flanneld", record=False)
        if text is not None:
            result["flannel_iface"] = cniconf.flag_values(cniconf.parse_env_file(text).get("FLANNEL_OPTIONS", "")).get("iface")
        return result

    def identity(self, hosts_info):
        hostname_info, hostname_text = self.read_file("/etc/hostname", record=False)
        hostname = socket.gethostname() if self.live else (hostname_text or "").strip() or None
        fqdn = None
        short = (hostname or "").split(".")[0].lower()
        for entry in hosts_info.get("entries") or []:
            lowered = [n.lower() for n in entry["names"]]
            if short and (short in lowered or (hostname or "").lower() in lowered):
                fqdn = next((n for n in entry["names"] if "." in n), None)
                break
        if fqdn is None and hostname and "." in hostname:
            fqdn = hostname
        machine_info, machine_text = self.read_file("/etc/machine-id", record=False)
        etc_hostname = None
        for line in (hostname_text or "").splitlines():
            if line.strip() and not line.strip().startswith("#"):
                etc_hostname = line.strip()
                break
        ident = {
            "hostname": hostname,
            "etc_hostname": etc_hostname,
            "etc_hostname_status": hostname_info["status"],
            "fqdn": fqdn,
            "machine_id": (machine_text or "").strip() or None,
            "machine_id_status": machine_info["status"],
        }
        if self.live:
            uuid_info, uuid_text = self.read_file("/sys/class/dmi/id/product_uuid", record=False)
            ident["product_uuid"] = (uuid_text or "").strip() or None
            ident["product_uuid_status"] = uuid_info["status"]
        return ident


class _Probe(threading.Thread):
    """getaddrinfo in a daemon thread, so a 30 s lookup cannot stall the module."""

    def __init__(self, name):
        threading.Thread.__init__(self, name="resolve-%s" % name)
        self.daemon = True
        self.target_name = name
        self.result = None

    def run(self):
        start = time.monotonic()
        try:
            infos = socket.getaddrinfo(self.target_name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
            addresses = []
            for family, _type, _proto, _canon, sockaddr in infos:
                entry = {"family": 6 if family == socket.AF_INET6 else 4, "address": sockaddr[0]}
                if entry not in addresses:
                    addresses.append(entry)
            self.result = {"status": "ok", "addresses": addresses}
        except socket.gaierror as exc:
            self.result = {"status": "error", "addresses": [], "error": "%s (EAI %s)" % (exc.strerror, exc.errno)}
        except (IOError, OSError) as exc:
            self.result = {"status": "error", "addresses": [], "error": _errname(exc)}
        self.result["duration_ms"] = round((time.monotonic() - start) * 1000, 1)


def connect_probe(address, family, port=6443):
    """What a TCP client's connect would hit first: the route/source lookup.

    A UDP connect performs the same route and source-address selection as a
    TCP connect, without sending a packet or needing a listener.
    """
    sock = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect((address, port))
        return {"usable": True}
    except (IOError, OSError) as exc:
        return {"usable": False, "error": _errname(exc)}
    finally:
        sock.close()


def first_service_ip(text):
    """'10.96.0.0/12' -> '10.96.0.1'; '10.96.0.10' stays; invalid -> None."""
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            return str(network.network_address + 1)
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def search_domain_lookups(resolv, timeout):
    """What DNS answers for localhost.<domain> and for a random label under each search domain (a wildcard answers both)."""
    domains = [d.rstrip(".") for d in resolv.get("search") or [] if d.strip(".")][:6]
    servers = [n["address"] for n in resolv.get("nameservers") or []]
    if not domains or timeout <= 0:
        return {"status": "not_checked", "reason": "no search domains" if not domains else "search_timeout is 0", "results": []}
    server = servers[0] if servers else "127.0.0.1"  # glibc's default
    label = "kubeprep-%s" % binascii.hexlify(os.urandom(5)).decode()
    names = []
    for domain in domains:
        names += ["localhost.%s" % domain, "%s.%s" % (label, domain)]
    try:
        results = dnsquery.query_all(names, server, timeout)
    except ValueError as exc:
        return {"status": "error", "error": str(exc), "results": []}
    out = []
    for index, domain in enumerate(domains):
        local, random_name = results[2 * index], results[2 * index + 1]
        out.append(dict(local, domain=domain, wildcard=bool(random_name.get("addresses")), random_name=random_name["name"]))
    return {"status": "ok", "server": server, "timeout_s": timeout, "results": out}


def gather(
    root="/",
    service_ips=DEFAULT_SERVICE_IPS,
    resolver_timeout=2.0,
    run_command=None,
    which=None,
    endpoints=(),
    rtt_options=None,
    go_binaries="auto",
    go_patterns=None,
    search_timeout=1.0,
    kubelet_resolv_conf=None,
):
    """Gather everything; returns the dict published as ansible_facts['hostnet']."""
    started = time.monotonic()
    collector = Collector(root=root, run_command=run_command, which=which)
    probe = None
    if collector.live:
        probe = _Probe("localhost")
        probe.start()
    collector.ip_path = collector.which("ip") if collector.live else None

    facts = {"schema_version": SCHEMA_VERSION, "root": collector.root, "live": collector.live}
    if not os.path.isdir(collector.root):
        facts["problems"] = [{"source": "root", "message": "%s is not a directory" % collector.root}]
        return facts

    libc_info = libc.detect_libc(collector.root, live=collector.live)
    hosts_info = collector.hosts_file()
    facts.update(
        hosts_file=hosts_info,
        libc=libc_info,
        nsswitch=collector.nsswitch(libc_info),
        resolv_conf=collector.resolv_conf(libc_info["family"]),
        cloud_init=collector.cloud_init(),
        container_network=collector.container_network(),
        node_pinning=collector.node_pinning(),
        network_managers=collector.network_managers(),
        networkmanager=collector.networkmanager(),
        identity=collector.identity(hosts_info),
    )
    rancher = rancherconfig.gather(collector)  # None: neither k3s's nor rke2's config exists
    if rancher is not None:
        facts["rancher_config"] = rancher
    resolved = kubeletdns.resolved_running() if collector.live else None
    facts["kubelet_resolv_conf"] = kubeletdns.choose(collector, kubelet_resolv_conf, resolved, rancher)
    facts["proxy_env"] = proxyenv.gather(collector.root)
    collector.problems.extend(facts["proxy_env"].pop("problems"))
    hostname = facts["identity"].get("hostname") or ""
    bound_hosts_entries(hosts_info, keep=(hostname, hostname.split(".")[0], facts["identity"].get("fqdn")))
    # Go binaries decide their own resolver order only when nsswitch.conf gives none: look then (or when asked).
    if go_binaries == "always" or (go_binaries == "auto" and facts["nsswitch"]["hosts_sources"] is None and facts["nsswitch"]["status"] in ("ok", "missing")):
        facts["go_binaries"] = collector.go_binaries(go_patterns)
    else:
        facts["go_binaries"] = {
            "status": "not_scanned",
            "reason": "nsswitch.conf has a hosts: line" if go_binaries == "auto" else "go_binaries=never",
            "list": [],
        }
    if collector.live:
        facts["tools"] = dict(tools_in_path(), ip=collector.ip_path)
        if not collector.ip_path:
            collector.problem("ip", "the ip command (iproute2) is not installed; interfaces unknown, IPv4 routes read from /proc")
        facts["sysctl"] = collector.sysctls()
        facts["port_holders"] = port_holders()
        facts["kernel_modules"] = kmods.kernel_modules()
        for error in facts["kernel_modules"].get("errors", ()):
            collector.problem("kernel_modules", error)
        if facts["port_holders"]["status"] != "ok":
            collector.problem("port_holders", facts["port_holders"]["error"])
        facts["interfaces"] = collector.interfaces()
        facts["netfilter"] = netfilter_facts(collector.run_command, collector.which, collector.problem)
        facts["routes"] = collector.routes()
        facts["ipv6"], ipv6_problems = ipv6ra.gather(facts["routes"], facts["interfaces"])
        for source, message in ipv6_problems:
            collector.problem(source, message)
        facts["local_ports"], port_problems = localports.gather()
        for source, message in port_problems:
            collector.problem(source, message)
        lookups = []
        for item in service_ips:
            address = first_service_ip(item)
            if address is None:
                lookups.append({"address": item, "reachable": None, "error": "not an IP address or CIDR"})
            else:
                lookups.append(collector.route_lookup(address))
        facts["service_route_lookups"] = lookups
        facts["search_domains"] = search_domain_lookups(facts.get("resolv_conf") or {}, search_timeout)
        if endpoints:
            # Imported only when asked: ssl and http.client cost ~25 ms per run of a module sent as a zip.
            from ansible_collections.kubeprep.hostnet.plugins.module_utils import rtt

            opts = dict({"samples": 5, "timeout": 2.0, "budget": 20.0}, **(rtt_options or {}))
            facts["datastore_rtt"] = rtt.measure_all(endpoints, opts["samples"], opts["timeout"], opts["budget"])
        probe.join(resolver_timeout)
        if probe.result is None:
            resolution = {
                "status": "timeout",
                "addresses": [],
                "duration_ms": round(resolver_timeout * 1000, 1),
                "error": "getaddrinfo('localhost') did not return within %.1f s" % resolver_timeout,
            }
        else:
            resolution = probe.result
            for entry in resolution["addresses"]:
                entry.update(connect_probe(entry["address"], entry["family"]))
        facts["localhost_resolution"] = resolution
    else:
        na = {"status": "not_applicable", "reason": "root is %s, not the running system" % collector.root}
        for key in (
            "sysctl",
            "port_holders",
            "kernel_modules",
            "interfaces",
            "routes",
            "ipv6",
            "service_route_lookups",
            "localhost_resolution",
            "search_domains",
            "netfilter",
            "local_ports",
        ):
            facts[key] = dict(na)
    facts["problems"] = collector.problems
    odd = []
    clean_odd_text(facts, "", odd)
    for path, shown in odd:
        collector.problem(path, "not valid UTF-8: %s (each odd byte is U+FFFD in the facts; every other fact is kept)" % shown)
    facts["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    if collector.live:
        # The host's clock as the module ends; the action plugin on the controller brackets it with its own.
        facts["clock"] = {"host_epoch": round(time.time(), 3)}
    return facts
