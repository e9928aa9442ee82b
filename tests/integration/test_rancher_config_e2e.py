"""k3s's own configuration read on real test hosts, with no hostnet_* variable set.

node1 carries a k3s /etc/rancher/k3s/config.yaml whose `resolv-conf` names a file listing 127.0.0.53 (k3s hands
that file to its kubelet, so to every pod and CoreDNS) and whose `service-cidr` is 10.43.0.0/16. A DNS forwarder
standing in for CoreDNS, configured from that file in a pod network namespace behind node1 (the same pod as
test_resolv_conf_loopback_e2e), never answers. The audit then names that file, says k3s's config chose it, and
judges the hosts with k3s's Service CIDR (an address of node1 inside 10.43.0.0/16 is an overlap), the report
saying where the value came from. The fix k3s documents, a `config.yaml.d` drop-in whose `kubelet-arg:
[resolv-conf=...]` names a file with the real upstream: the forwarder answers and the finding is gone. Then
node2's k3s config sets another `service-cidr`: the audit cannot tell which one, keeps the default and names the
disagreement (no real k3s runs here: its refusal to join is not shown)."""

import os
import subprocess

import pytest
from test_resolv_conf_loopback_e2e import NAME, Pod, audit

K3S_DIR = "/etc/rancher/k3s"
CONFIG = "write-kubeconfig-mode: '0644'\nservice-cidr: 10.43.0.0/16\nresolv-conf: /etc/rancher/k3s/resolv.conf\ncluster-init: true\n"
DROPIN = "kubelet-arg: [max-pods=110, resolv-conf=/etc/rancher/k3s/upstream.conf]\n"
RESOLV = "resolv-conf-loopback-nameserver"
OVERLAP = "service-cidr-overlap"
DISAGREES = "rancher-config-disagrees"


def put(fleet, host, path, text):
    fleet.exec(host, ["mkdir", "-p", os.path.dirname(path)])
    fleet.exec(host, ["sh", "-c", 'cat > "$1"', "sh", path], input_text=text)


def ids(report, host, rule):
    return [f for f in report["hosts"][host]["findings"] if f["id"] == rule]


@pytest.fixture(scope="module")
def k3s(make_fleet, tmp_path_factory):
    fleet = make_fleet(["node1", "node2"])
    st = fleet.state
    answer = st["subnet"].rsplit(".", 1)[0] + ".250"
    tmp = str(tmp_path_factory.mktemp("rancher"))
    upstream = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            st["switch_ns"],
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=" + st["gateway"],
            "--host-record=%s,%s" % (NAME, answer),
            "--pid-file=",
            "--log-facility=-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pod = None
    try:
        pod = Pod(fleet, "node1", tmp)
        # The host's own resolv.conf is fine (the real upstream); k3s hands pods another file, with the stub.
        for host in ("node1", "node2"):
            put(fleet, host, "/etc/resolv.conf", "nameserver %s\n" % st["gateway"])
        put(fleet, "node1", K3S_DIR + "/resolv.conf", "nameserver 127.0.0.53\n")
        put(fleet, "node1", K3S_DIR + "/config.yaml", CONFIG)
        # An address of node1 inside k3s's Service CIDR (not the default 10.96.0.0/12): judged only with k3s's value.
        fleet.exec("node1", ["ip", "addr", "add", "10.43.7.1/24", "dev", "pod0"])
        seen = {"answer": answer}
        seen["before_file"] = fleet.exec("node1", ["cat", K3S_DIR + "/resolv.conf"]).stdout
        pod.start_forwarder(seen["before_file"], "before")
        seen["before"] = pod.lookups()
        seen["before"]["forwarder_log"] = pod.stop_forwarder()
        seen["audit_before"] = audit(fleet, tmp_path_factory.mktemp("audit-before"))
        # The fix: a drop-in (read after config.yaml) whose kubelet-arg names a file with the real upstream.
        put(fleet, "node1", K3S_DIR + "/upstream.conf", "nameserver %s\n" % st["gateway"])
        put(fleet, "node1", K3S_DIR + "/config.yaml.d/50-dns.yaml", DROPIN)
        seen["after_file"] = fleet.exec("node1", ["cat", K3S_DIR + "/upstream.conf"]).stdout
        pod.start_forwarder(seen["after_file"], "after")
        seen["after"] = pod.lookups()
        pod.stop_forwarder()
        seen["audit_after"] = audit(fleet, tmp_path_factory.mktemp("audit-after"))
        # node2 joins with another service-cidr.
        put(fleet, "node2", K3S_DIR + "/config.yaml", "server: https://10.0.0.1:6443\nservice-cidr: 10.44.0.0/16\n")
        seen["audit_disagree"] = audit(fleet, tmp_path_factory.mktemp("audit-disagree"))
        yield seen
    finally:
        if pod is not None:
            pod.close()
        upstream.terminate()
        upstream.wait(timeout=10)


