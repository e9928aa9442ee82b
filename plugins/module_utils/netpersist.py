# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persist one static route in the native configuration of a network manager.

Pure renderers: each returns ``(path, edit)`` where ``edit(bytes_or_None)
-> (new_bytes, actions)`` is applied by filewrite.apply_edit. One file per
route where the manager allows drop-ins, so our files never touch the
user's own. Standard library only (runs on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

try:
    from shlex import quote
except ImportError:  # pragma: no cover - Python 2
    from pipes import quote

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits

MANAGERS = ("NetworkManager", "netplan", "systemd-networkd", "network-scripts", "ifupdown")
HEADER = "# Managed by kubeprep.hostnet: route for the Kubernetes Service network (fault F2)."
# What the kernel accepts as an interface name, minus what a config file or shell could misread.
INTERFACE_NAME = re.compile(r"[A-Za-z0-9_.:@+-]{1,15}")


def nmcli_fields(line):
    """One line of ``nmcli -g A,B,...`` output -> its fields (nmcli escapes a ':' inside a value as '\\:')."""
    return [field.replace("\\:", ":") for field in re.split(r"(?<!\\):", line)]


def check_interface(interface):
    if not INTERFACE_NAME.fullmatch(interface or "") or interface in (".", ".."):
        raise ValueError("%r is not an interface name this module writes into configuration" % interface)
    return interface


def slug(dest, gateway=None):
    """The file-name part for a route: one per destination and family.

    ``default`` is the IPv4 default route and ``default_ipv6`` the IPv6 one (``gateway`` tells them apart):
    one file for both made each run overwrite the other family's route. Every ``.``, ``:`` and ``/`` of a
    (canonical) CIDR is one ``_``, so ``1:2::3:0/112`` and ``1::2:3:0/112`` stay apart (``1_2__3_0_112``,
    ``1__2_3_0_112``); an IPv4 CIDR keeps the name it always had."""
    if dest == "default":
        return "default_ipv6" if ":" in (gateway or "") else "default"
    return re.sub(r"[^0-9A-Za-z]", "_", dest)


def _whole_file(text):
    """An edit that makes the file exactly ``text`` (we own these files)."""
    wanted = text.encode("utf-8")

    def edit(data):
        return wanted, ([] if data == wanted else ["wrote the route file"])

    return edit


def ifupdown(dest, gateway, interface, root="/"):
    """A hook in /etc/network/if-up.d: ifupdown runs it for every interface it brings up.
    It adds the route only while none exists for the destination, so a route the
    admin set later is never overwritten at the next ifup."""
    path = os.path.join(root, "etc/network/if-up.d", "kubeprep-hostnet-route-%s" % slug(dest, gateway))
    family = "-6 " if ":" in gateway else ""
    text = (
        '#!/bin/sh\n{header}\n[ "$IFACE" = {iface} ] || exit 0\n'
        '[ -n "$(ip {family}route show exact {dest})" ] || ip {family}route add {dest} via {gw} dev {iface}\n'
    ).format(header=HEADER, iface=quote(check_interface(interface)), dest=quote(dest), gw=quote(gateway), family=family)
    return path, _whole_file(text), 0o755


def network_scripts(dest, gateway, interface, root="/"):
    """RHEL/CentOS initscripts: route-<iface> lines (``ADDRESS via GW dev IFACE``)."""
    path = os.path.join(root, "etc/sysconfig/network-scripts", "route-%s" % check_interface(interface))
    line = "%s via %s dev %s" % (dest, gateway, interface)

    def edit(data):
        lines = edits.split_lines(data)
        if any(existing.strip() == line.encode() for existing in lines):
            return data, []
        nl = edits.newline_of(lines)
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            lines[-1] += nl
        lines.append(line.encode() + nl)
        return b"".join(lines), ["added '%s' to %s" % (line, path)]

    return path, edit, 0o644


def netplan(dest, gateway, interface, root="/"):
    """A netplan file of its own; netplan merges it with the interface's definition."""
    path = os.path.join(root, "etc/netplan", "90-kubeprep-hostnet-route-%s.yaml" % slug(dest, gateway))
    to = "default" if dest == "default" else dest
    text = ("{header}\nnetwork:\n  version: 2\n  ethernets:\n    {iface}:\n      routes:\n        - to: {to}\n          via: {gw}\n").format(
        header=HEADER, iface=_yaml_key(check_interface(interface)), to=to, gw=gateway
    )
    return path, _whole_file(text), 0o600


# YAML 1.1 reads these plain scalars as booleans or null: an interface named "on" must stay a name.
_YAML_WORDS = ("y", "yes", "n", "no", "true", "false", "on", "off", "null")


def _yaml_key(name):
    """An interface name as a netplan key: plain where YAML keeps it a string (eth1), double-quoted otherwise."""
    if name.lower() in _YAML_WORDS or not re.match(r"^[A-Za-z][A-Za-z0-9_.@-]*$", name):
        return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')
    return name


def networkd_unit(interface, root="/"):
    """The .network file whose [Match] Name= matches the interface, or None."""
    for directory in ("etc/systemd/network", "run/systemd/network", "usr/lib/systemd/network", "lib/systemd/network"):
        for unit in sorted(glob.glob(os.path.join(root, directory, "*.network"))):
            try:
                with open(unit) as handle:
                    text = handle.read()
            except (IOError, OSError):
                continue
            for names in re.findall(r"^\s*Name\s*=\s*(.+)$", text, re.MULTILINE):
                for pattern in names.split():
                    if re.fullmatch(pattern.replace(".", r"\.").replace("*", ".*").replace("?", "."), interface):
                        return unit
    return None


def networkd(dest, gateway, interface, root="/"):
    """A drop-in for the interface's .network unit, in /etc so it overrides packaged units."""
    unit = networkd_unit(interface, root)
    if unit is None:
        raise ValueError("no systemd-networkd .network file matches %s" % interface)
    path = os.path.join(root, "etc/systemd/network", os.path.basename(unit) + ".d", "90-kubeprep-hostnet-route-%s.conf" % slug(dest, gateway))
    destination = "" if dest == "default" else "Destination=%s\n" % dest
    text = "{header}\n[Route]\nGateway={gw}\n{destination}".format(header=HEADER, gw=gateway, destination=destination)
    return path, _whole_file(text), 0o644


RENDERERS = {"ifupdown": ifupdown, "network-scripts": network_scripts, "netplan": netplan, "systemd-networkd": networkd}


def detect(interface, root="/", nm_running=False):
    """The manager in charge of ``interface``, by the evidence on disk; None if none.

    Order: netplan (it renders for networkd or NetworkManager and regenerates
    their configuration at every boot, so it is the source to persist in), a
    running NetworkManager, a networkd unit matching the interface, RHEL
    network-scripts, ifupdown.
    """
    if glob.glob(os.path.join(root, "etc/netplan/*.yaml")) or glob.glob(os.path.join(root, "etc/netplan/*.yml")):
        return "netplan"
    if nm_running:
        return "NetworkManager"
    if networkd_unit(interface, root):
        return "systemd-networkd"
    if os.path.isdir(os.path.join(root, "etc/sysconfig/network-scripts")):
        return "network-scripts"
    if os.path.isfile(os.path.join(root, "etc/network/interfaces")):
        return "ifupdown"
    return None
