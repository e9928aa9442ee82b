"""Rule dns-before-files over captured and built facts: it fires on the fault and its variants, not on near misses."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import host_facts, ids, judge, make_root


def test_f3_fedora_authselect_resolve_before_dns_is_fine(tmp_path):
    assert judge(host_facts(tmp_path, "fedora39")) == []


def test_f3_dns_first_hosts_line(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/nsswitch.conf": "hosts: dns files\n"})
    [finding] = judge(facts)
    assert (finding["id"], finding["severity"]) == ("dns-before-files", "error")
    assert finding["evidence"][0] == "/etc/nsswitch.conf:1: hosts: dns files"


def test_f3_missing_nsswitch_on_old_glibc_is_error(tmp_path):
    facts = host_facts(tmp_path, "centos7", libc=("glibc", "2.17"), overrides={"etc/nsswitch.conf": None})
    finding, slow = judge(facts)
    assert (finding["id"], finding["severity"]) == ("dns-before-files", "error")
    # localhost now waits on DNS, so the 3-nameserver resolv.conf is a warning, no longer info.
    assert (slow["id"], slow["severity"]) == ("slow-resolver", "warning")
    assert "libc: glibc 2.17" in finding["evidence"]


def test_f3_missing_nsswitch_on_musl_warns_about_go(tmp_path):
    facts = host_facts(tmp_path, "alpine318", libc=("musl", "1.2.4"))
    findings = judge(facts)
    dns = [f for f in findings if f["id"] == "dns-before-files"][0]
    assert dns["severity"] == "warning"
    assert "Go 1.16" in dns["message"]


def test_image_root_skips_kernel_rules(tmp_path):
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather

    facts = gather.gather(root=make_root(tmp_path, "alpine318", libc=("musl", "1.2.4")))
    assert facts["sysctl"]["status"] == "not_applicable"
    assert ids(judge(facts)) == ["dns-before-files"]


def test_missing_facts_and_skip_rules(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/nsswitch.conf": "hosts: dns files\n"})
    result = rules.evaluate({"a": facts, "b": None, "c": "unreachable"}, {"skip_rules": ["dns-before-files"]})
    assert result["hosts"]["a"]["findings"] == []
    assert result["hosts"]["a"]["skipped_rules"] == ["dns-before-files"]
    assert [f["id"] for f in result["hosts"]["b"]["findings"]] == ["facts-missing"]
    assert "unreachable" in result["hosts"]["c"]["findings"][0]["message"]
