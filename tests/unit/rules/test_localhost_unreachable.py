"""Rule localhost-unreachable over captured and built facts: it fires on the fault and its variants, not on near misses."""

from helpers import healthy_kernel, host_facts, judge, lo_without_ipv6, read_fixture


def test_f1_near_miss_ipv6_enabled_on_lo(tmp_path):
    facts = host_facts(tmp_path, "centos7", overrides={"etc/hosts": read_fixture("centos7", "hosts.f1-broken")})
    assert judge(facts) == []


def test_f1_near_miss_both_families_with_ipv6_off(tmp_path):
    facts = host_facts(tmp_path, "centos7", kernel=lo_without_ipv6(healthy_kernel()))
    assert judge(facts) == []


def test_f1_ubuntu_127_0_1_1_line_is_fine(tmp_path):
    assert judge(host_facts(tmp_path, "ubuntu2204", kernel=lo_without_ipv6(healthy_kernel()))) == []


def test_f1_localhost_on_non_loopback(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/hosts": "10.1.2.3 localhost\n"})
    [finding] = judge(facts)
    assert finding["severity"] == "error"
    assert "non-loopback address 10.1.2.3" in finding["message"]


def test_f1_cloud_init_template_named_in_fix(tmp_path):
    overrides = {
        "etc/hosts": read_fixture("centos7", "hosts.f1-broken"),
        "etc/cloud/cloud.cfg.d/99-hosts.cfg": "manage_etc_hosts: true\n",
        "etc/cloud/templates/hosts.redhat.tmpl": "::1 localhost\n",
    }
    facts = host_facts(tmp_path, "centos7", overrides=overrides, kernel=lo_without_ipv6(healthy_kernel()))
    [finding] = judge(facts)
    assert "/etc/cloud/templates/hosts.redhat.tmpl" in finding["fix"]
    assert "cloud-init manage_etc_hosts: true" in finding["evidence"]


def test_ipv4_mapped_loopback_is_loopback(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/hosts": "::ffff:127.0.0.1 localhost\n::1 localhost\n"})
    assert judge(facts) == []


def test_truncated_hosts_file_says_so(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/hosts": "10.0.0.1 other\n"})
    facts["hosts_file"]["truncated_at_bytes"] = 8388608
    [finding] = judge(facts)
    assert "/etc/hosts is larger than 8388608 bytes and was read only that far: lines after it were not judged" in finding["evidence"]


def test_f1_incident_hosts_file_with_ipv6_off_on_lo(tmp_path):
    kernel = lo_without_ipv6(healthy_kernel())
    kernel["localhost_resolution"]["addresses"] = [{"family": 6, "address": "::1", "usable": False, "error": "ENETUNREACH: Network is unreachable"}]
    facts = host_facts(tmp_path, "centos7", overrides={"etc/hosts": read_fixture("centos7", "hosts.f1-broken")}, kernel=kernel)
    [finding] = judge(facts)
    assert finding["id"] == "localhost-unreachable" and finding["severity"] == "error"
    assert finding["message"] == "localhost resolves only to ::1 but IPv6 is disabled on lo"
    assert "/etc/hosts:1: ::1         localhost localhost.localdomain localhost6 localhost6.localdomain6" in finding["evidence"]
    assert "net.ipv6.conf.lo.disable_ipv6 = 1" in finding["evidence"]
    assert "lo addresses: 127.0.0.1" in finding["evidence"]
    assert "dial tcp [::1]:6443: connect: no route to host" in finding["why"]


def test_f1_no_localhost_line(tmp_path):
    kernel = healthy_kernel()
    kernel["localhost_resolution"] = {"status": "error", "addresses": [], "duration_ms": 1.0, "error": "Name or service not known"}
    facts = host_facts(tmp_path, "debian12", overrides={"etc/hosts": "10.1.2.3 node1\n"}, kernel=kernel)
    [finding] = judge(facts)
    assert (finding["id"], finding["severity"]) == ("localhost-unreachable", "error")
    assert finding["evidence"][0] == "/etc/hosts: no line names localhost"
    # nss-myhostname still answers: a warning, not an error.
    facts = host_facts(tmp_path / "b", "debian12", overrides={"etc/hosts": "10.1.2.3 node1\n"})
    [finding] = judge(facts)
    assert finding["severity"] == "warning"


def test_missing_hosts_file_is_an_error_not_ok(tmp_path):
    """A missing (or dangling) /etc/hosts: getent ahosts localhost fails, the audit must not say OK."""
    facts = host_facts(tmp_path, "debian12")
    facts["hosts_file"] = {"path": "/etc/hosts", "status": "missing", "error": "ENOENT: No such file or directory", "symlink_target": "/run/hosts"}
    facts["localhost_resolution"] = {"status": "error", "addresses": [], "duration_ms": 0.3, "error": "Name or service not known"}
    [finding] = judge(facts)
    assert (finding["id"], finding["severity"]) == ("localhost-unreachable", "error")
    assert finding["message"] == "/etc/hosts is missing (a dangling link to /run/hosts): localhost does not resolve from files"
