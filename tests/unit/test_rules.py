"""Rules over realistic facts: each fault and its variants fire; near misses do not."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import healthy_kernel, host_facts, lo_without_ipv6, read_fixture


def judge(facts, include_info=False, **options):
    """Findings for one host; info findings only when asked (fixtures like centos7 carry one)."""
    result = rules.evaluate({"h": facts}, options)
    return [f for f in result["hosts"]["h"]["findings"] if include_info or f["severity"] != "info"]


def ids(findings):
    return sorted(f["id"] for f in findings)


@pytest.mark.parametrize("distro", ["debian12", "ubuntu2204", "fedora39"])
def test_stock_distros_are_clean(tmp_path, distro):
    assert judge(host_facts(tmp_path, distro)) == []


def test_centos7_three_nameservers_and_search_is_only_info(tmp_path):
    # NetworkManager-written resolv.conf: 3 nameservers + a search domain = 56 s worst case,
    # but files come first, so localhost never waits on it.
    assert judge(host_facts(tmp_path, "centos7")) == []
    [finding] = judge(host_facts(tmp_path / "b", "centos7"), include_info=True)
    assert (finding["id"], finding["severity"]) == ("slow-resolver", "info")
    assert "56 s" in finding["message"]


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


def test_f2_no_route_to_service_ip(tmp_path):
    kernel = healthy_kernel()
    kernel["routes"]["ipv4"] = [r for r in kernel["routes"]["ipv4"] if not r["default"]]
    kernel["routes"]["default_ipv4"] = []
    kernel["routes"]["ipv6"] = []
    kernel["routes"]["default_ipv6"] = []
    kernel["service_route_lookups"] = [
        {
            "address": "10.96.0.1",
            "reachable": False,
            "error": "ENETUNREACH: Network is unreachable",
            "ip_route_get": read_fixture("iproute", "route-get-unreachable.txt").strip(),
        }
    ]
    findings = judge(host_facts(tmp_path, "debian12", kernel=kernel))
    assert ids(findings) == ["no-default-route", "service-network-unroutable"]
    unroutable = findings[0]
    assert unroutable["id"] == "service-network-unroutable"  # errors sort first
    assert "ip route get 10.96.0.1: RTNETLINK answers: Network is unreachable" in unroutable["evidence"]
    assert "IPv4 routes: 10.213.1.0/24 dev eth1" in unroutable["evidence"]


def test_f2_specific_route_without_default_is_only_a_warning(tmp_path):
    kernel = healthy_kernel()
    kernel["routes"]["default_ipv4"] = []
    kernel["routes"]["default_ipv6"] = []
    assert ids(judge(host_facts(tmp_path, "debian12", kernel=kernel))) == ["no-default-route"]


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


def test_f3_fedora_authselect_resolve_before_dns_is_fine(tmp_path):
    assert judge(host_facts(tmp_path, "fedora39")) == []


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


def test_image_root_skips_kernel_rules(tmp_path):
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather

    from helpers import make_root

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


def test_fleet_rules_see_every_host():
    seen = {}

    @rules.rule("test-fleet-probe", "test only", severities=("info",), fix=rules.Fix(manual="test only"), scope="fleet")
    def probe(facts_by_host, ctx):
        seen.update(facts_by_host)
        return [rules.Finding("test-fleet-probe", "info", None, "m", ["e"], "w", "f", hosts=sorted(facts_by_host))]

    result = rules.evaluate({"x": {"schema_version": 1}, "y": {"schema_version": 1}, "z": None}, extra_rules=[probe])
    assert "test-fleet-probe" not in rules.RULES
    assert sorted(seen) == ["x", "y"]
    assert result["fleet"]["findings"][0]["hosts"] == ["x", "y"]


def test_every_rule_has_a_doc_page():
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for rule_id in rules.all_rules():
        assert os.path.isfile(os.path.join(root, "docs", "rules", rule_id + ".md")), rule_id


def test_missing_hosts_file_is_an_error_not_ok(tmp_path):
    """A missing (or dangling) /etc/hosts: getent ahosts localhost fails, the audit must not say OK."""
    facts = host_facts(tmp_path, "debian12")
    facts["hosts_file"] = {"path": "/etc/hosts", "status": "missing", "error": "ENOENT: No such file or directory", "symlink_target": "/run/hosts"}
    facts["localhost_resolution"] = {"status": "error", "addresses": [], "duration_ms": 0.3, "error": "Name or service not known"}
    [finding] = judge(facts)
    assert (finding["id"], finding["severity"]) == ("localhost-unreachable", "error")
    assert finding["message"] == "/etc/hosts is missing (a dangling link to /run/hosts): localhost does not resolve from files"


def test_ipv4_mapped_loopback_is_loopback(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/hosts": "::ffff:127.0.0.1 localhost\n::1 localhost\n"})
    assert judge(facts) == []


def test_truncated_hosts_file_says_so(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/hosts": "10.0.0.1 other\n"})
    facts["hosts_file"]["truncated_at_bytes"] = 8388608
    [finding] = judge(facts)
    assert "/etc/hosts is larger than 8388608 bytes and was read only that far: lines after it were not judged" in finding["evidence"]


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


@pytest.mark.parametrize(
    "kernel, etc, bad",
    [
        ("localhost", "localhost\n", "localhost"),
        ("localhost.localdomain", None, "localhost.localdomain"),
        ("node_1", "node_1\n", "node_1"),
        ("node1", "# set by the image\nlocalhost\n", "localhost"),  # the next boot's name
        ("-node", None, "-node"),
        ("a" * 64, None, "a" * 64),
    ],
)
def test_hostname_invalid(tmp_path, kernel, etc, bad):
    facts = host_facts(tmp_path, "debian12")
    facts["identity"].update(hostname=kernel, etc_hostname=(etc or "").splitlines()[-1] if etc else None)
    finding = [f for f in judge(facts) if f["id"] == "hostname-invalid"][0]
    assert finding["severity"] == "error" and bad in finding["message"], finding


@pytest.mark.parametrize("name", ["node1", "Node-1.Example.internal", "k8s-cp-01.dc1.example.com", "a" * 63])
def test_hostname_valid(tmp_path, name):
    facts = host_facts(tmp_path, "debian12")
    facts["identity"].update(hostname=name, etc_hostname=name)
    assert "hostname-invalid" not in ids(judge(facts))


def _rp(facts, all_value, default_value, eth0=None):
    facts["sysctl"]["net.ipv4.conf.all.rp_filter"] = {"status": "ok", "value": str(all_value)}
    facts["sysctl"]["net.ipv4.conf.default.rp_filter"] = {"status": "ok", "value": str(default_value)}
    for iface in facts["interfaces"]["list"]:
        iface["rp_filter"] = eth0 if iface["name"] != "lo" else 0
    return facts


@pytest.mark.parametrize(
    "all_value, default_value, eth0, cni, expected",
    [
        (1, 1, 1, "calico", "error"),  # RHEL's default
        (0, 0, 1, "calico", "error"),  # the interface's own 1 wins over all=0
        (2, 1, 1, "calico", None),  # all=2 makes every interface loose
        (0, 1, 0, "canal", "error"),  # the CNI's new interfaces would start strict
        (2, 2, 2, "calico", None),  # Debian/Ubuntu (systemd's 50-default.conf)
        (1, 1, 1, "unknown", "warning"),
        (1, 1, 1, "flannel", None),
    ],
)
def test_rp_filter_strict(tmp_path, all_value, default_value, eth0, cni, expected):
    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import remediation

    facts = _rp(host_facts(tmp_path, "debian12"), all_value, default_value, eth0)
    found = [f for f in judge(facts, cni=cni) if f["id"] == "rp-filter-strict"]
    assert [f["severity"] for f in found] == ([expected] if expected else []), found
    if expected:
        plan = remediation.plan(found, ["h"], {"h": {}})["h"]
        # An error is fixed by hostnet_sysctl; a warning (CNI unknown) is a manual step naming hostnet_cni.
        assert bool(plan["roles"]) == (expected == "error") and bool(plan["manual"]) == (expected == "warning"), plan


def test_service_and_pod_cidr_overlaps(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": "nameserver 10.244.0.10\n"})
    eth0 = [i for i in facts["interfaces"]["list"] if i["name"] != "lo"][0]
    eth0["addresses"].append({"family": "inet", "address": "10.96.5.5", "prefixlen": 24, "cidr": "10.96.5.5/24", "scope": "global"})
    route = {"family": 4, "default": False, "gateway": "10.0.2.2", "dev": "nat0", "protocol": "static", "type": "unicast", "table": None}
    facts["routes"]["ipv4"] += [
        dict(route, dst="10.96.128.0/17"),  # captures half the Service network: warning evidence
        dict(route, dst="10.96.0.0/12", dev="eth1"),  # exactly the Service CIDR: the deliberate route
        dict(route, dst="10.244.1.0/24", dev="flannel.1"),  # the CNI's own
    ]
    facts["routes"]["other_tables_ipv4"] = [dict(route, dst="10.244.0.0/24", table="100")]
    found = {f["id"]: f for f in judge(facts)}
    service = found["service-cidr-overlap"]
    assert service["severity"] == "error" and "overlaps address 10.96.5.5/24 (on eth1)" in service["message"], service
    assert "Service CIDR 10.96.0.0/12: route 10.96.128.0/17 (dev nat0 via 10.0.2.2, table main)" in service["evidence"]
    assert not any("10.96.0.0/12 (dev eth1" in e for e in service["evidence"])
    pod = found["pod-cidr-overlap"]
    assert pod["severity"] == "error" and "nameserver 10.244.0.10" in pod["message"], pod
    assert "Pod CIDR 10.244.0.0/16: route 10.244.0.0/24 (dev nat0 via 10.0.2.2, table 100)" in pod["evidence"]
    assert not any("flannel.1" in e for e in pod["evidence"])
    # Other CIDRs: nothing overlaps.
    assert not {"service-cidr-overlap", "pod-cidr-overlap"} & set(ids(judge(facts, service_cidrs=["10.233.0.0/18"], pod_cidr="10.233.64.0/18")))


def test_a_route_alone_is_a_warning(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    route = {"family": 4, "default": False, "gateway": "10.0.2.2", "dev": "nat0", "protocol": "static", "type": "unicast", "table": None, "dst": "10.96.0.0/16"}
    facts["routes"]["ipv4"].append(route)
    (finding,) = [f for f in judge(facts) if f["id"] == "service-cidr-overlap"]
    assert finding["severity"] == "warning" and "route 10.96.0.0/16" in finding["message"]


def test_networkmanager_manages_cni(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    facts["networkmanager"] = {"running": True, "config_files": ["/etc/NetworkManager/NetworkManager.conf"], "unmanaged_devices": [], "unmanaged_sections": []}
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["severity"] == "warning" and "cali0123456789a, tunl0" in finding["message"], finding
    # kubespray's calico/flannel exclusion is not enough for cni0 and kube-ipvs0.
    facts["networkmanager"]["unmanaged_devices"] = ["interface-name:cali*", "interface-name:tunl*", "interface-name:vxlan.calico", "interface-name:flannel*"]
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["data"]["managed"] == ["cni0", "kube-ipvs0", "cilium_host", "weave"]
    # The role's drop-in (its default patterns) covers them all; NetworkManager stopped: nothing to judge.
    import os

    import yaml

    defaults = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles", "hostnet_networkmanager", "defaults", "main.yml")
    with open(defaults) as handle:
        patterns = yaml.safe_load(handle)["hostnet_networkmanager_unmanaged"]
    facts["networkmanager"]["unmanaged_sections"] = [
        {"section": "device-kubeprep-hostnet-cni", "specs": ["interface-name:" + p for p in patterns], "managed": False, "path": "/x"}
    ]
    assert "networkmanager-manages-cni" not in ids(judge(facts))
    facts["networkmanager"] = {"running": False, "unmanaged_devices": [], "unmanaged_sections": []}
    assert "networkmanager-manages-cni" not in ids(judge(facts))


def test_search_domain_answers_localhost(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": "nameserver 10.0.0.53\nsearch corp.example lab.example\n"})
    wildcard = {"name": "localhost.corp.example", "server": "10.0.0.53", "status": "answered", "rcode": "NOERROR", "addresses": ["10.20.30.40"]}
    facts["search_domains"] = {
        "status": "ok",
        "results": [
            dict(wildcard, domain="corp.example", wildcard=True, random_name="kubeprep-00.corp.example"),
            {"name": "localhost.lab.example", "domain": "lab.example", "status": "answered", "rcode": "NOERROR", "addresses": ["127.0.0.1"], "wildcard": False},
        ],
    }
    (finding,) = [f for f in judge(facts) if f["id"] == "search-domain-answers-localhost"]
    # files come first and /etc/hosts has localhost: only pods are exposed.
    assert finding["severity"] == "warning" and "localhost.corp.example resolves to 10.20.30.40 in DNS (a wildcard record)" == finding["message"]
    assert finding["data"] == {"domains": ["corp.example"]}  # lab.example answers loopback: fine
    facts["nsswitch"]["dns_before_files"] = True
    assert [f["severity"] for f in judge(facts) if f["id"] == "search-domain-answers-localhost"] == ["error"]
