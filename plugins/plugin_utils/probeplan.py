# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ports each node must accept from its peers, and who probes whom (rule node-port-unreachable).

The ports are the rule's: its registry entry (rules.py) points here. Each host
listens on its own ports (started by the gather call, hostnet_facts' action, so
the probes cost one task more, not two); each host is probed from ``peers`` others picked by
one random permutation of the fleet (seeded by the host names, so a rerun on
the same inventory probes the same pairs): in the permutation, a host is
probed by the ``peers`` hosts after it, so every host probes and is probed
``peers`` times. N x peers probes, not N x N.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import os
import random
import shlex
import uuid
import zlib

from ansible import context

from ansible_collections.kubeprep.hostnet.plugins.module_utils import portprobe
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip

LISTEN_FACT = "hostnet_probe_listen"  # the listener's report (set by the gather task)
RESULTS_FACT = "hostnet_probe_results"  # a host's probes of its peers
# (protocol, port, what uses it): the table rule port-in-use reads on the host too.
NODE_PORTS, ETCD_PORTS, CNI_PORTS = portprobe.NODE_PORTS, portprobe.ETCD_PORTS, portprobe.CNI_PORTS
ETCD_GROUPS = ("etcd", "kube_control_plane")
TIMEOUT = 2.0  # seconds, each probe (all of a host's probes run at once)
# A listener lives this long at most (it is stopped at the end of the audit; this bounds a controller that died).
BASE_LIFETIME = 120.0
PER_ROUND = 10.0


def etcd_hosts(groups, group=None):
    """(group used, its hosts): ``group`` when given, else the first of etcd, kube_control_plane the inventory has."""
    names = [group] if group else list(ETCD_GROUPS)
    for name in names:
        members = (groups or {}).get(name)
        if members:
            return name, set(members)
    return (group or None), set()


def ports_for(host, cni, etcd_members):
    ports = list(NODE_PORTS)
    if host in etcd_members:
        ports.extend(ETCD_PORTS)
    ports.extend(CNI_PORTS.get(cni or "unknown", CNI_PORTS["unknown"]))
    return [{"proto": proto, "port": port, "service": service} for proto, port, service in ports]


def pairs(hosts, peers):
    """destination -> [sources]: a seeded permutation, each host probed by the ``peers`` hosts after it."""
    order = sorted(hosts)
    if len(order) < 2 or peers < 1:
        return {host: [] for host in order}
    rng = random.Random(zlib.crc32("\0".join(order).encode("utf-8")))
    rng.shuffle(order)
    count = min(peers, len(order) - 1)
    return {host: [order[(i + k) % len(order)] for k in range(1, count + 1)] for i, host in enumerate(order)}


def listen_request(task_vars, cni, etcd_group, lifetime_s=None):
    """What the action's host listens on: {ports, lifetime, token, key} (the gather call's and the listen step's).
    ``token`` names this listener's report; ``key`` is its secret (see portprobe.tag()): it reaches the host on
    stdin or as a no_log module option, never on a command line, and stays in the controller's facts."""
    ports = listen_ports(task_vars.get("inventory_hostname"), task_vars.get("groups") or {}, cni or "unknown", etcd_group or None)
    if lifetime_s is None:
        lifetime_s = lifetime(len(task_vars.get("ansible_play_hosts") or []), forks())
    return {"ports": ports, "lifetime": lifetime_s, "token": uuid.uuid4().hex, "key": binascii.hexlify(os.urandom(16)).decode("ascii")}


def stamp_listener(report, request, facts):
    """The listener's report tied to its request and to the facts gathered with it: a later play with other
    facts does not take it for its own. ``ports``: what it was asked to listen on, in order."""
    report.update(token=request["token"], key=request["key"], ports=request["ports"], facts_epoch=((facts or {}).get("clock") or {}).get("host_epoch"))
    return report


def start_listener(action, task_vars, cni, etcd_group, lifetime_s=None):
    """Start the port probe listener on the action's host with its Python; its report."""
    request = listen_request(task_vars, cni, etcd_group, lifetime_s)
    answer = on_host(action, dict(request, step="listen"), task_vars)
    return stamp_listener(answer, request, (task_vars.get("ansible_facts") or {}).get("hostnet"))


def forks():
    return (getattr(context, "CLIARGS", None) or {}).get("forks") or 5


