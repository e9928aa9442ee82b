# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule resolv-conf-loopback-nameserver."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf"

DOC = """\
Severity: error.

The resolv.conf kubelet hands to pods and CoreDNS (the `kubelet_resolv_conf` facts) lists a loopback
nameserver (`127.0.0.0/8` or `::1`: systemd-resolved's stub `127.0.0.53`, NetworkManager's or Ubuntu's
dnsmasq `127.0.1.1`, a local unbound on `127.0.0.1`), or does not exist.

Which file: the one an installer or the user gave the audit (`hostnet_kubelet_resolv_conf`) wins; else
kubelet's `--resolv-conf` flag (a scan of the kubelet unit, its drop-ins, `/var/lib/kubelet/kubeadm-flags.env`,
kubespray's `/etc/kubernetes/kubelet.env`, `/etc/default/kubelet` and `/etc/sysconfig/kubelet`; the last one
found wins, as in kubelet's flag parser); else k3s's or rke2's `resolv-conf` (or a `kubelet-arg` item
`resolv-conf=<file>`, which wins) in `/etc/rancher/{k3s,rke2}/config.yaml` and its `config.yaml.d/*.yaml`
drop-ins, read in k3s's order (the `rancher_config` facts): they pass it to the kubelet they run; else
`resolvConf` in kubelet's config file (the `--config` path, else kubeadm's `/var/lib/kubelet/config.yaml`,
read with a minimal line reader for a top-level `resolvConf:` key, not a YAML parser, which the hosts may
lack); a config file without it means kubelet's default,
`/etc/resolv.conf`. With no config file yet (before `kubeadm init` or `join`) the file is the one kubeadm
would write: kubeadm's `mutateResolverConfig` (`cmd/kubeadm/app/componentconfigs/kubelet_unix.go`) asks the
init system whether `systemd-resolved` is active and, when it is and the user's KubeletConfiguration sets no
`resolvConf`, sets it to `/run/systemd/resolve/resolv.conf` (a user value that differs only earns a
warning); the facts take a `systemd-resolved` process in the host's network namespace for "active". Else
`/etc/resolv.conf`. The evidence says which of these chose the file, with the file and line.

Not judged: an empty `resolvConf` (kubelet then hands pods no host nameserver at all), a file that cannot be
read (`facts-incomplete` names it), an image root (no kubelet runs from it). The node's own lookups through
a local stub are fine: only pods are in another network namespace.

## Why it breaks Kubernetes
kubelet copies this file's nameservers into the `resolv.conf` of every pod with `dnsPolicy: Default`, which
is what CoreDNS itself runs with, and CoreDNS's default Corefile forwards every name outside the cluster
with `forward . /etc/resolv.conf`. In the pod's own network namespace `127.0.0.53` is the pod's loopback,
not the host's stub: CoreDNS, listening on port 53 of every address of its pod, gets its own forwarded query
back, and its `loop` plugin stops it with `Loop (127.0.0.1:... -> :53) detected for zone "."` and
CrashLoopBackOff; a forwarder bound to the pod's address alone (the end-to-end test's) gets no answer at all,
and every name outside the cluster times out in every pod (kubeadm#1081, #1162,
#1292, coredns#2087, kubespray#3979, #11810). A file that does not exist fails every pod kubelet starts with
that DNS: `Failed to generate sandbox config for pod ...: open <file>: no such file or directory`.

## Evidence
The file, why it was chosen (`resolvConf in kubelet's config /var/lib/kubelet/config.yaml:12`, `kubelet's
--resolv-conf in /etc/default/kubelet:1`, `given to the audit (hostnet_kubelet_resolv_conf)`, `no kubelet
config yet ... kubelet's and kubeadm's default`), each loopback nameserver with its line, whether
systemd-resolved runs, and where the file links to. The finding's `data` has `path`, `source`,
`loopback_nameservers` and `target` (the file to point kubelet at).

## Fix
Manual, through the installer that writes kubelet's configuration, pointing kubelet at a file that lists
the real upstream nameservers: where systemd-resolved runs, its upstream file
`/run/systemd/resolve/resolv.conf`; else a file of your own (for example `/etc/kubernetes/resolv.conf`)
listing the upstreams the local resolver (dnsmasq, unbound) forwards to.

- kubeadm: `resolvConf: <file>` in the `KubeletConfiguration` given to `kubeadm init`/`join --config`; on a
  node already joined, in `/var/lib/kubelet/config.yaml` (and the `kubelet-config` ConfigMap), then
  `systemctl restart kubelet` and restart the CoreDNS pods;
- kubespray: `kube_resolv_conf: <file>` (roles/kubernetes/node; its `vars/ubuntu-*.yml` and `fedora.yml`
  already set `/run/systemd/resolve/resolv.conf`);
- k3s and rke2: `resolv-conf: <file>` in `/etc/rancher/k3s/config.yaml` or `/etc/rancher/rke2/config.yaml`
  (the flag `--resolv-conf`);
- a kubelet started by hand: `--resolv-conf=<file>`.

Tell the audit the file your installer sets with `hostnet_kubelet_resolv_conf`, so it judges that file.

On a node whose kubelet config file exists, the opt-in role `kubeprep.hostnet.hostnet_kubelet_resolv_conf`
(`-e hostnet_kubelet_resolv_conf_enabled=true` to `kubeprep.hostnet.remediate`) sets that file's `resolvConf:`
to `hostnet_kubelet_resolv_conf_target`, or to `/run/systemd/resolve/resolv.conf` when that is unset and
systemd-resolved runs, and restarts kubelet if it runs. A finding it cannot fix is manual: the file chosen by
`--resolv-conf` (the role edits no unit or flag file), given to the audit, or no kubelet config yet. Your
installer writes kubelet's config on upgrades and joins: set the same value there too.
"""


