# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule proxy-not-excluded, and NO_PROXY judged the way Go's golang.org/x/net/http/httpproxy judges it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import ipaddress
import re
import socket
import struct

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: error.

An HTTP(S) proxy is set for kubelet or a container runtime (containerd, CRI-O, docker: their systemd unit
and drop-ins, `Environment=` lines and the files `EnvironmentFile=` names, such as `/etc/environment`,
`/etc/default/*` and `/etc/sysconfig/*`) or in root's login environment (`/etc/environment`, `/etc/profile`,
`/etc/profile.d/*.sh`, `/root/.profile`, `/root/.bashrc`: simple `export X=value` and `X=value` lines only,
no conditionals or sourcing), and its NO_PROXY does not exclude what the cluster reaches directly: the Service
CIDRs (`hostnet_service_ips`), the Pod CIDR (`hostnet_pod_cidr`), every node's address (the one the audit
checks: kubelet's pinned `--node-ip`, else the recommended interface's address, else the default route's) and
the control-plane endpoint (`hostnet_control_plane_endpoint`, `host` or `host:port`, port 6443 when not
given). Also: a proxy set for kubelet and not for an installed runtime, or the other way round.

NO_PROXY is judged as Go's `http.ProxyFromEnvironment` (golang.org/x/net/http/httpproxy) judges it, since
kubelet, containerd, CRI-O, docker, kubeadm and kubectl are Go programs:
- the upper-case variable wins when it is set and not empty (`HTTPS_PROXY` over `https_proxy`, `NO_PROXY`
  over `no_proxy`); a lower-case one it hides is named;
- `https://` requests use `HTTPS_PROXY`, `http://` ones `HTTP_PROXY`; with `REQUEST_METHOD` set (a CGI
  environment) Go refuses every `http://` request while `HTTP_PROXY` is set, even to a NO_PROXY host;
- entries are comma-separated, trimmed and lower-cased; `*` excludes everything; `a.b.c.d/n` (and IPv6) is a
  CIDR and matches IP addresses only; an IP address matches itself, with `:port` only that port; a name
  matches itself and its subdomains, `.name` and `*.name` its subdomains only, never an IP address;
- `localhost` and loopback addresses are never proxied (so they never fire; the NO_PROXY line the finding
  gives still lists them, for clients that are not Go).

A Service or Pod CIDR counts as excluded only when one NO_PROXY entry covers the whole CIDR (two halves do
not count; a `10.96.0.1` entry covers the address, not the CIDR); a node address only by an entry without a
port. A proxy whose URL Go cannot parse is still counted. Not judged: values set by other means (a
`systemctl set-environment`, a wrapper script, `DefaultEnvironment=` in system.conf) and NO_PROXY entries past
the first 16,384 characters (said in the evidence).