def lifetime(hosts, fork_count):
    """Seconds a listener may live: the audit stops it; this bounds a controller that died."""
    rounds = -(-max(hosts, 1) // max(fork_count or 5, 1))
    return BASE_LIFETIME + PER_ROUND * rounds


def listen_ports(host, groups, cni, etcd_group=None):
    """The ports ``host`` listens on: its CNI's, and etcd's when it is in the etcd group."""
    _group, members = etcd_hosts(groups, etcd_group)
    return ports_for(host, cni, members)


def plan(facts_by_host, listeners, peers, node_cidr=None, ansible_hosts=None):
    """The probe run: per host its node address, ports, and the peers it probes and is probed by.

    ``facts_by_host``: host -> hostnet facts; ``listeners``: host -> the listener report of this run's
    gather, for every host with probes on (a failed one says why). Hosts without facts, a listener or a node
    address are named in ``skipped``; ``listening`` lists every host whose listener runs (all are stopped).
    """
    skipped, valid = {}, {}
    listening = sorted(h for h, listen in listeners.items() if isinstance(listen, dict) and listen.get("pid"))
    for host in sorted(listeners):
        listen, facts = listeners[host], facts_by_host.get(host)
        if not isinstance(facts, dict) or "schema_version" not in facts:
            skipped[host] = "no facts (the host was unreachable or its facts task failed)"
        elif not isinstance(listen, dict) or listen.get("failed") is True or not listen.get("pid"):
            skipped[host] = "its listener did not start: %s" % ((listen or {}).get("msg") or "no report")
        else:
            valid[host] = facts
    recommendations = nodeip.recommend(valid, node_cidr, ansible_hosts) if valid else {}
    nodes = {}
    for host in sorted(valid):
        rec = recommendations.get(host)
        if rec:
            name, address = rec["interface"], rec["address"]
        else:
            name = nodeip.default_interface(valid[host])[0]
            address = next((a for n, a in nodeip.default_addresses(valid[host]) if n == name), None)
        if not address:
            skipped[host] = "no node address (no interface reaches the other hosts, and no default route)"
            continue
        mtu = None
        for iface in (valid[host].get("interfaces") or {}).get("list") or []:
            if iface.get("name") == name:
                mtu = iface.get("mtu")
        listen = listeners[host]
        ports = [{k: item.get(k) for k in ("proto", "port", "service")} for item in listen.get("ports") or []]
        nodes[host] = {"address": address, "interface": name, "mtu": mtu, "ports": ports, "listen_token": listen.get("token")}
    if len(nodes) == 1:
        alone = next(iter(nodes))
        skipped[alone] = "no other host with probes on to probe it from (the probes need at least two hosts)"
        nodes = {}
    sources = pairs(nodes, peers)
    for host, node in nodes.items():
        node["probed_by"] = sources[host]
        node["probes"] = sorted(dest for dest, srcs in sources.items() if host in srcs)
    return {
        "token": uuid.uuid4().hex,
        "hosts": nodes,
        "skipped": skipped,
        "listening": listening,
        "peers": peers,
        "etcd_hosts": sorted(h for h, n in nodes.items() if any(p["port"] == 2379 for p in n["ports"])),
        "timeout": TIMEOUT,
    }


def targets(plan_data, source, listeners):
    """What ``source`` probes: (port targets, DF targets, notes, done messages) given each destination's listener
    report. A done message tells a listener this source has finished; with all of its sources' it ends itself.
    Each carries the tag of ``source``'s node address made with the destination's key (portprobe.tag()): the
    listener answers, and takes "done" from, its planned sources only."""
    node = plan_data["hosts"][source]
    port_targets, df_targets, notes, done = [], [], [], []
    for dest in node["probes"]:
        peer = plan_data["hosts"][dest]
        listen = listeners.get(dest)
        if not isinstance(listen, dict) or listen.get("token") != peer.get("listen_token") or listen.get("failed") is True or not listen.get("key"):
            notes.append({"host": dest, "note": "no listener report from %s (its listen step did not run or failed)" % dest})
            continue
        probe_tag = portprobe.tag(listen["key"], "probe", node["address"])
        state = {}
        for key in ("listening", "in_use", "not_bound"):
            for item in listen.get(key) or []:
                state[(item["proto"], int(item["port"]))] = (key, item)
        for item in peer["ports"]:
            key, detail = state.get((item["proto"], item["port"]), ("not_bound", {"error": "not in the listener's report"}))
            if key == "not_bound" or (key == "in_use" and item["proto"] == "udp"):
                why = "in use by %s (no echo to wait for)" % detail.get("holder") if key == "in_use" else detail.get("error")
                notes.append({"host": dest, "proto": item["proto"], "port": item["port"], "note": "not probed: %s" % why})
                continue
            target = dict(item, host=dest, address=peer["address"], in_use=key == "in_use")
            if item["proto"] == "udp":
                target["tag"] = probe_tag
            port_targets.append(target)
        # The DF datagram goes to a UDP port the cluster needs open (the CNI's, answered by the listener) where
        # there is one, so a firewall that only lets the cluster's ports in still lets it through; then the echo port.
        ports = [int(i["port"]) for i in listen.get("listening") or [] if i.get("proto") == "udp"][:1]
        ports += [listen["echo_port"]] if listen.get("echo_port") else []
        if ports and node.get("mtu"):
            df_targets.append({"host": dest, "address": peer["address"], "ports": ports, "size": node["mtu"], "tag": probe_tag})
        if ports:
            # The listener's planned sources, by node address: it ends once each has said "done" (signed, so a
            # datagram cannot name a shorter list of its own).
            sources = sorted(plan_data["hosts"][s]["address"] for s in peer["probed_by"])
            done_tag = portprobe.tag(listen["key"], "done", node["address"], sources)
            done.append({"host": dest, "address": peer["address"], "ports": ports, "tag": done_tag, "sources": sources})
    return port_targets, df_targets, notes, done


def _acked(results, source, host, token):
    mine = results.get(source) or {}
    return mine.get("token") == token and any(d.get("host") == host and d.get("acked") for d in mine.get("done") or [])


def listeners_running(plan_data, listeners, results):
    """The hosts whose listener may still run: every host with a listener of this run, less those all of whose
    sources had their done message answered (each of those listeners ended itself).
    ``listeners``, ``results``: host -> its listener report, its probe results."""
    running = []
    token = plan_data.get("token")
    for host in plan_data.get("listening") or []:
        listen = listeners.get(host) or {}
        if not listen.get("pid") or listen.get("stopped"):
            continue
        sources = ((plan_data.get("hosts") or {}).get(host) or {}).get("probed_by") or []
        if sources and not plan_data.get("reused") and all(_acked(results, src, host, token) for src in sources):
            continue
        running.append(host)
    return running


_SCRIPT = []


def _can_send_stdin(connection):
    """Whether the connection (and its become method) can hand the command data on stdin, as Ansible's pipelining does."""
    if not getattr(connection, "has_pipelining", False):
        return False
    become = getattr(connection, "become", None)
    return become is None or bool(getattr(become, "pipelining", True))


def on_host(action, request, task_vars):
    """Run portprobe.main() on the action's host with its Python (no module payload); its JSON answer.

    The request (a listener's key, the sources' tags) goes on stdin: a command line is readable by any local user
    (``/proc/PID/cmdline``, also the detached listener's, which inherits it); the command line holds only the code."""
    if not _can_send_stdin(action._connection):
        return {
            "failed": True,
            "msg": "the %s step sends its request on stdin, which the %s connection%s cannot do (use ssh or local)"
            % (request["step"], getattr(action._connection, "transport", "current"), " with this become method" if action._connection.become else ""),
        }
    if not _SCRIPT:
        with open(portprobe.__file__.replace(".pyc", ".py"), "rb") as handle:
            code = handle.read() + b"\nmain()\n"
        packed = base64.b64encode(zlib.compress(code, 9)).decode("ascii")
        _SCRIPT.append("import base64,zlib;exec(zlib.decompress(base64.b64decode('%s')))" % packed)
    interp = task_vars.get("ansible_python_interpreter")
    if not interp or str(interp).startswith("auto"):
        interp = (task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python") or "/usr/bin/python3"
    # The interpreter as Ansible itself uses it (a path, or e.g. "/usr/bin/env python3"): not quoted.
    command = "%s -c %s" % (action._templar.template(interp), shlex.quote(_SCRIPT[0]))
    res = action._low_level_execute_command(command, sudoable=True, in_data=(json.dumps(request) + "\n").encode("utf-8"))
    lines = [line for line in (res.get("stdout") or "").splitlines() if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        detail = (res.get("stderr") or res.get("stdout") or "").strip()[-600:]
        return {"failed": True, "msg": "the %s step did not answer (rc %s): %s" % (request["step"], res.get("rc"), detail or "no output")}
