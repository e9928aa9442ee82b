# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which kernel modules the running kernel has: loaded (/proc/modules), built in (modules.builtin), loadable
(modules.dep, plain or compressed .ko files), and the kernel's own signs of a module being present (/sys/module,
the files a module creates in /proc). Runs on the managed host: standard library only; every file read is bounded
in bytes and lines, decoded with replacement, and a source that cannot be read is reported, never raised."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os
import zlib

# The modules a Kubernetes node may need (kube-proxy, the container runtime, the CNIs, NodeLocal DNSCache):
# each is reported on its own; the full lists are only counted.
WANTED = ("br_netfilter", "overlay", "nf_conntrack", "nf_tables", "vxlan", "ipip", "dummy", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh")
# A file that exists only while the module is in the kernel (loaded or built in), for modules that may have no
# /sys/module entry when built in (br_netfilter has no parameters).
SIGNS = {
    "br_netfilter": "/proc/sys/net/bridge/bridge-nf-call-iptables",
    "nf_conntrack": "/proc/sys/net/netfilter/nf_conntrack_max",
    "ip_vs": "/proc/net/ip_vs",
}
# The kernel's own build options (kubeadm's SystemVerification reads the same): y is built in, m a module, absent
# (``# CONFIG_X is not set``) not in this kernel at all. The one source that sees a built-in module where /sys/module
# is not mounted (systemd-nspawn, some containers).
CONFIGS = {
    "br_netfilter": "CONFIG_BRIDGE_NETFILTER",
    "overlay": "CONFIG_OVERLAY_FS",
    "nf_conntrack": "CONFIG_NF_CONNTRACK",
    "nf_tables": "CONFIG_NF_TABLES",
    "vxlan": "CONFIG_VXLAN",
    "ipip": "CONFIG_NET_IPIP",
    "dummy": "CONFIG_DUMMY",
    "ip_vs": "CONFIG_IP_VS",
    "ip_vs_rr": "CONFIG_IP_VS_RR",
    "ip_vs_wrr": "CONFIG_IP_VS_WRR",
    "ip_vs_sh": "CONFIG_IP_VS_SH",
}
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a distribution kernel's config is about 300 KiB
MAX_BYTES = 16 * 1024 * 1024  # modules.dep of a distribution kernel is about 1 MiB
MAX_LINES = 200000
MAX_LOADED = 4096
SUFFIXES = (".ko.zst", ".ko.xz", ".ko.gz", ".ko")


def module_name(text):
    """A module's name as the kernel and modprobe compare it: the file's base name without .ko (and its
    compression), ``-`` as ``_`` (modprobe treats them alike)."""
    base = text.strip().rsplit("/", 1)[-1]
    for suffix in SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def _lines(path, max_bytes=None, max_lines=None):
    """(status, lines, truncated, error): at most ``max_bytes`` and ``max_lines`` of a text file, decoded with
    replacement. status: ok, missing, or error."""
    max_bytes = max_bytes or MAX_BYTES
    max_lines = max_lines or MAX_LINES
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except (IOError, OSError) as exc:
        missing = getattr(exc, "errno", None) == 2
        return ("missing" if missing else "error"), [], False, None if missing else "%s: %s" % (path, getattr(exc, "strerror", None) or exc)
    truncated = len(data) > max_bytes
    lines = data[:max_bytes].decode("utf-8", "replace").splitlines()
    if len(lines) > max_lines:
        lines, truncated = lines[:max_lines], True
    return "ok", lines, truncated, None


def kernel_config(root, release):
    """(source, {option: value}, error): the running kernel's build options from /proc/config.gz (CONFIG_IKCONFIG_PROC)
    or /boot/config-<release>; at most MAX_CONFIG_BYTES of text. source None: neither exists."""
    for source in ("/proc/config.gz", "/boot/config-%s" % release):
        path = _in(root, source)
        if not os.path.exists(path):
            continue
        try:
            if source.endswith(".gz"):
                with gzip.open(path, "rb") as handle:
                    data = handle.read(MAX_CONFIG_BYTES)
            else:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_CONFIG_BYTES)
        except (IOError, OSError, EOFError, zlib.error) as exc:
            return source, {}, "%s: %s" % (source, getattr(exc, "strerror", None) or exc)
        options = {}
        for line in data.decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.startswith("CONFIG_"):
                options[key.strip()] = value.strip()[:64]
        return source, options, None
    return None, {}, None


