"""Inputs as users type them, through ansible-playbook: key=value and JSON -e forms work,
a bad value fails before any host is contacted and names the variable and the value,
and a host with no route never passes the gate because of an input the audit could not use."""

import os
import re

import pytest

from conftest import load_report, run_playbook


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["in1"])
    fleet.exec("in1", ["sh", "-c", "ip route del default"])  # no route at all: only a used input passes it
    return fleet


def unreachable_inventory(fleet, tmp_path):
    """The fleet plus a host that would show UNREACHABLE if anything tried to contact it."""
    text = open(os.path.join(fleet.state_dir, "inventory.ini")).read()
    path = tmp_path / "inventory.ini"
    path.write_text(text.replace("[testhosts]\n", "[testhosts]\nghost ansible_host=%s.99 ansible_ssh_timeout=2\n" % fleet.state["gateway"].rsplit(".", 1)[0]))
    return str(path)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-e", "hostnet_service_ips=banana"], "hostnet_service_ips: 'banana' is not an IP address or CIDR"),
        (["-e", 'hostnet_service_ips=["10.233.0.0/40"]'], "hostnet_service_ips: '10.233.0.0/40' is not an IP address or CIDR"),
        (["-e", "hostnet_service_ips= 10.233.0.0/18"], "hostnet_service_ips: '' is empty, so nothing would be checked"),
        (["-e", "hostnet_fail_on=eror"], "hostnet_fail_on"),
        (["-e", "hostnet_skip_rules=ip-forward"], "hostnet_skip_rules: 'ip-forward' is not a rule id"),
        (["-e", "hostnet_servce_ips=10.96.0.1"], "hostnet_servce_ips: unknown variable - did you mean hostnet_service_ips"),
        (["-e", "hostnet_probe_ports=true", "-e", "hostnet_probe_peers=0"], "hostnet_probe_peers: '0' is less than 1"),
        (["-e", "hostnet_probe_ports=true", "-e", "hostnet_etcd_group=etcdd"], "hostnet_etcd_group: 'etcdd' is not a group of the inventory"),
        (["-e", "hostnet_resolver_timeout=nan"], "hostnet_resolver_timeout: 'nan' is not a finite number"),
        (["-e", "hostnet_max_clock_skew=inf"], "hostnet_max_clock_skew: 'inf' is not a finite number"),
        (["-e", "hostnet_resolver_timeout=1e308"], "hostnet_resolver_timeout: '1e308' is more than 60"),
        (["-e", "hostnet_report_dir=/etc/hostname"], "hostnet_report_dir: '/etc/hostname' is not a directory"),
        (["-e", "hostnet_report_dir=/etc/hostname/reports"], "hostnet_report_dir: '/etc/hostname/reports' is not creatable"),
        (
            ["-e", "hostnet_pod_cidr=10.96.0.0/16", "-e", "hostnet_service_ips=10.96.0.0/12"],
            "hostnet_pod_cidr: '10.96.0.0/16' (the Pod network) overlaps hostnet_service_ips: ['10.96.0.0/12'] (the Service network) at 10.96.0.0/16",
        ),
        (
            ["-e", "kube_pods_subnet=10.233.64.0/18", "-e", "kube_service_addresses=10.233.0.0/17"],
            "hostnet_pod_cidr (kube_pods_subnet): '10.233.64.0/18' (the Pod network) overlaps hostnet_service_ips (kube_service_addresses): "
            "['10.233.0.0/17'] (the Service network) at 10.233.64.0/18",
        ),
    ],
    ids=[
        "banana",
        "prefix-40",
        "empty",
        "fail-on-typo",
        "rule-typo",
        "variable-typo",
        "probe-peers-0",
        "etcd-group-typo",
        "timeout-nan",
        "skew-inf",
        "timeout-huge",
        "report-dir-file",
        "report-dir-under-file",
        "pod-overlaps-service",
        "kubespray-pod-overlaps-service",
    ],
)
def test_bad_input_fails_before_any_host_is_contacted(fleet, tmp_path, extra, message):
    result = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, *extra, inventory=unreachable_inventory(fleet, tmp_path))
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert "UNREACHABLE" not in result.stdout and "Gather hostnet facts" not in result.stdout
    assert not os.path.exists(tmp_path / "hostnet-report.json")


@pytest.mark.parametrize(
    "value",
    ['["10.233.0.0/18"]', "10.233.0.0/18", "10.96.0.1,10.233.0.0/18", '[" 10.233.0.0/18 "]'],
    ids=["json-string", "plain", "comma-separated", "spaces"],
)
def test_the_forms_users_type_are_used_and_the_gate_holds(fleet, tmp_path, value):
    result = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_service_ips=%s" % value)
    assert result.returncode != 0, result.stdout[-3000:]  # fail_on=error: no route to the Service network
    messages = [f["message"] for f in load_report(str(tmp_path))["hosts"]["in1"]["findings"] if f["id"] == "service-network-unroutable"]
    assert "no route to Service IP 10.233.0.1" in messages, messages


@pytest.fixture(scope="module")
def pair(make_fleet):
    """Two hosts with ip_forward=0 (stock): the gate stops both."""
    return make_fleet(["g1", "g2"], stock=True)


