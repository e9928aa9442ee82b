#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_audit
short_description: Judge hostnet facts of every play host and write the audit report
version_added: 0.1.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - >-
    Runs on the controller (an action plugin; this file only documents it). Reads the
    C(ansible_facts['hostnet']) gathered by M(kubeprep.hostnet.hostnet_facts) for every host of the play,
    applies the per-host and fleet rules, prints kubeadm-style C([ERROR rule-id] host: message) lines
    with the evidence, why it breaks Kubernetes and the fix, and writes the report files.
  - "Use it once per play (C(run_once: true)); it never connects to a managed host and never changes one."
  - A host without hostnet facts (unreachable, or the facts task failed) gets a C(facts-missing) error.
  - Rules are documented one page each under C(docs/rules/) in the collection.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.CONTROLLER
options:
  hosts:
    description:
      - Hosts to judge. Defaults to C(ansible_play_hosts_all), which includes hosts that failed earlier.
    type: list
    elements: str
  report_dir:
    description:
      - Directory on the controller for C(hostnet-report.json), C(hostnet-report.md),
        C(hostnet-report.junit.xml) and C(hostnet-report.html) (one file, no external assets).
        Created when missing; files are replaced atomically.
      - Text that came from a host is data in the JSON file (kept as it is, JSON-escaped). In the other files it
        is shown, never obeyed - control characters escaped (C(\x1b), C(\n)), nothing XML 1.0 forbids in
        the JUnit file, Markdown escaped and the evidence in a fence no line can close, HTML escaped.
    type: path
    default: ./hostnet-report
  fail_on:
    description:
      - Fail the task when any finding is at or above this severity. C(never) only reports.
    type: str
    choices: [error, warning, never]
    default: error
  skip_rules:
    description:
      - Rule ids not to evaluate, or C(all), like kubeadm's C(--ignore-preflight-errors). Unknown ids are an error.
        Skipped rules are listed in the report and the console, never dropped silently.
    type: list
    elements: str
    default: []
  site_rules:
    description:
      - Site rules as data, judged like the built-in ones (see C(docs/site-rules.md)). Each is a dict with C(id)
        (lowercase words and dashes), C(severity) (error, warning, info), C(when) (a JMESPath expression over the
        host's hostnet facts and C(default_interface)), C(message), C(fix), and optionally C(why). An invalid
        entry or expression is an error before any host is judged.
    type: list
    elements: dict
    default: []
  warn_rules:
    description:
      - Rule ids (or C(all)) whose errors are reported as warnings, marked C(downgraded_from=error) in the report,
        so they no longer fail O(fail_on=error).
    type: list
    elements: str
    default: []
  resolver_max_seconds:
    description:
      - The C(slow-resolver) rule warns when one lookup that no nameserver answers can take longer than this.
    type: float
    default: 20
  console:
    description:
      - C(full) prints each finding with evidence, why and fix; C(summary) one line per finding; C(none) nothing.
      - Control and format characters in text from a host (escape sequences, carriage returns, newlines, bidi
        overrides) are printed escaped (C(\x1b), C(\r)), so a host cannot write to the terminal or forge a line.
    type: str
    choices: [full, summary, none]
    default: full
  node_cidr:
    description:
      - The node network (for example C(192.168.56.0/24)). When set, the interface recommended for each node is
        the one inside it, and C(default-interface-not-cluster) warns when the default route is elsewhere.
      - When unset, the recommendation is the interface whose subnet reaches the most other hosts.
    type: str
  service_cidrs:
    description:
      - The Service network(s) to check for overlaps (C(service-cidr-overlap)), the CIDR items of
        C(hostnet_service_ips). A bare IP is judged as itself, except the default C(10.96.0.1), judged as kubeadm's C(10.96.0.0/12).
    type: list
    elements: str
    default: [10.96.0.1]
  max_clock_skew:
    description: Seconds a host's clock may differ from the controller's (C(clock-skew); k0sctl's limit is 30).
    type: float
    default: 30
  port_probes:
    description:
      - The plan of the port probes (M(kubeprep.hostnet.hostnet_port_probe) C(step=plan), its C(plan) key); with it the
        hosts' C(hostnet_probe_listen) and C(hostnet_probe_results) facts of that run are judged (C(node-port-unreachable),
        the DF probe of C(mtu-mismatch)) and drawn as a matrix in the HTML report. Empty when the probes are off.
    type: dict
    default: {}
  pod_cidr:
    description: The Pod network to check for overlaps (C(pod-cidr-overlap)).
    type: str
    default: 10.244.0.0/16
  cluster_nodes:
    description: Nodes in the cluster for the F5 startup model; default the number of audited hosts.
    type: int
  requests_per_node:
    description: Datastore round trips calico-node makes per other node at startup (calico v2 with etcd, 6).
    type: int
    default: 6
  liveness_initial_delay:
    description: calico-node's livenessProbe initialDelaySeconds (manifest default 10).
    type: int
    default: 10
  liveness_period:
    description: calico-node's livenessProbe periodSeconds (manifest default 10).
    type: int
    default: 10
  liveness_failure_threshold:
    description: calico-node's livenessProbe failureThreshold (manifest default 6).
    type: int
    default: 6
  probe_margin:
    description: Safety factor applied to the predicted startup when recommending probe values.
    type: float
    default: 1.5
  cni:
    description:
      - The CNI plugin the cluster will run; rules whose verdict depends on it (C(rp-filter-strict)) use it.
        C(unknown) judges as strictly as the most demanding CNI, with warnings instead of errors.
    type: str
    choices: [unknown, calico, canal, flannel, cilium, weave, other]
    default: unknown
  write_files:
    description:
      - Write the report files to O(report_dir).
    type: bool
    default: true
  publish_stats:
    description:
      - Publish C(hostnet_summary), C(hostnet_failing_hosts) and C(hostnet_report_files) as custom stats (what
        C(set_stats) does), which AWX and Automation Platform keep as the job's artifacts.
    type: bool
    default: true
  fail_task:
    description:
      - Fail this task when the O(fail_on) gate is not passed. The C(kubeprep.hostnet.audit) role sets it to
        false and fails each host the gate stops in a task of its own (one short line per host, a right
        C(PLAY RECAP)), using RV(gate).
    type: bool
    default: true
seealso:
  - module: kubeprep.hostnet.hostnet_facts
"""

EXAMPLES = r"""
- name: Gather
  kubeprep.hostnet.hostnet_facts:

- name: Judge all play hosts and write ./hostnet-report/
  kubeprep.hostnet.hostnet_audit:
    fail_on: error
    skip_rules:
      - bridge-nf-call-iptables
  run_once: true
"""

RETURN = r"""
listeners_running:
  description:
    - The hosts whose port probe listener may still run (C(hostnet_probe_ports)); the audit role's last task stops them.
      A listener all of whose probing peers said they had finished has ended by itself and is not listed.
  returned: success
  type: list
  elements: str
summary:
  description: Counts and the hosts that fail the O(fail_on) threshold.
  returned: always
  type: dict
  sample: {hosts: 3, hosts_ok: 2, errors: 1, warnings: 0, infos: 0, failing_hosts: [node1], failed: true}
report_files:
  description: Paths of the written report files (empty when O(write_files=false)), and C(host_vars), the
    per-host vars files with the interface to pin, when a host has C(shared-default-address) or
    C(default-interface-not-cluster).
  returned: always
  type: dict
  sample: {json: ./hostnet-report/hostnet-report.json, markdown: ./hostnet-report/hostnet-report.md,
           junit: ./hostnet-report/hostnet-report.junit.xml, html: ./hostnet-report/hostnet-report.html}
recommendations:
  description: For each host, the interface and address to pin and the forms installers take (kubespray vars,
    calico, flannel, kubelet, RKE); null where nothing can be recommended.
  returned: always
  type: dict
  sample: {node1: {interface: eth1, address: 192.168.56.11, cidr: 192.168.56.0/24, reaches_hosts: 2,
           forms: {kubelet: "--node-ip=192.168.56.11", flannel: "--iface=eth1"}}}
shared_default_hosts:
  description: Hosts named by a C(shared-default-address) finding.
  returned: always
  type: list
  elements: str
gate:
  description: The hosts the O(fail_on) gate stops, each with a one-line reason that names the report.
  returned: always
  type: dict
  sample: {node1: "2 finding(s) at or above fail_on=error: ip-forward-disabled, localhost-unreachable - report: /work/hostnet-report/hostnet-report.md"}
host_status:
  description: Each host's worst severity, or C(ok).
  returned: always
  type: dict
  sample: {node1: error, node2: ok}
findings:
  description: Every finding in short form (id, severity, host, message); the report files have the evidence.
  returned: always
  type: list
  elements: dict
  sample: [{id: localhost-unreachable, severity: error, host: node1,
            message: "localhost resolves only to ::1 but IPv6 is disabled on lo"}]
"""
