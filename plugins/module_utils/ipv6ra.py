# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 forwarding and router advertisements: what a dual-stack cluster's rules judge (the ``ipv6`` fact).

``/proc/sys/net/ipv6/conf/{all,default}/forwarding`` (kubeadm's preflight reads both), and for each interface
that carries an IPv6 default route: its ``accept_ra``, ``accept_ra_defrtr`` and ``forwarding``, and whether
systemd-networkd manages the link (it then handles advertisements itself and sets the kernel's ``accept_ra`` to
0). With ``forwarding=1`` the kernel ignores advertisements on an interface whose ``accept_ra`` is 1, and
turning forwarding on purges the default routes it learnt from them there (``accept_ra=2`` keeps them).
Standard library only (it runs on the managed host); every read is bounded, host text decoded with replacement.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import os

MAX_INTERFACES = 16  # interfaces with an IPv6 default route: a host has one or two
MAX_ADDRESS_LINES = 4096  # /proc/net/if_inet6 lines read
IFA_F_PERMANENT = 0x80  # an address configured by hand; without it the kernel or a client got it with a lifetime
_SETTINGS = ("accept_ra", "accept_ra_defrtr", "forwarding")


def _read(path, limit=64):
    """(value, None), (None, "absent") or (None, error name): a one-line /proc or /run file, bounded."""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace").strip(), None
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None, "absent"
        return None, errno.errorcode.get(exc.errno, str(exc))


def _safe_name(name):
    return bool(name) and "/" not in name and name not in (".", "..") and "\x00" not in name


def _networkd_manages(index, links_dir):
    """True when systemd-networkd's state file for the link says it configures it (ADMIN_STATE configured or
    configuring), False when the file says otherwise, None when there is no file (networkd does not run)."""
    if not isinstance(index, int):
        return None
    text, error = _read(os.path.join(links_dir, str(index)), limit=16384)
    if error:
        return None
    for line in text.splitlines()[:200]:
        key, _sep, value = line.partition("=")
        if key.strip() == "ADMIN_STATE":
            return value.strip() in ("configured", "configuring")
    return False


def dynamic_addresses(text):
    """/proc/net/if_inet6 -> {interface: first global address it holds with a lifetime (not IFA_F_PERMANENT)}: an
    address learnt from router advertisements (SLAAC) or DHCPv6, which outlives a lost default route."""
    found = {}
    for line in text.splitlines()[:MAX_ADDRESS_LINES]:
        fields = line.split()
        if len(fields) != 6 or len(fields[0]) != 32:
            continue
        try:
            scope, flags = int(fields[3], 16), int(fields[4], 16)
            packed = bytes.fromhex(fields[0])
        except ValueError:
            continue
        if scope != 0 or flags & IFA_F_PERMANENT or fields[5] in found:
            continue
        found[fields[5]] = str(ipaddress.IPv6Address(packed))
    return found


def _settings(entry, name, proc):
    for setting in _SETTINGS:
        value, error = _read(os.path.join(proc, name, setting)) if _safe_name(name) else (None, "not an interface name")
        entry[setting] = value
        if error:
            entry[setting + "_error"] = error
    return entry


def gather(routes, interfaces, proc="/proc/sys/net/ipv6/conf", links_dir="/run/systemd/netif/links", if_inet6="/proc/net/if_inet6"):
    """``routes`` and ``interfaces``: the facts of the same names. Returns the ``ipv6`` fact and the problems
    (source, message) to record."""
    problems = []
    forwarding = {}
    for scope in ("all", "default"):
        value, error = _read(os.path.join(proc, scope, "forwarding"))
        forwarding[scope] = {"value": value, "status": "ok" if error is None else ("absent" if error == "absent" else "unreadable")}
        if error not in (None, "absent"):
            forwarding[scope]["error"] = error
            problems.append((os.path.join(proc, scope, "forwarding"), error))
    if all(entry["status"] == "absent" for entry in forwarding.values()):
        return {"status": "absent", "reason": "%s does not exist (IPv6 is disabled in the kernel)" % proc, "forwarding": forwarding, "interfaces": []}, problems
    indexes = {}
    for iface in (interfaces or {}).get("list") or []:
        if isinstance(iface, dict) and isinstance(iface.get("name"), str):
            indexes[iface["name"]] = iface.get("index")
    found = []
    for route in (routes or {}).get("default_ipv6") or []:
        name = route.get("dev") if isinstance(route, dict) else None
        if not isinstance(name, str) or any(entry["name"] == name for entry in found):
            continue
        if len(found) >= MAX_INTERFACES:
            problems.append(("ipv6", "more than %d interfaces with an IPv6 default route; the first %d are kept" % (MAX_INTERFACES, MAX_INTERFACES)))
            break
        entry = _settings({"name": name, "protocol": route.get("protocol"), "gateway": route.get("gateway")}, name, proc)
        entry["networkd"] = _networkd_manages(indexes.get(name), links_dir)
        found.append(entry)
    # Interfaces without an IPv6 default route that hold an address with a lifetime: where advertisements came
    # (SLAAC) and the route they gave is gone (forwarding turned on with accept_ra 1 purges it).
    text, error = _read(if_inet6, limit=1024 * 1024)
    if error not in (None, "absent"):
        problems.append((if_inet6, error))
    routed = {entry["name"] for entry in found}
    autoconf = []
    for name, address in sorted(dynamic_addresses(text or "").items()):
        if name in routed:
            continue
        if len(autoconf) >= MAX_INTERFACES:
            problems.append(("ipv6", "more than %d interfaces with a dynamic IPv6 address; the first %d are kept" % (MAX_INTERFACES, MAX_INTERFACES)))
            break
        entry = _settings({"name": name, "address": address}, name, proc)
        entry["networkd"] = _networkd_manages(indexes.get(name), links_dir)
        autoconf.append(entry)
    return {"status": "ok", "forwarding": forwarding, "interfaces": found, "autoconf": autoconf}, problems
