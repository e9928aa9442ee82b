# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's local (ephemeral) port range and its reserved ports: what rule nodeport-range-reserved judges (the
``local_ports`` fact).

``/proc/sys/net/ipv4/ip_local_port_range`` ("32768<TAB>60999": the ports the kernel hands to an outgoing
connection or a bind to port 0) and ``/proc/sys/net/ipv4/ip_local_reserved_ports`` ("30000-32767,40000": ports
it never hands out so). Standard library only (it runs on the managed host); every read is bounded, host text
decoded with replacement, a value that does not parse is an error, never a guess.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import re

RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
RESERVED_FILE = "/proc/sys/net/ipv4/ip_local_reserved_ports"
MAX_BYTES = 65536  # the kernel prints at most 65536 ports' worth of ranges; far more than any real list
MAX_RANGES = 4096  # reserved ranges kept; more is reported as an error
_PORT_RANGE = re.compile(r"^\s*(\d{1,5})\s+(\d{1,5})\s*$")
_RESERVED_ITEM = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def _read(path):
    """(text, None) or (None, error): the file's first MAX_BYTES, decoded with replacement."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except (IOError, OSError) as exc:
        return None, ("absent" if exc.errno == errno.ENOENT else errno.errorcode.get(exc.errno, str(exc)))
    if len(data) > MAX_BYTES:
        return None, "longer than %d bytes" % MAX_BYTES
    return data.decode("utf-8", "replace").strip(), None


def parse_port_range(text):
    """'32768\\t60999' -> [32768, 60999]; ValueError when it is not two ports, low first."""
    match = _PORT_RANGE.match(text or "")
    if not match:
        raise ValueError("not two port numbers")
    low, high = int(match.group(1)), int(match.group(2))
    if not 0 < low <= high <= 65535:
        raise ValueError("not a range of ports 1-65535, low first")
    return [low, high]


def parse_reserved(text):
    """'30000-32767,40000' -> [[30000, 32767], [40000, 40000]] (as written, merged and sorted); '' -> []."""
    found = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        match = _RESERVED_ITEM.match(item)
        if not match:
            raise ValueError("%r is not a port or a range of ports" % item[:40])
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if not 0 <= low <= high <= 65535:
            raise ValueError("%r is not a range of ports 0-65535, low first" % item[:40])
        found.append([low, high])
        if len(found) > MAX_RANGES:
            raise ValueError("more than %d ranges" % MAX_RANGES)
    return merge(found)


def merge(ranges):
    """Sorted ranges, adjacent or overlapping ones joined."""
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return merged


def gather(range_file=RANGE_FILE, reserved_file=RESERVED_FILE):
    """({"status", "port_range", "reserved", "raw"}, [(source, problem)]). ``status``: ok, partial (one of the two
    could not be read or parsed: its value is null and ``errors`` names it) or unavailable (neither)."""
    fact = {"port_range": None, "reserved": None, "raw": {}}
    errors = []
    for key, path, parser in (("port_range", range_file, parse_port_range), ("reserved", reserved_file, parse_reserved)):
        text, error = _read(path)
        if text is not None:
            fact["raw"][key] = text[:256]
            try:
                fact[key] = parser(text)
            except ValueError as exc:
                error = "unexpected value: %s" % exc
        if error is not None:
            errors.append((path, error))
    fact["status"] = "ok" if not errors else ("partial" if len(errors) == 1 else "unavailable")
    if errors:
        fact["errors"] = ["%s: %s" % pair for pair in errors]
    return fact, errors
