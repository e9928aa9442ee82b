# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which resolv.conf kubelet hands to pods and CoreDNS, and what it lists.

kubelet copies the nameservers and search domains of one node file into the ``resolv.conf`` of every pod with
``dnsPolicy: Default`` (CoreDNS's own pods, whose ``forward . /etc/resolv.conf`` then forwards there) and the
search domains into every ``ClusterFirst`` pod. The file is, in kubelet's order of precedence:

1. the path a user or installer gave the audit (``hostnet_kubelet_resolv_conf``);
2. ``--resolv-conf`` on kubelet's command line: a token scan of the kubelet unit, its drop-ins and the
   environment files kubeadm, kubespray and the distributions' packages source (the last one found wins, as
   in kubelet's flag parser; a flag counts wherever it is in those files);
   Then ``resolv-conf`` (or a ``kubelet-arg`` item ``resolv-conf=<file>``, which wins) in k3s's or rke2's own
   config files (module ``rancherconfig``): they pass it to the kubelet they run in their own process;
3. ``resolvConf`` in kubelet's config file (the path of ``--config``, found the same way, else kubeadm's
   ``/var/lib/kubelet/config.yaml``); a config file without it means kubelet's default, ``/etc/resolv.conf``;
4. no config file yet (before ``kubeadm init``/``join``): ``/run/systemd/resolve/resolv.conf`` when
   systemd-resolved runs (kubeadm's ``mutateResolverConfig`` writes that path when the service is active),
   else ``/etc/resolv.conf``.

The config file is read with a minimal line reader, not a YAML parser (none on the host): a top-level
``resolvConf:`` key (or ``"resolvConf": "..."`` in JSON). Everything read is bounded: 8 MiB per file
(the collector's read), ``MAX_LINES`` lines scanned per file, ``MAX_DROPINS`` drop-ins, paths cut at
``MAX_PATH_CHARS``. Standard library only (runs on the managed host).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

from ansible_collections.kubeprep.hostnet.plugins.module_utils import rancherconfig, resolvconf

DEFAULT_CONFIG = "/var/lib/kubelet/config.yaml"
DEFAULT_RESOLV_CONF = "/etc/resolv.conf"
RESOLVED_RESOLV_CONF = "/run/systemd/resolve/resolv.conf"
# systemd's unit search path, highest priority first (the first unit file found is the unit).
UNIT_FILES = (
    "/etc/systemd/system/kubelet.service",
    "/run/systemd/system/kubelet.service",
    "/usr/local/lib/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
)
# Drop-in directories, lowest priority first: a drop-in of the same name in a later directory replaces it.
DROPIN_DIRS = (
    "/usr/lib/systemd/system/kubelet.service.d",
    "/lib/systemd/system/kubelet.service.d",
    "/usr/local/lib/systemd/system/kubelet.service.d",
    "/run/systemd/system/kubelet.service.d",
    "/etc/systemd/system/kubelet.service.d",
)
# Environment files, in the order kubeadm's drop-in expands them ($KUBELET_KUBEADM_ARGS, then
# $KUBELET_EXTRA_ARGS), kubespray's kubelet.env, then the packages' /etc/default and /etc/sysconfig files.
ENV_FILES = (
    "/var/lib/kubelet/kubeadm-flags.env",
    "/etc/kubernetes/kubelet.env",
    "/etc/default/kubelet",
    "/etc/sysconfig/kubelet",
)
MAX_LINES = 20000
MAX_DROPINS = 64
MAX_PATH_CHARS = 4096
RESOLVED_COMM = "systemd-resolve"  # /proc/PID/comm holds 15 characters of "systemd-resolved"
MAX_PROCESSES = 100000

_VALUE = r"""(?:=|[ \t]+)(?:"([^"\n]*)"|'([^'\n]*)'|([^\s"'\\]*))"""
_FLAGS = {name: re.compile(r"(?:^|[\s\"'=])--%s%s" % (re.escape(name), _VALUE)) for name in ("resolv-conf", "config")}
_YAML_KEY = re.compile(r"""^["']?resolvConf["']?[ \t]*:[ \t]*(.*)$""")
_JSON_KEY = re.compile(r'"resolvConf"\s*:\s*"([^"\n]*)"')


def _lines(text):
    for number, line in enumerate(text.splitlines()[:MAX_LINES], start=1):
        yield number, line


def _cut(path):
    return path if len(path) <= MAX_PATH_CHARS else path[:MAX_PATH_CHARS]


def find_flags(text, name):
    """Every ``--name`` value in ``text`` (comment lines skipped): [(line number, value)]."""
    found = []
    pattern = _FLAGS[name]
    for number, line in _lines(text):
        if line.lstrip().startswith(("#", ";")):
            continue
        for match in pattern.finditer(line):
            value = next((g for g in match.groups() if g is not None), "")
            found.append((number, _cut(value)))
    return found


def _yaml_scalar(raw):
    """A YAML plain, single- or double-quoted scalar on one line, its comment dropped."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    cut = re.search(r"\s#", raw)
    return (raw[: cut.start()] if cut else raw).strip()


def config_resolv_conf(text):
    """(line number, value) of a KubeletConfiguration's top-level ``resolvConf``, or None. The last one wins."""
    found = None
    for number, line in _lines(text):
        match = _YAML_KEY.match(line)
        if match:
            found = (number, _cut(_yaml_scalar(match.group(1))))
            continue
        match = _JSON_KEY.search(line)
        if match:
            found = (number, _cut(match.group(1)))
    return found


def _read_link(path):
    try:
        return os.readlink(path)
    except (IOError, OSError):
        return None


def _read_small(path, limit=256):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def resolved_running(proc="/proc"):
    """True when a systemd-resolved of this host runs (a process of that name in the caller's network namespace),
    False when none does, None when /proc cannot tell."""
    mine = _read_link(os.path.join(proc, "self", "ns", "net"))
    if mine is None:
        return None
    unknown = False
    for count, comm in enumerate(glob.glob(os.path.join(proc, "[0-9]*", "comm"))):
        if count >= MAX_PROCESSES:
            break
        if (_read_small(comm) or "").strip() != RESOLVED_COMM:
            continue
        theirs = _read_link(os.path.join(os.path.dirname(comm), "ns", "net"))
        if theirs is None:
            unknown = True  # another user's process without root: cannot tell whose it is
        elif theirs == mine:
            return True
    return None if unknown else False


def unit_files(root):
    """The kubelet unit file and its drop-ins, in the order systemd applies them (paths relative to ``root``)."""
    files = []
    for path in UNIT_FILES:
        if os.path.isfile(os.path.join(root, path.lstrip("/"))):
            files.append(path)
            break
    dropins = {}
    for directory in DROPIN_DIRS:
        for full in sorted(glob.glob(os.path.join(root, directory.lstrip("/"), "*.conf")))[:MAX_DROPINS]:
            dropins[os.path.basename(full)] = directory + "/" + os.path.basename(full)
    files.extend(dropins[name] for name in sorted(dropins)[:MAX_DROPINS])
    return files


def choose(collector, override=None, resolved=None, rancher=None):
    """The kubelet_resolv_conf fact: the chosen path, why, and what it lists.

    ``collector``: gather's Collector (its read_file under its root); ``override``: the path the audit was
    given; ``resolved``: whether systemd-resolved runs (None: unknown, e.g. an image root); ``rancher``: the
    rancher_config fact (k3s and rke2 run kubelet in their own process, with their config's resolv-conf)."""
    fact = {"resolved_active": resolved, "flag_files": []}
    texts = []
    for path in unit_files(collector.root) + list(ENV_FILES):
        info, text = collector.read_file(path)
        if text is not None:
            texts.append((path, text))
            fact["flag_files"].append(path)
    flag_resolv, flag_config = (), ()  # (file, line, value) of the last --resolv-conf and --config found
    for path, text in texts:
        found = find_flags(text, "resolv-conf")
        if found:
            flag_resolv = (path, found[-1][0], found[-1][1])
        found = find_flags(text, "config")
        if found:
            flag_config = (path, found[-1][0], found[-1][1])
    config_path = flag_config[2] if flag_config else DEFAULT_CONFIG
    fact["config_path"] = config_path
    fact["config_from"] = ("--config in %s:%d" % flag_config[:2]) if flag_config else "kubeadm's default"
    config_info, config_text = collector.read_file(config_path) if config_path else ({"status": "missing"}, None)
    fact["config_status"] = config_info["status"]
    setting = config_resolv_conf(config_text) if config_text is not None else None
    distro = rancherconfig.resolv_conf(rancher)
    if override:
        path, source, origin = _cut(override), "option", "given to the audit (hostnet_kubelet_resolv_conf)"
    elif flag_resolv:
        where, line, path = flag_resolv
        source, origin = "flag", "kubelet's --resolv-conf in %s:%d" % (where, line)
    elif distro is not None:
        path, where, line, how = _cut(distro[0]), distro[1], distro[2], distro[3]
        source = "%s-config" % rancher["distribution"]
        origin = "%s in %s's config %s:%d (its kubelet's --resolv-conf)" % (how, rancher["distribution"], where, line)
    elif setting is not None:
        path, source, origin = setting[1], "config", "resolvConf in kubelet's config %s:%d" % (config_path, setting[0])
    elif config_text is not None:
        path, source = DEFAULT_RESOLV_CONF, "kubelet-default"
        origin = "kubelet's default: its config %s sets no resolvConf" % config_path
    elif resolved:
        path, source = RESOLVED_RESOLV_CONF, "kubeadm-systemd-resolved"
        origin = "no kubelet config yet (%s %s) and systemd-resolved runs: kubeadm would set resolvConf to %s" % (
            config_path,
            config_info["status"],
            RESOLVED_RESOLV_CONF,
        )
    else:
        path, source = DEFAULT_RESOLV_CONF, "default"
        origin = "no kubelet config yet (%s %s) and systemd-resolved %s: kubelet's and kubeadm's default" % (
            config_path,
            config_info["status"],
            "does not run" if resolved is False else "unknown",
        )
    fact.update(path=path, source=source, origin=origin)
    if path == "":
        # resolvConf: "" (or --resolv-conf=): kubelet hands pods no host nameservers at all.
        fact["status"] = "disabled"
        return fact
    if not path.startswith("/"):
        fact.update(status="unreadable", error="not an absolute path")
        return fact
    info, text = collector.read_file(path, record=path != DEFAULT_RESOLV_CONF)  # resolv_conf records that one
    for key in ("status", "error", "symlink_target", "truncated_at_bytes"):
        if key in info:
            fact[key] = info[key]
    if text is not None:
        conf = resolvconf.parse_resolv_conf(text)
        fact.update(nameservers=conf["nameservers"], search=conf["search"], generated_by=conf["generated_by"])
    return fact
