"""issue 21: the facts list the sockets on calico's felix ports (9099 health, 9091 metrics) with their processes,
so rule port-in-use can judge them (a listener on localhost counts: felix's health endpoint is on localhost)."""

from test_gather import fake_proc, tcp_line

from ansible_collections.kubeprep.hostnet.plugins.module_utils import hostprocs


def test_port_holders_lists_calicos_felix_ports(tmp_path):
    tcp = tcp_line(0, 9099, 901, address="0100007F") + tcp_line(1, 9091, 902) + tcp_line(2, 9100, 903)
    proc = fake_proc(tmp_path, tcp, {77: (b"node", [b"node", b"server.js"], [901]), 66: (b"pushgateway", [b"/usr/bin/prometheus-pushgateway"], [902, 903])})
    result = hostprocs.port_holders(proc=proc)
    assert result["status"] == "ok" and "tcp/9099" in result["ports"] and "tcp/9091" in result["ports"]
    assert [(s["address"], [p["pid"] for p in s["processes"]]) for s in result["list"]] == [("127.0.0.1:9099", [77]), ("0.0.0.0:9091", [66])]
