# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounds on what a host's facts carry, and text a host sends made safe to return: odd bytes (not UTF-8)
replaced and named, control characters shown escaped, /etc/hosts lines, names and addresses capped.
Runs on the managed host: standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kubeprep.hostnet.plugins.module_utils import hostsfile

# Addresses kept per /etc/hosts name in the facts (a hosts file can give one name thousands).
MAX_ADDRESSES_PER_NAME = 64
# One /etc/hosts line in the facts: its raw text, its names, and each name's length (a DNS name is at
# most 253 characters); a line can otherwise hold the whole 8 MiB read, sent and quoted in full.
MAX_LINE_CHARS = 1024
MAX_NAMES_PER_ENTRY = 64
MAX_NAME_CHARS = 255
_WATCHED_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


_SURROGATES = re.compile("[\ud800-\udfff]")


def escaped(text):
    """``text`` for a message: bytes that were not UTF-8 as ``\\xff``, control characters as ``\\x01``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    shown = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c == " " else "\\x%02x" % ord(c) if ord(c) < 256 else "\\u%04x" % ord(c) for c in shown)


def clean_odd_text(value, path, found):
    """Replace, in place, each string (value or key) holding bytes that were not UTF-8 (the surrogate
    escapes Python gives for a hostname, file name or link target of odd bytes) with its text where each
    odd byte is U+FFFD; append (path, escaped original) to ``found``. The controller refuses a module
    result with such a string, and with it every other fact of the host."""
    if isinstance(value, str):
        if not _SURROGATES.search(value):
            return value
        found.append((path, escaped(value)))
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, dict):
        for key in list(value):
            item = value[key]
            new_key = clean_odd_text(key, "%s (a key)" % (path or "facts"), found) if isinstance(key, str) else key
            new_item = clean_odd_text(item, "%s.%s" % (path, new_key) if path else str(new_key), found)
            if new_key is not key:
                del value[key]
                value[new_key] = new_item
            elif new_item is not item:
                value[key] = new_item
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            new_item = clean_odd_text(item, "%s[%d]" % (path, index), found)
            if new_item is not item:
                value[index] = new_item
    return value


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _shown_raw(raw):
    """A line for evidence: control characters but tab as ``\\x0c``; a form feed or lone carriage return is
    invisible in a console yet separates names for glibc, and XML (the JUnit report) allows none of them."""
    return _CONTROL.sub(lambda match: "\\x%02x" % ord(match.group()), raw) if _CONTROL.search(raw) else raw


def bound_hosts_entries(info, keep=()):
    """Bound each /etc/hosts line the facts carry (after identity() has read them whole): the raw text
    to MAX_LINE_CHARS (``raw_chars`` gives its length), the names to the first MAX_NAMES_PER_ENTRY plus
    any later localhost name or name in ``keep`` (``names_total`` gives their count), names longer than
    MAX_NAME_CHARS left out there and in ``names`` (``names_too_long`` counts those)."""
    watched = set(_WATCHED_NAMES) | {n.lower() for n in keep if n}
    for line in info.get("invalid_lines") or []:
        line["raw"] = _shown_raw(line["raw"])[:MAX_LINE_CHARS]
    for entry in info.get("entries") or []:
        raw, names = _shown_raw(entry["raw"]), entry["names"]
        entry["raw"] = raw
        if len(raw) > MAX_LINE_CHARS:
            entry["raw"] = raw[:MAX_LINE_CHARS]
            entry["raw_chars"] = len(raw)
        if len(names) > MAX_NAMES_PER_ENTRY or any(len(n) > MAX_NAME_CHARS for n in names):
            kept = [n for n in names[:MAX_NAMES_PER_ENTRY] if len(n) <= MAX_NAME_CHARS]
            seen = {n.lower() for n in kept}
            for name in names[MAX_NAMES_PER_ENTRY:]:
                lowered = name.lower()
                if lowered in watched and lowered not in seen:
                    kept.append(name)
                    seen.add(lowered)
            entry["names"] = kept
            entry["names_total"] = len(names)
    too_long = [n for n in info.get("names") or {} if len(n) > MAX_NAME_CHARS]
    for name in too_long:
        del info["names"][name]
    if too_long:
        info["names_too_long"] = len(too_long)
    return info


def _capped_addresses(addresses):
    """The first MAX_ADDRESSES_PER_NAME addresses of a name, plus its first non-loopback one when
    that comes later: capping the list must not hide that localhost also maps elsewhere."""
    kept = addresses[:MAX_ADDRESSES_PER_NAME]
    if all(hostsfile.classify_address(a)[1] for a in kept):
        for address in addresses[MAX_ADDRESSES_PER_NAME:]:
            if not hostsfile.classify_address(address)[1]:
                kept.append(address)
                break
    return kept
