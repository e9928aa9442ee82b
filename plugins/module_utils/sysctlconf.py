# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the boot applies: sysctl configuration files in the order systemd-sysctl
and procps' ``sysctl --system`` read them, and which of them would override a
setting of ours.

Both read ``*.conf`` from the directories below, sorted by file name across
directories (the first directory's file wins for a name); a later file's
assignment wins. ``sysctl --system`` then reads /etc/sysctl.conf last, and
Debian links it as /etc/sysctl.d/99-sysctl.conf for systemd-sysctl: either way
it is applied after ``90-kubeprep-hostnet.conf``. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os

SYSCTL_DIRS = ("etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d")
SYSCTL_CONF = "etc/sysctl.conf"
MARKER = b"# kubeprep.hostnet: overridden by "


def normalise(key):
    """sysctl.d(5): '/' and '.' both separate; a leading '-' only ignores failures."""
    key = key.strip().lstrip("-").strip()
    if "/" in key and "." not in key.split("/")[0]:
        key = key.replace("/", ".")
    return key


def _assignment(stripped):
    """(key, value) of a stripped ``[-]key = value`` line, or None. String methods, not a regular
    expression: a lazy pattern with whitespace on both sides of ``=`` took seconds on a long line of blanks."""
    # A leading '-' is the flag when a key follows it, else the key's first character.
    for body in (stripped[1:].lstrip(), stripped) if stripped[:1] == b"-" else (stripped,):
        key, sep, value = body.partition(b"=")
        key = key.rstrip()
        if sep and key and key[:1] not in (b"#", b";"):
            return key, value.strip()
    return None


def assignments(data):
    """(line index, key, value) of every assignment in a sysctl file's bytes."""
    found = []
    for index, line in enumerate((data or b"").splitlines()):
        stripped = line.strip()
        if not stripped or stripped[:1] in (b"#", b";"):
            continue
        pair = _assignment(stripped)
        if pair:
            found.append((index, normalise(pair[0].decode("utf-8", "replace")), pair[1].decode("utf-8", "replace")))
    return found


def matches(pattern, key):
    """A key of a file (possibly a glob, systemd-sysctl allows them) against ours."""
    return pattern == key or (any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(key, pattern))


def boot_order(root="/"):
    """Every file the boot applies, in the order applied (last wins)."""
    by_name = {}
    for directory in SYSCTL_DIRS:
        path = os.path.join(root, directory)
        try:
            names = sorted(os.listdir(path))
        except (IOError, OSError):
            continue
        for name in names:
            if name.endswith(".conf") and name not in by_name:
                by_name[name] = os.path.join(path, name)
    ordered = [by_name[name] for name in sorted(by_name)]
    conf = os.path.join(root, SYSCTL_CONF)
    if os.path.isfile(conf):
        ordered.append(conf)
    return ordered


def overrides(our_file, key, value, root="/"):
    """Assignments of ``key`` to another value that the boot applies after ``our_file``.

    Returns [(path, real path, line number, raw line)]. A file that is ours
    (the same real path) does not count. /dev/null links (masks) are skipped.
    """
    ours = os.path.realpath(our_file)
    our_name = os.path.basename(our_file)
    later = [path for path in boot_order(root) if os.path.basename(path) > our_name or path == os.path.join(root, SYSCTL_CONF)]
    found = []
    seen = set()
    for path in later:
        real = os.path.realpath(path)
        if real == ours or real == "/dev/null" or real in seen:
            continue
        seen.add(real)
        try:
            with open(real, "rb") as handle:
                data = handle.read()
        except (IOError, OSError):
            continue
        lines = data.splitlines()
        for index, file_key, file_value in assignments(data):
            if matches(file_key, key) and file_value != value:
                found.append((path, real, index + 1, lines[index].decode("utf-8", "replace")))
    return found


def comment_out(key, value, our_file):
    """An edit that comments out the assignments of ``key`` to another value, naming our file."""

    def edit(data):
        lines = (data or b"").splitlines(True)
        wanted = {index for index, file_key, file_value in assignments(data) if matches(file_key, key) and file_value != value}
        actions = []
        for index in sorted(wanted):
            line = lines[index]
            body = line.rstrip(b"\r\n")
            lines[index] = MARKER + our_file.encode("utf-8") + b": " + body + line[len(body) :]
            actions.append("commented out %r (it overrides %s at boot)" % (body.decode("utf-8", "replace").strip(), our_file))
        return b"".join(lines), actions

    return edit
