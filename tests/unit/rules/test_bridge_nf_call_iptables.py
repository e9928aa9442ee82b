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