def test_the_forwarder_configured_from_k3s_resolv_conf_never_answers(k3s):
    before = k3s["before"]
    assert before["query"]["status"] == "timeout", before["query"]
    assert before["getent"].returncode == 2 and before["getent"].stdout == "", (before["getent"].returncode, before["getent"].stderr)
    assert "forwarded %s to 127.0.0.53" % NAME in before["forwarder_log"], before["forwarder_log"]


def test_the_audit_names_k3s_file_and_judges_k3s_service_cidr(k3s):
    proc, report = k3s["audit_before"]
    (finding,) = ids(report, "node1", RESOLV)
    assert finding["message"] == "/etc/rancher/k3s/resolv.conf, the resolv.conf kubelet hands to pods, lists the loopback nameserver 127.0.0.53"
    assert finding["evidence"][0] == ("/etc/rancher/k3s/resolv.conf: resolv-conf in k3s's config /etc/rancher/k3s/config.yaml:3 (its kubelet's --resolv-conf)")
    assert finding["data"]["source"] == "k3s-config" and finding["data"]["manual"].startswith("k3s runs kubelet itself")
    assert ids(report, "node2", RESOLV) == []  # node2 has no k3s config: its /etc/resolv.conf is the real upstream
    # k3s's service-cidr is the Service network judged, and the report says where it came from.
    assert report["input_sources"]["hostnet_service_ips"] == "k3s /etc/rancher/k3s/config.yaml:2 on node1", report["input_sources"]
    assert report["options"]["service_cidrs"] == ["10.43.0.0/16"]
    assert "hostnet_service_ips from k3s /etc/rancher/k3s/config.yaml:2 on node1" in proc.stdout, proc.stdout[-3000:]
    overlap = ids(report, "node1", OVERLAP)
    assert overlap and any("10.43.7.1/24" in line for f in overlap for line in f["evidence"]), overlap


def test_after_the_dropin_the_forwarder_answers_and_the_finding_is_gone(k3s):
    after = k3s["after"]
    assert after["query"]["status"] == "answered" and after["query"]["addresses"] == [k3s["answer"]], after["query"]
    assert after["getent"].returncode == 0 and after["getent"].stdout.split()[:2] == [k3s["answer"], NAME], after["getent"]
    _proc, report = k3s["audit_after"]
    assert ids(report, "node1", RESOLV) == []
    assert report["input_sources"]["hostnet_service_ips"] == "k3s /etc/rancher/k3s/config.yaml:2 on node1"


def test_hosts_that_disagree_keep_the_default_and_are_named(k3s):
    _proc, report = k3s["audit_disagree"]
    (finding,) = [f for f in report["fleet"]["findings"] if f["id"] == DISAGREES]
    assert finding["hosts"] == ["node1", "node2"]
    assert finding["evidence"] == [
        "service-cidr 10.43.0.0/16: node1 (k3s /etc/rancher/k3s/config.yaml:2)",
        "service-cidr 10.44.0.0/16: node2 (k3s /etc/rancher/k3s/config.yaml:2)",
    ]
    assert report["input_sources"]["hostnet_service_ips"] == "default" and ids(report, "node1", OVERLAP) == []