def _in(root, path):
    return os.path.join(root, path.lstrip("/"))


def kernel_modules(root="/", release=None, wanted=WANTED):
    """The facts ``kernel_modules``: for the running kernel (``release``: its ``uname -r``), the modules loaded,
    built in and loadable, and for each of ``wanted`` where it was found. ``root`` prefixes every path (tests)."""
    release = release or os.uname()[2]
    facts = {"status": "ok", "release": release, "errors": []}
    # /proc/modules: loaded modules; absent when the kernel has no loadable module support (CONFIG_MODULES off).
    status, lines, truncated, error = _lines(_in(root, "/proc/modules"))
    loaded = []
    for line in lines:
        name = line.split(" ", 1)[0].strip()
        if name and len(loaded) < MAX_LOADED:
            loaded.append(module_name(name))
    facts["loaded"] = {"status": status, "names": sorted(set(loaded)), "truncated": truncated or len(lines) > MAX_LOADED}
    facts["module_support"] = status != "missing"
    if error:
        facts["errors"].append(error)
    # /lib/modules/<release> (or /usr/lib/modules on a merged /usr without the /lib link).
    module_dir = None
    for base in ("/lib/modules", "/usr/lib/modules"):
        if os.path.isdir(_in(root, "%s/%s" % (base, release))):
            module_dir = "%s/%s" % (base, release)
            break
    facts["module_dir"] = module_dir or "/lib/modules/%s" % release
    facts["module_dir_exists"] = module_dir is not None
    builtin, loadable = set(), {}
    for key, name in (("builtin", "modules.builtin"), ("loadable", "modules.dep")):
        path = "%s/%s" % (facts["module_dir"], name)
        if module_dir is None:
            facts[key] = {"status": "missing", "path": path, "count": 0, "truncated": False}
            continue
        status, lines, truncated, error = _lines(_in(root, path))
        for line in lines:
            field = line.split(":", 1)[0].strip()
            if not field:
                continue
            if key == "builtin":
                builtin.add(module_name(field))
            else:
                loadable.setdefault(module_name(field), field[:256])
        facts[key] = {"status": status, "path": path, "count": len(builtin if key == "builtin" else loadable), "truncated": truncated}
        if error:
            facts["errors"].append(error)
    try:
        in_sys = set(os.listdir(_in(root, "/sys/module")))
    except (IOError, OSError):
        in_sys = set()
    filesystems = _lines(_in(root, "/proc/filesystems"), 65536, 1000)[1]
    source, config, error = kernel_config(root, release)
    facts["config"] = {"source": source, "status": "error" if error else ("ok" if source else "missing")}
    if error:
        facts["errors"].append(error)
    loaded_set = set(facts["loaded"]["names"])
    report = {}
    for name in wanted:
        sign = SIGNS.get(name)
        if name == "overlay":
            sign = "/proc/filesystems" if any(line.split()[-1:] == ["overlay"] for line in filesystems) else None
        elif sign and not os.path.exists(_in(root, sign)):
            sign = None
        report[name] = {
            "loaded": name in loaded_set,
            "builtin": name in builtin,
            "loadable": loadable.get(name),
            "sysfs": name in in_sys,
            "sign": sign,
            # y, m, or null: not set in a config that was read; absent when no config was read
        }
        if source and not error and name in CONFIGS:
            report[name]["config"] = config.get(CONFIGS[name])
    facts["modules"] = report
    if not facts["errors"]:
        del facts["errors"]
    return facts
