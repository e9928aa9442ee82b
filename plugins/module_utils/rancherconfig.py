# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What k3s and rke2's own configuration files say about the cluster's networks and kubelet's resolv.conf.

k3s reads ``/etc/rancher/k3s/config.yaml``, then the drop-ins ``/etc/rancher/k3s/config.yaml.d/*.yaml`` in
alphabetical order (docs.k3s.io/installation/configuration); rke2 the same under ``/etc/rancher/rke2``. The last
value of a key wins; a key written with a ``+`` suffix (``kubelet-arg+:``) appends to a list instead.

Only four keys are read: ``cluster-cidr``, ``service-cidr``, ``resolv-conf`` and ``kubelet-arg`` (its
``resolv-conf=<file>`` items: k3s passes them to its kubelet after its own flags, so they win over
``resolv-conf``). The reader is a minimal line reader, not a YAML parser (none on the host): a top-level
``key: value`` (plain, single- or double-quoted scalar), ``key: [a, b]`` on one line, or ``key:`` followed by
``- item`` lines. Any other form of one of those keys (a block scalar, an anchor, a multi-line flow list, a
tab) is an error naming the file and line, and the key is not used. Other keys are skipped unread.

Bounds: the collector's 8 MiB per file, ``MAX_LINES`` lines per file, ``MAX_DROPINS`` drop-ins, ``MAX_ITEMS``
items per list, values cut at ``MAX_VALUE_CHARS``, ``MAX_ERRORS`` errors kept. Text is decoded with replacement
by the collector. Standard library only (runs on the managed host).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

DISTRIBUTIONS = (("k3s", "/etc/rancher/k3s/config.yaml"), ("rke2", "/etc/rancher/rke2/config.yaml"))
KEYS = ("cluster-cidr", "service-cidr", "resolv-conf", "kubelet-arg")
LIST_KEYS = ("kubelet-arg",)
MAX_LINES = 20000
MAX_DROPINS = 64
MAX_ITEMS = 256
MAX_VALUE_CHARS = 4096
MAX_ERRORS = 32

_TOP = re.compile(r"""^(["']?)([A-Za-z0-9_.-]+)(\+?)\1[ ]*:(?:[ ]+(.*)|)$""")
_ITEM = re.compile(r"^([ ]*)-(?:[ ]+(.*)|)$")


def _cut(value):
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS]


def _scalar(raw):
    """A one-line YAML scalar, its comment dropped; None when it is not a plain or quoted scalar."""
    raw = raw.strip()
    if not raw or raw.startswith("#"):
        return ""
    if raw[0] in ("'", '"'):
        end = raw.find(raw[0], 1)
        if end < 0:
            return None
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            return None
        return _cut(raw[1:end])
    if raw[0] in "[]{}&*!|>%@`,":
        return None
    cut = re.search(r"[ \t]#", raw)
    value = (raw[: cut.start()] if cut else raw).strip()
    return "" if value in ("~", "null", "Null", "NULL") else _cut(value)


def _flow_list(raw):
    """``[a, "b"]`` on one line: its items, or None."""
    raw = raw.strip()
    cut = re.search(r"\][ \t]*(#.*)?$", raw)
    if not raw.startswith("[") or not cut:
        return None
    body = raw[1 : cut.start()].strip()
    if not body:
        return []
    items = []
    for part in body.split(",")[:MAX_ITEMS]:
        value = _scalar(part)
        if value is None or value == "":
            return None
        items.append(value)
    return items


def parse(text, path):
    """[(key, append, value, line)] for the wanted top-level keys of one file (value None: unparsed), and [errors]."""
    found, errors = [], []
    current = None  # [key, append, items, line] of a block list being read

    def unparsed(number, why):
        if len(errors) < MAX_ERRORS:
            errors.append({"file": path, "line": number, "error": why})

    def close():
        if current is not None:
            found.append((current[0], current[1], current[2], current[3]))  # None: unparsed, the key is not used

    for number, line in enumerate(text.splitlines()[:MAX_LINES], start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.startswith("---") or line.startswith("..."):
            close()
            current = None
            continue
        item = _ITEM.match(line)
        if current is not None and item:
            if current[2] is None:
                continue  # this key already unparsed
            value = _scalar(item.group(2) or "")
            if value is None or value == "":
                unparsed(number, "%s: this list item is not a one-line scalar" % current[0])
                current[2] = None
            elif len(current[2]) < MAX_ITEMS:
                current[2].append(value)
            continue
        if line[:1] in (" ", "\t"):
            if current is not None and current[2] is not None:
                unparsed(number, "%s: a nested or indented value this reader does not read" % current[0])
                current[2] = None
            continue  # inside another key's value
        close()
        current = None
        match = _TOP.match(line)
        if not match:
            key = stripped.split(":", 1)[0].strip("\"' +")
            if key in KEYS:
                unparsed(number, "%s: not a 'key: value' line" % key)
                found.append((key, False, None, number))
            continue
        key, append, raw = match.group(2), bool(match.group(3)), match.group(4)
        if key not in KEYS:
            continue
        raw = (raw or "").strip()
        if raw == "" or raw.startswith("#"):
            current = [key, append, [], number]
            continue
        if raw.startswith("["):
            items = _flow_list(raw)
            if items is None:
                unparsed(number, "%s: a flow list this reader does not read (one line, scalars only)" % key)
            found.append((key, append, items, number))
            continue
        value = _scalar(raw)
        if value is None:
            unparsed(number, "%s: a value this reader does not read (%s)" % (key, _cut(raw)[:40]))
        found.append((key, append, [value] if key in LIST_KEYS and value is not None else value, number))
    close()
    if len(text.splitlines()) > MAX_LINES:
        unparsed(MAX_LINES, "more than %d lines: the rest was not read" % MAX_LINES)
    return found, errors


def _files(root, main):
    dropins = sorted(glob.glob(os.path.join(root, main.lstrip("/") + ".d", "*.yaml")))
    return [main] + [main + ".d/" + os.path.basename(path) for path in dropins[:MAX_DROPINS]]


def _merge(values, errors, key, append, value, where):
    path, line = where
    entry = {"value": value, "file": path, "line": line}
    if value is None:
        entry["unparsed"] = True
        values[key] = entry  # k3s would read this one: an earlier file's value is no longer the one it uses
    elif not append:
        values[key] = entry
    elif key in LIST_KEYS and isinstance(value, list):
        before = values.get(key, {}).get("value") or []
        entry["value"] = (before + value)[:MAX_ITEMS]
        values[key] = entry
    elif len(errors) < MAX_ERRORS:
        errors.append({"file": path, "line": line, "error": "%s+: appending to a single value is not read" % key})


def resolv_conf(fact):
    """(path, file, line, how) of the resolv.conf k3s/rke2 hands its kubelet, or None."""
    values = (fact or {}).get("values") or {}
    chosen = None
    if "resolv-conf" in values:
        entry = values["resolv-conf"]
        if isinstance(entry.get("value"), str) and entry["value"]:  # empty or null: not set, k3s chooses the file itself
            chosen = (entry["value"], entry["file"], entry["line"], "resolv-conf")
    entry = values.get("kubelet-arg")
    if entry and isinstance(entry.get("value"), list):
        for item in entry["value"]:
            name, sep, value = item.lstrip("-").partition("=")
            if sep and name == "resolv-conf":
                chosen = (value, entry["file"], entry["line"], "kubelet-arg resolv-conf=")
    return chosen


def gather(collector):
    """The rancher_config fact: {distribution, files, values: {key: {value, file, line}}, errors}, or None when
    neither k3s's nor rke2's config.yaml (nor a drop-in) exists. Errors are also the collector's problems."""
    present = []
    for name, main in DISTRIBUTIONS:
        files = _files(collector.root, main)
        if len(files) > 1 or os.path.lexists(collector.path(main)):
            present.append((name, files))
    if not present:
        return None
    name, files = present[0]
    fact = {"distribution": name, "files": [], "values": {}, "errors": []}
    if len(present) > 1:
        fact["also_present"] = [other for other, _files_unused in present[1:]]
    for path in files:
        info, text = collector.read_file(path, record=False)
        if text is None:
            if info["status"] != "missing":
                fact["errors"].append({"file": path, "line": 0, "error": "%s: %s" % (info["status"], info.get("error"))})
            continue
        fact["files"].append(path)
        found, errors = parse(text, path)
        fact["errors"].extend(errors[: MAX_ERRORS - len(fact["errors"])])
        for key, append, value, line in found:
            _merge(fact["values"], fact["errors"], key, append, value, (path, line))
    for error in fact["errors"]:
        where = "%s:%d" % (error["file"], error["line"]) if error["line"] else error["file"]
        collector.problem(where, "%s's config not read: %s" % (name, error["error"]))
    return fact
