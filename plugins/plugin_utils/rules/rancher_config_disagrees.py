# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule rancher-config-disagrees."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rancherinputs
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

The hosts' k3s or rke2 configurations (the `rancher_config` facts: `/etc/rancher/{k3s,rke2}/config.yaml` and
their `config.yaml.d/*.yaml` drop-ins, in k3s's order) set different `service-cidr` or `cluster-cidr` values.
Only hosts whose configuration sets the key are compared (an agent without it takes the servers'); values are
compared as written, with the spaces around commas dropped. A key the reader could not read is not compared
(`facts-incomplete` names it).

Where every host that sets a key agrees and the audit's inputs leave `hostnet_service_ips` or
`hostnet_pod_cidr` at the default (no `-e`, no kubespray variable, no kubeadm file), the audit judges the
hosts with that value, and the report's inputs line says where it came from (`hostnet_service_ips from k3s
/etc/rancher/k3s/config.yaml:3 on node1`). Where they disagree, the audit cannot tell which one the cluster
uses and keeps the default: this rule says so.

## Why it breaks Kubernetes
`service-cidr` and `cluster-cidr` are the cluster's, not a node's: k3s servers compare their critical
configuration when one joins and refuse it when they differ (`failed to validate server configuration:
critical configuration value mismatch`, docs.k3s.io "Matching Flags"); a
value that differs only in a file the running server has not read yet takes effect at its next restart, and
Service and Pod addresses then overlap or are not routed. The audit's own Service and Pod CIDR checks
(`service-cidr-overlap`, `pod-cidr-overlap`, `proxy-not-excluded`, ...) judge against one network and cannot
know which one.

## Evidence
Each value with the hosts that set it, the distribution, file and line: `service-cidr 10.43.0.0/16: node1
(k3s /etc/rancher/k3s/config.yaml:2)`.

## Fix
Manual: set the value the cluster was created with in every host's configuration (the last drop-in that sets
it wins), restart k3s or rke2 on the hosts whose file changed, and run the audit again. No role edits these
files.
"""

KEYS = ("service-cidr", "cluster-cidr")


@rule(
    "rancher-config-disagrees",
    "the hosts' k3s or rke2 configurations set different Service or Pod CIDRs",
    severities=("error",),
    fix=Fix(manual="the Service and Pod CIDRs are the cluster's: set the one it was created with in every host's k3s or rke2 configuration"),
    scope="fleet",
    reads=("rancher_config",),
    doc=DOC,
    fault="two hosts' `/etc/rancher/{k3s,rke2}/config.yaml` set different `service-cidr` or `cluster-cidr`",
    breaks="a server refuses to join (`critical configuration value mismatch`); the audit cannot tell which CIDR to judge",
)
def check(facts_by_host, ctx):
    """One fleet finding per key whose hosts disagree."""
    findings = []
    for key in KEYS:
        found = rancherinputs.values_by_host(facts_by_host, key)
        if len(found) < 2:
            continue
        evidence, hosts = [], []
        for value in sorted(found):
            where = found[value]
            hosts.extend(host for host, _distribution, _path, _line in where)
            shown = ", ".join("%s (%s %s:%s)" % item for item in where[:8])
            more = " and %d more" % (len(where) - 8) if len(where) > 8 else ""
            evidence.append("%s %s: %s%s" % (key, value, shown, more))
        findings.append(
            Finding(
                "rancher-config-disagrees",
                "error",
                None,
                "the hosts' k3s/rke2 configurations set %d different %s values" % (len(found), key),
                evidence,
                "%s is the cluster's: k3s servers refuse to join with a different one (`critical configuration value mismatch`), and a "
                "value read only at the next restart renumbers that node; the audit cannot tell which network to judge and kept its "
                "input's value." % key,
                "Set %s to the value the cluster was created with in every host's /etc/rancher/{k3s,rke2}/config.yaml (or the last "
                "config.yaml.d drop-in that sets it), restart k3s/rke2 on the hosts whose file changed, and run the audit again." % key,
                hosts=sorted(set(hosts)),
                data={"key": key, "values": {value: [host for host, _d, _p, _l in where] for value, where in found.items()}},
            )
        )
    return findings
