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
  - "All or nothing: the persistence target (manager, file, directory, NetworkManager connection) is decided and
    checked before the live route is added (the file's directory exists or can be made, it is writable, the file
    is a regular file and not bind-mounted unless O(unsafe_writes)); if persisting then fails, the live route is
    removed again. Check mode runs the same checks, so it predicts the real run's outcome, and writes nothing
    (not even a lock file). The persistence file's lock is taken before the live route is added, so a run
    killed while it waits for another one leaves no live-only route. A route for O(dest) that already exists
    with this gateway and interface is kept (any prefix length, IPv4 or IPv6): a second run changes nothing.
    Each destination and family has its own file (the IPv6 default route's is named C(default_ipv6)), so
    persisting one route never overwrites another."
  - "Safety: refuses a gateway on loopback, an address of the host itself, the network or broadcast address of
    the interface's subnet, a gateway that is not on a directly connected network, and one that does not answer
    ARP / neighbour discovery (see O(neighbour_timeout)); refuses a route whose
    destination contains the address of the Ansible controller's SSH connection (from C(SSH_CONNECTION), read
    from the nearest ancestor process when C(become) through sudo or su removed it);
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
  neighbour_timeout:
    description:
      - Seconds to wait for the gateway to answer ARP (IPv4) or neighbour discovery (IPv6) before any change; a
        gateway that does not answer is refused, since every packet sent to it would be lost. C(0) skips the
        check (it is skipped anyway on interfaces without ARP, such as tunnels).
    type: float
    default: 4
  unsafe_writes:
    description:
      - Write the persistence file in place where a rename cannot replace it (a bind-mounted file, as in some
        containers). Without it such a file is refused before any change. The role variable is C(hostnet_unsafe_writes).
    type: bool
    default: false
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
gateway_neighbour:
  description: The gateway's neighbour state when it was checked (for example C(REACHABLE)).
  returned: when checked
  type: str
management_connection:
  description: The controller address seen in C(SSH_CONNECTION) and its route before the change.
  returned: when connected over SSH
  type: dict
