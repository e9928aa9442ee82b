"""Port probes (node-port-unreachable, the DF part of mtu-mismatch): the plan, the on-host
listener and probes on loopback (the rules over probe reports: tests/unit/rules/test_node_port_unreachable.py)."""

import json
import os
import socket
import threading
import time

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import portprobe
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import probeplan

from helpers import host_key, listener, make_plan
from helpers import probe_fleet as fleet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "5e" * 16  # a listener's key in the loopback tests
ME = portprobe.tag(KEY, "probe", "127.0.0.1")  # the tag of a source probing from 127.0.0.1


# -- the plan ------------------------------------------------------------------------


@pytest.mark.parametrize("count,peers", [(2, 3), (5, 3), (12, 3), (50, 3), (7, 1), (4, 10)])
def test_each_host_is_probed_by_peers_others_and_probes_as_many(count, peers):
    hosts = ["n%02d" % i for i in range(count)]
    sources = probeplan.pairs(hosts, peers)
    expected = min(peers, count - 1)
    out_degree = dict.fromkeys(hosts, 0)
    for dest, srcs in sources.items():
        assert len(srcs) == len(set(srcs)) == expected and dest not in srcs
        for src in srcs:
            out_degree[src] += 1
    assert set(out_degree.values()) == {expected}
    assert probeplan.pairs(list(reversed(hosts)), peers) == sources  # seeded by the names: reruns probe the same pairs


def test_a_single_host_probes_nobody():
    assert probeplan.pairs(["only"], 3) == {"only": []}


def test_ports_per_role_and_cni():
    members = probeplan.etcd_hosts({"etcd": ["cp1"], "kube_control_plane": ["cp1", "cp2"]})
    assert members == ("etcd", {"cp1"})
    assert probeplan.etcd_hosts({"kube_control_plane": ["cp2"]}) == ("kube_control_plane", {"cp2"})
    assert probeplan.etcd_hosts({"all": ["a"]}) == (None, set())
    ports = [(p["proto"], p["port"]) for p in probeplan.ports_for("cp1", "calico", {"cp1"})]
    assert ports == [("tcp", 6443), ("tcp", 10250), ("tcp", 2379), ("tcp", 2380), ("udp", 4789), ("tcp", 179)]
    assert [(p["proto"], p["port"]) for p in probeplan.ports_for("w1", "flannel", {"cp1"})] == [("tcp", 6443), ("tcp", 10250), ("udp", 8472)]
    assert [p["port"] for p in probeplan.ports_for("w1", "unknown", set())] == [6443, 10250, 8472, 4789]


def test_plan_uses_the_recommended_node_address_not_the_shared_nat_one(tmp_path):
    _nodes, plan = make_plan(tmp_path)
    assert plan["hosts"]["node2"]["address"] == "192.168.56.12" and plan["hosts"]["node2"]["interface"] == "eth1"
    assert plan["skipped"] == {} and plan["listening"] == ["node1", "node2", "node3", "node4"]
    assert plan["hosts"]["node2"]["listen_token"] == "listen-node2"
    for host, node in plan["hosts"].items():
        assert len(node["probed_by"]) == 3 and len(node["probes"]) == 3 and host not in node["probes"]


def test_the_listeners_lifetime_grows_with_the_rounds_of_forks():
    assert probeplan.lifetime(50, 50) == probeplan.BASE_LIFETIME + probeplan.PER_ROUND
    assert probeplan.lifetime(50, 5) == probeplan.BASE_LIFETIME + 10 * probeplan.PER_ROUND


def test_etcd_ports_follow_the_group(tmp_path):
    _nodes, plan = make_plan(tmp_path, groups={"kube_control_plane": ["node1"]})
    assert plan["etcd_hosts"] == ["node1"] and 2380 not in [p["port"] for p in plan["hosts"]["node2"]["ports"]]


def test_hosts_without_facts_or_a_listener_are_skipped_with_the_reason(tmp_path):
    nodes = fleet(tmp_path, count=4)
    nodes["node3"] = "unreachable"
    listeners = {h: listener(h) for h in nodes}
    listeners["node4"] = {"failed": True, "msg": "the listen step did not answer (rc 127): python3: not found", "token": "t"}
    plan = probeplan.plan(nodes, listeners, 3)
    assert sorted(plan["hosts"]) == ["node1", "node2"] and "no facts" in plan["skipped"]["node3"]
    assert plan["skipped"]["node4"] == "its listener did not start: the listen step did not answer (rc 127): python3: not found"
    assert plan["listening"] == ["node1", "node2", "node3"]  # every running listener is stopped, probed or not


