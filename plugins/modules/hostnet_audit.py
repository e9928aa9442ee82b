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
  settings:
    description:
      - The rule options, by variable name (for example C(hostnet_skip_rules), C(hostnet_cni),
        C(hostnet_max_clock_skew)). Each is declared once, on the rule that reads it (or on the engine), and documented
        in the C(kubeprep.hostnet.audit) role's argument specs and on the rule's page under C(docs/rules/).
      - An option not given here is read from the play's variable of that name, else it takes its declared default.
        Every value is checked as the inputs check does (type, choices, format, range); one that cannot be used is an
        error naming the variable and the value.
    type: dict
    default: {}
  console:
    description:
      - C(full) prints each finding with evidence, why and fix; C(summary) one line per finding; C(none) nothing.
      - Control and format characters in text from a host (escape sequences, carriage returns, newlines, bidi
        overrides) are printed escaped (C(\x1b), C(\r)), so a host cannot write to the terminal or forge a line.
    type: str
    choices: [full, summary, none]
    default: full
  port_probes:
    description:
      - The plan of the port probes (M(kubeprep.hostnet.hostnet_port_probe) C(step=plan), its C(plan) key); with it the
        hosts' C(hostnet_probe_listen) and C(hostnet_probe_results) facts of that run are judged and drawn in the HTML
        report. Empty when the probes are off.
    type: dict
    default: {}
  node_addresses:
    description:
      - Per host, the node address the installer names (kubespray's C(ip), else C(access_ip)); the interface holding it is
        the one to pin, unless C(hostnet_node_cidr) is set. M(kubeprep.hostnet.hostnet_inputs) returns it.
    type: dict
    default: {}
  input_sources:
    description:
      - Per input variable, where its value came from (C(user), C(kubespray <variable>), C(kubeadm <file> <key>), C(default)),
        for the reports. M(kubeprep.hostnet.hostnet_inputs) returns it per host.
      - Where C(hostnet_service_ips) or C(hostnet_pod_cidr) is C(default) here and every host whose k3s or rke2 config
        (fact C(rancher_config)) sets C(service-cidr) or C(cluster-cidr) agrees on a valid CIDR, the judge uses that value
        and the reports say so (C(k3s /etc/rancher/k3s/config.yaml:<line> on <host>)).
    type: dict
    default: {}
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
    settings:
      hostnet_skip_rules:
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
    per-host vars files with the interface to pin, for the hosts a finding says to pin (RV(pin_hosts)).
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
  description: Hosts named by a fleet finding that says to pin their node interface (they share the address on their
    default-route interface).
  returned: always
  type: list
  elements: str
pin_hosts:
  description: The hosts a finding says to pin the node interface of, each with the rule that says so.
  returned: always
  type: dict
  sample: {node1: shared-default-address}
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
