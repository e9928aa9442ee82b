# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkManager's configuration: which devices it leaves alone (unmanaged-devices, [device*] managed=0).

Standard library only (runs on managed hosts; the rules use it on the controller).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

MAIN = "etc/NetworkManager/NetworkManager.conf"
CONF_DIRS = ("usr/lib/NetworkManager/conf.d", "run/NetworkManager/conf.d", "etc/NetworkManager/conf.d")
# The interfaces CNIs and kube-proxy create (kubespray's list: calico's cali*, tunl*, vxlan.calico, vxlan-v6.calico,
# and kube-ipvs0 and nodelocaldns's dummy device; plus the other common CNIs'), as example names.
CNI_INTERFACES = ("cali0123456789a", "tunl0", "vxlan.calico", "vxlan-v6.calico", "flannel.1", "cni0", "kube-ipvs0", "nodelocaldns", "cilium_host", "weave")


def config_files(root="/"):
    """NetworkManager's reading order: NetworkManager.conf, then conf.d files by name (/etc over /run over /usr/lib)."""
    by_name = {}
    for directory in CONF_DIRS:
        full = os.path.join(root, directory)
        try:
            names = os.listdir(full)
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf"):
                by_name[name] = "/" + directory + "/" + name
    files = ["/" + MAIN] if os.path.isfile(os.path.join(root, MAIN)) else []
    return files + [by_name[name] for name in sorted(by_name)]


def parse(texts):
    """[(path, text)] in reading order -> {"unmanaged_devices": [spec], "unmanaged_sections": [{section, specs, path}]}.
    A later unmanaged-devices= replaces earlier ones; += appends and -= removes, as NetworkManager merges them."""
    unmanaged = []
    sections = {}
    for path, text in texts:
        section = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            match = re.match(r"^\[(.+)\]$", line)
            if match:
                section = match.group(1).strip()
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            specs = [s.strip() for s in value.split(";") if s.strip()]
            if section == "keyfile" and key.rstrip("+-").strip() == "unmanaged-devices":
                if key.endswith("+"):
                    unmanaged += [s for s in specs if s not in unmanaged]
                elif key.endswith("-"):
                    unmanaged = [s for s in unmanaged if s not in specs]
                else:
                    unmanaged = specs
            elif section and section.startswith("device") and key in ("match-device", "managed"):
                entry = sections.setdefault(section, {"section": section, "specs": [], "managed": True, "path": path})
                if key == "match-device":
                    entry["specs"] = specs
                else:
                    entry["managed"] = value.lower() not in ("0", "false", "no")
                entry["path"] = path
    return {
        "unmanaged_devices": unmanaged,
        "unmanaged_sections": [s for s in sections.values() if not s["managed"]],
    }


def _matches(spec, name):
    kind, sep, pattern = spec.partition(":")
    if not sep:
        return False
    if kind == "except":
        return not _matches(pattern, name)
    if kind != "interface-name":
        return False  # mac:, type:, driver: cannot be judged from a name
    if pattern.startswith("="):
        return pattern[1:] == name
    if pattern.startswith("~"):
        pattern = pattern[1:]
    return fnmatch.fnmatchcase(name, pattern)


def covers(config, name):
    """Whether NetworkManager's configuration leaves the interface ``name`` unmanaged."""
    if any(_matches(spec, name) for spec in config.get("unmanaged_devices") or []):
        return True
    return any(any(_matches(spec, name) for spec in s["specs"]) for s in config.get("unmanaged_sections") or [])
