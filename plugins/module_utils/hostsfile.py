# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse /etc/hosts (hosts(5)) into ordered entries.

Pure functions over text: no Ansible imports, Python 3.8+ standard library
only, because this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import ipaddress
import re
import socket

_SCAN_UP_TO = 8  # addresses of a name checked by a scan; past that, by a set
_V6_LOOPBACK = b"\0" * 15 + b"\1"
_V4_MAPPED = b"\0" * 10 + b"\xff\xff"


# glibc's isspace in the C locale: what separates the fields of a line in nss_files.
_FIELD_SEPARATORS = re.compile("[ \t\n\v\f\r]+")


def _strip_comment(line):
    idx = line.find("#")
    return line if idx < 0 else line[:idx]


def lines_of(text):
    """The file's lines as glibc reads them: split at newline only (a form feed, vertical tab or
    lone carriage return is a character inside a line), a trailing carriage return dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def fields_of(line):
    """The fields glibc reads in a line: up to a NUL (C strings end there) or ``#``, separated by
    space, tab, vertical tab, form feed or carriage return, and nothing else (Python's str.split
    would also split at U+001C-U+001F, U+0085, U+00A0 and other Unicode spaces)."""
    body = _strip_comment(line.split("\0", 1)[0])
    return [field for field in _FIELD_SEPARATORS.split(body) if field]


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
    if "%" not in text:
        # libc's inet_pton, which glibc's own hosts parser uses, is ~10 times faster than ipaddress
        # and accepts the same strict forms (no leading zeros in a dotted quad).
        try:
            if ":" in text:
                packed = socket.inet_pton(socket.AF_INET6, text)
                return 6, packed == _V6_LOOPBACK or (packed[:12] == _V4_MAPPED and packed[12] == 127)
            return 4, socket.inet_pton(socket.AF_INET, text)[0] == 127
        except (OSError, ValueError):
            return None, False
    base = text.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(base)
    except ValueError:
        return None, False
    return addr.version, is_loopback(addr)


def parse_hosts(text, limit=None):
    """Parse the text of a hosts file, in one pass (work and memory linear in its size, whatever its shape).

    Returns a dict with ``entries`` (valid lines in file order, each with
    ``line`` (1-based), ``address``, ``family`` (4/6), ``loopback``,
    ``names`` and ``raw``), ``invalid`` (lines that are neither blank,
    comment, nor a valid entry, with a ``reason``), ``names``: each name,
    lowercased, to its distinct addresses in the order a files lookup sees them,
    and ``index``: each name, lowercased, to the positions in ``entries`` of the
    entries that carry it (file order, each entry once). With ``limit``, only the
    first ``limit`` entries and invalid lines are kept (``names`` still covers every
    line); ``entries_total`` and ``invalid_total`` count them all.
    """
    # Many small objects that live on: the cyclic collector would rescan them again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_hosts(text, limit)
    finally:
        if enabled:
            gc.enable()


def _parse_hosts(text, limit):
    entries = []
    invalid = []
    names = {}
    index = {}
    seen = {}  # a name with many addresses -> their set: a membership test, not a scan of its list
    entries_total = invalid_total = 0
    keep = limit if limit is not None else float("inf")
    for number, raw in enumerate(lines_of(text), start=1):
        fields = fields_of(raw)
        if not fields:
            continue
        address = fields[0]
        family, loopback = classify_address(address)
        if family is None or len(fields) < 2:
            invalid_total += 1
            if invalid_total <= keep:
                reason = "not an IP address: %r" % address if family is None else "address without a name"
                invalid.append({"line": number, "raw": raw, "reason": reason})
            continue
        entries_total += 1
        position = None
        if entries_total <= keep:
            position = len(entries)
            entries.append(
                {
                    "line": number,
                    "address": address,
                    "family": family,
                    "loopback": loopback,
                    "names": fields[1:],
                    "raw": raw,
                }
            )
        for name in fields[1:]:
            key = name.lower()
            addresses = names.get(key)
            if addresses is None:
                names[key] = [address]
                index[key] = []
            elif len(addresses) < _SCAN_UP_TO:
                if address not in addresses:  # a scan of a few items: constant work
                    addresses.append(address)
            else:
                known = seen.get(key)
                if known is None:
                    known = seen[key] = set(addresses)
                if address not in known:
                    known.add(address)
                    addresses.append(address)
            positions = index[key]
            if position is not None and (not positions or positions[-1] != position):
                positions.append(position)
    return {
        "entries": entries,
        "invalid": invalid,
        "names": names,
        "index": index,
        "entries_total": entries_total,
        "invalid_total": invalid_total,
    }


def entries_for(parsed, name):
    """The entries (in file order) that carry ``name`` (case-insensitive)."""
    wanted = name.lower()
    entries = parsed.get("entries", [])
    if "index" in parsed:
        return [entries[position] for position in parsed["index"].get(wanted, ())]
    return [e for e in entries if wanted in (n.lower() for n in e["names"])]
