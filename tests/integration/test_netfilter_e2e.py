"""forward-blocked and netfilter-backend-mixed on real test hosts (each host's iptables and nft state is its own
network namespace's).

- ``gw`` has a "pod" behind it: a network namespace on a veth with an address in the Pod CIDR (10.244.1.2), routed
  through gw, and gw's FORWARD policy is DROP (iptables-nft, as Docker leaves it). A TCP connect from the pod to a
  listener on ``peer`` times out; the audit names forward-blocked on gw with the chain, its policy and its rule set.
  The commands the finding prints, run on gw, let the connect through, and the next audit has no finding.
- ``nftgw`` has its own pod behind a native nftables forward chain with policy drop (``table inet fw``, as an
  nftables.conf firewall has it) that accepts only established connections: the same symptom, forward-blocked names
  the nft chain, and the ``nft insert rule`` commands it prints let the pod through.
- ``mixed`` has a kube-proxy-like chain in the iptables-nft tables and a legacy rule dropping its connects to the
  peer: ``iptables-nft -S`` shows no drop, the connect times out, the audit names netfilter-backend-mixed with the
  counts; with the legacy tables flushed (the fix's flush) the connect works and the finding is gone.
"""

import re
import subprocess

import pytest

import testhosts
from conftest import LISTENER, load_report, run_playbook

# A client with its own short timeout: a dropped SYN is a timeout, a refused port an error, both printed.
CONNECT = """
import socket, sys
sock = socket.socket()
sock.settimeout(3)
try:
    sock.connect((sys.argv[1], 6443))
    print("CONNECTED")
except socket.timeout:
    print("TIMEOUT")
except OSError as exc:
    print("ERROR %s" % exc)
"""
NFT_FIREWALL = """table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
  }
}
"""


def pod_namespace(fleet, host, subnet):
    """A network namespace behind ``host`` like a pod behind its node: veth, an address in the Pod CIDR, default route
    through the host. Named like the harness's namespaces (``testhosts.py down --all`` removes a leftover)."""
    name = "%s%dn%d" % (testhosts.PREFIX, fleet.state["slot"], 90 + fleet.hosts.index(host))
    testhosts.run(["ip", "netns", "add", name])
    testhosts.run(["ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "vpod0", "netns", host["ns"]])
    script = "ip link set lo up; ip addr add {s}.2/24 dev eth0; ip link set eth0 up; ip route add default via {s}.1"
    testhosts.ns_sh(name, script.format(s=subnet))
    testhosts.ns_sh(host["ns"], "ip addr add %s.1/24 dev vpod0; ip link set vpod0 up" % subnet)
    return name


def pod_connect(pod_ns, address):
    return testhosts.run(["ip", "netns", "exec", pod_ns, "python3", "-c", CONNECT, address]).stdout.strip()


def audit(fleet, directory):
    proc = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + directory, "-e", "hostnet_fail_on=never")
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc, load_report(directory)


def found(report, host, rule_id):
    return [f for f in report["hosts"][host]["findings"] if f["id"] == rule_id]


@pytest.fixture(scope="module")
def seen(make_fleet, tmp_path_factory):
    fleet = make_fleet(["gw", "peer", "mixed", "nftgw"])
    gw, peer, nftgw = fleet.host("gw"), fleet.host("peer"), fleet.host("nftgw")
    fleet.exec("peer", ["python3", "-c", LISTENER])
    fleet.exec("peer", ["ip", "route", "add", "10.244.1.0/24", "via", gw["address"]])
    fleet.exec("peer", ["ip", "route", "add", "10.244.2.0/24", "via", nftgw["address"]])
    made = []
    state = {"gw": gw, "peer": peer}
    try:
        pod_ns = pod_namespace(fleet, gw, "10.244.1")
        made.append(pod_ns)
        nft_pod_ns = pod_namespace(fleet, nftgw, "10.244.2")
        made.append(nft_pod_ns)
        state["nft_pod_before_drop"] = pod_connect(nft_pod_ns, peer["address"])
        fleet.exec("nftgw", ["nft", "-f", "-"], input_text=NFT_FIREWALL)
        state["nft_pod_before"] = pod_connect(nft_pod_ns, peer["address"])
        state["pod_before_drop"] = pod_connect(pod_ns, peer["address"])
        fleet.exec("gw", ["iptables-nft", "-P", "FORWARD", "DROP"])
        state["pod_before"] = pod_connect(pod_ns, peer["address"])
        # mixed: kube-proxy programs iptables-nft; a legacy rule (an old firewall script) drops connects to the peer.
        fleet.exec("mixed", ["sh", "-ec", "iptables-nft -t nat -N KUBE-SERVICES; iptables-nft -t nat -A OUTPUT -j KUBE-SERVICES"])
        fleet.exec("mixed", ["iptables-legacy", "-A", "OUTPUT", "-d", peer["address"], "-p", "tcp", "--dport", "6443", "-j", "DROP"])
        state["mixed_nft_rules"] = fleet.exec("mixed", ["iptables-nft-save"]).stdout
        state["mixed_before"] = fleet.exec("mixed", ["python3", "-c", CONNECT, peer["address"]]).stdout.strip()
        state["proc"], state["report"] = audit(fleet, str(tmp_path_factory.mktemp("netfilter-before")))
        # The fixes: the commands forward-blocked printed for gw, and the legacy flush for mixed.
        (finding,) = found(state["report"], "gw", "forward-blocked")
        for command in re.findall(r"`(iptables-nft -I FORWARD [^`]*)`", finding["fix"]):
            fleet.exec("gw", command.split())
        (finding,) = found(state["report"], "nftgw", "forward-blocked")
        for command in re.findall(r"`(nft insert rule [^`]*)`", finding["fix"]):
            fleet.exec("nftgw", command.split())
        fleet.exec("mixed", ["sh", "-ec", "iptables-legacy -F; iptables-legacy -X"])
        state["pod_after"] = pod_connect(pod_ns, peer["address"])
        state["nft_pod_after"] = pod_connect(nft_pod_ns, peer["address"])
        state["mixed_after"] = fleet.exec("mixed", ["python3", "-c", CONNECT, peer["address"]]).stdout.strip()
        state["proc_after"], state["report_after"] = audit(fleet, str(tmp_path_factory.mktemp("netfilter-after")))
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], check=False)
    return state


