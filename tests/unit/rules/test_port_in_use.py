"""Rule port-in-use over built facts: a port of the cluster's held by another process fires, with its pid and command;
the cluster's own processes, the kernel's sockets and another CNI's ports do not."""

import pytest

from helpers import host_facts, judge


def sock(port, processes, proto="tcp", address="0.0.0.0", inode=4242):
    return {"proto": proto, "port": port, "address": "%s:%d" % (address, port), "inode": inode, "processes": processes}


def proc(pid, comm, command):
    return {"pid": pid, "comm": comm, "command": command}


HAPROXY = proc(812, "haproxy", "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg")
# A foreign holder of kubelet's port beside a near miss: the rule ran, and only the control fired.
CONTROL = sock(10250, [proc(999, "nginx", "nginx: master process /usr/sbin/nginx")], inode=999)


def ports(findings):
    return [(f["data"]["proto"], f["data"]["port"]) for f in findings]


def found(tmp_path, sockets, status="ok", **options):
    facts = host_facts(tmp_path, "debian12")
    facts["port_holders"] = {"status": status, "ports": ["tcp/6443"], "list": sockets}
    return [f for f in judge(facts, **options) if f["id"] == "port-in-use"]


def test_a_foreign_listener_on_6443_is_an_error_naming_pid_and_command(tmp_path):
    [finding] = found(tmp_path, [sock(6443, [HAPROXY]), sock(6443, [HAPROXY], address="[::]", inode=4243)])
    assert finding["severity"] == "error", finding
    assert finding["message"] == "TCP port 6443 (kube-apiserver) is held by pid 812 (/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg)"
    assert finding["evidence"] == [
        "tcp 0.0.0.0:6443 (socket inode 4242)",
        "tcp [::]:6443 (socket inode 4243)",
        "held by pid 812 (haproxy): /usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg",
    ]
    assert "[ERROR Port-6443]: Port 6443 is in use" in finding["why"]
    assert "ss -ltnp 'sport = :6443'" in finding["fix"]
    assert finding["data"]["pids"] == [812]


@pytest.mark.parametrize("port", [6443, 10250, 10257, 10259, 2379, 2380, 10248, 10249, 10256])
def test_every_kubernetes_port(tmp_path, port):
    [finding] = found(tmp_path, [sock(port, [HAPROXY])])
    assert "port %d " % port in finding["message"] and finding["severity"] == "error"


@pytest.mark.parametrize(
    "process",
    [
        proc(1, "kube-apiserver", "kube-apiserver --advertise-address=10.0.0.1"),
        proc(2, "kube-controller", "/usr/local/bin/kube-controller-manager --bind-address=127.0.0.1"),  # comm cut at 15
        proc(3, "etcd", "etcd --name node1"),
        proc(4, "kubelet", "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml"),
        proc(5, "kubeprep-probe", "python3 -c ..."),  # the audit's own listener
        proc(6, "exe", "/usr/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf"),  # by the command's file name
    ],
)
def test_the_clusters_own_processes_are_not_findings(tmp_path, process):
    assert ports(found(tmp_path, [sock(6443, [process]), CONTROL])) == [("tcp", 10250)]


def test_a_foreign_process_beside_an_own_one_is_named(tmp_path):
    [finding] = found(tmp_path, [sock(10250, [proc(4, "kubelet", "/usr/bin/kubelet"), HAPROXY])])
    assert "held by pid 812" in finding["message"]


def test_cni_ports_follow_hostnet_cni(tmp_path):
    bgp = [sock(179, [proc(90, "bgpd", "/usr/lib/frr/bgpd -d")])]
    assert ports(found(tmp_path / "a", bgp + [CONTROL], cni="flannel")) == [("tcp", 10250)]  # flannel does not use 179
    [finding] = found(tmp_path / "b", bgp, cni="calico")
    assert finding["message"].startswith("TCP port 179 (calico BGP) is held by pid 90") and "ss -ltnp 'sport = :179'" in finding["fix"]
    assert "pods on this node get no network" in finding["why"]
    vxlan = [sock(8472, [proc(91, "socat", "socat UDP-LISTEN:8472 -")], proto="udp")]
    [finding] = found(tmp_path / "c", vxlan)  # hostnet_cni unknown: every VXLAN port
    assert "UDP port 8472" in finding["message"] and "ss -lunp 'sport = :8472'" in finding["fix"]


def test_a_kernel_socket_is_not_judged(tmp_path):
    # A VXLAN device's socket belongs to no process (inode 0).
    assert ports(found(tmp_path, [sock(8472, [], proto="udp", inode=0), CONTROL])) == [("tcp", 10250)]


def test_an_unread_holder_is_a_warning(tmp_path):
    [finding] = found(tmp_path, [sock(6443, [])])
    assert finding["severity"] == "warning" and "could not be read" in finding["message"]
    assert "gather with become" in finding["evidence"][-1]


@pytest.mark.parametrize("facts", [{"status": "not_applicable"}, None])
def test_no_facts_no_finding(tmp_path, facts):
    assert ports(found(tmp_path / "a", [CONTROL])) == [("tcp", 10250)]
    base = host_facts(tmp_path / "b", "debian12")
    if facts is None:
        base.pop("port_holders", None)
    else:
        base["port_holders"] = facts
    assert [f for f in judge(base) if f["id"] == "port-in-use"] == []


def test_a_free_host_is_clean(tmp_path):
    assert ports(found(tmp_path / "a", [CONTROL])) == [("tcp", 10250)]
    assert found(tmp_path / "b", [sock(22, [HAPROXY])]) == []


# -- issue 21: calico's felix ports on the node itself (9099 health, 9091 metrics) -------------------------------


def test_calicos_felix_health_port_held_by_another_process_is_an_error(tmp_path):
    health = [sock(9099, [proc(77, "node", "node /srv/status-page/server.js")], address="127.0.0.1")]
    for cni in ("calico", "canal"):
        [finding] = found(tmp_path / cni, health, cni=cni)
        assert finding["severity"] == "error" and finding["message"].startswith("TCP port 9099 (") and "felix health) is held by pid 77" in finding["message"]
        assert finding["evidence"][0] == "tcp 127.0.0.1:9099 (socket inode 4242)"
        assert "liveness and readiness probes" in finding["why"] and "calico-node is never Ready" in finding["why"]
        assert "ss -ltnp 'sport = :9099'" in finding["fix"]
    # calico's own agent holds it: not a finding; flannel, cilium and an unknown CNI do not use 9099.
    assert ports(found(tmp_path / "own", [sock(9099, [proc(5, "calico-node", "calico-node -felix")]), CONTROL], cni="calico")) == [("tcp", 10250)]
    for cni in ("flannel", "cilium", "unknown"):
        assert ports(found(tmp_path / ("x" + cni), health + [CONTROL], cni=cni)) == [("tcp", 10250)]


def test_calicos_felix_metrics_port_held_is_a_warning_saying_when_it_matters(tmp_path):
    pushgateway = [sock(9091, [proc(66, "pushgateway", "/usr/bin/prometheus-pushgateway")])]
    [finding] = found(tmp_path / "a", pushgateway, cni="calico")
    assert finding["severity"] == "warning", finding
    assert finding["message"] == (
        "TCP port 9091 (calico felix metrics) is held by pid 66 (/usr/bin/prometheus-pushgateway) (it matters only when felix's Prometheus metrics are on)"
    )
    assert "calico_felix_prometheusmetricsenabled" in finding["why"]
    assert ports(found(tmp_path / "b", pushgateway + [CONTROL], cni="canal")) == [("tcp", 10250)]  # canal's felix: health only
