# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule port-in-use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import portprobe
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error (a warning when the process that holds the port could not be read).

A port a node's own processes must bind is held by another process: TCP 6443 (kube-apiserver), 10250
(kubelet), 10257 (kube-controller-manager), 10259 (kube-scheduler), 2379 and 2380 (etcd), 10248 (kubelet
healthz), 10249 and 10256 (kube-proxy), and the ports of the CNI `hostnet_cni` names (flannel, canal and cilium
UDP 8472; calico UDP 4789 and TCP 179; weave TCP 6783 and UDP 6783-6784; `unknown`: UDP 8472 and 4789) and its
agent's own ports on the node: calico's and canal's felix health, TCP 9099 (calico-node's liveness and readiness
probes ask `localhost:9099`), and calico's felix metrics, TCP 9091 (a warning: felix binds it only when its
Prometheus metrics are on, kubespray's `calico_felix_prometheusmetricsenabled`). TCP
counts a listening socket, on any address; UDP a bound socket. The facts name each socket's processes from
`/proc/<pid>/fd` (pid, `comm`, command line). The cluster's own processes are not faults: `kube-apiserver`,
`kubelet`, `kube-controller-manager`, `kube-scheduler`, `etcd`, `kube-proxy`, the CNI's agents (`flanneld`,
`calico-node`, `calico-felix`, `bird`, `bird6`, `cilium-agent`, `cilium-envoy`, `weaver`) and the audit's own
port probe listener (`kubeprep-probe`), each by its `comm` or the file name of its command. A socket of the
kernel's own (no process, such as a VXLAN device's) is not judged. Without root another user's processes cannot
be read: the port is then reported as a warning, its holder unknown.