def test_targets_skip_what_cannot_be_probed_and_say_why(tmp_path):
    _nodes, plan = make_plan(tmp_path, cni="flannel")
    source = "node1"
    dests = plan["hosts"][source]["probes"]
    listeners = {
        dests[0]: listener(dests[0], in_use={("tcp", 6443), ("udp", 8472)}),
        dests[1]: listener(dests[1], failed={("tcp", 10250)}),
    }
    listeners[dests[2]] = dict(listener(dests[2]), token="an-old-run")
    port_targets, df_targets, notes, done = probeplan.targets(plan, source, listeners)
    probed = {(t["host"], t["proto"], t["port"]): t for t in port_targets}
    assert probed[(dests[0], "tcp", 6443)]["in_use"] is True  # a TCP port in use is probed against its service
    assert (dests[0], "udp", 8472) not in probed and (dests[1], "tcp", 10250) not in probed
    assert not [t for t in port_targets if t["host"] == dests[2]]
    texts = [n["note"] for n in notes]
    assert "not probed: in use by 0.0.0.0:8472 (no echo to wait for)" in texts
    assert "not probed: Permission denied" in texts
    assert any("no listener report from %s" % dests[2] in t for t in texts)
    assert sorted(d["host"] for d in df_targets) == sorted(dests[:2]) and {d["size"] for d in df_targets} == {1500}
    # To the CNI's UDP port where the listener holds it (a firewall lets the cluster's ports in), else the echo port.
    assert {d["host"]: d["ports"] for d in df_targets} == {dests[0]: [40000], dests[1]: [8472, 40000]}
    # Each listener this source probes is told when it is done, with every planned source of that host by node
    # address, signed with that listener's key for this source's node address (no datagram can name a list of its own).
    me = plan["hosts"][source]["address"]
    sources = sorted(plan["hosts"][s]["address"] for s in plan["hosts"][dests[1]]["probed_by"])
    message = {d["host"]: d for d in done}[dests[1]]
    assert message["sources"] == sources and "message" not in message
    assert message["tag"] == portprobe.tag(host_key(dests[1]), "done", me, sources)
    # Its UDP probes carry the tag of its own node address (the listener answers planned peers only); TCP needs none.
    assert all(t.get("tag") == portprobe.tag(host_key(t["host"]), "probe", me) for t in port_targets if t["proto"] == "udp")
    assert all("tag" not in t for t in port_targets if t["proto"] == "tcp")
    assert all(d["tag"] == portprobe.tag(host_key(d["host"]), "probe", me) for d in df_targets)
    assert all(listeners[h]["key"] not in json.dumps([port_targets, df_targets, done]) for h in (dests[0], dests[1]))


# -- on the host: listener, probes, stop (loopback only) ------------------------------------


def free_port(kind=socket.SOCK_STREAM):
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def alive(pid, start_time):
    return portprobe._start_time(pid) == start_time


def test_listener_probes_and_stop_on_loopback():
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    busy = held.getsockname()[1]
    tcp, udp = free_port(), free_port(socket.SOCK_DGRAM)
    ports = [{"proto": "tcp", "port": busy, "service": "in use"}, {"proto": "tcp", "port": tcp, "service": "t"}, {"proto": "udp", "port": udp, "service": "u"}]
    listen = portprobe.listen(ports, 30, KEY)
    try:
        assert [(i["proto"], i["port"]) for i in listen["listening"]] == [("tcp", tcp), ("udp", udp)]
        assert listen["in_use"] == [dict(ports[0], holder="127.0.0.1:%d" % busy)]  # never taken, and who holds it
        assert alive(listen["pid"], listen["start_time"])
        closed_tcp, closed_udp = free_port(), free_port(socket.SOCK_DGRAM)
        targets = [
            {"host": "me", "address": "127.0.0.1", "proto": proto, "port": port, "tag": ME}
            for proto, port in (("tcp", busy), ("tcp", tcp), ("udp", udp), ("tcp", closed_tcp), ("udp", closed_udp))
        ]
        df = [{"host": "me", "address": "127.0.0.1", "ports": [closed_udp, listen["echo_port"]], "size": size, "tag": ME} for size in (1500, 70000)]
        df.append({"host": "me", "address": "127.0.0.1", "ports": [udp], "size": 1500, "tag": ME})
        results, df_results, seconds, _done = portprobe.probe("127.0.0.1", targets, df, 1.0)
        assert [r["result"] for r in results] == ["open", "open", "open", "refused", "refused"]
        assert all("tag" not in r for r in results + df_results)
        # The first port that answers a small datagram carries the DF one (a refused one is passed over).
        assert [(r["result"], r["port"]) for r in df_results] == [("passed", listen["echo_port"]), ("too_big", listen["echo_port"]), ("passed", udp)]
        assert seconds < 1.0  # nothing timed out: every probe answered at once
    finally:
        stopped = portprobe.stop(listen["pid"], listen["start_time"])
        held.close()
    assert stopped == {"was_running": True, "stopped": True}
    assert not alive(listen["pid"], listen["start_time"])
    # The port is free again, at once and without SO_REUSEADDR: the listener left no TIME_WAIT on it.
    assert not [line for line in open("/proc/net/tcp").read().splitlines()[1:] if line.split()[1].endswith(":%04X" % tcp) and line.split()[3] == "06"]
    again = socket.socket()
    again.bind(("0.0.0.0", tcp))
    again.close()
    assert portprobe.stop(listen["pid"], listen["start_time"]) == {"was_running": False, "stopped": True}


