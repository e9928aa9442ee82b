"""Rule bridge-nf-call-iptables over captured and built facts: it fires on the fault and its variants, not on near misses."""

from helpers import healthy_kernel, host_facts, judge


def test_sysctl_rules_absent_is_not_zero(tmp_path):
    kernel = healthy_kernel()
    kernel["sysctl"]["net.ipv4.ip_forward"]["value"] = "0"
    kernel["sysctl"]["net.bridge.bridge-nf-call-iptables"] = {"status": "absent", "value": None}
    findings = {f["id"]: f for f in judge(host_facts(tmp_path, "debian12", kernel=kernel))}
    assert findings["ip-forward-disabled"]["severity"] == "error"
    assert findings["bridge-nf-call-iptables"]["severity"] == "warning"
    assert "does not exist" in findings["bridge-nf-call-iptables"]["message"]
    kernel["sysctl"]["net.bridge.bridge-nf-call-iptables"] = {"status": "ok", "value": "0"}
    findings = {f["id"]: f for f in judge(host_facts(tmp_path / "b", "debian12", kernel=kernel))}
    assert findings["bridge-nf-call-iptables"]["severity"] == "error"


def test_ip6tables_zero_is_an_error_on_a_cluster_with_ipv6_only(tmp_path):
    kernel = healthy_kernel()
    kernel["sysctl"]["net.bridge.bridge-nf-call-ip6tables"] = {"status": "ok", "value": "0"}
    facts = host_facts(tmp_path, "debian12", kernel=kernel)
    [finding] = [f for f in judge(facts, service_cidrs=["10.96.0.0/12,fd00:10:96::/108"]) if f["id"] == "bridge-nf-call-iptables"]
    assert finding["severity"] == "error" and finding["message"] == "net.bridge.bridge-nf-call-ip6tables is 0 on a cluster with IPv6"
    assert finding["evidence"] == ["/proc/sys/net/bridge/bridge-nf-call-ip6tables = 0"]
    assert "FileContent--proc-sys-net-bridge-bridge-nf-call-ip6tables" in finding["why"]
    assert [f for f in judge(facts) if f["id"] == "bridge-nf-call-iptables"] == []  # IPv4-only: unchanged
    kernel["sysctl"]["net.bridge.bridge-nf-call-iptables"]["value"] = "0"
    both = [
        f["message"] for f in judge(host_facts(tmp_path / "b", "debian12", kernel=kernel), pod_cidr="fd00:10:244::/56") if f["id"] == "bridge-nf-call-iptables"
    ]
    assert sorted(both) == ["net.bridge.bridge-nf-call-ip6tables is 0 on a cluster with IPv6", "net.bridge.bridge-nf-call-iptables is 0"]