"""

import ipaddress
import os
import socket
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.kubeprep.hostnet.plugins.module_utils import filewrite, ipcmd, netpersist, nmdetect


class Ip(ipcmd.IpCommand):
    def route_get(self, address):
        data, error = self.json("route", "get", address)
        return (data[0] if data else {}), error

    def routes_for(self, dest, version):
        """Routes whose destination is exactly ``dest`` (main table), of its family.
        ``ip -json route`` prints a host route without /32 and IPv6 routes only with -6."""
        data, error = self.json("-%d" % version, "route", "show", "exact", dest)
        if error:
            return None, error
        wanted = "default" if dest == "default" else dest
        found = []
        for route in data or []:
            dst = route.get("dst") or ""
            if dst != "default" and "/" not in dst:
                dst += "/%d" % (32 if version == 4 else 128)
            if dst == wanted:
                found.append(route)
        return found, None

    def addresses(self):
        data, _error = self.json("address", "show")
        found = {}
        for link in data or []:
            for info in link.get("addr_info") or []:
                if info.get("local"):
                    found[info["local"]] = (link.get("ifname"), info.get("prefixlen"))
        return found

    def run(self, *args):
        return self.module.run_command([self.path] + list(args), environ_update={"LC_ALL": "C"})

    def neighbour(self, gateway, interface, timeout):
        """Whether ``gateway`` answers ARP / neighbour discovery on ``interface``: (ok, state seen).
        A datagram to its discard port makes the kernel resolve it; the neighbour table says how that went."""
        links, _error = self.json("link", "show", "dev", interface)
        if links and "NOARP" in (links[0].get("flags") or []):
            return True, "NOARP interface"
        family = socket.AF_INET6 if ":" in gateway else socket.AF_INET
        deadline = time.monotonic() + timeout
        state = "none"
        while True:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.sendto(b"kubeprep.hostnet neighbour check", (gateway, 9))
            except (IOError, OSError):
                pass
            finally:
                sock.close()
            data, _error = self.json("neigh", "show", gateway, "dev", interface)
            states = (data[0].get("state") or []) if data else []
            state = ",".join(states) or "none"
            if set(states) & {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}:
                return True, state
            if "FAILED" in states or time.monotonic() > deadline:
                return False, state
            time.sleep(0.1)


def _path_of(route):
    return {k: route.get(k) for k in ("dev", "gateway")}


def check_gateway(gateway, via, addresses):
    """Why ``gateway`` cannot be a next hop (None when it can): a route via loopback, via
    the host itself, via a network or broadcast address, or off-link black-holes traffic."""
    address = ipaddress.ip_address(gateway)
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        return "%s is a loopback, unspecified or multicast address" % gateway
    if gateway in addresses:
        return "%s is an address of this host (%s)" % (gateway, addresses[gateway][0])
    if via.get("dev") == "lo" or via.get("type") == "local":
        return "%s is reached through lo (an address of this host)" % gateway
    if via.get("gateway") or not via.get("dev"):
        return "%s is not on a directly connected network (ip route get: via %s dev %s)" % (gateway, via.get("gateway"), via.get("dev"))
    if address.version == 4:
        for local, (dev, prefix) in addresses.items():
            if dev != via.get("dev") or ":" in local or prefix is None or prefix >= 31:
                continue
            network = ipaddress.ip_network("%s/%s" % (local, prefix), strict=False)
            if address in network and address in (network.network_address, network.broadcast_address):
                return "%s is the %s address of %s" % (gateway, "network" if address == network.network_address else "broadcast", network)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="str", required=True),
            gateway=dict(type="str", required=True),
            interface=dict(type="str"),
            persist=dict(type="str", default="auto", choices=["auto", "none"] + list(netpersist.MANAGERS)),
            live=dict(type="bool", default=True),
            neighbour_timeout=dict(type="float", default=4.0),
            unsafe_writes=dict(type="bool", default=False, fallback=(env_fallback, ["ANSIBLE_UNSAFE_WRITES"])),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dest = p["dest"].strip()
    try:
        gateway = str(ipaddress.ip_address(p["gateway"].strip()))
        version = ipaddress.ip_address(gateway).version
        if dest != "default":
            network = ipaddress.ip_network(dest, strict=False)
            dest = str(network)
            if network.version != version:
                raise ValueError("dest %s and gateway %s are of different IP versions" % (dest, gateway))
        if p["interface"]:
            netpersist.check_interface(p["interface"])
    except ValueError as exc:
        module.fail_json(msg="invalid dest, gateway or interface: %s; nothing was changed" % exc, changed=False)
    ip = Ip(module)
    result = {"changed": False, "live_changed": False, "dest": dest, "gateway": gateway}

    # 1. The gateway must be a real next hop on a directly connected network (never a guess).
    via, error = ip.route_get(gateway)
    problem = error and "%s is not on a directly connected network (ip route get: %s)" % (gateway, error) or check_gateway(gateway, via, ip.addresses())
    if problem:
        module.fail_json(msg="refusing gateway %s: %s; nothing was changed" % (gateway, problem), **result)
    interface = p["interface"] or via["dev"]
    if via["dev"] != interface:
        module.fail_json(msg="gateway %s is reached through %s, not %s; nothing was changed" % (gateway, via["dev"], interface), **result)
    result["interface"] = interface
    # 2. The management connection must not be captured by the new route.
    client = ipcmd.ssh_client()
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

    # 3. Decide persistence, and check its target, before changing anything.
    manager = p["persist"]
    if manager == "auto":
        manager = netpersist.detect(interface, nm_running=nmdetect.running() and bool(module.get_bin_path("nmcli")))
        if manager is None:
            module.fail_json(
                msg="no network manager detected (NetworkManager, netplan, systemd-networkd, network-scripts, ifupdown); "
                "a route added only live is lost at reboot. Set persist (the role's hostnet_service_route_persist) to the "
                "manager, or to none for a live-only route. Nothing was changed",
                **result,
            )
    result["manager"] = None if manager == "none" else manager
    persist = None
    nm_connection = None
    if manager == "NetworkManager":
        nm_connection = _nm_connection(module, interface, result)
    elif manager != "none":
        try:
            path, edit, mode = netpersist.RENDERERS[manager](dest, gateway, interface)
        except ValueError as exc:
            module.fail_json(msg="cannot persist with %s: %s; nothing was changed" % (manager, exc), **result)
        directory = os.path.dirname(path)
        parent = os.path.dirname(directory)
        if not os.path.lexists(directory) and not os.path.isdir(parent):
            module.fail_json(msg="cannot persist with %s: neither %s nor %s exists; nothing was changed" % (manager, directory, parent), **result)
        # The same checks the write makes (a regular file, a directory, writable, not a bind mount without
        # unsafe_writes), so check mode predicts the real run and the real run fails before the live route.
        problem, _changes = filewrite.preflight(module, path, edit, create=True, create_dir=True)
        if problem:
            module.fail_json(msg="cannot persist with %s: %s" % (manager, problem), **result)
        persist = (path, edit, mode, directory)

    # The persistence file's lock first, held until the end: a run killed while it waits for another
    # run must not leave a live route that nothing persists.
    held = filewrite.lock(module, persist[0]) if persist is not None else None
    if held is not None:
        held.__enter__()
    try:
        _route_and_persist(module, ip, p, result, dest, gateway, version, interface, client, before, manager, nm_connection, persist)
    finally:
        if held is not None:
            held.__exit__(None, None, None)


def _route_and_persist(module, ip, p, result, dest, gateway, version, interface, client, before, manager, nm_connection, persist):
    # 4. Live route: add when missing, never replace another one.
    match, error = ip.routes_for(dest, version)
    if match is None:
        module.fail_json(msg="cannot list the routes for %s: %s; nothing was changed" % (dest, error), **result)
    if match and not any(r.get("gateway") == gateway and r.get("dev") == interface for r in match):
        module.fail_json(
            msg="a route for %s already exists (%s); it is not replaced. Nothing was changed"
            % (dest, ", ".join("via %s dev %s" % (r.get("gateway"), r.get("dev")) for r in match)),
            **result,
        )
    if p["neighbour_timeout"] > 0 and not match:
        answers, state = ip.neighbour(gateway, interface, p["neighbour_timeout"])
        result["gateway_neighbour"] = state
        if not answers:
            module.fail_json(
                msg="refusing gateway %s: it does not answer %s on %s (neighbour state %s after %.0f s): every packet routed to it "
                "would be lost; nothing was changed" % (gateway, "neighbour discovery" if version == 6 else "ARP", interface, state, p["neighbour_timeout"]),
                **result,
            )

    added = False
    if p["live"] and not match:
        result["live_changed"] = True
        if module._diff:
            result["diff"] = [
                {"before_header": "ip route", "after_header": "ip route", "before": "", "after": "%s via %s dev %s\n" % (dest, gateway, interface)}
            ]
        if not module.check_mode:
            rc, out, err = ip.run("route", "add", dest, "via", gateway, "dev", interface)
            if rc != 0:
                failure = (err or out).strip()
                module.fail_json(msg="ip route add %s via %s dev %s failed: %s; nothing was changed" % (dest, gateway, interface, failure), **result)
            added = True
            if before is not None:
                after, _error = ip.route_get(client[0])
                if _path_of(after) != _path_of(before):
                    ip.run("route", "del", dest, "via", gateway, "dev", interface)
                    result["live_changed"] = False
                    module.fail_json(
                        msg="the new route changed the path to the controller %s (%s -> %s); it was removed again, nothing was changed"
                        % (client[0], _path_of(before), _path_of(after)),
                        **result,
                    )

    # 5. Persist; if that fails, the live route goes again: all or nothing.
    fail_json = module.fail_json

    def roll_back(**kwargs):
        if added:
            ip.run("route", "del", dest, "via", gateway, "dev", interface)
            kwargs["live_changed"] = False
            kwargs["msg"] = "%s; the live route %s via %s dev %s was removed again, nothing was changed" % (
                kwargs.get("msg", "persisting failed").replace("; nothing was changed", ""),
                dest,
                gateway,
                interface,
            )
        kwargs["changed"] = False
        fail_json(**kwargs)

    module.fail_json = roll_back
    if manager == "NetworkManager":
        persisted = _persist_nm(module, nm_connection, dest, gateway, version)
        result["persisted_path"] = "nmcli"
        result["changed"] = result["live_changed"] or persisted
    elif persist is not None:
        path, edit, mode, directory = persist
        written = filewrite.apply_edit(module, path, edit, create=True, mode=mode, create_dir=True)
        result["persisted_path"] = path
        result["actions"] = written["actions"]
        if written.get("diff"):
            result.setdefault("diff", []).append(written["diff"])
        result["changed"] = result["live_changed"] or written["changed"]
    else:
        result["changed"] = result["live_changed"]
    module.fail_json = fail_json
    module.exit_json(**result)


def _nm_connection(module, interface, result):
    nmcli = module.get_bin_path("nmcli", required=True)
    rc, out, err = module.run_command([nmcli, "-g", "GENERAL.CONNECTION", "device", "show", interface])
    connection = out.strip()
    if rc != 0 or not connection:
        module.fail_json(msg="NetworkManager has no connection on %s (%s); nothing was changed" % (interface, (err or out).strip() or "none"), **result)
    rc, out, err = module.run_command([nmcli, "-g", "DEVICE,FILENAME", "connection", "show", "--active"])
    filename = ""
    for line in out.splitlines() if rc == 0 else []:
        fields = netpersist.nmcli_fields(line)
        if len(fields) == 2 and fields[0] == interface:
            filename = fields[1]
    if filename.startswith("/run/"):
        # Generated at boot (netplan, cloud-init, initrd): a change to it is lost at the next boot.
        module.fail_json(
            msg="NetworkManager's connection %s on %s is generated at boot (%s); a route persisted there is lost at the next "
            "boot. Persist it in the configuration it is generated from (persist: netplan for /etc/netplan). Nothing was changed"
            % (connection, interface, filename),
            **result,
        )
    return connection


def _persist_nm(module, connection, dest, gateway, version):
    nmcli = module.get_bin_path("nmcli", required=True)
    family = "ipv%d" % version
    key, value = ("%s.gateway" % family, gateway) if dest == "default" else ("%s.routes" % family, "%s %s" % (dest, gateway))
    rc, out, err = module.run_command([nmcli, "-g", key, "connection", "show", connection])
    if rc == 0 and value in [part.strip() for part in out.replace(",", "\n").splitlines()]:
        return False
    if not module.check_mode:
        rc, out, err = module.run_command([nmcli, "connection", "modify", connection, ("+" if key.endswith(".routes") else "") + key, value])
        if rc != 0:
            module.fail_json(msg="nmcli connection modify %s failed: %s" % (connection, (err or out).strip()))
    return True


if __name__ == "__main__":
    main()
