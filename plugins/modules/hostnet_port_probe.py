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
  - "An action plugin (this file only documents it). With C(hostnet_probe_ports) true the audit role runs the
    probes of rule C(node-port-unreachable) (and the DF probe of C(mtu-mismatch)) in three steps: the gather task
    (M(kubeprep.hostnet.hostnet_facts) with O(kubeprep.hostnet.hostnet_facts#module:port_probe_listen)) starts each
    host's listener; C(plan) pairs the hosts; C(probe) probes; C(stop) ends the listeners."
  - "The listener binds every port the host must accept that no socket holds - TCP 6443 and 10250, 2379-2380 on
    etcd nodes, the CNI's (flannel, canal and cilium UDP 8472; calico UDP 4789 and TCP 179; weave TCP 6783, UDP
    6783-6784; unknown both VXLAN ports) - plus one UDP echo port, and leaves a detached process
    (C(kubeprep-probe)) holding them. A port in use is never taken; the report names the socket that holds it.
    The gather task starts it from the facts module itself, so the probes cost one per-host task (C(probe)).
    The listener exits by itself at its lifetime (two minutes, plus ten seconds per round of forks) if nothing
    stops it."
  - "C(plan) (C(run_once: true), on the controller, no connection): every host whose listener of this gather runs,
    its node address (the audit's recommendation) and the peers that probe it: a seeded random permutation of the
    fleet in which each host is probed by the O(peers) hosts after it (N x peers probes, not N x N)."
  - "C(probe): from its node address, the host connects to each port of the peers it probes, all at once, each
    bounded by two seconds: TCP connects, UDP datagrams answered by the listener. A datagram of the node interface's
    MTU with DF set, to the peer's CNI UDP port (else its echo port), shows a path MTU smaller than the link's."
  - "C(stop): ends the host's listener (checked by pid and start time). The audit role runs it as the last task, in
    an C(always) section, on every host whose listener runs (with the gate's O(fail_msg) where the gate stops the
    host), so none outlives the audit even when a step fails."
  - "C(listen) starts the same listener with the host's Python, for playbooks that gather otherwise."
  - The listen, probe and stop steps run the collection's C(portprobe) module_utils with the host's Python
    (C(python3 -c)), standard library only and without a module payload, so a step costs a process start. The
    request comes on stdin (the connection must be able to send it, as for pipelining - C(ssh) or C(local)), never on
    the command line, which any local user can read.
  - "Trust: each listener has a secret key from the controller (the fact's C(key); on the host only in the listener's
    memory). For each planned pair the controller signs the source's node address with the destination's key; a
    listener answers a UDP datagram only when the signature fits the address it comes from (its planned peers; an
    intruder's datagram gets no echo), and ends early only when every planned source - a list the controller signs,
    not one a datagram names - has said \"done\" from its node address. A UDP answer counts only when it echoes the
    probe's own random nonce and comes from the probed address, so a spoofed answer makes neither a firewalled port
    look open nor a listener look ended (which would skip its C(stop))."
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
    description: For C(probe) and C(stop), the C(plan) step's result (its C(plan) key).
    type: dict
  peers:
    description: For C(plan), how many peers probe each host (C(hostnet_probe_peers)).
    type: int
    default: 3
  node_cidr:
    description: For C(plan), the node network (C(hostnet_node_cidr)) the node addresses are chosen in.
    type: str
  reuse:
    description:
      - For C(plan), a plan of an earlier audit of the same play to judge again instead of probing (the
        remediation's after-audit; no fix changes a firewall). Empty, the step plans.
    type: dict
    default: {}
  cni:
    description: For C(listen), the CNI whose ports the host listens on (C(hostnet_cni)).
    type: str
    default: unknown
    choices: [unknown, calico, canal, flannel, cilium, weave, other]
  etcd_group:
    description:
      - For C(listen), the inventory group of the etcd nodes (C(hostnet_etcd_group)); empty for C(etcd), else
        C(kube_control_plane), when the inventory has them. Without such a group no host listens on 2379-2380.
    type: str
    default: ""
  fail_msg:
    description:
      - For C(stop), fail the host with this message once its listener is stopped (the audit role's gate uses the
        same task, so it costs no task more).
    type: str
  lifetime:
    description: For C(listen), seconds the listener lives at most; default two minutes plus ten seconds per round of forks.
    type: float
seealso:
  - module: kubeprep.hostnet.hostnet_audit
  - module: kubeprep.hostnet.hostnet_facts
"""

EXAMPLES = r"""
- name: Gather the facts and start the listeners
  kubeprep.hostnet.hostnet_facts:
    port_probe_listen: {cni: calico, etcd_group: etcd}

- name: Probe, and always stop the listeners
  block:
    - name: Plan the probes
      kubeprep.hostnet.hostnet_port_probe:
        step: plan
      run_once: true
      register: probe_plan
    - name: Probe the peers
      kubeprep.hostnet.hostnet_port_probe:
        step: probe
        plan: "{{ probe_plan.plan }}"
      when: inventory_hostname in probe_plan.plan.hosts
  always:
    - name: Stop the listeners
      kubeprep.hostnet.hostnet_port_probe:
        step: stop
"""

RETURN = r"""
plan:
  description: (C(plan)) the run - token, per host its address, interface, MTU, ports, who probes it and whom it probes.
  returned: step is plan
  type: dict
  sample: {token: 3f2a, peers: 3, listening: [node1, node2, node3], skipped: {},
           hosts: {node1: {address: 10.0.0.11, interface: eth1, mtu: 1500, listen_token: 9b1c,
                           ports: [{proto: tcp, port: 6443, service: kube-apiserver}], probed_by: [node2], probes: [node3]}}}
ansible_facts:
  description: C(hostnet_probe_listen) (C(listen); C(stop) marks it stopped) and C(hostnet_probe_results) (C(probe)), read by M(kubeprep.hostnet.hostnet_audit).
  returned: step is listen, probe or stop
  type: dict
  contains:
    hostnet_probe_listen:
      description:
        - C(token), C(key) (the listener's secret, kept on the controller), C(listening), C(in_use) (with the
          C(holder) socket), C(not_bound) (with C(error)), C(pid), C(echo_port).
      type: dict
    hostnet_probe_results:
      description:
        - C(token), C(source), C(address), C(results) (one per port - C(host), C(proto), C(port), C(service),
          C(result) C(open), C(refused), C(timeout), C(unreachable) or C(error), C(detail), C(ms)), C(df) (C(passed),
          C(lost), C(too_big), C(unreachable)), C(notes) (ports not probed and why), C(seconds).
      type: dict
stopped:
  description: (C(stop)) whether the listener is gone.
  returned: step is stop and the host had a listener
  type: bool
"""
