#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_kubelet_resolv_conf
short_description: Point kubelet's resolvConf at a resolv.conf without a loopback nameserver
version_added: 0.3.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Fixes rule C(resolv-conf-loopback-nameserver) (opt-in, through role C(kubeprep.hostnet.hostnet_kubelet_resolv_conf))
    where a kubelet config file exists. Sets the top-level C(resolvConf) of that KubeletConfiguration to O(target),
    or, when O(target) is empty and systemd-resolved runs on the host, to its upstream file
    C(/run/systemd/resolve/resolv.conf). Only the value changes (a missing key is added at the end); every other
    byte of the file is kept.
  - The config file is the one kubelet's C(--config) flag names (in its unit, drop-ins, C(/var/lib/kubelet/kubeadm-flags.env),
    C(/etc/kubernetes/kubelet.env), C(/etc/default/kubelet), C(/etc/sysconfig/kubelet)), else C(/var/lib/kubelet/config.yaml),
    as the facts find it; O(config) overrides that.
  - Refuses, with the reason and the manual step, and changes nothing, when no target applies (O(target) empty and
    systemd-resolved not running), when the target does not exist, lists no nameserver or lists a loopback one,
    when there is no config file, when kubelet's C(--resolv-conf) flag is set (it wins over the config file; this
    module does not edit unit or flag files), or when the file cannot be edited exactly (JSON or flow form, several
    documents, the key twice, a value over several lines, an alias, tag or escaped string).
  - Does not restart kubelet; it returns RV(kubelet_running) for the role to decide.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
  - ansible.builtin.files
options:
  target:
    description:
      - The resolv.conf kubelet should hand to pods (an absolute path of letters, digits and C(._+@/-)).
      - Empty, C(/run/systemd/resolve/resolv.conf) when systemd-resolved runs, else an error.
    type: path
    default: ""
  config:
    description: kubelet's config file; empty, the one kubelet uses (its C(--config) flag, else C(/var/lib/kubelet/config.yaml)).
    type: path
    default: ""
"""

EXAMPLES = r"""
- name: Point kubelet at systemd-resolved's upstream file
  kubeprep.hostnet.hostnet_kubelet_resolv_conf:

- name: Point kubelet at a file of your own
  kubeprep.hostnet.hostnet_kubelet_resolv_conf:
    target: /etc/kubernetes/resolv.conf
"""

RETURN = r"""
path:
  description: The kubelet config file.
  returned: always
  type: str
  sample: /var/lib/kubelet/config.yaml
target:
  description: The resolv.conf set as C(resolvConf).
  returned: success
  type: str
  sample: /run/systemd/resolve/resolv.conf
target_from:
  description: Why that file (given, or systemd-resolved runs).
  returned: success
  type: str
config_from:
  description: Why that config file (given, C(--config) in a file and line, or kubeadm's default).
  returned: always
  type: str
kubelet_running:
  description: Whether a kubelet process runs on the host (it reads the file only at start).
  returned: success
  type: bool
actions:
  description: What was changed.
  returned: always
  type: list
  elements: str
"""

import ipaddress
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import filewrite, kubeletconf, kubeletdns, resolvconf

MAX_RESOLV_BYTES = 1024 * 1024


def _loopback(address):
    try:
        return ipaddress.ip_address(str(address).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def main():
    module = AnsibleModule(
        argument_spec=dict(target=dict(type="path", default=""), config=dict(type="path", default=""), backup=dict(type="bool", default=False)),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    found = kubeletconf.flags()
    config = module.params["config"]
    if config:
        config_from = "given"
    elif found["config"]:
        config, config_from = found["config"][2], "--config in %s:%d" % found["config"][:2]
    else:
        config, config_from = kubeletdns.DEFAULT_CONFIG, "kubeadm's default"
    result = {"changed": False, "path": config, "config_from": config_from, "actions": []}

    def refuse(why, step):
        module.fail_json(msg="%s; nothing was changed. By hand: %s" % (why, step), **result)

    target = module.params["target"]
    if target:
        target_from = "given"
    elif kubeletdns.resolved_running():
        target, target_from = kubeletdns.RESOLVED_RESOLV_CONF, "systemd-resolved runs: its upstream file"
    else:
        refuse(
            "no file to point kubelet at: systemd-resolved does not run here and hostnet_kubelet_resolv_conf_target is not set",
            "write a resolv.conf listing the upstream nameservers your local resolver forwards to (for example "
            "/etc/kubernetes/resolv.conf) and set hostnet_kubelet_resolv_conf_target to it",
        )
    result.update(target=target, target_from=target_from)
    step = kubeletconf.manual_step(kubeletconf.shown(config), target)
    flag = found["resolv-conf"] or ()  # (file, line, value) of the --resolv-conf kubelet uses
    if flag and flag[2] != target:
        refuse(
            "kubelet's --resolv-conf=%s in %s:%d wins over resolvConf in its config file, and this module does not edit unit or flag files"
            % (kubeletconf.shown(flag[2]), flag[0], flag[1]),
            "change it to --resolv-conf=%s in %s:%d, then `systemctl daemon-reload && systemctl restart kubelet`" % (target, flag[0], flag[1]),
        )
    if not os.path.isabs(config) or not os.path.isfile(config):
        refuse(
            "%s (kubelet's config, %s) does not exist: no kubelet config to edit" % (kubeletconf.shown(config), config_from),
            "set `resolvConf: %s` in the KubeletConfiguration you give `kubeadm init`/`join --config` (kubespray `kube_resolv_conf`, "
            "k3s/rke2 `resolv-conf`)" % target,
        )
    try:
        with open(target, "rb") as handle:
            text = handle.read(MAX_RESOLV_BYTES).decode("utf-8", "replace")
    except (IOError, OSError) as exc:
        refuse("the target %s (%s) cannot be read: %s" % (target, target_from, exc.strerror or exc), "create it listing the upstream nameservers, then rerun")
    if not os.path.isfile(target):
        refuse("the target %s is not a regular file" % target, "give a resolv.conf file as hostnet_kubelet_resolv_conf_target")
    servers = [str(n.get("address")) for n in resolvconf.parse_resolv_conf(text)["nameservers"]]
    loop = [s for s in servers if _loopback(s)]
    if loop or not servers:
        refuse(
            "the target %s %s"
            % (target, "lists the loopback nameserver %s, as bad in a pod as the file it replaces" % ", ".join(loop[:4]) if loop else "lists no nameserver"),
            "give a file listing the real upstream nameservers as hostnet_kubelet_resolv_conf_target",
        )
    if flag:
        result.update(kubelet_running=kubeletconf.process_running("kubelet"), actions=[])
        module.exit_json(msg="kubelet's --resolv-conf in %s:%d is already %s" % (flag[0], flag[1], target), **result)

    def edit(data):
        try:
            return kubeletconf.set_resolv_conf(data, target)
        except ValueError as exc:
            raise ValueError("%s. By hand: %s" % (exc, step)) from exc

    outcome = filewrite.apply_edit(module, config, edit, backup=module.params["backup"])
    outcome.update(config_from=config_from, target=target, target_from=target_from, kubelet_running=kubeletconf.process_running("kubelet"))
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
