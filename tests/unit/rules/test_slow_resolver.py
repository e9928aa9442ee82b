"""Rule slow-resolver over captured and built facts: it fires on the fault and its variants, not on near misses."""

from helpers import host_facts, ids, judge


def test_centos7_three_nameservers_and_search_is_only_info(tmp_path):
    # NetworkManager-written resolv.conf: 3 nameservers + a search domain = 56 s worst case,
    # but files come first, so localhost never waits on it.
    assert judge(host_facts(tmp_path, "centos7")) == []
    [finding] = judge(host_facts(tmp_path / "b", "centos7"), include_info=True)
    assert (finding["id"], finding["severity"]) == ("slow-resolver", "info")
    assert "56 s" in finding["message"]


def test_slow_resolver_predicted_and_observed(tmp_path):
    silent = "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": silent, "etc/hosts": "10.0.0.9 node\n"})
    finding = [f for f in judge(facts) if f["id"] == "slow-resolver"][0]
    assert finding["severity"] == "warning"  # localhost is not in /etc/hosts: it waits on DNS
    assert "worst case for one lookup that no nameserver answers (glibc model): 28 s" in finding["evidence"]
    assert "slow-resolver" not in ids(judge(facts, resolver_max_seconds=30))
    facts["localhost_resolution"] = {"status": "timeout", "addresses": [], "duration_ms": 2000.0}
    finding = [f for f in judge(facts, resolver_max_seconds=30) if f["id"] == "slow-resolver"][0]
    assert finding["severity"] == "error"
    assert "did not finish within 2000.0 ms" in finding["message"]


def test_slow_resolver_owned_by_systemd_resolved_is_a_manual_step(tmp_path):
    """resolved's uplink list (/run/systemd/resolve/resolv.conf) of silent servers: no role can keep options there."""
    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import remediation

    uplink = (
        "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n# Do not edit.\n"
        "nameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
    )
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": uplink})
    facts["localhost_resolution"] = {"status": "timeout", "addresses": [], "duration_ms": 2000.0}
    finding = [f for f in judge(facts) if f["id"] == "slow-resolver"][0]
    assert finding["severity"] == "error"
    assert "stub-resolv.conf" in finding["fix"] and "DNS=" in finding["fix"]
    plan = remediation.plan([finding], ["h"], {"h": {"hostnet_name_service_resolver_timeout": "1"}})["h"]
    assert plan["roles"] == []
    assert [(m["rule"], m["reason"]) for m in plan["manual"]] == [
        ("slow-resolver", "systemd-resolved owns /etc/resolv.conf and keeps no resolver options there")
    ]
    assert plan["manual"][0]["step"] == finding["fix"]
