#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_port_probe
short_description: Probe the ports a cluster needs between nodes, with short-lived listeners
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - "An action plugin (this file only documents it); the audit role runs its four steps when
    C(hostnet_probe_ports) is true (rule C(node-port-unreachable), and the DF probe of C(mtu-mismatch))."
  - "C(plan) (C(run_once: true), on the controller, no connection): every host's node address (the audit's
    recommendation), the ports it must accept - TCP 6443 and 10250 on every node, 2379-2380 on etcd nodes, the CNI's
    (flannel, canal and cilium UDP 8472; calico UDP 4789 and TCP 179; weave TCP 6783, UDP 6783-6784; unknown both
    VXLAN ports) - and the peers that probe it: a seeded random permutation of the fleet in which each host is
    probed by the C(peers) hosts after it (N x peers probes, not N x N)."
  - "C(listen): binds every planned port that no socket holds (a port in use is never taken; the report names the
    socket holding it), plus one UDP echo port, and leaves a detached process (C(kubeprep-probe)) holding them; it
    exits by itself at the plan's lifetime (two minutes, plus ten seconds per round of forks) if nothing stops it."
  - "C(probe): from its node address, the host connects to each planned port of the peers it probes, all at once,
    each bounded by two seconds: TCP connects, UDP datagrams answered by the listener's echo. A datagram of the
    node interface's MTU with DF set, to each peer's echo port, shows a path MTU smaller than the link's."
  - "C(stop): ends the host's listener (checked by pid and start time). The audit role runs it in an C(always)
    section, so no listener outlives the audit even when a step fails."
  - The listen, probe and stop steps run the collection's C(portprobe) module_utils with the host's Python
    (C(python3 -c)), standard library only and without a module payload, so a step costs a process start.
  - Listening on port 179 needs root (C(become)); without it the port is reported as not probed.
attributes:
  action:
    description: Runs as an action plugin; C(plan) on the controller only.
    support: full
  check_mode:
    description: Listeners and probes change no configuration; the steps run the same in check mode (the audit is read-only).
    support: full
  diff_mode:
    description: Changes no file, so there is no diff.
    support: N/A
options:
  step:
    description: Which step to run.
    type: str
    required: true
    choices: [plan, listen, probe, stop]
  plan:
    description: For C(listen), C(probe) and C(stop), the C(plan) step's result (its C(plan) key).
    type: dict
  inputs:
    description:
      - For C(plan), per host its checked inputs (the C(hosts) result of M(kubeprep.hostnet.hostnet_inputs)); a host's
        C(hostnet_probe_ports) and C(hostnet_cni) there win over O(probe_ports) and O(cni).
    type: dict
    default: {}
  probe_ports:
    description: For C(plan), whether a host not set otherwise in O(inputs) is probed (C(hostnet_probe_ports)).
    type: bool
    default: false
  peers:
    description: For C(plan), how many peers probe each host (C(hostnet_probe_peers)).
    type: int
    default: 3
  cni:
    description: For C(plan), the CNI whose ports a host not set otherwise in O(inputs) listens on (C(hostnet_cni)).
    type: str
    default: unknown
    choices: [unknown, calico, canal, flannel, cilium, weave, other]
  etcd_group:
    description:
      - For C(plan), the inventory group of the etcd nodes (C(hostnet_etcd_group)); empty for C(etcd), else
        C(kube_control_plane), when the inventory has them. Without such a group no host is probed on 2379-2380.
    type: str
    default: ""
  node_cidr:
    description: For C(plan), the node network (C(hostnet_node_cidr)) the node addresses are chosen in.
    type: str
seealso:
  - module: kubeprep.hostnet.hostnet_audit
  - module: kubeprep.hostnet.hostnet_facts
"""

EXAMPLES = r"""
- name: Plan the probes
  kubeprep.hostnet.hostnet_port_probe:
    step: plan
    probe_ports: true
  run_once: true
  register: probe_plan

- name: Listen, probe, and always stop
  block:
    - name: Start the listeners
      kubeprep.hostnet.hostnet_port_probe:
        step: listen
        plan: "{{ probe_plan.plan }}"
    - name: Probe the peers
      kubeprep.hostnet.hostnet_port_probe:
        step: probe
        plan: "{{ probe_plan.plan }}"
  always:
    - name: Stop the listeners
      kubeprep.hostnet.hostnet_port_probe:
        step: stop
        plan: "{{ probe_plan.plan }}"
"""

RETURN = r"""
plan:
  description: (C(plan)) the run - token, per host its address, interface, MTU, ports, who probes it and whom it probes.
  returned: step is plan
  type: dict
  sample: {token: 3f2a, peers: 3, hosts: {node1: {address: 10.0.0.11, interface: eth1, mtu: 1500,
           ports: [{proto: tcp, port: 6443, service: kube-apiserver}], probed_by: [node2], probes: [node3]}}}
ansible_facts:
  description: C(hostnet_probe_listen) (C(listen)) and C(hostnet_probe_results) (C(probe)), read by M(kubeprep.hostnet.hostnet_audit).
  returned: step is listen or probe
  type: dict
  contains:
    hostnet_probe_listen:
      description: C(token), C(listening), C(in_use) (with the C(holder) socket), C(not_bound) (with C(error)), C(pid), C(echo_port).
      type: dict
    hostnet_probe_results:
      description:
        - C(token), C(source), C(address), C(results) (one per port - C(host), C(proto), C(port), C(service),
          C(result) C(open), C(refused), C(timeout), C(unreachable) or C(error), C(detail), C(ms)), C(df) (C(passed),
          C(lost), C(too_big), C(unreachable)), C(notes) (ports not probed and why), C(seconds).
      type: dict
stopped:
  description: (C(stop)) whether the listener is gone.
  returned: step is stop
  type: bool
"""