## Why it breaks Kubernetes
The component that needs the port cannot start. kubeadm's preflight stops with `[ERROR Port-6443]: Port 6443
is in use` (and the same for 10250, 10257, 10259, 2379, 2380); kube-apiserver, etcd or kubelet started anyway
exit with `bind: address already in use`, and the node never becomes Ready. A CNI agent that cannot bind its
VXLAN or BGP port leaves pods without a network. With 9099 held, calico-node's probes reach the other process:
calico-node is never Ready and kubelet restarts it again and again, so the node's pods get no network; with 9091 held, felix's metrics endpoint cannot start.

## Evidence
The socket (`tcp 0.0.0.0:6443`) and each process that holds it: its pid, `comm` and command line, as
`/proc/<pid>/cmdline` gives it (at most 512 characters).

## Fix
Manual: only the host's owner knows whether the process may be stopped or moved to another port. See it with
`ss -ltnp 'sport = :6443'` (UDP: `ss -lunp 'sport = :8472'`), then stop and disable it
(`systemctl disable --now <unit>`) or move it to another port before the install.
"""

KUBE_PORTS = portprobe.NODE_PORTS + portprobe.ETCD_PORTS + portprobe.LOCAL_PORTS
KUBE_KEYS = frozenset((proto, port) for proto, port, _what in KUBE_PORTS)
# What a CNI agent's own port being held breaks (portprobe.CNI_LOCAL_PORTS); a port felix binds only when an
# option is on is a warning.
LOCAL_WHY = {
    ("tcp", 9099): "calico-node's liveness and readiness probes (`calico-node -felix-live`, `-felix-ready`) ask localhost:9099 and reach "
    "the other process: calico-node is never Ready, kubelet restarts it again and again, "
    "and pods on this node get no network.",
    ("tcp", 9091): "felix serves its Prometheus metrics there when they are on (kubespray's calico_felix_prometheusmetricsenabled, "
    "FelixConfiguration prometheusMetricsEnabled): its metrics endpoint cannot start and the node's felix is not scraped.",
}
CONDITIONAL = {("tcp", 9091): "only when felix's Prometheus metrics are on"}
# The cluster's own processes, by comm (the kernel cuts it at 15 characters) or the command's file name.
OWN = (
    "kube-apiserver",
    "kubelet",
    "kube-controller-manager",
    "kube-controller",
    "kube-scheduler",
    "etcd",
    "kube-proxy",
    "flanneld",
    "calico-node",
    "calico-felix",
    "bird",
    "bird6",
    "cilium-agent",
    "cilium-envoy",
    "weaver",
    portprobe.NAME,
)


def watched(cni):
    """(protocol, port) -> what uses it: Kubernetes' ports and those of the CNI ``cni``."""
    ports = KUBE_PORTS + portprobe.CNI_PORTS.get(cni or "unknown", portprobe.CNI_PORTS["unknown"]) + portprobe.CNI_LOCAL_PORTS.get(cni or "unknown", ())
    return {(proto, port): what for proto, port, what in ports}


def own(process):
    command = (process.get("command") or "").split(" ", 1)[0]
    return process.get("comm") in OWN or os.path.basename(command) in OWN


def describe(process):
    return "pid %s (%s): %s" % (process.get("pid"), process.get("comm") or "?", process.get("command") or "(no command line: a kernel thread or a zombie)")


def ss_command(proto, port):
    return "ss -l%snp 'sport = :%d'" % ("t" if proto == "tcp" else "u", port)


@rule(
    "port-in-use",
    "a port the cluster's own processes must bind is held by another process",
    severities=("error", "warning"),
    fix=Fix(manual="only the host's owner knows whether the process may be stopped or moved: stop or move it by hand"),
    reads=("port_holders",),
    doc=DOC,
    fault="TCP 6443, 10250, 10257, 10259, 2379, 2380, 10248, 10249, 10256 or a CNI port (`hostnet_cni`; calico's 9099) held by a process not the cluster's",
    breaks="kubeadm preflight `Port-6443`; kube-apiserver, etcd or kubelet cannot bind",
)
def check(host, facts, ctx):
    holders = kernel_facts(facts, "port_holders") or {}
    ports = watched(ctx.get("cni"))
    by_port = {}
    for sock in holders.get("list") or []:
        key = (sock.get("proto"), sock.get("port"))
        if key in ports and sock.get("inode"):  # not another CNI's port, nor the kernel's own socket
            by_port.setdefault(key, []).append(sock)
    findings = []
    for key in sorted(by_port):
        socks = by_port[key]
        processes, seen = [], set()
        for sock in socks:
            for process in sock.get("processes") or []:
                if process.get("pid") not in seen:
                    seen.add(process.get("pid"))
                    processes.append(process)
        if processes and all(own(p) for p in processes):
            continue
        proto, port = key
        what = ports[key]
        evidence = ["%s %s (socket inode %s)" % (proto, sock.get("address"), sock.get("inode")) for sock in socks]
        evidence += ["held by %s" % describe(p) for p in processes]
        why = "%s cannot bind %s port %d: " % (what, proto.upper(), port)
        if key in KUBE_KEYS:
            why += "kubeadm's preflight stops with `[ERROR Port-%d]: Port %d is in use`, and the component started anyway exits with " % (port, port)
            why += "`bind: address already in use`; the node never becomes Ready."
        elif key in LOCAL_WHY:
            why += LOCAL_WHY[key]
        else:
            why += "the CNI agent exits with `address already in use` and pods on this node get no network."
        fix = "See the process with `%s`, then stop and disable it (`systemctl disable --now <unit>`) or move it to another port before the install." % (
            ss_command(proto, port)
        )
        if not processes:
            evidence.append("no process found holding it" + (" (%s)" % holders["error"] if holders.get("error") else " (another user's: gather with become)"))
            message = "%s port %d (%s) is in use; the process holding it could not be read" % (proto.upper(), port, what)
            severity = "warning"
        else:
            first = [p for p in processes if not own(p)][0]
            message = "%s port %d (%s) is held by pid %s (%s)" % (proto.upper(), port, what, first.get("pid"), first.get("command") or first.get("comm"))
            severity = "error"
        if key in CONDITIONAL:
            message += " (it matters %s)" % CONDITIONAL[key]
            severity = "warning"
        findings.append(
            Finding(
                "port-in-use",
                severity,
                host,
                message,
                evidence,
                why,
                fix,
                data={"proto": proto, "port": port, "pids": [p.get("pid") for p in processes]},
            )
        )
    return findings
