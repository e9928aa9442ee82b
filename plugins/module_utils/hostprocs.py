# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs on the host besides its files: the sockets on Kubernetes' ports with the processes that hold them
(/proc, bounded in lines and time), and which of kubeadm's preflight commands a PATH lookup finds.
Runs on the managed host: standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.kubeprep.hostnet.plugins.module_utils import portprobe

# Every port a node's own processes listen on (whichever CNI): rule port-in-use picks those of hostnet_cni.
WATCHED_PORTS = tuple(
    sorted(
        {
            (p[0], p[1])
            for p in portprobe.NODE_PORTS
            + portprobe.ETCD_PORTS
            + portprobe.LOCAL_PORTS
            + sum(portprobe.CNI_PORTS.values(), ())
            + sum(portprobe.CNI_LOCAL_PORTS.values(), ())
        }
    )
)
MAX_OWNER_SECONDS = 3.0  # the /proc scan for the processes that hold those sockets stops after this long
MAX_PROCESSES_PER_SOCKET = 8
MAX_COMMAND_CHARS = 512


def _proc_text(path, limit):
    """At most ``limit`` bytes of a /proc file, NULs as spaces, decoded with replacement; None when unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except (IOError, OSError):
        return None
    text = data[:limit].replace(b"\0", b" ").strip().decode("utf-8", "replace")
    return text + (" ..." if len(data) > limit else "")


def socket_owners(inodes, proc="/proc", budget=MAX_OWNER_SECONDS, clock=time.monotonic):
    """inode -> [{"pid", "comm", "command"}] of the processes whose open files include the socket, and whether the
    scan was complete (every process read within ``budget`` seconds). One pass over /proc/<pid>/fd, stopped as soon
    as every inode has an owner: a socket is usually held by one process (and its forked children)."""
    wanted = {"socket:[%d]" % inode: inode for inode in inodes if inode}
    owners = {}
    if not wanted:
        return owners, True
    deadline = clock() + budget
    try:
        pids = sorted(int(name) for name in os.listdir(proc) if name.isdigit())
    except (IOError, OSError):
        return owners, False
    for pid in pids:
        if clock() > deadline:
            return owners, False
        fd_dir = os.path.join(proc, str(pid), "fd")
        try:
            entries = os.scandir(fd_dir)
        except (IOError, OSError):
            continue  # gone, or another user's without root
        with entries:
            for count, entry in enumerate(entries):
                if count % 1024 == 1023 and clock() > deadline:
                    return owners, False
                try:
                    target = os.readlink(entry.path)
                except (IOError, OSError):
                    continue
                inode = wanted.get(target)
                if inode is None:
                    continue
                held = owners.setdefault(inode, [])
                if len(held) < MAX_PROCESSES_PER_SOCKET and all(p["pid"] != pid for p in held):
                    held.append(
                        {
                            "pid": pid,
                            "comm": _proc_text(os.path.join(proc, str(pid), "comm"), 64),
                            "command": _proc_text(os.path.join(proc, str(pid), "cmdline"), MAX_COMMAND_CHARS),
                        }
                    )
    return owners, True


def port_holders(proc="/proc", ports=WATCHED_PORTS, budget=MAX_OWNER_SECONDS, max_lines=portprobe.MAX_SOCKET_LINES):
    """The sockets on the ports Kubernetes' own processes use, each with the processes that hold it (rule port-in-use)."""
    found, truncated = [], False
    for proto in ("tcp", "udp"):
        held, cut = portprobe.sockets(proto, [port for p, port in ports if p == proto], proc, max_lines)
        found.extend(held)
        truncated = truncated or cut
    owners, complete = socket_owners([entry["inode"] for entry in found], proc, budget)
    for entry in found:
        entry["processes"] = owners.get(entry["inode"], [])
    result = {"status": "ok" if complete and not truncated else "partial", "ports": ["%s/%d" % item for item in ports], "list": found}
    if truncated:
        result["error"] = "a socket table has more than %d lines; the rest was not read" % max_lines
    elif not complete:
        result["error"] = "the processes were not all read within %.0f s" % budget
    return result


# kubeadm's preflight looks these up in PATH (InPathCheck, cmd/kubeadm/app/preflight/checks_linux.go): an error
# when one of the first is missing, a warning for the others (rule required-tools-missing).
KUBEADM_TOOLS = ("ip", "iptables", "mount", "nsenter", "conntrack", "ethtool", "socat", "tc")
# Where a tool missing from PATH may still be (then PATH, not the package, is what to fix).
USUAL_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
MAX_PATH_DIRS = 64
MAX_PATH_CHARS = 4096


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def tools_in_path(names=KUBEADM_TOOLS, path=None):
    """Each of ``names`` as a lookup in PATH finds it (Go's exec.LookPath, which kubeadm uses): the first executable
    regular file of that name in a PATH directory, or None; for one not found, ``elsewhere``: where it is in the usual
    directories. ``path``: this process's PATH (the module runs as root with become: PATH as root sees it). Relative and
    empty PATH entries are skipped (they would name the module's working directory); at most 64 entries are read."""
    raw = os.environ.get("PATH", "") if path is None else path
    entries = raw[:MAX_PATH_CHARS].split(os.pathsep)
    dirs = [d for d in entries[:MAX_PATH_DIRS] if d.startswith("/")]
    found, elsewhere = {}, {}
    for name in names:
        found[name] = next((os.path.join(d, name) for d in dirs if _executable(os.path.join(d, name))), None)
        if found[name] is None:
            other = next((os.path.join(d, name) for d in USUAL_DIRS if d not in dirs and _executable(os.path.join(d, name))), None)
            if other:
                elsewhere[name] = other
    result = {"path": raw[:MAX_PATH_CHARS], "in_path": found, "elsewhere": elsewhere}
    if len(raw) > MAX_PATH_CHARS or len(entries) > MAX_PATH_DIRS:
        result["path_truncated"] = True
    return result
