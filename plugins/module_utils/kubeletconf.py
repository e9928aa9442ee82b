# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set ``resolvConf`` in kubelet's config file, keeping every other byte, or say why it cannot be done safely.

The config file is YAML (kubeadm writes ``/var/lib/kubelet/config.yaml``) and the hosts may have no YAML
parser, so the edit is a line editor for the one form it can keep exact: a block mapping at the top level of
a single document whose ``resolvConf`` is absent or a one-line scalar. Anything else (JSON, a flow mapping,
several documents, the key twice, a value over several lines, an alias, tag or block scalar) is refused with
the reason and the manual step: a guess could change what kubelet reads. After the edit the file is read back
with the facts' own reader (``kubeletdns.config_resolv_conf``), which must see the new value. Pure functions
on bytes, standard library only (they run on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

from ansible_collections.kubeprep.hostnet.plugins.module_utils import kubeletdns

MAX_CONFIG_BYTES = 1024 * 1024
MAX_PROCESSES = 100000
# A path written as a YAML plain scalar as it is: no quoting, escaping or interpretation needed.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._+@/-]{0,4095}$")
_KEY = re.compile(rb"""^(["']?)resolvConf\1[ \t]*:(?=[ \t\r\n]|$)""")
_MARKER = re.compile(rb"^(?:---|\.\.\.)(?=[ \t\r\n]|$)")
_TOP_KEY = re.compile(rb"""^(?:"[^"\r\n]*"|'[^'\r\n]*'|[^\s#\-\[\]{}?:,&*!|>%@`"'][^\r\n]*?|-[^\s\r\n][^\r\n]*?)[ \t]*:(?=[ \t\r\n]|$)""")
_INDICATORS = b"[]{}|>&*!%@`,?"


def shown(text, limit=256):
    """Host text for a message: non-printable characters escaped (no terminal control, no fake line), cut at ``limit``."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def manual_step(path, target):
    return "set `resolvConf: %s` in %s by hand (a top-level key of the KubeletConfiguration), then `systemctl restart kubelet`" % (target, path)


def _lines(data):
    """bytes -> lines with their endings, split at \\n, \\r\\n and \\r (YAML's line breaks)."""
    return data.splitlines(True)


def _ending(line):
    body = line.rstrip(b"\r\n")
    return body, line[len(body) :]


def _blank_or_comment(body):
    stripped = body.strip(b" \t")
    return not stripped or stripped.startswith(b"#")


def _value_span(body, start):
    """(value start, value end, quote) of the one-line scalar after the colon at ``body[start:]``; ValueError
    naming the form when it is not one."""
    i = start
    while i < len(body) and body[i : i + 1] in (b" ", b"\t"):
        i += 1
    if i == len(body) or body[i : i + 1] == b"#":
        return i, i, b""  # no value (null), maybe a comment
    first = body[i : i + 1]
    if first in (b'"', b"'"):
        end = body.find(first, i + 1)
        if end < 0:
            raise ValueError("its value is a quoted scalar that continues on the next line")
        inner = body[i + 1 : end]
        if first == b'"' and b"\\" in inner:
            raise ValueError("its value is a double-quoted scalar with escapes")
        if first == b"'" and body[end + 1 : end + 2] == b"'":
            raise ValueError("its value is a single-quoted scalar with an escaped quote")
        value_end = end + 1
    elif first in _INDICATORS or (first == b"-" and body[i + 1 : i + 2] in (b"", b" ", b"\t")):
        raise ValueError("its value starts with %r (a flow collection, block scalar, anchor, alias, tag or sequence)" % first.decode("ascii"))
    else:
        comment = re.search(rb"[ \t]#", body[i:])
        value_end = i + (comment.start() if comment else len(body) - i)
        while value_end > i and body[value_end - 1 : value_end] in (b" ", b"\t"):
            value_end -= 1
    rest = body[value_end:]
    if not re.match(rb"^[ \t]*(?:#.*)?$", rest, re.S):
        raise ValueError("its line goes on after the value (%r)" % rest.strip().decode("utf-8", "replace")[:60])
    return i, value_end, first if first in (b'"', b"'") else b""


def _check_document(lines):
    """The top-level ``resolvConf`` lines (indexes); ValueError when the file is not a single block mapping."""
    content_seen = False
    found = []
    for index, line in enumerate(lines):
        body, _end = _ending(line)
        if index == 0 and body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
        if _blank_or_comment(body):
            continue
        if not content_seen and body.startswith(b"%"):
            continue  # a directive (%YAML 1.2)
        if _MARKER.match(body):
            if content_seen or body.startswith(b"..."):
                raise ValueError("it holds more than one YAML document (line %d: %r)" % (index + 1, body[:3].decode("ascii")))
            if body[3:].strip(b" \t"):
                raise ValueError("its document starts with content on the --- line %d" % (index + 1))
            continue
        if not content_seen:
            content_seen = True
            if body.lstrip(b" \t")[:1] in (b"{", b"["):
                first = body.lstrip(b" \t")[:1].decode("ascii")
                raise ValueError("it is in JSON or flow form (line %d starts with %r), which a line editor cannot keep exact" % (index + 1, first))
            if body[:1] in (b" ", b"\t") or not _TOP_KEY.match(body):
                raise ValueError("its top level is not a block mapping (line %d)" % (index + 1))
        if _KEY.match(body):
            found.append(index)
    if not content_seen:
        raise ValueError("it holds no KubeletConfiguration (no key at all)")
    return found


def set_resolv_conf(data, target):
    """``(new bytes, actions)`` with the top-level ``resolvConf`` of the KubeletConfiguration ``data`` set to
    ``target``; ``data`` unchanged when it already is. ValueError says why the file cannot be edited exactly
    (the message ends with the manual step's substance; the caller names the file)."""
    if not SAFE_PATH.match(target or "") or os.path.normpath(target) != target:
        raise ValueError("the target %r is not a plain absolute path (letters, digits and ._+@/- only)" % target)
    if data is None:
        raise ValueError("the file does not exist")
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError("it is %d bytes, more than a KubeletConfiguration holds (%d)" % (len(data), MAX_CONFIG_BYTES))
    lines = _lines(data)
    found = _check_document(lines)
    wanted = target.encode("ascii")
    if len(found) > 1:
        where = ", ".join(str(i + 1) for i in found)
        raise ValueError("it sets resolvConf %d times (lines %s); kubelet's strict decoding rejects a duplicate key" % (len(found), where))
    if found:
        index = found[0]
        body, end = _ending(lines[index])
        after_key = _KEY.match(body).end()
        start, stop, quote = _value_span(body, after_key)
        for later in lines[index + 1 :]:
            later_body, _e = _ending(later)
            if not later_body.strip(b" \t"):
                continue
            if later_body[:1] in (b" ", b"\t") and not later_body.strip(b" \t").startswith(b"#"):
                raise ValueError("its resolvConf (line %d) has a value that continues on the lines below" % (index + 1))
            break
        old = body[start:stop]
        current = old[1:-1] if quote else old
        if current == wanted:
            return data, []
        replacement = quote + wanted + quote if quote else wanted
        if start == stop:  # resolvConf: (null), maybe with a comment: the value goes right after the colon
            replacement = (b" " if start == after_key else b"") + replacement + (b" " if body[stop : stop + 1] == b"#" else b"")
        new_line = body[:start] + replacement + body[stop:] + end
        out = lines[:index] + [new_line] + lines[index + 1 :]
        action = "resolvConf: %s (line %d, was %s)" % (target, index + 1, repr(old.decode("utf-8", "replace")) if old else "null")
    else:
        newline = b"\r\n" if lines and lines[0].endswith(b"\r\n") else b"\n"
        out = list(lines)
        if out and not out[-1].endswith((b"\n", b"\r")):
            out[-1] += newline
        out.append(b"resolvConf: " + wanted + newline)
        action = "added resolvConf: %s (line %d; kubelet's default was /etc/resolv.conf)" % (target, len(out))
    new = b"".join(out)
    seen = kubeletdns.config_resolv_conf(new.decode("utf-8", "replace"))
    if seen is None or seen[1] != target:
        raise ValueError("read back, the edited file would set resolvConf to %r, not %s" % (seen and seen[1], target))
    return new, [action]


def process_running(name, proc="/proc"):
    """True when a process whose comm is ``name`` runs (bounded scan of ``proc``)."""
    for count, comm in enumerate(glob.glob(os.path.join(proc, "[0-9]*", "comm"))):
        if count >= MAX_PROCESSES:
            break
        try:
            with open(comm, "rb") as handle:
                if handle.read(64).decode("utf-8", "replace").strip() == name:
                    return True
        except (IOError, OSError):
            continue
    return False


def flags(root="/", limit=kubeletdns.MAX_LINES * 512):
    """kubelet's ``--resolv-conf`` and ``--config`` flags in its unit, drop-ins and environment files:
    {"resolv-conf": (file, line, value) or None, "config": ...}, the last one found of each (kubelet's flag
    parser keeps the last)."""
    found = {"resolv-conf": None, "config": None}
    for path in kubeletdns.unit_files(root) + list(kubeletdns.ENV_FILES):
        try:
            with open(os.path.join(root, path.lstrip("/")), "rb") as handle:
                text = handle.read(limit).decode("utf-8", "replace")
        except (IOError, OSError):
            continue
        for name in found:
            hits = kubeletdns.find_flags(text, name)
            if hits:
                found[name] = (path, hits[-1][0], hits[-1][1])
    return found
