# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the host's own NetworkManager runs: one detection for the facts and for hostnet_route.

A process named ``NetworkManager`` counts only when it shares the caller's network
and PID namespaces (``/proc/PID/ns/net`` and ``ns/pid`` against ``/proc/self/ns/...``):
one in a container (another PID or network namespace on the same machine) manages the
container's interfaces, not the host's. The mount namespace is not compared: systemd
gives NetworkManager.service one of its own (ProtectSystem=, ProtectHome=) on Debian,
Ubuntu and Fedora, and it is still the host's NetworkManager. Where those links cannot be
read (no root: the kernel hides another user's namespace links), NetworkManager's
own runtime state decides: its pid file in the ``/run`` the caller sees names a live
process of that name. Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

NAME = "NetworkManager"
PID_FILE = "/run/NetworkManager/NetworkManager.pid"
MAX_PROCESSES = 100000  # /proc walks are bounded
KINDS = ("net", "pid")  # the namespaces a process must share with the caller to be the host's


def _read(path, limit=4096):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def _link(path):
    try:
        return os.readlink(path)
    except (IOError, OSError):
        return None


def _named(proc, pid):
    return (_read(os.path.join(proc, str(pid), "comm")) or "").strip() == NAME


def _from_pid_file(proc, pid_file):
    """True when the pid file this mount namespace sees names a live NetworkManager."""
    text = (_read(pid_file, 64) or "").strip()
    return text.isdigit() and _named(proc, int(text))


def running(proc="/proc", pid_file=PID_FILE):
    """True when the host's own NetworkManager runs (see the module docstring), else False."""
    mine = {kind: _link(os.path.join(proc, "self", "ns", kind)) for kind in KINDS}
    unknown = False
    for count, comm in enumerate(glob.glob(os.path.join(proc, "[0-9]*", "comm"))):
        if count >= MAX_PROCESSES:
            break
        if (_read(comm) or "").strip() != NAME:
            continue
        directory = os.path.dirname(comm)
        theirs = {kind: _link(os.path.join(directory, "ns", kind)) for kind in KINDS}
        if None in theirs.values() or None in mine.values():
            unknown = True  # not ours to read: the pid file decides
            continue
        if theirs == mine:
            return True
    return bool(unknown and _from_pid_file(proc, pid_file))
