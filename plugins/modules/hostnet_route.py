#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_route
short_description: Ensure a route to the Service network, live and persistent, without cutting the management connection
version_added: 0.1.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Fixes rule C(service-network-unroutable) (fault F2) with the route the user chose, a default route via
    a gateway, or a route for the Service CIDR via the cluster interface. Gateways are never guessed.
  - Adds the route to the running kernel (C(ip route add); an existing route is never removed or replaced)
    and persists it in the native configuration of the network manager in charge, detected from the host
    (NetworkManager through C(nmcli), netplan, systemd-networkd, RHEL network-scripts, ifupdown), so it
    survives a reboot. When none is detected it fails before changing anything, unless O(persist=none).
  - "Safety: refuses a gateway that is not on a directly connected network; refuses a route whose
    destination contains the address of the Ansible controller's SSH connection (from C(SSH_CONNECTION));
    after adding the route, re-checks the kernel's route to the controller and removes the new route again
    if that path changed."
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
options:
  dest:
    description: C(default), or the Service CIDR (for example C(10.96.0.0/12), kubespray's C(10.233.0.0/18)).
    type: str
    required: true
  gateway:
    description: The next hop. It must be on a directly connected network.
    type: str
    required: true
  interface:
    description: The interface to route through; defaults to the one the gateway is connected to.
    type: str
  persist:
    description:
      - Where to persist the route. C(auto) detects the manager; C(none) only adds the live route (it is lost
        at reboot, which is how the F2 incident began).
    type: str
    choices: [auto, NetworkManager, netplan, systemd-networkd, network-scripts, ifupdown, none]
    default: auto
  live:
    description: Add the route to the running kernel too.
    type: bool
    default: true
notes:
  - netplan, systemd-networkd and NetworkManager pick the persisted route up at their next apply or reboot;
    this module does not restart networking (that could drop the management connection).
"""

EXAMPLES = r"""
- name: Route the Service CIDR through the cluster NIC
  kubeprep.hostnet.hostnet_route:
    dest: 10.96.0.0/12
    gateway: 192.168.56.1
    interface: enp0s8

- name: Restore the default route that DHCP did not provide
  kubeprep.hostnet.hostnet_route:
    dest: default
    gateway: 192.168.1.1
"""

RETURN = r"""
interface:
  description: The interface used.
  returned: success
  type: str
live_changed:
  description: Whether the live route was (or would be) added.
  returned: always
  type: bool
manager:
  description: The network manager the route was persisted with (null for O(persist=none)).
  returned: success
  type: str
  sample: ifupdown
persisted_path:
  description: The file written (or C(nmcli) for NetworkManager).
  returned: success
  type: str
management_connection:
  description: The controller address seen in C(SSH_CONNECTION) and its route before the change.
  returned: when connected over SSH
  type: dict
"""

import ipaddress
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import filewrite, netpersist


class Ip:
    def __init__(self, module):
        self.module = module
        self.path = module.get_bin_path("ip", opt_dirs=["/sbin", "/usr/sbin"])
        if not self.path:
            module.fail_json(msg="the ip command (iproute2) is required; nothing was changed")

    def json(self, *args):
        rc, out, err = self.module.run_command([self.path, "-json"] + list(args), environ_update={"LC_ALL": "C"})
        if rc != 0:
            return None, (err or out).strip()
        try:
            return json.loads(out or "[]"), None
        except ValueError:
            return None, "unexpected output of ip -json %s" % " ".join(args)

    def route_get(self, address):
        data, error = self.json("route", "get", address)
        return (data[0] if data else {}), error

    def run(self, *args):
        return self.module.run_command([self.path] + list(args), environ_update={"LC_ALL": "C"})


def _path_of(route):
    return {k: route.get(k) for k in ("dev", "gateway")}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="str", required=True),
            gateway=dict(type="str", required=True),
            interface=dict(type="str"),
            persist=dict(type="str", default="auto", choices=["auto", "none"] + list(netpersist.MANAGERS)),
            live=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dest = p["dest"].strip()
    try:
        gateway = str(ipaddress.ip_address(p["gateway"]))
        if dest != "default":
            network = ipaddress.ip_network(dest, strict=False)
            dest = str(network)
            if network.version != ipaddress.ip_address(gateway).version:
                raise ValueError("dest and gateway are of different IP versions")
    except ValueError as exc:
        module.fail_json(msg="invalid dest or gateway: %s; nothing was changed" % exc)
    ip = Ip(module)
    result = {"changed": False, "live_changed": False, "dest": dest, "gateway": gateway}

    # 1. The gateway must be directly connected (never route via a guess).
    via, error = ip.route_get(gateway)
    if error or via.get("gateway") or not via.get("dev"):
        module.fail_json(
            msg="gateway %s is not on a directly connected network (ip route get: %s); refusing, nothing was changed"
            % (gateway, error or "via %s dev %s" % (via.get("gateway"), via.get("dev"))),
            **result,
        )
    interface = p["interface"] or via["dev"]
    if via["dev"] != interface:
        module.fail_json(msg="gateway %s is reached through %s, not %s; nothing was changed" % (gateway, via["dev"], interface), **result)
    result["interface"] = interface

    # 2. The management connection must not be captured by the new route.
    client = (os.environ.get("SSH_CONNECTION") or "").split()[:1]
    before = None
    if client:
        before, error = ip.route_get(client[0])
        result["management_connection"] = {"client": client[0], "route": _path_of(before)}
        if dest != "default" and ipaddress.ip_address(client[0]) in ipaddress.ip_network(dest):
            module.fail_json(
                msg="%s contains %s, the address Ansible connects from; the route would capture the management connection. Refusing; nothing was changed"
                % (dest, client[0]),
                **result,
            )

    # 3. Decide persistence before changing anything.
    manager = p["persist"]
    if manager == "auto":
        manager = netpersist.detect(interface, nm_running=os.path.isdir("/run/NetworkManager") and bool(module.get_bin_path("nmcli")))
        if manager is None:
            module.fail_json(
                msg="no network manager detected (NetworkManager, netplan, systemd-networkd, network-scripts, ifupdown); "
                "a route added only live is lost at reboot. Set persist explicitly, or persist=none. Nothing was changed",
                **result,
            )
    result["manager"] = None if manager == "none" else manager

    # 4. Live route: add when missing, never replace another one.
    existing, error = ip.json("route", "show", dest)
    match = [r for r in existing or [] if r.get("dst") == dest or (dest == "default" and r.get("dst") == "default")]
    if match and not any(r.get("gateway") == gateway and r.get("dev") == interface for r in match):
        module.fail_json(
            msg="a route for %s already exists (%s); it is not replaced. Nothing was changed"
            % (dest, ", ".join("via %s dev %s" % (r.get("gateway"), r.get("dev")) for r in match)),
            **result,
        )
    if p["live"] and not match:
        result["live_changed"] = True
        if module._diff:
            result["diff"] = [
                {"before_header": "ip route", "after_header": "ip route", "before": "", "after": "%s via %s dev %s\n" % (dest, gateway, interface)}
            ]
        if not module.check_mode:
            rc, out, err = ip.run("route", "add", dest, "via", gateway, "dev", interface)
            if rc != 0:
                module.fail_json(msg="ip route add %s via %s dev %s failed: %s" % (dest, gateway, interface, (err or out).strip()), **result)
            if before is not None:
                after, _error = ip.route_get(client[0])
                if _path_of(after) != _path_of(before):
                    ip.run("route", "del", dest, "via", gateway, "dev", interface)
                    module.fail_json(
                        msg="the new route changed the path to the controller %s (%s -> %s); it was removed again"
                        % (client[0], _path_of(before), _path_of(after)),
                        **result,
                    )

    # 5. Persist.
    if manager == "NetworkManager":
        persisted = _persist_nm(module, dest, gateway, interface)
        result["persisted_path"] = "nmcli"
        result["changed"] = result["live_changed"] or persisted
    elif manager != "none":
        try:
            path, edit, mode = netpersist.RENDERERS[manager](dest, gateway, interface)
        except ValueError as exc:
            module.fail_json(msg="cannot persist with %s: %s" % (manager, exc), **result)
        written = filewrite.apply_edit(module, path, edit, create=True, mode=mode)
        result["persisted_path"] = path
        result["actions"] = written["actions"]
        if written.get("diff"):
            result.setdefault("diff", []).append(written["diff"])
        result["changed"] = result["live_changed"] or written["changed"]
    else:
        result["changed"] = result["live_changed"]
    module.exit_json(**result)


def _persist_nm(module, dest, gateway, interface):
    nmcli = module.get_bin_path("nmcli", required=True)
    rc, out, err = module.run_command([nmcli, "-g", "GENERAL.CONNECTION", "device", "show", interface])
    connection = out.strip()
    if rc != 0 or not connection:
        module.fail_json(msg="NetworkManager has no connection on %s: %s" % (interface, (err or out).strip()))
    key, value = ("ipv4.gateway", gateway) if dest == "default" else ("ipv4.routes", "%s %s" % (dest, gateway))
    rc, out, err = module.run_command([nmcli, "-g", key, "connection", "show", connection])
    if value in out:
        return False
    if not module.check_mode:
        rc, out, err = module.run_command([nmcli, "connection", "modify", connection, ("+" if key == "ipv4.routes" else "") + key, value])
        if rc != 0:
            module.fail_json(msg="nmcli connection modify failed: %s" % (err or out).strip())
    return True


if __name__ == "__main__":
    main()
