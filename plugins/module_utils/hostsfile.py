# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse /etc/hosts (hosts(5)) into ordered entries.

Pure functions over text: no Ansible imports, Python 3.8+ standard library
only, because this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress


def _strip_comment(line):
    idx = line.find("#")
    return line if idx < 0 else line[:idx]


def is_loopback(addr):
    """Loopback, counting IPv4-mapped ``::ffff:127.0.0.1`` (a socket connects it to 127.0.0.1;
    Python's ipaddress only says so from 3.13 on)."""
    if addr.is_loopback:
        return True
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool(mapped is not None and mapped.is_loopback)


def classify_address(text):
    """Return (family, is_loopback) for an address, or (None, False) if invalid.

    Zone ids (``fe80::1%eth0``) are accepted like glibc does.
    """
    base = text.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(base)
    except ValueError:
        return None, False
    return addr.version, is_loopback(addr)


def parse_hosts(text):
    """Parse the text of a hosts file.

    Returns a dict with ``entries`` (valid lines in file order, each with
    ``line`` (1-based), ``address``, ``family`` (4/6), ``loopback``,
    ``names`` and ``raw``), ``invalid`` (lines that are neither blank,
    comment, nor a valid entry, with a ``reason``) and ``names``: each name,
    lowercased, to its addresses in the order a files lookup sees them.
    """
    entries = []
    invalid = []
    names = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        body = _strip_comment(raw).strip()
        if not body:
            continue
        fields = body.split()
        family, loopback = classify_address(fields[0])
        if family is None:
            invalid.append({"line": number, "raw": raw, "reason": "not an IP address: %r" % fields[0]})
            continue
        if len(fields) < 2:
            invalid.append({"line": number, "raw": raw, "reason": "address without a name"})
            continue
        entry = {
            "line": number,
            "address": fields[0],
            "family": family,
            "loopback": loopback,
            "names": fields[1:],
            "raw": raw,
        }
        entries.append(entry)
        for name in fields[1:]:
            addrs = names.setdefault(name.lower(), [])
            if fields[0] not in addrs:
                addrs.append(fields[0])
    return {"entries": entries, "invalid": invalid, "names": names}


def entries_for(parsed, name):
    """The entries (in file order) that carry ``name`` (case-insensitive)."""
    wanted = name.lower()
    return [e for e in parsed.get("entries", []) if wanted in (n.lower() for n in e["names"])]
