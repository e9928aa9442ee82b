# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse resolv.conf(5) and model the worst-case time of one failed lookup.

Pure functions, standard library only (runs on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# resolv.conf(5) defaults and limits shared by glibc and musl.
MAXNS = 3
DEFAULT_TIMEOUT = 5
DEFAULT_ATTEMPTS = 2
DEFAULT_NDOTS = 1
MAX_TIMEOUT = 30
MAX_ATTEMPTS = 5

_OWNER_MARKERS = (
    ("systemd-resolved", "systemd-resolved"),
    ("NetworkManager", "NetworkManager"),
    ("resolvconf", "resolvconf"),
    ("netconfig", "netconfig"),
    ("dhclient", "dhclient"),
    ("cloud-init", "cloud-init"),
)


_COMMENT = re.compile(r"[;#]")


def _int_option(value, default, upper):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(0, min(number, upper))


def parse_resolv_conf(text):
    """Return nameservers, search, options and unparsed lines of resolv.conf."""
    nameservers = []
    search = []
    options = {}
    unknown = []
    owner = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith(("#", ";")):
            if owner is None:
                for marker, name in _OWNER_MARKERS:
                    if marker in stripped:
                        owner = name
                        break
            continue
        fields = stripped.split()
        if not fields:
            continue
        key, args = fields[0], fields[1:]
        if key == "nameserver" and args:
            # glibc ends the address at ';' or '#' (strcspn ";# \t\n") and kubelet strips a comment from either on:
            # both read "nameserver 127.0.0.53#resolved" as 127.0.0.53.
            address = _COMMENT.split(args[0], 1)[0]
            if address:
                nameservers.append({"address": address, "line": number})
        elif key in ("search", "domain"):
            # The last search/domain line wins.
            search = list(args)
        elif key == "options":
            for opt in args:
                name, _sep, value = opt.partition(":")
                options[name] = value if value else True
        else:
            unknown.append({"line": number, "raw": raw})
    timeout = _int_option(options.get("timeout"), DEFAULT_TIMEOUT, MAX_TIMEOUT)
    attempts = _int_option(options.get("attempts"), DEFAULT_ATTEMPTS, MAX_ATTEMPTS)
    ndots = _int_option(options.get("ndots"), DEFAULT_NDOTS, 15)
    return {
        "nameservers": nameservers,
        "search": search,
        "options": options,
        "timeout": timeout or 1,
        "attempts": attempts or 1,
        "ndots": ndots,
        "rotate": bool(options.get("rotate")),
        "unknown_lines": unknown,
        "generated_by": owner,
    }


def _names_tried(search, name):
    """How many names a stub resolver sends for ``name`` before giving up.

    ndots only changes the order (search list first or the name as-is first),
    not the count; a trailing dot disables the search list.
    """
    return 1 if name.endswith(".") else 1 + len(search)


def worst_case_seconds(conf, model="glibc", name="localhost"):
    """Seconds one lookup of ``name`` can take when no nameserver answers.

    glibc: per attempt, nameserver i waits ``timeout << i // nscount`` (i > 0),
    ``timeout`` for the first; A and AAAA go out in parallel.
    Go (pure resolver): ``timeout`` per nameserver per attempt.
    musl: all nameservers at once; ``timeout`` is the total for the query.
    With no nameserver line, resolvers query 127.0.0.1 (a local refusal is
    fast), so the model uses one nameserver.
    """
    count = min(len(conf.get("nameservers") or []), MAXNS) or 1
    timeout = conf.get("timeout", DEFAULT_TIMEOUT)
    attempts = conf.get("attempts", DEFAULT_ATTEMPTS)
    names = _names_tried(conf.get("search") or [], name)
    if model == "musl":
        per_name = timeout
    elif model == "go":
        per_name = timeout * attempts * count
    else:
        per_attempt = 0
        for index in range(count):
            seconds = timeout if index == 0 else (timeout << index) // count
            per_attempt += max(seconds, 1)
        per_name = per_attempt * attempts
    return per_name * names
