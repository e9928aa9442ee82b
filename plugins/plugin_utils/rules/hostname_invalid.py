# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule hostname-invalid."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

The host's name cannot be a Kubernetes node name: the kernel's hostname, or `/etc/hostname` where it differs
(the name the next boot sets), is `localhost`, `localhost.localdomain` (or the `localhost6` forms), or not a
DNS-1123 subdomain once lowercased (labels of lowercase letters, digits and `-`, at most 63 characters,
starting and ending alphanumeric; at most 253 in all), or longer than 63 characters in all: kubelet labels the
node `kubernetes.io/hostname=<name>`, and a label value holds at most 63. OpenShift's assisted installer checks
the same (`hostname-valid`).

## Why it breaks Kubernetes
kubelet registers the node under its lowercased hostname. kubeadm `init`/`join` stops with `a lowercase RFC
1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` for a name like `node_1`. Hosts
left as `localhost` (a cloud image without cloud-init's hostname, a kickstart default) all register as the same
node, which then flaps between them, and certificates issued for `localhost` mean every machine. A valid name
longer than 63 characters passes kubeadm, but kubelet cannot register the node: the API server refuses its
`kubernetes.io/hostname` label (`must be no more than 63 characters`), and the node never appears.

## Evidence
Both names as read (`the kernel's hostname: localhost`, `/etc/hostname (the name at the next boot): node1`)
and what is wrong with each.

## Fix
Manual, before the install: renaming a host changes its identity everywhere it is known (DNS, certificates,
monitoring). `hostnamectl set-hostname node-1.example.internal` sets the kernel's name and `/etc/hostname`;
update the host's own line in `/etc/hosts`. Where only `/etc/hostname` differs, the next boot renames the host:
make the two agree.
"""

# A DNS-1123 subdomain, as Kubernetes requires of a node name (kubelet lowercases the hostname first).
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_LABEL_VALUE = 63  # a label value's length, and kubelet labels the node kubernetes.io/hostname=<its name>
_LOCALHOST_NAMES = ("localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6")


def hostname_problem(name):
    """Why ``name`` cannot be a node name, or None."""
    lowered = name.lower()
    if lowered in _LOCALHOST_NAMES:
        return "is %s: every such node registers as the same node, and localhost means this machine to every client" % name
    if len(lowered) > 253:
        return "is %d characters long (at most 253)" % len(lowered)
    bad = [label for label in lowered.split(".") if not _DNS1123_LABEL.match(label)]
    if bad:
        return "is not a DNS-1123 name (label %r: lowercase letters, digits and '-', at most 63, starting and ending alphanumeric)" % bad[0]
    if len(lowered) > MAX_LABEL_VALUE:
        return "is %d characters long: kubelet's kubernetes.io/hostname label holds at most %d" % (len(lowered), MAX_LABEL_VALUE)
    return None


@rule(
    "hostname-invalid",
    "the host's name cannot be a Kubernetes node name",
    severities=("error",),
    fix=Fix(manual="renaming a host changes its identity everywhere it is known (DNS, certificates, monitoring): do it before the install, by hand"),
    reads=("identity",),
    doc=DOC,
    fault="the kernel's hostname or `/etc/hostname` is `localhost`(`.localdomain`), not a DNS-1123 name, or longer than 63 characters",
    breaks="kubeadm refuses the node name; hosts named localhost collide; kubelet's hostname label is refused",
)
def check(host, facts, ctx):
    ident = facts.get("identity") or {}
    names = []
    if ident.get("hostname"):
        names.append(("the kernel's hostname", ident["hostname"]))
    etc = ident.get("etc_hostname")
    if etc and etc != ident.get("hostname"):
        names.append(("/etc/hostname (the name at the next boot)", etc))
    problems = [(where, name, hostname_problem(name)) for where, name in names]
    problems = [item for item in problems if item[2]]
    if not problems:
        return []
    where, name, problem = problems[0]
    evidence = ["%s: %s" % (w, n) for w, n in names] + ["%s %s %s" % (w, n, why) for w, n, why in problems]
    return [
        Finding(
            "hostname-invalid",
            "error",
            host,
            "%s %s %s" % (where, name, problem),
            evidence,
            "kubelet registers the node under its lowercased hostname: kubeadm init/join stops with `a lowercase RFC 1123 subdomain must "
            "consist of lower case alphanumeric characters, '-' or '.'`, two hosts named localhost become one node that flaps, and a name "
            "longer than 63 characters cannot be the node's kubernetes.io/hostname label (`must be no more than 63 characters`): the node "
            "never registers.",
            "Give the host a unique DNS-1123 name before the install: `hostnamectl set-hostname node-1.example.internal` (it writes "
            "/etc/hostname too), and update its own line in /etc/hosts.",
            data={"names": [n for _w, n in names]},
        )
    ]