def test_forward_drop_drops_the_pods_packets_and_the_audit_names_it(seen):
    # The symptom first: the pod reaches the peer through gw until gw's FORWARD policy is DROP.
    assert seen["pod_before_drop"] == "CONNECTED", seen["pod_before_drop"]
    assert seen["pod_before"] == "TIMEOUT", seen["pod_before"]
    (finding,) = found(seen["report"], "gw", "forward-blocked")
    assert finding["severity"] == "error"
    assert finding["message"] == "forwarded traffic from the Pod network 10.244.0.0/16 is dropped (a FORWARD chain with policy drop, no accept for it)"
    assert finding["evidence"] == ["iptables-nft-save, table filter: chain FORWARD policy DROP, 0 rules"], finding
    assert "`iptables-nft -I FORWARD -s 10.244.0.0/16 -j ACCEPT` and `iptables-nft -I FORWARD -d 10.244.0.0/16 -j ACCEPT`" in finding["fix"]
    assert "[ERROR forward-blocked] gw: forwarded traffic from the Pod network 10.244.0.0/16 is dropped" in seen["proc"].stdout
    assert not found(seen["report"], "peer", "forward-blocked") and not found(seen["report"], "mixed", "forward-blocked")


def test_a_native_nftables_forward_drop_is_named_with_its_chain_and_the_printed_rules_fix_it(seen):
    assert (seen["nft_pod_before_drop"], seen["nft_pod_before"], seen["nft_pod_after"]) == ("CONNECTED", "TIMEOUT", "CONNECTED")
    (finding,) = found(seen["report"], "nftgw", "forward-blocked")
    (line,) = finding["evidence"]
    assert line.startswith("nftables (nft list ruleset), hook forward priority 0: chain inet fw forward policy drop, 1 rule; accepts: "), line
    assert "established" in line
    assert (
        "`nft insert rule inet fw forward ip saddr 10.244.0.0/16 accept` and `nft insert rule inet fw forward ip daddr 10.244.0.0/16 accept`" in finding["fix"]
    )
    assert not found(seen["report_after"], "nftgw", "forward-blocked")


def test_the_printed_accepts_let_the_pod_through_and_the_finding_is_gone(seen):
    assert seen["pod_after"] == "CONNECTED", seen["pod_after"]
    assert not found(seen["report_after"], "gw", "forward-blocked")


def test_a_legacy_drop_invisible_to_iptables_nft_and_the_audit_names_the_mixed_backends(seen):
    assert "DROP" not in seen["mixed_nft_rules"] and "-A OUTPUT -j KUBE-SERVICES" in seen["mixed_nft_rules"], seen["mixed_nft_rules"]
    assert seen["mixed_before"] == "TIMEOUT", seen["mixed_before"]
    (finding,) = found(seen["report"], "mixed", "netfilter-backend-mixed")
    assert finding["severity"] == "warning"
    assert finding["message"] == "both iptables backends hold rules: 1 in iptables-legacy, 1 in iptables-nft"
    assert finding["evidence"] == ["iptables-legacy-save: 1 rule (filter 1)", "iptables-nft-save: 1 rule (nat 1)"]
    assert "[WARNING netfilter-backend-mixed] mixed: both iptables backends hold rules" in seen["proc"].stdout
    assert not found(seen["report"], "peer", "netfilter-backend-mixed") and not found(seen["report"], "gw", "netfilter-backend-mixed")


def test_with_the_legacy_tables_flushed_the_connect_works_and_the_finding_is_gone(seen):
    assert seen["mixed_after"] == "CONNECTED", seen["mixed_after"]
    assert not found(seen["report_after"], "mixed", "netfilter-backend-mixed")
