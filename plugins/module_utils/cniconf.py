# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""flannel's subnet.env and docker's bridge settings (fault F4's docker --bip half).

Pure functions, standard library only (runs on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import shlex

_FLAG = re.compile(r"--(bip|mtu)(?:=|\s+)(\S+)")


def parse_env_file(text):
    """KEY=value lines (shell-style quotes allowed) -> dict; other lines ignored."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        key = key.replace("export ", "").strip()
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value.strip()]
        values[key] = " ".join(parts)
    return values


def docker_daemon_json(text):
    """/etc/docker/daemon.json -> {"bip", "mtu"} (None when unset); ValueError when not JSON."""
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("daemon.json is not a JSON object")
    return {"bip": data.get("bip"), "mtu": data.get("mtu")}


def docker_flags(options):
    """'--bip=10.1.2.1/24 --mtu 1450' -> {"bip": ..., "mtu": ...}."""
    found = {"bip": None, "mtu": None}
    for key, value in _FLAG.findall(options or ""):
        found[key] = value
    return found


def flag_values(arguments):
    """'--node-ip=1.2.3.4 -iface eth1 --v=2' -> {"node-ip": "1.2.3.4", "iface": "eth1", "v": "2"}."""
    try:
        args = shlex.split(arguments or "")
    except ValueError:
        args = (arguments or "").split()
    values = {}
    for index, arg in enumerate(args):
        if not arg.startswith("-"):
            continue
        name, sep, value = arg.lstrip("-").partition("=")
        if not sep and index + 1 < len(args) and not args[index + 1].startswith("-"):
            value = args[index + 1]
        values[name] = value
    return values


def set_daemon_json_keys(data, values):
    """Set top-level keys of a daemon.json in place: an existing key's value token is
    replaced, a missing key is inserted after the opening brace; every other byte
    stays. ``values``: key -> JSON-serialisable value. ValueError when the text is not
    a JSON object or the edit would not parse back to the wanted values."""
    text = (data or b"{}\n").decode("utf-8")
    if not text.strip():
        text = "{}\n"  # empty or whitespace only: an empty config (as the audit reads it), written as one
    current = json.loads(text)
    if not isinstance(current, dict):
        raise ValueError("daemon.json is not a JSON object")
    actions = []
    for key, value in values.items():
        if current.get(key) == value:
            continue
        token = json.dumps(value)
        if key in current:
            # The key's string token at the top level, then its value (a string, number, true/false/null).
            pattern = re.compile(r'("%s"\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9.eE+-]+|true|false|null)' % re.escape(key))
            matches = list(pattern.finditer(text))
            if len(matches) != 1:
                raise ValueError("cannot find the one %r value to replace in daemon.json" % key)
            match = matches[0]
            text = text[: match.start(2)] + token + text[match.end(2) :]
            actions.append("daemon.json: %s %s -> %s" % (key, json.dumps(current[key]), token))
        else:
            brace = text.index("{")
            rest = text[brace + 1 :]
            indent = re.match(r"\s*", rest).group(0)
            separator = "," if rest.strip() != "}" else ""
            inner = indent if "\n" in indent else "\n  "
            text = (
                text[: brace + 1]
                + inner.rstrip(" ").rstrip("\t")
                + (inner.lstrip("\n") or "  ")
                + '"%s": %s%s' % (key, token, separator)
                + (rest if separator or "\n" in indent else "\n" + rest.lstrip())
            )
            actions.append("daemon.json: set %s = %s" % (key, token))
        current = json.loads(text)
    parsed = json.loads(text)
    if any(parsed.get(k) != v for k, v in values.items()):
        raise ValueError("the edited daemon.json does not hold the wanted values")
    return text.encode("utf-8"), actions
