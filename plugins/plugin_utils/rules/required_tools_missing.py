# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule required-tools-missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: error when `ip`, `iptables`, `mount` or `nsenter` is not in PATH, and `conntrack` when
`hostnet_kubernetes_version` is below 1.32; warning when `ethtool`, `socat` or `tc` is not.

The commands kubeadm's preflight looks up in PATH (`InPathCheck` in `cmd/kubeadm/app/preflight/checks_linux.go`),
looked up the same way (the first executable file of that name in a PATH directory) in the PATH the facts module
runs with: as root sees it when the audit runs with become, which is what `sudo kubeadm init` gets (sudo's
`secure_path`). A tool that is installed but in a directory PATH lacks (`/usr/sbin` missing from `secure_path`) is
named with where it is. kubeadm below Kubernetes 1.32 makes a missing `conntrack` an error, and from 1.32 does not
check it (kube-proxy no longer runs it, kubernetes#126952; kubeadm's `addExecChecks`): so does this rule, from
`hostnet_kubernetes_version` (empty: the latest release, `conntrack` unchecked). kubeadm also warns for `ebtables`
and `touch`, which this rule does not check.

## Why it breaks Kubernetes
kubeadm's preflight stops with `[ERROR FileExisting-ip]: ip not found in system path` (`iptables`, `mount`,
`nsenter` alike; `conntrack` below 1.32) and warns `[WARNING FileExisting-socat]: socat not found in system path`. The components run
these commands too: without `iptables` kube-proxy (iptables mode) programs no Service rules; without `mount`
kubelet mounts no volume; without `socat` `kubectl port-forward` fails on runtimes that use it; below Kubernetes
1.32 kube-proxy runs `conntrack` to clear stale UDP Service entries (DNS through a restarted CoreDNS); CNI plugins
and traffic shaping use `ethtool` and `tc`.

## Evidence
The PATH searched, and each missing tool (`socat: not in PATH`), with where it is when it is outside PATH.

## Fix
Manual: install the packages (Debian/Ubuntu `apt-get install iproute2 iptables mount util-linux conntrack ethtool
socat`; RHEL-like `dnf install iproute iproute-tc iptables-nft util-linux conntrack-tools ethtool socat`), or, for a
tool outside PATH, add its directory to root's PATH (`Defaults secure_path=...` in `/etc/sudoers` for sudo).
"""

ERRORS = ("ip", "iptables", "mount", "nsenter")
WARNINGS = ("ethtool", "socat", "tc")
CONNTRACK_UNTIL = (1, 32)  # kubeadm checks conntrack (an error) for Kubernetes below 1.32 only
PACKAGES = {
    "ip": ("iproute2", "iproute"),
    "iptables": ("iptables", "iptables-nft"),
    "mount": ("mount", "util-linux"),
    "nsenter": ("util-linux", "util-linux"),
    "conntrack": ("conntrack", "conntrack-tools"),
    "ethtool": ("ethtool", "ethtool"),
    "socat": ("socat", "socat"),
    "tc": ("iproute2", "iproute-tc"),
}
WHY = {
    "error": "kubeadm's preflight stops with `[ERROR FileExisting-%s]: %s not found in system path`; the components run these "
    "commands (without iptables kube-proxy's iptables mode programs no Service, without mount kubelet mounts no volume, below "
    "Kubernetes 1.32 kube-proxy runs conntrack to clear stale UDP entries).",
    "warning": "kubeadm's preflight warns `[WARNING FileExisting-%s]: %s not found in system path`; kubectl port-forward needs socat "
    "on some runtimes, CNI plugins and traffic shaping ethtool and tc.",
}


def _below(version, limit):
    """Whether a Kubernetes version (1.31, v1.31.2) is below ``limit`` (major, minor); empty or unknown: the latest."""
    match = re.match(r"^v?([0-9]+)\.([0-9]+)", str(version or "").strip())
    return bool(match) and (int(match.group(1)), int(match.group(2))) < limit


def _fix(missing, elsewhere):
    steps = []
    install = [name for name in missing if name not in elsewhere]
    if install:
        debian = sorted({PACKAGES[name][0] for name in install})
        rhel = sorted({PACKAGES[name][1] for name in install})
        text = "Install %s: `apt-get install %s` (Debian, Ubuntu) or `dnf install %s` (RHEL-like)."
        steps.append(text % (", ".join(install), " ".join(debian), " ".join(rhel)))
    moved = [name for name in missing if name in elsewhere]
    if moved:
        dirs = sorted({elsewhere[name].rsplit("/", 1)[0] for name in moved})
        steps.append(
            "%s %s installed outside PATH: add %s to root's PATH (sudo: `Defaults secure_path=` in /etc/sudoers)."
            % (", ".join(moved), "is" if len(moved) == 1 else "are", ", ".join(dirs))
        )
    return " ".join(steps)


@rule(
    "required-tools-missing",
    "a command kubeadm's preflight looks for is not in PATH",
    severities=("error", "warning"),
    fix=Fix(manual="which package provides a tool, and root's PATH, are the host's owner's choice: install or add the directory by hand"),
    reads=("tools",),
    options=(
        Option(
            "kubernetes_version",
            "hostnet_kubernetes_version",
            "str",
            "The Kubernetes version to install (1.31, v1.31.2); empty: the latest. Below 1.32 a missing conntrack is an error.",
            "",
            format="k8s_version",
        ),
    ),
    doc=DOC,
    fault="`ip`, `iptables`, `mount`, `nsenter`, `conntrack` below 1.32 (error) or `ethtool`, `socat`, `tc` (warning) not in root's PATH",
    breaks="kubeadm preflight `FileExisting-<tool>`; kube-proxy, kubelet or port-forward fail",
)
def check(host, facts, ctx):
    tools = kernel_facts(facts, "tools") or {}
    in_path = tools.get("in_path")
    if not isinstance(in_path, dict):
        return []  # gathered by an older facts module: nothing to judge
    elsewhere = tools.get("elsewhere") or {}
    findings = []
    errors = ERRORS + (("conntrack",) if _below(ctx.get("kubernetes_version"), CONNTRACK_UNTIL) else ())
    for severity, names in (("error", errors), ("warning", WARNINGS)):
        missing = [name for name in names if name in in_path and not in_path[name]]
        if not missing:
            continue
        evidence = ["PATH (the facts module's; root's with become): %s%s" % (tools.get("path"), " (cut)" if tools.get("path_truncated") else "")]
        evidence += ["%s: not in PATH%s" % (name, " (installed as %s)" % elsewhere[name] if name in elsewhere else "") for name in missing]
        first = missing[0]
        findings.append(
            Finding(
                "required-tools-missing",
                severity,
                host,
                "%s not in PATH" % ", ".join(missing),
                evidence,
                WHY[severity] % (first, first),
                _fix(missing, elsewhere),
                data={"missing": missing, "elsewhere": {name: elsewhere[name] for name in missing if name in elsewhere}},
            )
        )
    return findings
