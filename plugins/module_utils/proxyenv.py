# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP(S) proxy settings kubelet, the container runtimes and root's login shell get: HTTP_PROXY,
HTTPS_PROXY and NO_PROXY in either case (and REQUEST_METHOD, which makes Go refuse HTTP_PROXY), each with the
file and line it came from, read as systemd and a login shell would apply them.

- Services (kubelet, containerd, crio, docker): the unit file systemd loads (the first of its unit
  directories that has it) and its drop-ins ``<unit>.d/*.conf`` (by file name; /etc's copy of a name hides
  /run's and /usr/lib's), ``Environment=`` lines in that order (a later assignment wins, an empty
  ``Environment=`` resets the list), then the files ``EnvironmentFile=`` names, in order, which override
  ``Environment=`` as systemd does. ``%`` specifiers are not expanded (such a file is named, not read).
- Root's login environment: /etc/environment, /etc/profile, /etc/profile.d/*.sh, /root/.profile,
  /root/.bashrc, in the order a login shell reads them; only simple ``export X=value`` and ``X=value`` lines
  are understood (no conditionals, no sourcing, no command or variable substitution: such a value is kept as
  written).

Bounded: at most MAX_FILES files, MAX_FILE_BYTES read of each, MAX_VALUE_CHARS of a value, MAX_SECONDS in all;
a bound reached says ``partial`` with the reason. Text is decoded with replacement. A password in a proxy URL
(``http://user:password@proxy:3128``) never leaves the host: it is replaced by ``REDACTED``.
Runs on the managed host: standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
import time

SERVICES = ("kubelet", "containerd", "crio", "docker")
RUNTIMES = ("containerd", "crio", "docker")
# systemd's system unit search path, highest priority first.
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
LOGIN_FILES = ("/etc/environment", "/etc/profile", "/etc/profile.d/*.sh", "/root/.profile", "/root/.bashrc")
NAMES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD")
_WANTED = frozenset(NAMES)
MAX_FILES = 64
MAX_FILE_BYTES = 256 * 1024
MAX_LINES = 4096
MAX_VALUE_CHARS = 16384
MAX_SECONDS = 2.0
MAX_DROPINS = 32
REDACTED = "REDACTED"
_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def redact(value):
    """``value`` with the password of a proxy URL's user information replaced: ``http://u:REDACTED@p:3128``.
    Everything from the first ``:`` after the scheme to the last ``@`` counts as the password, even where Go's
    URL parser would stop earlier (a password holding an unescaped ``/``): a secret is never kept by mistake.
    A value without ``user:...@`` is returned as it is."""
    match = _SCHEME.match(value)
    start = match.end() if match else 0
    at = value.rfind("@")
    colon = value.find(":", start, at) if at > start else -1
    if colon < 0:
        return value
    return value[:colon] + ":" + REDACTED + value[at:]


def _unquote(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


class Reader:
    """Reads files under ``root`` within the bounds; remembers what it could not read and why."""

    def __init__(self, root="/", budget=MAX_SECONDS, clock=time.monotonic, max_files=MAX_FILES):
        self.root = root or "/"
        self.clock = clock
        self.deadline = clock() + budget
        self.max_files = max_files
        self.files = 0
        self.partial = []
        self.problems = []

    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self, path):
        return os.path.isfile(self.path(path))

    def glob(self, directory, suffix):
        try:
            names = sorted(n for n in os.listdir(self.path(directory)) if n.endswith(suffix))
        except (IOError, OSError):
            return []
        return names

    def lines(self, path):
        """The file's lines (decoded with replacement, at most MAX_LINES), or None when absent or unreadable."""
        full = self.path(path)
        if not os.path.exists(full):
            return None
        if self.clock() > self.deadline:
            self.partial.append("%s not read: the time budget was spent" % path)
            return None
        if self.files >= self.max_files:
            self.partial.append("%s not read: %d files were read already" % (path, self.max_files))
            return None
        if not os.path.isfile(full):
            self.problems.append({"source": path, "message": "not a regular file"})
            return None
        self.files += 1
        try:
            with open(full, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (IOError, OSError) as exc:
            self.problems.append({"source": path, "message": "unreadable: %s" % (getattr(exc, "strerror", None) or exc)})
            return None
        if len(data) > MAX_FILE_BYTES:
            self.partial.append("%s: only its first %d bytes were read" % (path, MAX_FILE_BYTES))
            data = data[:MAX_FILE_BYTES]
        lines = data.decode("utf-8", "replace").splitlines()
        if len(lines) > MAX_LINES:
            self.partial.append("%s: only its first %d lines were read" % (path, MAX_LINES))
            lines = lines[:MAX_LINES]
        return lines


def _value(name, raw, path, line):
    text = raw if len(raw) <= MAX_VALUE_CHARS else raw[:MAX_VALUE_CHARS]
    entry = {"value": redact(text) if name != "REQUEST_METHOD" else text, "file": path, "line": line}
    if len(raw) > MAX_VALUE_CHARS:
        entry["truncated_at_chars"] = MAX_VALUE_CHARS
    return entry


def _logical_lines(lines):
    """(line number, text) of a unit file, a trailing backslash joining the next line (as systemd does)."""
    out, start, parts = [], None, []
    for number, text in enumerate(lines, 1):
        if start is None:
            start = number
        if text.endswith("\\"):
            parts.append(text[:-1])
            continue
        parts.append(text)
        out.append((start, " ".join(parts)))
        start, parts = None, []
    if parts:
        out.append((start, " ".join(parts)))
    return out


def _split_assignments(text):
    """Environment='A=b' "C=d e" F=g -> ["A=b", "C=d e", "F=g"] (systemd's quoting); None when unbalanced."""
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return None


def unit_files(reader, unit):
    """The unit file systemd loads for ``unit`` and its drop-ins, in the order systemd applies them."""
    main = None
    for directory in UNIT_DIRS:
        candidate = "%s/%s" % (directory, unit)
        if reader.exists(candidate):
            main = candidate
            break
    dropins = {}
    for directory in UNIT_DIRS:
        for name in reader.glob("%s/%s.d" % (directory, unit), ".conf"):
            dropins.setdefault(name, "%s/%s.d/%s" % (directory, unit, name))
    names = sorted(dropins)
    if len(names) > MAX_DROPINS:
        reader.partial.append("%s: only %d of its %d drop-ins were read" % (unit, MAX_DROPINS, len(names)))
        names = names[:MAX_DROPINS]
    return main, [dropins[name] for name in names]


def parse_env_file(lines, path):
    """An EnvironmentFile (or /etc/environment): ``KEY=value`` lines, ``#`` and ``;`` comments; ``export`` is
    tolerated. name -> entry for the watched names, later lines winning."""
    found = {}
    for number, text in enumerate(lines, 1):
        text = text.strip()
        if not text or text[0] in "#;":
            continue
        match = _ASSIGN.match(text)
        if match and match.group(1) in _WANTED:
            found[match.group(1)] = _value(match.group(1), _unquote(match.group(2)), path, number)
    return found


def service_env(reader, service):
    """What systemd would give ``service``: {"unit", "files", "env_files", "vars", "unparsed"}; None when no
    unit file or drop-in exists."""
    unit = service + ".service"
    main, dropins = unit_files(reader, unit)
    if main is None and not dropins:
        return None
    env, env_files, unparsed, files = {}, [], [], []
    for path in ([main] if main else []) + dropins:
        lines = reader.lines(path)
        if lines is None:
            continue
        files.append(path)
        section = None
        for number, text in _logical_lines(lines):
            text = text.strip()
            if not text or text[0] in "#;":
                continue
            if text.startswith("[") and text.endswith("]"):
                section = text[1:-1]
                continue
            if section != "Service" or "=" not in text:
                continue
            key, _sep, value = text.partition("=")
            key, value = key.strip(), value.strip()
            if key == "Environment":
                if not value:
                    env = {}
                    continue
                words = _split_assignments(value)
                if words is None:
                    unparsed.append({"file": path, "line": number, "reason": "unbalanced quotes"})
                    continue
                for word in words:
                    name, sep, raw = word.partition("=")
                    if sep and name in _WANTED:
                        env[name] = _value(name, raw, path, number)
            elif key == "EnvironmentFile":
                if not value:
                    env_files = []
                    continue
                optional = value.startswith("-")
                target = value.lstrip("-").strip()
                env_files.append({"path": target, "optional": optional, "named_in": path, "line": number})
    for item in env_files:
        target = item["path"]
        if "%" in target or not target.startswith("/"):
            item["status"] = "unreadable"
            item["error"] = "a systemd specifier or a relative path: not expanded here"
            continue
        lines = reader.lines(target)
        if lines is None:
            item["status"] = "missing" if not os.path.lexists(reader.path(target)) else "unreadable"
            if item["status"] == "unreadable":
                item["error"] = "not a regular file, unreadable or past the read bounds"
            continue
        item["status"] = "ok"
        env.update(parse_env_file(lines, target))  # EnvironmentFile= overrides Environment=
    return {"unit": main, "files": files, "env_files": env_files, "vars": env, "unparsed": unparsed}


def login_env(reader):
    """Root's login environment from simple assignment lines: {"files", "vars"}."""
    env, files = {}, []
    for pattern in LOGIN_FILES:
        if pattern.endswith("/*.sh"):
            directory = pattern[: -len("/*.sh")]
            paths = ["%s/%s" % (directory, name) for name in reader.glob(directory, ".sh")]
        else:
            paths = [pattern]
        for path in paths:
            lines = reader.lines(path)
            if lines is None:
                continue
            files.append(path)
            env.update(parse_env_file(lines, path))
    return {"files": files, "vars": env}


def gather(root="/", budget=MAX_SECONDS, clock=time.monotonic, max_files=MAX_FILES):
    """The ``proxy_env`` fact."""
    reader = Reader(root, budget, clock, max_files)
    services = {}
    for service in SERVICES:
        found = service_env(reader, service)
        if found is not None:
            services[service] = found
    facts = {
        "status": "ok",
        "services": services,
        "login": login_env(reader),
        "partial": reader.partial,
        "problems": reader.problems,
        "parser": "simple assignments only: unit Environment=/EnvironmentFile=, KEY=value and export KEY=value lines",
    }
    return facts
