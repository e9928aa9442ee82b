#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_inputs
short_description: Check every hostnet_* input on the controller before any host is contacted
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - "Runs on the controller (an action plugin; this file only documents it), once per play (C(run_once: true)),
    as the first task of C(kubeprep.hostnet.audit) and so of both playbooks. Never connects to a host."
  - For every play host, reads the C(hostnet_*) variables set for it (inventory, group and host vars, C(-e)) and
    C(kube_service_addresses), and checks each against the collection's roles' argument specs (type, choices) and
    its format (an IP address, a CIDR, a rule id, an interface name, a URL).
  - List variables accept a list, a JSON list in a string (C(-e 'hostnet_service_ips=["10.233.0.0/18"]'), a
    string on ansible-core 2.19) and a comma-separated string; surrounding spaces are trimmed.
  - Reads what the installer already knows where the user set no C(hostnet_*) value (docs/inputs.md) -
    kubespray's C(kube_network_plugin), C(kube_proxy_mode), C(kube_service_addresses), C(kube_pods_subnet), their
    IPv6 twins when C(ipv6_stack) (or C(enable_dual_stack_networks)) is on, and C(ip) / C(access_ip) per host;
    and the kubeadm configuration file named by C(hostnet_kubeadm_config) (C(ClusterConfiguration)
    C(networking.serviceSubnet), C(networking.podSubnet), C(controlPlaneEndpoint), C(kubernetesVersion);
    C(KubeletConfiguration) C(resolvConf)). A value is used only for a variable a rule declares. A relative path
    is taken from the directory C(ansible-playbook) runs in, else from the playbook's directory.
  - Fails, naming each variable, its value and the hosts, on any value it cannot use (a kubeadm file that cannot
    be read or parsed names the variable and the file) and on an
    unknown C(hostnet_*) variable (a typo would otherwise silently keep the default); nothing is contacted then.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.CONTROLLER
options: {}
seealso:
  - module: kubeprep.hostnet.hostnet_audit
"""

EXAMPLES = r"""
- name: Check the inputs
  kubeprep.hostnet.hostnet_inputs:
  run_once: true
  register: hostnet_inputs
"""

RETURN = r"""
hosts:
  description: Per host, the normalised value of every input set for it (lists as lists, booleans as booleans).
  returned: success
  type: dict
  sample: {node1: {hostnet_service_ips: ["10.233.0.0/18"], hostnet_fail_on: error}}
sources:
  description:
    - Per host, where each rule option's value comes from - C(user), C(kubespray <variable>),
      C(kubeadm <file> <key>) or C(default) - and C(node address) when kubespray names one.
  returned: success
  type: dict
  sample: {node1: {hostnet_cni: kubespray kube_network_plugin, hostnet_pod_cidr: default, hostnet_fail_on: user}}
node_addresses:
  description: Per host, kubespray's node address (C(ip), else C(access_ip)), unless C(hostnet_node_cidr) is set.
  returned: success
  type: dict
  sample: {node1: 192.168.56.11}
"""