## Why it breaks Kubernetes
Every request the NO_PROXY does not exclude goes to the proxy: kubelet's and kube-proxy's calls to
`https://10.96.0.1` (the `kubernetes` Service), to the API server on a node or the control-plane endpoint,
kubeadm's `[WARNING HTTPProxyCIDR]: connection to "10.96.0.0/12" uses proxy` and `[WARNING HTTPProxy]`, and
webhooks and probes to Pod addresses. The proxy cannot reach cluster addresses, so they fail with `Proxy
Error`, `Service Unavailable` or a timeout, and nodes never join (kubeadm#2336, #687, #661,
kubernetes#61629, #103489). A runtime without the proxy kubelet has (or the reverse) pulls images directly and
fails with `ImagePullBackOff` where only the proxy reaches the registry.

## Evidence
The environment (the unit, or root's login), the proxy variable in use with the file and line it comes from
(a password in its URL shown as `REDACTED`), the NO_PROXY in use (file and line) or that there is none, a
lower-case variable the upper-case one hides, and each address or CIDR not excluded with what it is (at most
32 node addresses, then how many more).

## Fix
Manual (a proxy is the site's choice): set NO_PROXY where the finding says (the file and line of the
NO_PROXY in use, else beside the proxy variable) to the exact line the finding gives: `localhost`,
`127.0.0.1`, the Service and Pod CIDRs, every node address (in a fleet of more than 32 nodes, the nodes'
subnets instead) and the control-plane endpoint, then the entries it had. Then `systemctl daemon-reload` and
restart the unit (root's login: log in again). For a proxy set on one side only, give kubelet and every
runtime the same proxy and NO_PROXY lines.
"""

RULE = "proxy-not-excluded"
SOURCES = ("kubelet", "containerd", "crio", "docker")
RUNTIMES = ("containerd", "crio", "docker")
DEFAULT_API_PORT = "6443"
LISTED_NODES = 32  # node addresses a finding names, and listed in its NO_PROXY line (more: the nodes' subnets)
_LABEL = {"kubelet": "kubelet", "containerd": "containerd", "crio": "CRI-O", "docker": "docker", "login": "root's login environment"}
_PORT = re.compile(r"^[0-9]{0,5}$")
_IPV4 = struct.Struct("!I")


# -- Go's httpproxy, in Python ------------------------------------------------------------------


def _go_ip(text):
    """net.ParseIP: a dotted quad or an IPv6 address, no zone; None when not one."""
    if not text or "%" in text:
        return None
    if ":" not in text:  # glibc's inet_pton takes exactly Go's dotted quads (no leading zeros), 10x faster than ipaddress
        try:
            return ipaddress.IPv4Address(_IPV4.unpack(socket.inet_pton(socket.AF_INET, text))[0])
        except (OSError, TypeError, ValueError):
            return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _go_cidr(text):
    """net.ParseCIDR: address/decimal prefix; the network (host bits cleared), or None."""
    address, sep, length = text.partition("/")
    if not sep or not length.isdigit() or len(length) > 3:
        return None
    ip = _go_ip(address)
    if ip is None or int(length) > ip.max_prefixlen:
        return None
    return ipaddress.ip_network("%s/%s" % (ip, int(length)), strict=False)


def split_host_port(text):
    """net.SplitHostPort: (host, port) or None on the errors Go returns (missing port, too many colons)."""
    colon = text.rfind(":")
    if colon < 0:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or end + 1 != colon:
            return None
        host = text[1:end]
    else:
        host = text[:colon]
        if ":" in host:
            return None
    if "[" in host or "]" in host or "[" in text[colon:] or "]" in text[colon:]:
        return None
    return host, text[colon + 1 :]


class NoProxy:
    """A NO_PROXY value parsed as httpproxy's config.init() parses it."""

    __slots__ = ("everything", "cidrs", "ips", "domains", "entries")

    def __init__(self, value):
        self.everything = False
        self.cidrs, self.ips, self.domains, self.entries = [], [], [], []
        for raw in (value or "").split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            self.entries.append(raw.strip())
            if entry == "*":
                self.everything = True
                return
            network = _go_cidr(entry)
            if network is not None:
                self.cidrs.append((network, entry))
                continue
            split = split_host_port(entry)
            if split is not None:
                host, port = split
                if not host:
                    continue
            else:
                host, port = entry, ""
            ip = _go_ip(host)
            if ip is not None:
                self.ips.append((ip, port, entry))
                continue
            if host.startswith("*."):
                host = host[1:]
            match_host = not host.startswith(".")
            self.domains.append(("." + host if match_host else host, port, match_host, entry))

    def excludes_ip(self, ip, port=None):
        """The entry that keeps a request to ``ip`` (any port when ``port`` is None) off the proxy, or None."""
        if self.everything:
            return "*"
        if ip.is_loopback:
            return "(loopback: never proxied)"
        for network, entry in self.cidrs:
            if ip.version == network.version and ip in network:
                return entry
        for address, entry_port, entry in self.ips:
            if address == ip and (entry_port == "" or (port is not None and entry_port == port)):
                return entry
        return None

    def excludes_network(self, network):
        """The one entry that covers every address of ``network`` on every port, or None."""
        if self.everything:
            return "*"
        for entry_net, entry in self.cidrs:
            if entry_net.version == network.version and network.subnet_of(entry_net):
                return entry
        if network.num_addresses == 1:
            return self.excludes_ip(network.network_address)
        return None

    def excludes_name(self, name, port):
        if self.everything:
            return "*"
        name = name.strip().lower()
        if name == "localhost":
            return "(localhost: never proxied)"
        for suffix, entry_port, match_host, entry in self.domains:
            if name.endswith(suffix) or (match_host and name == suffix[1:]):
                if entry_port == "" or entry_port == port:
                    return entry
        return None


def effective(env, upper, lower):
    """getEnvAny(UPPER, lower): (name, entry) of the first set and not empty, and the one it hides (or None)."""
    first, second = env.get(upper), env.get(lower)
    if first and first.get("value"):
        hidden = (lower, second) if second and second.get("value") and second.get("value") != first.get("value") else None
        return (upper, first), hidden
    if second and second.get("value"):
        return (lower, second), None
    return None, None


def parse_endpoint(text):
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port); None when it is none of them."""
    text = (text or "").strip()
    if not text:
        return None
    if _go_ip(text) is not None:
        return text, DEFAULT_API_PORT
    split = split_host_port(text)
    host, port = split if split else (text, DEFAULT_API_PORT)
    if not host or not port or not _PORT.match(port) or not 0 < int(port) < 65536 or re.search(r"[\s,/@]", host):
        return None
    return host, port


# -- what the cluster reaches directly --------------------------------------------------------------


def _prefixlen(facts, ip):
    """The prefix length of the interface address ``ip`` (text) on this host (None when none is found)."""
    interfaces = facts.get("interfaces") if isinstance(facts.get("interfaces"), dict) else {}
    for iface in interfaces.get("list") or []:
        for addr in iface.get("addresses") or []:
            if addr.get("address") == ip and addr.get("prefixlen") is not None:
                return addr["prefixlen"]
    return None


def _subnet_key(ip, prefixlen):
    """(version, network as int, prefix length) of ``ip`` with ``prefixlen`` (its /32 or /128 when that is None
    or not a prefix length of its family)."""
    bits = ip.max_prefixlen
    length = prefixlen if isinstance(prefixlen, int) and not isinstance(prefixlen, bool) and 0 <= prefixlen <= bits else bits
    return ip.version, int(ip) >> (bits - length) << (bits - length), length


def node_addresses(facts_by_host, ctx):
    """[(address, host, prefix length or None)] the audit checks for each node: kubelet's pinned --node-ip, else the
    recommended interface's address, else the default route interface's first address."""
    out, seen = [], set()
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        address = nodeip.pinned_address(facts) or ((ctx.recommendations.get(host) or {}).get("address"))
        if not address:
            defaults = nodeip.default_addresses(facts)
            address = defaults[0][1] if defaults else None
        ip = _go_ip(str(address or ""))
        if ip is not None and (ip, host) not in seen:
            seen.add((ip, host))
            out.append((ip, host, _prefixlen(facts, str(ip))))
    return out


class Nodes:
    """The node addresses sorted per family, so that one NO_PROXY value is judged against all of them in
    O(entries x log nodes): each CIDR or address entry covers a run of the sorted addresses."""

    def __init__(self, nodes):
        self.count = len(nodes)
        self.items = {4: [], 6: []}
        for ip, host, _prefixlen in nodes:
            self.items[ip.version].append((int(ip), str(ip), host))
        for items in self.items.values():
            items.sort()
        self.keys = {version: [item[0] for item in items] for version, items in self.items.items()}

    def _runs(self, rules, version):
        keys = self.keys[version]
        loopback = ipaddress.ip_network("127.0.0.0/8" if version == 4 else "::1/128")  # never proxied
        networks = [loopback] + [n for n, _entry in rules.cidrs if n.version == version]
        networks += [ipaddress.ip_network(ip) for ip, port, _entry in rules.ips if ip.version == version and port == ""]
        runs = []
        for network in networks:
            low = bisect.bisect_left(keys, int(network.network_address))
            high = bisect.bisect_right(keys, int(network.broadcast_address))
            if low < high:
                runs.append((low, high))
        return sorted(runs)

    def uncovered(self, rules, limit):
        """(how many node addresses ``rules`` leaves to the proxy, the first ``limit`` of them as (address, host))."""
        if rules.everything:
            return 0, []
        total, listed = 0, []
        for version in (4, 6):
            items = self.items[version]
            position = 0
            for low, high in self._runs(rules, version) + [(len(items), len(items))]:
                if low > position:
                    total += low - position
                    listed.extend((items[i][1], items[i][2]) for i in range(position, min(low, position + limit - len(listed))))
                position = max(position, high)
        return total, listed


class Targets:
    """Everything NO_PROXY must exclude, computed once for the fleet, and each NO_PROXY value judged once."""

    def __init__(self, facts_by_host, ctx):
        self.networks = [(n, "Service CIDR") for n in ctx.service_networks] + [(n, "Pod CIDR") for n in ctx.pod_networks]
        self._facts, self._ctx, self._nodes = facts_by_host, ctx, None
        self.endpoint_text = (ctx.get("control_plane_endpoint") or "").strip()
        self.endpoint = parse_endpoint(self.endpoint_text)
        self._judged = {}
        self._lines = {}
        self._node_part = None

    @property
    def nodes(self):
        """Every node's address, computed when a host has a proxy (most fleets have none)."""
        if self._nodes is None:
            found = node_addresses(self._facts, self._ctx)
            self._nodes = (found, Nodes(found))
        return self._nodes

    def uncovered(self, value):
        """([(what, description)] the NO_PROXY ``value`` leaves to the proxy, with at most LISTED_NODES node
        addresses, and how many more node addresses it leaves), judged once per value."""
        if value in self._judged:
            return self._judged[value]
        rules = NoProxy(value)
        out = []
        for network, label in self.networks:
            if rules.excludes_network(network) is None:
                out.append((str(network), label))
        total, listed = self.nodes[1].uncovered(rules, LISTED_NODES)
        out += [(address, "node %s's address" % host) for address, host in listed]
        if self.endpoint is not None:
            host, port = self.endpoint
            ip = _go_ip(host.strip("[]"))
            covered = rules.excludes_ip(ip, port) if ip is not None else rules.excludes_name(host, port)
            if covered is None:
                out.append((self.endpoint_text, "the control-plane endpoint (port %s)" % port))
        self._judged[value] = (out, total - len(listed))
        return self._judged[value]

    def node_part(self):
        """The nodes in the NO_PROXY line (once for the fleet): their addresses, or past LISTED_NODES nodes their
        subnets, adjacent ones merged."""
        if self._node_part is None:
            nodes = self.nodes[0]
            if len(nodes) <= LISTED_NODES:
                self._node_part = [str(ip) for ip in sorted({ip for ip, _host, _prefixlen in nodes})]
            else:
                keys = {_subnet_key(ip, prefixlen) for ip, _host, prefixlen in nodes}  # most nodes share a few subnets
                subnets = {(ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)((value, length)) for version, value, length in keys}
                merged = []
                for version in (4, 6):
                    merged += ipaddress.collapse_addresses(sorted(n for n in subnets if n.version == version))
                self._node_part = [str(n) for n in merged]
        return self._node_part

    def line(self, value):
        """The NO_PROXY value that excludes everything: localhost, 127.0.0.1, the CIDRs, every node address in
        address order (more than LISTED_NODES nodes: their subnets), the control-plane endpoint's host, then the
        entries ``value`` had (duplicates dropped). Built once per value."""
        if value in self._lines:
            return self._lines[value]
        wanted = ["localhost", "127.0.0.1"] + [str(n) for n, _label in self.networks] + self.node_part()
        if self.endpoint is not None:
            wanted.append(self.endpoint[0])
        for entry in (value or "").split(","):
            if entry.strip():
                wanted.append(entry.strip())
        seen, out = set(), []
        for entry in wanted:
            if entry.lower() not in seen:
                seen.add(entry.lower())
                out.append(entry)
        self._lines[value] = ",".join(out)
        return self._lines[value]


def _where(entry):
    return "%s:%s" % (entry.get("file"), entry.get("line"))


def environments(facts):
    """[(source, vars, partial notes)] of the host: each service with a unit, then root's login environment."""
    proxy_env = facts.get("proxy_env")
    if not isinstance(proxy_env, dict) or proxy_env.get("status") != "ok":
        return []
    out = []
    services = proxy_env.get("services") or {}
    for source in SOURCES:
        if isinstance(services.get(source), dict):
            out.append((source, services[source].get("vars") or {}))
    out.append(("login", (proxy_env.get("login") or {}).get("vars") or {}))
    return out


def proxies(env):
    """What Go does with this environment: [(scheme, name, entry)] of the proxies in use, the hidden lower-case
    ones, and whether REQUEST_METHOD makes Go refuse plain-http requests."""
    used, hidden = [], []
    for scheme, upper, lower in (("https", "HTTPS_PROXY", "https_proxy"), ("http", "HTTP_PROXY", "http_proxy")):
        found, shadow = effective(env, upper, lower)
        if found:
            used.append((scheme, found[0], found[1]))
        if shadow:
            hidden.append(shadow)
    cgi = bool((env.get("REQUEST_METHOD") or {}).get("value"))
    return used, hidden, cgi


def _setting(path, name, value):
    """The line as the file ``path`` takes it: a unit or drop-in, a shell profile, or an environment file."""
    path = path or ""
    if path.endswith(".service") or ".service.d/" in path:
        return 'Environment="%s=%s"' % (name, value)
    if path.startswith("/etc/profile") or path.startswith("/root/."):
        return "export %s=%s" % (name, value)
    return "%s=%s" % (name, value)


def _restart(source):
    if source == "login":
        return "log in again (root's login shells read it then)"
    return "run `systemctl daemon-reload && systemctl restart %s`" % source


def judge_environment(host, source, env, targets, notes):
    used, hidden, cgi = proxies(env)
    if not used:
        return None
    found, hidden_no = effective(env, "NO_PROXY", "no_proxy")
    no_name, no_entry = found if found else ("NO_PROXY", None)
    value = (no_entry or {}).get("value") or ""
    missing, more = targets.uncovered(value)
    refuses_http = cgi and any(scheme == "http" for scheme, _n, _e in used)
    if not missing and not refuses_http:
        return None
    label = _LABEL[source]
    evidence = ["%s: %s=%s (%s) is used for %s:// requests" % (label, name, entry.get("value"), _where(entry), scheme) for scheme, name, entry in used]
    if no_entry:
        evidence.append("%s: %s=%s (%s)" % (label, no_name, value, _where(no_entry)))
        if no_entry.get("truncated_at_chars"):
            evidence.append("%s was read only to %d characters: entries past them were not judged" % (no_name, no_entry["truncated_at_chars"]))
    else:
        evidence.append("%s: no NO_PROXY or no_proxy is set" % label)
    for name, entry in hidden + ([hidden_no] if hidden_no else []):
        evidence.append("%s=%s (%s) is ignored: Go reads %s first" % (name, entry.get("value"), _where(entry), name.upper()))
    evidence += ["not excluded: %s (%s)" % (what, why) for what, why in missing]
    if more:
        evidence.append("not excluded: %d more node addresses (%d nodes in all)" % (more, len(targets.nodes[0])))
    if refuses_http:
        entry = env["REQUEST_METHOD"]
        evidence.append(
            "REQUEST_METHOD=%s (%s): Go refuses every http:// request while HTTP_PROXY is set, even to a NO_PROXY host" % (entry.get("value"), _where(entry))
        )
    evidence += notes
    line = targets.line(value)
    place = no_entry or used[0][2]
    fix = "In %s (line %s) set %s to the cluster's addresses: `%s`, then %s." % (
        place.get("file"),
        place.get("line"),
        no_name,
        _setting(place.get("file"), no_name, line),
        _restart(source),
    )
    if refuses_http:
        fix += " Remove REQUEST_METHOD from %s (%s)." % (label, _where(env["REQUEST_METHOD"]))
    if missing:
        hidden = len(missing) - 4 + more
        shown = ", ".join(what for what, _why in missing[:4]) + (" and %d more" % hidden if hidden > 0 else "")
        message = "%s sends requests for %s to its proxy %s: %s" % (
            label,
            shown,
            used[0][2].get("value"),
            "%s does not exclude them" % no_name if no_entry else "no NO_PROXY is set",
        )
    else:
        message = "%s's environment sets REQUEST_METHOD: Go refuses its http:// requests while HTTP_PROXY is set" % label
    why = (
        "%s sends its requests for these addresses to the proxy, which cannot reach cluster addresses: calls to the `kubernetes` Service "
        "(https://10.96.0.1), the API server and Pods fail with `Proxy Error`, `Service Unavailable` or a timeout, kubeadm warns "
        "`[WARNING HTTPProxyCIDR]`, and nodes never join (kubeadm#2336, kubernetes#61629)." % label
    )
    data = {
        "environment": source,
        "no_proxy": line,
        "variable": no_name,
        "file": place.get("file"),
        "uncovered": [what for what, _why in missing],
        "uncovered_more": more,
    }
    return Finding(RULE, "error", host, message, evidence, why, fix, data=data)


def judge_sides(host, envs):
    """A proxy for kubelet and not for an installed runtime, or the reverse."""
    by_source = {source: proxies(env)[0] for source, env in envs if source != "login"}
    if "kubelet" not in by_source:
        return []
    findings = []
    for runtime in RUNTIMES:
        if runtime not in by_source or bool(by_source["kubelet"]) == bool(by_source[runtime]):
            continue
        has, lacks = ("kubelet", runtime) if by_source["kubelet"] else (runtime, "kubelet")
        evidence = ["%s: %s=%s (%s)" % (_LABEL[has], name, entry.get("value"), _where(entry)) for _s, name, entry in by_source[has]]
        evidence.append("%s: no HTTP_PROXY or HTTPS_PROXY in its unit, drop-ins or environment files" % _LABEL[lacks])
        message = "%s has an HTTP(S) proxy and %s has none" % (_LABEL[has], _LABEL[lacks])
        why = (
            "kubelet and the container runtime reach registries and cloud APIs apart: the runtime pulls the images, kubelet runs the "
            "credential providers. The side without the proxy connects directly and, where only the proxy reaches out, image pulls fail "
            "with `ImagePullBackOff` (`dial tcp ...: i/o timeout`) or the credentials never come."
        )
        fix = (
            "Give %s the same proxy as %s: a drop-in `/etc/systemd/system/%s.service.d/http-proxy.conf` with `[Service]` and the same "
            "`Environment=` lines for HTTPS_PROXY, HTTP_PROXY and NO_PROXY (the proxy URL from %s; a password in it is not shown here), "
            "then `systemctl daemon-reload && systemctl restart %s`."
        ) % (_LABEL[lacks], _LABEL[has], lacks, _where(by_source[has][0][2]), lacks)
        findings.append(Finding(RULE, "error", host, message, evidence, why, fix, data={"environment": lacks, "proxy_in": has}))
    return findings


@rule(
    RULE,
    "an HTTP(S) proxy for kubelet, the runtime or root's login whose NO_PROXY leaves cluster addresses to the proxy",
    severities=("error",),
    fix=Fix(manual="the proxy and its exclusions are the site's settings: set the NO_PROXY line the finding gives by hand"),
    scope="fleet",
    reads=("proxy_env", "interfaces", "routes", "node_pinning"),
    options=(
        Option(
            "control_plane_endpoint",
            "hostnet_control_plane_endpoint",
            "str",
            "The control-plane endpoint (`host` or `host:port`, kubeadm's controlPlaneEndpoint) NO_PROXY must exclude; empty: none.",
            "",
            format="host_port",
        ),
    ),
    doc=DOC,
    fault="an HTTP(S) proxy (kubelet, runtime, root's login) whose NO_PROXY misses the Service or Pod CIDR, a node or the control-plane endpoint",
    breaks="requests to `https://10.96.0.1`, the API server and Pods go to the proxy and fail; nodes never join",
)
def check(facts_by_host, ctx):
    """Each host's environments judged against the fleet's addresses and CIDRs (each NO_PROXY value once)."""
    targets = Targets(facts_by_host, ctx)
    findings = []
    for host in sorted(facts_by_host):
        facts = facts_by_host[host]
        envs = environments(facts)
        notes = ["proxy_env is partial: %s" % note for note in (facts.get("proxy_env") or {}).get("partial") or []]
        for source, env in envs:
            finding = judge_environment(host, source, env, targets, notes)
            if finding is not None:
                findings.append(finding)
        findings.extend(judge_sides(host, envs))
    return findings