_LOOPBACK = {}  # address text -> whether it is a loopback address: the same few nameservers on every host


def loopback(address):
    """True for 127.0.0.0/8 and ::1 (a zone index, fe80::1%eth0, is dropped first)."""
    text = str(address).split("%", 1)[0]
    found = _LOOPBACK.get(text)
    if found is None:
        try:
            found = ipaddress.ip_address(text).is_loopback
        except ValueError:
            found = False
        if len(_LOOPBACK) >= 4096:
            _LOOPBACK.clear()
        _LOOPBACK[text] = found
    return found


def _target(fact):
    if fact.get("resolved_active") and fact.get("path") != RESOLVED_UPSTREAM:
        return RESOLVED_UPSTREAM, "systemd-resolved's upstream file %s" % RESOLVED_UPSTREAM
    return None, "a file listing the upstream nameservers the local resolver forwards to (for example /etc/kubernetes/resolv.conf)"


def _beyond_the_role(fact):
    """Why the opt-in role cannot fix this finding (None when it can): it edits kubelet's config file only."""
    source = fact.get("source")
    if source == "flag":
        return "kubelet's --resolv-conf flag chose the file and wins over its config file; the role does not edit unit or flag files"
    if source in ("k3s-config", "rke2-config"):
        return "%s runs kubelet itself with the resolv-conf of its own config file (%s): set resolv-conf there and restart %s; the role does not edit it" % (
            source[:-7],
            fact.get("origin"),
            source[:-7],
        )
    if source == "option":
        return "the file was given to the audit (hostnet_kubelet_resolv_conf): it is the installer's setting, change it there"
    if fact.get("config_status") != "ok":
        return "no kubelet config file yet (before kubeadm init or join): set resolvConf in the KubeletConfiguration you give the installer"
    return None


def _fix(fact, what):
    target, described = _target(fact)
    file_text = target or "<file>"
    return (
        "Point kubelet at %s, not %s, through your installer: kubeadm `resolvConf: %s` in the KubeletConfiguration given to "
        "`kubeadm init`/`join --config` (on a joined node in /var/lib/kubelet/config.yaml, then `systemctl restart kubelet`); "
        "kubespray `kube_resolv_conf: %s`; k3s/rke2 `resolv-conf: %s` in /etc/rancher/{k3s,rke2}/config.yaml (`--resolv-conf`). "
        "Then restart the CoreDNS pods, and set hostnet_kubelet_resolv_conf=%s so the audit judges that file."
        % (described, what, file_text, file_text, file_text, file_text)
    )