def done_from(source, ports, sources, key=None, timeout=1.0, signed_for=None, claimed=None):
    """say_done from ``source`` (a loopback address), with the tag the controller gives ``signed_for`` (default
    ``source``) for the planned ``sources``; the datagram names ``claimed`` (default ``sources``)."""
    done_tag = portprobe.tag(key or KEY, "done", signed_for or source, sources)
    return portprobe.say_done(source, "127.0.0.1", ports, done_tag, claimed or sources, timeout)


def test_listener_ends_once_every_planned_source_said_it_is_done():
    listen = portprobe.listen([{"proto": "udp", "port": free_port(socket.SOCK_DGRAM)}], 30, KEY)
    ports = [listen["echo_port"]]
    planned = ["127.0.0.2", "127.0.0.3"]
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(("127.0.0.9", 0))
    try:
        # Forged: the old form (token, a list of its own), a made-up tag, a list the controller did not sign, another
        # listener's key, another address replaying a planned source's tag. None is answered; none ends it.
        for payload in (b"kubeprep-done tok x x", b"kubeprep-done 0011 %s 127.0.0.9" % (b"ab" * 16)):
            raw.sendto(payload, ("127.0.0.1", ports[0]))
        assert done_from("127.0.0.2", ports, planned, claimed=["127.0.0.2"], timeout=0.3) is False
        assert done_from("127.0.0.2", ports, planned, key="11" * 16, timeout=0.3) is False
        assert done_from("127.0.0.9", ports, planned, timeout=0.3, signed_for="127.0.0.3") is False
        assert done_from("127.0.0.2", ports, planned) is True
        time.sleep(0.2)
        assert alive(listen["pid"], listen["start_time"])  # 127.0.0.3 has not said so yet
        done_tag = portprobe.tag(KEY, "done", "127.0.0.3", planned)
        message = {"host": "me", "address": "127.0.0.1", "ports": ports, "tag": done_tag, "sources": planned}
        *_rest, done = portprobe.probe("127.0.0.3", [], [], 1.0, [message])
        assert done == [{"host": "me", "acked": True}]
        until = time.time() + 5
        while time.time() < until and alive(listen["pid"], listen["start_time"]):
            time.sleep(0.05)
        assert not alive(listen["pid"], listen["start_time"])
        assert done_from("127.0.0.3", ports, planned, timeout=0.3) is False  # nobody answers now
    finally:
        raw.close()
        portprobe.stop(listen["pid"], listen["start_time"])


def test_listener_answers_planned_peers_only():
    udp = free_port(socket.SOCK_DGRAM)
    listen = portprobe.listen([{"proto": "udp", "port": udp}], 30, KEY)
    intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    intruder.bind(("127.0.0.9", 0))
    intruder.settimeout(0.3)
    try:
        planned = portprobe.tag(KEY, "probe", "127.0.0.2")
        for port in (udp, listen["echo_port"]):
            for payload in (b"kubeprep-hostnet-probe", b"kubeprep-hostnet-probe 00 " + b"ab" * 16, b"kubeprep-hostnet-probe 00 " + planned.encode(), b"x" * 64):
                intruder.sendto(payload, ("127.0.0.1", port))
                with pytest.raises(socket.timeout):
                    intruder.recvfrom(2048)
        # The planned peer, from its own address: answered, with its nonce.
        target = {"host": "me", "address": "127.0.0.1", "proto": "udp", "port": udp, "tag": planned}
        assert portprobe.probe("127.0.0.2", [target], [], 1.0)[0][0]["result"] == "open"
        assert portprobe.probe("127.0.0.9", [target], [], 0.3)[0][0]["result"] == "timeout"  # its tag, another address
    finally:
        intruder.close()
        portprobe.stop(listen["pid"], listen["start_time"])


