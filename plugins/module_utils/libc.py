# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identify the C library (glibc or musl) and its version.

Standard library only (runs on managed hosts). For the live system the
running interpreter's libc answers (``os.confstr``); for an image or chroot
the library files under its root are read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

GLIBC_PATTERNS = (
    "lib/*-linux-gnu*/libc.so.6",
    "usr/lib/*-linux-gnu*/libc.so.6",
    "lib64/libc.so.6",
    "usr/lib64/libc.so.6",
    "lib/libc.so.6",
    "usr/lib/libc.so.6",
)
MUSL_PATTERNS = ("lib/ld-musl-*.so.1", "usr/lib/ld-musl-*.so.1", "lib/libc.musl-*.so.1")

_GLIBC_BANNER = re.compile(rb"GNU C Library [^\n\x00]*?version (\d+\.\d+)")
_MUSL_VERSION = re.compile(rb"\x00(1\.\d+\.\d+)\x00")
_SCAN_LIMIT = 16 * 1024 * 1024


def glibc_version_from_bytes(data):
    match = _GLIBC_BANNER.search(data)
    return match.group(1).decode("ascii") if match else None


def musl_version_from_bytes(data):
    match = _MUSL_VERSION.search(data)
    return match.group(1).decode("ascii") if match else None


def _read_head(path):
    with open(path, "rb") as handle:
        return handle.read(_SCAN_LIMIT)


def _first(root, patterns):
    for pattern in patterns:
        found = sorted(glob.glob(os.path.join(root, pattern)))
        if found:
            return found[0]
    return None


def detect_libc(root="/", live=True):
    """Return {"family": glibc|musl|unknown, "version": str|None, "source": str}."""
    if live:
        try:
            value = os.confstr("CS_GNU_LIBC_VERSION")
        except (ValueError, OSError, AttributeError):
            value = None
        if value and value.startswith("glibc "):
            return {"family": "glibc", "version": value.split()[1], "source": "confstr"}
    musl = _first(root, MUSL_PATTERNS)
    if musl:
        try:
            version = musl_version_from_bytes(_read_head(musl))
        except (IOError, OSError):
            version = None
        return {"family": "musl", "version": version, "source": musl}
    glibc = _first(root, GLIBC_PATTERNS)
    if glibc:
        try:
            version = glibc_version_from_bytes(_read_head(glibc))
        except (IOError, OSError):
            version = None
        return {"family": "glibc", "version": version, "source": glibc}
    return {"family": "unknown", "version": None, "source": None}