@rule(
    "resolv-conf-loopback-nameserver",
    "the resolv.conf kubelet hands to pods and CoreDNS lists a loopback nameserver, or does not exist",
    severities=("error",),
    fix=Fix(
        role="hostnet_kubelet_resolv_conf",
        opt_in="hostnet_kubelet_resolv_conf_enabled",
        what=(
            "where kubelet's config file exists (its `--config`, else `/var/lib/kubelet/config.yaml`), sets its top-level "
            "`resolvConf:` to `hostnet_kubelet_resolv_conf_target`, or to `/run/systemd/resolve/resolv.conf` when that is unset "
            "and systemd-resolved runs; only that value changes (a missing key is added). Refused, nothing changed, with the "
            "manual step: no target, a target that is missing or lists a loopback nameserver, a `--resolv-conf` flag (it wins; "
            "unit files are not edited), a config the line editor cannot keep exact (JSON, several documents, a multi-line "
            "value). Restarts kubelet only if it runs (`hostnet_kubelet_resolv_conf_restart`, default true); the record says "
            "so, and that CoreDNS pods must be restarted. Set the same value in your installer, or it writes the old one back."
        ),
    ),
    scope="host",
    reads=("kubelet_resolv_conf", "live"),
    options=(
        Option(
            "kubelet_resolv_conf",
            "hostnet_kubelet_resolv_conf",
            "str",
            "The resolv.conf kubelet hands to pods, as your installer sets it (an absolute path); empty: found on each host.",
            "",
            format="abs_path",
        ),
    ),
    doc=DOC,
    fault="kubelet's resolv.conf lists `127.0.0.53` (or another loopback), or does not exist",
    breaks="CoreDNS forwards to its own loopback: external names fail in pods, `loop` crash-loops CoreDNS",
)
def check(host, facts, ctx):
    """The file kubelet hands to pods: loopback nameservers, or missing."""
    fact = facts.get("kubelet_resolv_conf")
    if not isinstance(fact, dict) or facts.get("live") is False:
        return []  # facts of an older module, or an image root (no kubelet runs from it)
    path, origin, status = fact.get("path") or "", fact.get("origin") or "", fact.get("status")
    evidence = ["%s: %s" % (path, origin)]
    if fact.get("symlink_target"):
        evidence.append("%s -> %s" % (path, fact["symlink_target"]))
    if fact.get("resolved_active"):
        evidence.append("systemd-resolved runs on this host (its stub listens on 127.0.0.53 in the host's network namespace only)")
    target, _described = _target(fact)
    data = {"path": path, "source": fact.get("source"), "target": target}
    manual = _beyond_the_role(fact)
    if status == "missing":
        evidence.append("%s does not exist" % path)
        return [
            Finding(
                "resolv-conf-loopback-nameserver",
                "error",
                host,
                "%s, the resolv.conf kubelet hands to pods, does not exist" % path,
                evidence,
                "kubelet builds every pod's resolv.conf from this file: pods fail to start (`Failed to generate sandbox config for pod "
                "...: open %s: no such file or directory`), CoreDNS among them (kubespray#11810)." % path,
                _fix(fact, path + " (missing)"),
                data=dict(data, loopback_nameservers=[]),
                manual=manual,
            )
        ]
    if status != "ok":
        return []  # disabled (resolvConf ""), unreadable (facts-incomplete names it)
    found = [n for n in fact.get("nameservers") or [] if loopback(n.get("address"))]
    if not found:
        return []
    for entry in found:
        evidence.append("%s:%s: nameserver %s (a loopback address)" % (path, entry.get("line"), entry.get("address")))
    others = [str(n.get("address")) for n in fact.get("nameservers") or [] if not loopback(n.get("address"))]
    if others:
        evidence.append("its other nameservers: %s" % ", ".join(others[:8]))
    addresses = [str(n.get("address")) for n in found]
    return [
        Finding(
            "resolv-conf-loopback-nameserver",
            "error",
            host,
            "%s, the resolv.conf kubelet hands to pods, lists the loopback nameserver %s" % (path, ", ".join(addresses[:4])),
            evidence,
            "kubelet copies these nameservers into every pod with dnsPolicy Default, CoreDNS's own: in a pod's network namespace "
            "%s is the pod's loopback, not the host's resolver, so CoreDNS's `forward . /etc/resolv.conf` sends names outside the "
            'cluster to itself (its `loop` plugin crash-loops it: `Loop ... detected for zone "."`) or to nothing that answers, '
            "and lookups of those names time out in every pod (kubeadm#1081, #1162, #1292, coredns#2087, kubespray#3979, #11810)." % addresses[0],
            _fix(fact, path),
            data=dict(data, loopback_nameservers=addresses),
            manual=manual,
        )
    ]