def test_only_the_probed_address_echoing_the_probes_nonce_counts():
    """A stand-in for a firewalled port whose answers are spoofed: one answers the old way (ACK and the datagram's
    start) and another with a nonce of its own: both are timeouts; echoing the probe's nonce is open."""
    for mode, expected in (("old", "timeout"), ("other", "timeout"), ("echo", "open")):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind(("127.0.0.1", 0))

        def serve(server=server, mode=mode):
            try:
                server.settimeout(2)
                data, peer = server.recvfrom(2048)
                reply = {"old": portprobe.ACK + data[:32], "other": portprobe.ACK + b"0123456789abcdef", "echo": portprobe.ACK + data.split(b" ")[1]}[mode]
                server.sendto(reply, peer)
            except OSError:
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        target = {"host": "x", "address": "127.0.0.1", "proto": "udp", "port": server.getsockname()[1], "tag": ME}
        try:
            assert portprobe.probe("127.0.0.1", [target], [], 0.5)[0][0]["result"] == expected, mode
        finally:
            thread.join()
            server.close()


def test_the_listeners_left_to_stop(tmp_path):
    _nodes, plan = make_plan(tmp_path)
    listeners = {h: listener(h) for h in plan["listening"]}
    results = {}
    for dest, node in plan["hosts"].items():
        for src in node["probed_by"]:
            results.setdefault(src, {"token": plan["token"], "done": []})["done"].append(
                {"host": dest, "acked": dest != "node3" or src != node["probed_by"][0]}
            )
    # node3 did not hear from one of its sources: it still runs; the others ended themselves.
    assert probeplan.listeners_running(plan, listeners, results) == ["node3"]
    stale = plan["hosts"]["node1"]["probed_by"][1]
    results[stale]["token"] = "another-run"  # its results are not this run's: whom it probed may still listen
    expected = sorted({"node3"} | {h for h, n in plan["hosts"].items() if stale in n["probed_by"]})
    assert "node1" in expected and probeplan.listeners_running(plan, listeners, results) == expected
    assert probeplan.listeners_running(dict(plan, reused=True), listeners, results) == sorted(listeners)
    assert probeplan.listeners_running(plan, dict(listeners, node2=dict(listeners["node2"], stopped=True)), {}) == ["node1", "node3", "node4"]


def test_listener_ends_by_itself_at_its_lifetime():
    listen = portprobe.listen([{"proto": "tcp", "port": free_port()}], 0.5, KEY)
    assert alive(listen["pid"], listen["start_time"])
    until = time.time() + 10
    while time.time() < until and alive(listen["pid"], listen["start_time"]):
        time.sleep(0.1)
    assert not alive(listen["pid"], listen["start_time"])


def test_a_dropped_probe_times_out_within_its_bound():
    # 192.0.2.1 (TEST-NET-1) from a socket bound to loopback: no route out, so it cannot leave this machine.
    results, _df, seconds, _done = portprobe.probe(
        "127.0.0.1", [{"host": "x", "address": "127.0.0.1", "proto": "udp", "port": free_port(socket.SOCK_DGRAM)}], [], 0.3
    )
    assert results[0]["result"] == "refused" and seconds < 0.3
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound, never answers: what a drop looks like to UDP
    try:
        results, _df, seconds, _done = portprobe.probe(
            "127.0.0.1", [{"host": "x", "address": "127.0.0.1", "proto": "udp", "port": silent.getsockname()[1]}], [], 0.3
        )
    finally:
        silent.close()
    assert results[0]["result"] == "timeout" and 0.3 <= seconds < 1.0


def test_the_step_runner_answers_one_json_line(capsys):
    portprobe.main({"step": "stop", "pid": 0})
    assert json.loads(capsys.readouterr().out) == {"was_running": False, "stopped": True}
    assert portprobe.run({"step": "dance"})["failed"] is True
