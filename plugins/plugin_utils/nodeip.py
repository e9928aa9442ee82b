# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which interface and address each node should pin (fault F4), controller side.

Pure functions over hostnet facts; netaddr parses the CIDRs users give, host
addresses are handled as ints. O(hosts x interfaces x prefix lengths in use):
unique addresses are counted once per (prefix length, network), then each
interface's subnet is a dictionary lookup.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import socket
import struct

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import safetext
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.factmemo import per_facts

try:
    from netaddr import AddrFormatError, IPNetwork

    HAS_NETADDR = True
except ImportError:  # reported when used, with what to install
    AddrFormatError = ValueError
    HAS_NETADDR = False

MISSING_NETADDR = "the Python package netaddr is required on the controller for the fleet checks (pip install netaddr)"


def parse_cidr(text):
    """IPNetwork(text); ValueError with the reason when it is not a CIDR."""
    if not HAS_NETADDR:
        raise RuntimeError(MISSING_NETADDR)
    try:
        return IPNetwork(text)
    except (AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError("%r is not a CIDR: %s" % (text, exc)) from exc


def _ipv4_value(text):
    """Dotted quad -> int (strict: inet_pton), or None. Cheaper than netaddr by ~20x, and the
    rules call it for every address of every host."""
    try:
        return struct.unpack("!I", socket.inet_pton(socket.AF_INET, text))[0]
    except (OSError, TypeError, ValueError):
        return None


@per_facts
def ipv4_interfaces(facts):
    """((interface name, address, prefix length, address as int), ...) for global IPv4 addresses, loopback excluded."""
    result = []
    ifaces = facts.get("interfaces") if isinstance(facts.get("interfaces"), dict) else {}
    for iface in ifaces.get("list") or []:
        if iface.get("link_type") == "loopback" or iface.get("name") == "lo":
            continue
        for addr in iface.get("addresses") or []:
            if addr.get("family") != 4 or addr.get("scope") not in (None, "global"):
                continue
            value = _ipv4_value(addr.get("address"))
            length = addr.get("prefixlen") or 32
            if value is None or not isinstance(length, int) or not 0 <= length <= 32:
                continue
            result.append((iface.get("name"), addr["address"], length, value))
    return tuple(result)


def _network(value, length):
    return value >> (32 - length) if length else 0


def _cidr(value, length):
    mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
    return "%s/%d" % (socket.inet_ntop(socket.AF_INET, struct.pack("!I", value & mask)), length)


@per_facts
def default_interface(facts):
    """(interface, gateway) of the preferred IPv4 default route, or (None, None)."""
    routes = facts.get("routes") if isinstance(facts.get("routes"), dict) else {}
    defaults = sorted(routes.get("default_ipv4") or [], key=lambda r: r.get("metric") or 0)
    if not defaults:
        return None, None
    return defaults[0].get("dev"), defaults[0].get("gateway")


@per_facts
def default_addresses(facts):
    """((interface, address), ...): the IPv4 addresses on the default-route interface."""
    dev, _gateway = default_interface(facts)
    return tuple([(name, addr) for name, addr, _length, _value in ipv4_interfaces(facts) if name == dev])


def pinned_address(facts):
    """kubelet's --node-ip from its environment file, when pinned there."""
    return (facts.get("node_pinning") or {}).get("kubelet_node_ip")


def recommend(facts_by_host, node_cidr=None, ansible_hosts=None, node_addresses=None):
    """host -> recommendation dict (or None when nothing can be recommended).

    With ``node_cidr``: the interface whose address is inside it. Otherwise:
    the interface whose subnet holds the most other hosts' addresses that are
    unique in the fleet (a duplicated address such as Vagrant's 10.0.2.15 reaches
    nobody); ties go to the address Ansible connects to, then to the default
    route's interface. Without ``node_cidr``, a host's node address the installer names (``node_addresses``:
    kubespray's ``ip``) picks the interface holding it (``node_address`` set in the recommendation); when no
    interface holds it, the choice is made as without one.
    """
    if not HAS_NETADDR:
        raise RuntimeError(MISSING_NETADDR)
    ansible_hosts = ansible_hosts or {}
    node_addresses = node_addresses or {}
    interfaces = {host: ipv4_interfaces(facts) for host, facts in facts_by_host.items()}
    owners = {}
    for host, items in interfaces.items():
        for _name, _addr, _length, value in items:
            owners.setdefault(value, set()).add(host)
    unique = {value for value, hosts in owners.items() if len(hosts) == 1}
    # Index unique addresses by (prefix length, network) for every prefix length in use, so
    # "how many other hosts are in this subnet" is a lookup: O(hosts x interfaces x prefix lengths).
    prefixes = {length for items in interfaces.values() for _n, _a, length, _v in items}
    in_subnet = {}
    for value in unique:
        for length in prefixes:
            key = (length, _network(value, length))
            in_subnet[key] = in_subnet.get(key, 0) + 1
    cidr = parse_cidr(node_cidr) if node_cidr else None
    out = {}
    for host, items in interfaces.items():
        dev, _gw = default_interface(facts_by_host[host])
        own = {}
        for _name, _addr, length, value in items:
            if value in unique:
                key = (length, _network(value, length))
                own[key] = own.get(key, 0) + 1
        best = None
        wanted = node_addresses.get(host) if cidr is None else None
        if wanted is not None and not any(addr == wanted for _n, addr, _l, _v in items):
            wanted = None
        for name, addr, length, value in items:
            if wanted is not None:
                score = 1 if addr == wanted else -1
            elif cidr is not None:
                score = 1 if cidr.first <= value <= cidr.last else -1
            elif value not in unique:
                score = -1
            else:
                key = (length, _network(value, length))
                score = in_subnet.get(key, 0) - own.get(key, 0)
            key = (score, addr == ansible_hosts.get(host), name == dev)
            if score >= 0 and (best is None or key > best[0]):
                best = (key, name, addr, _cidr(value, length))
        if best is None or (cidr is None and wanted is None and best[0][0] == 0 and len(facts_by_host) > 1):
            out[host] = None
            continue
        _key, name, addr, network = best
        out[host] = {
            "interface": name,
            "address": addr,
            "cidr": network,
            "reaches_hosts": best[0][0] if cidr is None and wanted is None else None,
            "node_address": wanted is not None,
            "default_interface": dev,
            "forms": forms(name, addr),
        }
    return out


def forms(interface, address):
    """The recommendation in the shapes installers take."""
    return {
        "kubespray": {
            "ip": address,
            "access_ip": address,
            "flannel_interface": interface,
            "calico_ip_auto_method": "interface=%s" % interface,
        },
        "calico": "IP_AUTODETECTION_METHOD=interface=%s" % interface,
        "flannel": "--iface=%s" % interface,
        "kubelet": "--node-ip=%s" % address,
        "rke": {"address": address, "internal_address": address},
    }


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_YAML_WORDS = ("true", "false", "yes", "no", "on", "off", "null", "y", "n")


def _scalar(value):
    """``value`` as a YAML scalar that stays that string: plain where that is safe (eth1, an IPv4 address),
    else double-quoted (an interface name is host text: ``#``, ``"``, ``{`` or ``: `` must not become YAML)."""
    value = str(value)
    if (_PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS) or re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
        return value
    return json.dumps(value)


def _comment(value):
    """Host text inside a YAML comment: one line, no control character (safetext.visible)."""
    return safetext.visible(value)


def vars_file(host, rec, reason):
    """A host_vars YAML a user can drop into a kubespray (or any) inventory."""
    k = rec["forms"]["kubespray"]
    return (
        "---\n"
        "# kubeprep.hostnet: pin {host}'s cluster interface ({reason}).\n"
        "# {iface_c} ({cidr}) reaches {reach}; the default route is on {default}.\n"
        "ip: {ip}\n"
        "access_ip: {ip}\n"
        "flannel_interface: {iface}\n"
        "calico_ip_auto_method: {calico}\n"
        "kubelet_node_ip: {ip}\n"
        "# read by the opt-in role kubeprep.hostnet.hostnet_node_ip\n"
        "hostnet_node_ip_interface: {iface}\n"
        "hostnet_node_ip_address: {ip}\n"
    ).format(
        host=_comment(host),
        reason=_comment(reason),
        iface_c=_comment(rec["interface"]),
        iface=_scalar(rec["interface"]),
        cidr=_comment(rec["cidr"]),
        reach=("%d other host(s)" % rec["reaches_hosts"]) if rec["reaches_hosts"] is not None else "the node CIDR",
        default=_comment(rec["default_interface"] or "no interface"),
        ip=_scalar(k["ip"]),
        calico=json.dumps(str(k["calico_ip_auto_method"])),
    )