def test_a_failing_gate_ends_with_one_line_per_host_and_the_report_paths(pair, tmp_path):
    result = run_playbook(pair, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_console=summary")
    assert result.returncode == 2, result.stdout[-3000:]
    fatal = [line for line in result.stdout.splitlines() if line.startswith("fatal: ")]
    assert len(fatal) == 2 and all(len(line) < 400 for line in fatal), fatal
    for host in ("g1", "g2"):
        line = [f for f in fatal if f.startswith("fatal: [%s]" % host)][0]
        assert "1 finding(s) at or above fail_on=error: ip-forward-disabled - report: %s/hostnet-report.md" % tmp_path in line
        assert re.search(r"^%s\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=1 " % host, result.stdout, re.M), result.stdout[-1500:]
    assert "report: %s/hostnet-report.md" % tmp_path in result.stdout


def test_skip_all_and_warn_rules_are_shown_as_such(pair, tmp_path):
    result = run_playbook(pair, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_warn_rules=ip-forward-disabled")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "[WARN-ONLY] errors reported as warnings (hostnet_warn_rules): ip-forward-disabled" in result.stdout
    [finding] = load_report(str(tmp_path))["hosts"]["g1"]["findings"]
    assert (finding["severity"], finding["downgraded_from"]) == ("warning", "error")
    assert "report: %s/hostnet-report.md" % tmp_path in result.stdout  # printed on a pass too
    result = run_playbook(pair, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_skip_rules=all")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "[SKIPPED] not evaluated on any host (hostnet_skip_rules): " in result.stdout
    report = load_report(str(tmp_path))
    assert "ip-forward-disabled" in report["skipped_rules"] and report["hosts"]["g1"]["findings"] == []


def test_tags_of_a_role_run_that_fix_only(pair, tmp_path):
    pair.exec("g2", ["sh", "-c", "printf '::1 localhost\\n' > /etc/hosts; echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6"])
    result = run_playbook(pair, "kubeprep.hostnet.remediate", "-l", "g2", "-e", "hostnet_report_dir=%s" % tmp_path, "--tags", "hostnet_localhost")
    assert result.returncode == 0, result.stdout[-3000:]
    assert pair.exec("g2", ["cat", "/etc/hosts"]).stdout.startswith("127.0.0.1\tlocalhost\n")
    assert pair.exec("g2", ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.strip() == "0"  # hostnet_sysctl's tasks did not run


def test_site_rules_from_the_docs_run_as_users_pass_them(pair, tmp_path):
    pair.exec("g1", ["sh", "-c", "printf 'nameserver 127.0.0.1\\nnameserver 127.0.0.2\\nnameserver 127.0.0.3\\nnameserver 127.0.0.4\\n' > /etc/resolv.conf"])
    rule = (
        '{"id": "too-many-nameservers", "severity": "warning", "when": "length(resolv_conf.nameservers) > `3`", '
        '"message": "more than 3 nameservers", "fix": "List at most 3."}'
    )
    args = ["-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_fail_on=never"]
    result = run_playbook(pair, "kubeprep.hostnet.audit", *args, "-e", '{"hostnet_site_rules": [%s]}' % rule)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "[WARNING too-many-nameservers] g1: more than 3 nameservers" in result.stdout
    hosts = load_report(str(tmp_path))["hosts"]
    assert [f["id"] for f in hosts["g1"]["findings"] if f["id"] == "too-many-nameservers"] and not [
        f for f in hosts["g2"]["findings"] if f["id"] == "too-many-nameservers"
    ]
    broken = rule.replace("length(resolv_conf.nameservers) > `3`", "length(")
    result = run_playbook(pair, "kubeprep.hostnet.audit", *args, "-e", '{"hostnet_site_rules": [%s]}' % broken)
    assert result.returncode != 0 and "when 'length(' is not a valid JMESPath expression" in result.stdout and "no host was contacted" in result.stdout


def test_a_site_rule_that_cannot_judge_a_host_is_its_finding_and_every_host_is_reported(pair, tmp_path):
    """The docs' example on a host without /etc/resolv.conf: length(null) is a JMESPath type error. That host gets
    a finding naming the rule and the error; both hosts are judged and reported (the judge once failed, no report)."""
    saved = pair.exec("g2", ["cat", "/etc/resolv.conf"], check=False).stdout
    pair.exec("g2", ["rm", "-f", "/etc/resolv.conf"])
    try:
        rule = (
            '{"id": "too-many-nameservers", "severity": "warning", "when": "length(resolv_conf.nameservers) > `3`", '
            '"message": "more than 3 nameservers", "fix": "List at most 3."}'
        )
        args = ["-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_fail_on=never"]  # full console: one line per finding
        result = run_playbook(pair, "kubeprep.hostnet.audit", *args, "-e", '{"hostnet_site_rules": [%s]}' % rule)
        assert result.returncode == 0, result.stdout[-3000:]
        assert "[WARNING too-many-nameservers] g2: rule too-many-nameservers could not judge g2: JMESPathTypeError" in result.stdout, result.stdout[-3000:]
        hosts = load_report(str(tmp_path))["hosts"]
        assert sorted(hosts) == ["g1", "g2"]
        assert "ip-forward-disabled" in {f["id"] for f in hosts["g2"]["findings"]}  # the built-in rules still judged it
    finally:
        pair.exec("g2", ["sh", "-c", "cat > /etc/resolv.conf"], input_text=saved)
