# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse nsswitch.conf(5) and decide the order in which ``hosts`` lookups
consult ``files`` and ``dns``.

Pure functions, standard library only (runs on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# What a resolver does when /etc/nsswitch.conf is missing or has no hosts: line.
# glibc < 2.35: "dns [!UNAVAIL=return] files" (DNS first); glibc >= 2.35: "files dns".
# Go's pure resolver < 1.16 treated a missing file as DNS first; >= 1.16 files first.
# musl never reads nsswitch.conf: /etc/hosts first, then DNS.
GLIBC_FILES_FIRST_SINCE = (2, 35)
GO_FILES_FIRST_SINCE = (1, 16)

_ACTION = re.compile(r"\[[^\]]*\]")


def lines_of(text):
    """The file's lines as glibc and Go read them: split at newline only (a form feed or
    vertical tab is just a character inside a line), a trailing carriage return dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_nsswitch(text):
    """Return {"databases": {db: {"line": n, "raw": raw, "sources": [...], "lines": [n, ...]}}}.

    Sources keep their order; bracketed actions such as ``[NOTFOUND=return]``
    are attached to the source before them under ``actions``. When a database is
    defined on several lines, the last one is effective (glibc 2.31 and 2.36 and Go's
    resolver all keep the last); ``lines`` lists every line that defines it.
    """
    databases = {}
    for number, raw in enumerate(lines_of(text), start=1):
        body = raw.split("#", 1)[0].strip()
        if not body or ":" not in body:
            continue
        db, _sep, rest = body.partition(":")
        db = db.strip().lower()
        if not db or " " in db:
            continue
        sources = []
        for token in re.findall(r"\[[^\]]*\]|[^\s\[]+", rest):
            if _ACTION.fullmatch(token):
                if sources:
                    sources[-1]["actions"].append(token)
                continue
            sources.append({"name": token.lower(), "actions": []})
        # glibc keeps the last definition of a database (getent on 2.31 and 2.36); Go's resolver
        # reads every line in order (go1.19: `hosts: dns` then `hosts: files` asks DNS, then files).
        previous = databases.get(db, {})
        databases[db] = {
            "line": number,
            "raw": raw,
            "sources": sources,
            "lines": previous.get("lines", []) + [number],
            "all_sources": previous.get("all_sources", []) + sources,
        }
    return {"databases": databases}


def source_names(db_entry):
    return [s["name"] for s in db_entry["sources"]] if db_entry else []


def dns_before_files(sources):
    """True when DNS is consulted before /etc/hosts for these hosts: sources."""
    if "dns" not in sources:
        return False
    if "files" not in sources:
        return True
    return sources.index("dns") < sources.index("files")


def parse_version(text):
    """'2.36' -> (2, 36); None when it cannot be read."""
    if not text:
        return None
    match = re.match(r"(\d+)\.(\d+)", str(text).lstrip("go"))
    return (int(match.group(1)), int(match.group(2))) if match else None


def default_hosts_sources(libc_family, libc_version):
    """The hosts: sources a libc uses when nsswitch.conf gives none.

    Returns (sources, dns_first) or (None, None) when unknown.
    """
    if libc_family == "musl":
        return ["files", "dns"], False
    if libc_family == "glibc":
        version = parse_version(libc_version)
        if version is None:
            return None, None
        if version >= GLIBC_FILES_FIRST_SINCE:
            return ["files", "dns"], False
        return ["dns", "files"], True
    return None, None
