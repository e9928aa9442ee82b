"""End to end: the audit playbook over real SSH against test hosts made faulty
the way each incident's host was. Each fault's symptom is first shown with a
real client inside the host, then the audit must name it, with evidence, on
that host only.
"""

import json
import os

import pytest

from conftest import CONNECT_PROBE, LISTENER, load_report, run_playbook

# The seed's /etc/hosts of F1 (RKE on CentOS 7.8): localhost only on ::1.
CENTOS7_BROKEN_HOSTS = "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n127.0.0.1   centos7.Localdomain\n"
NAMES = ["clean", "f1-localhost", "f2-route", "f3-dns"]


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


def probe(fleet, host, target, port):
    out = fleet.exec(host, ["python3", "-c", CONNECT_PROBE, target, str(port)], timeout=90).stdout.strip()
    return out


@pytest.fixture(scope="module")
def faulty(make_fleet):
    fleet = make_fleet(NAMES)
    silent = fleet.state["silent_nameservers"]
    for name in NAMES:
        fleet.exec(name, ["python3", "-c", LISTENER])
    # F1: the CentOS 7 hosts file of the incident, IPv6 off on lo.
    sh(fleet, "f1-localhost", "cat > /etc/hosts && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6", input_text=CENTOS7_BROKEN_HOSTS)
    # F2: the bridged NIC got no lease, so no default route; kube-proxy's DNAT is in place.
    sh(fleet, "f2-route", "ip route del default")
    # F3: DNS before files, three nameservers that silently drop queries.
    sh(fleet, "f3-dns", "sed -i 's/^hosts:.*/hosts:          dns files/' /etc/nsswitch.conf")
    sh(fleet, "f3-dns", "cat > /etc/resolv.conf", input_text="".join("nameserver %s\n" % a for a in silent))
    return fleet


@pytest.fixture(scope="module")
def report(faulty, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("report"))
    result = run_playbook(faulty, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % out, "-e", "hostnet_fail_on=error")
    assert result.returncode == 2, result.stdout  # errors found -> the play fails, as a gate should
    assert "[ERROR localhost-unreachable] f1-localhost" in result.stdout
    data = load_report(out)
    data["_stdout"] = result.stdout
    data["_dir"] = out
    return data


def ids(report, host):
    return {f["id"] for f in report["hosts"][host]["findings"]}


def finding(report, host, rule):
    return next(f for f in report["hosts"][host]["findings"] if f["id"] == rule)


def test_symptoms_are_real_before_audit(faulty):
    # F1: the client resolves localhost to ::1 only and cannot connect (the incident's "no route to host").
    out = probe(faulty, "f1-localhost", "localhost", 6443)
    assert out.startswith("FAIL ::1 ") and out.split()[2] in ("ENETUNREACH", "EADDRNOTAVAIL", "EHOSTUNREACH"), out
    # The clean host reaches the same listener through localhost.
    assert probe(faulty, "clean", "localhost", 6443).startswith("CONNECTED")
    # F2: no route to the Service IP.
    out = probe(faulty, "f2-route", "10.96.0.1", 443)
    assert out.split()[:3] == ["FAIL", "10.96.0.1", "ENETUNREACH"], out
    # F3: resolving localhost waits on the silent nameservers for seconds.
    out = faulty.exec("f3-dns", ["timeout", "6", "getent", "ahosts", "localhost"], check=False)
    assert out.returncode == 124, "getent returned within 6 s: %r" % (out.stdout,)


def test_clean_host_has_no_findings(report):
    assert report["hosts"]["clean"]["findings"] == []
    assert report["hosts"]["clean"]["status"] == "ok"


def test_f1_localhost_only_on_ipv6(report):
    assert ids(report, "f1-localhost") == {"localhost-unreachable"}
    f = finding(report, "f1-localhost", "localhost-unreachable")
    assert f["severity"] == "error"
    assert "only to ::1" in f["message"]
    evidence = "\n".join(f["evidence"])
    assert "/etc/hosts:1: ::1         localhost localhost.localdomain" in evidence
    assert "net.ipv6.conf.lo.disable_ipv6 = 1" in evidence
    assert "lo addresses: 127.0.0.1" in evidence
    assert "connect fails: ENETUNREACH" in evidence or "connect fails: EADDRNOTAVAIL" in evidence
    assert "no route to host" in f["why"]


def test_f2_no_route_to_service_ip(report):
    assert ids(report, "f2-route") == {"service-network-unroutable", "no-default-route"}
    f = finding(report, "f2-route", "service-network-unroutable")
    assert f["severity"] == "error"
    assert "10.96.0.1" in f["message"]
    assert any("ENETUNREACH" in e for e in f["evidence"])
    assert "IPv4 default routes: none" in f["evidence"]
    assert finding(report, "f2-route", "no-default-route")["severity"] == "warning"


def test_f3_dns_before_files(report, faulty):
    assert ids(report, "f3-dns") == {"dns-before-files", "slow-resolver"}
    f = finding(report, "f3-dns", "dns-before-files")
    assert f["severity"] == "error"
    assert any(e.startswith("/etc/nsswitch.conf:4: hosts:          dns files") for e in f["evidence"])
    slow = finding(report, "f3-dns", "slow-resolver")
    evidence = "\n".join(slow["evidence"])
    assert "timed out" in evidence
    assert ", ".join(faulty.state["silent_nameservers"]) in evidence
    # glibc's per-nameserver back-off: 5 + 10//3 + 20//3 = 14 s per attempt, 2 attempts.
    assert "(glibc model): 28 s" in evidence


def test_report_files_follow_the_schema(report):
    assert report["schema_version"] == 1
    assert set(report["hosts"]) == set(NAMES)
    assert report["summary"]["errors"] == 4
    assert report["summary"]["warnings"] == 1
    assert report["summary"]["failing_hosts"] == ["f1-localhost", "f2-route", "f3-dns"]
    for data in report["hosts"].values():
        for f in data["findings"]:
            assert set(f) >= {"id", "severity", "host", "message", "evidence", "why", "fix", "docs"}
            assert os.path.exists(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), f["docs"]))
    with open(os.path.join(report["_dir"], "hostnet-report.junit.xml")) as handle:
        junit = handle.read()
    assert 'failures="4"' in junit
    assert '<testcase classname="clean" name="localhost-unreachable"></testcase>' in junit
    with open(os.path.join(report["_dir"], "hostnet-report.md")) as handle:
        markdown = handle.read()
    assert "| f1-localhost | ERROR | `localhost-unreachable` |" in markdown


def test_audit_changes_nothing(faulty, tmp_path):
    before = {n: sh(faulty, n, "cat /etc/hosts /etc/nsswitch.conf /etc/resolv.conf; ip route").stdout for n in NAMES}
    result = run_playbook(faulty, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_fail_on=never")
    assert result.returncode == 0, result.stdout
    assert "changed=0" in result.stdout and "changed=1" not in result.stdout
    after = {n: sh(faulty, n, "cat /etc/hosts /etc/nsswitch.conf /etc/resolv.conf; ip route").stdout for n in NAMES}
    assert before == after


def test_skip_rules_and_unreachable_host(faulty, tmp_path):
    inventory = tmp_path / "inventory.ini"
    with open(os.path.join(faulty.state_dir, "inventory.ini")) as handle:
        text = handle.read()
    # An address inside the harness's own subnet that nobody holds: SSH cannot connect.
    ghost = faulty.state["subnet"].rsplit(".", 1)[0] + ".99"
    inventory.write_text(text.replace("[testhosts]\n", "[testhosts]\nghost ansible_host=%s ansible_ssh_timeout=3\n" % ghost))
    result = run_playbook(
        faulty,
        "kubeprep.hostnet.audit",
        "-e",
        "hostnet_report_dir=%s" % tmp_path,
        "-e",
        json.dumps(
            {
                "hostnet_skip_rules": ["localhost-unreachable", "service-network-unroutable", "no-default-route", "dns-before-files", "slow-resolver"],
                "hostnet_fail_on": "error",
            }
        ),
        inventory=str(inventory),
        env={"ANSIBLE_CALLBACKS_ENABLED": "kubeprep.hostnet.hostnet_progress"},
    )
    data = load_report(str(tmp_path))
    assert [f["id"] for f in data["hosts"]["ghost"]["findings"]] == ["facts-missing"]
    # The progress callback: one line per host as its facts call ends, counted against the play's hosts.
    progress = [line for line in result.stdout.splitlines() if line.startswith("[hostnet ")]
    total = len(NAMES) + 1
    assert sorted(int(line.split()[1].split("/")[0]) for line in progress) == list(range(1, total + 1)), progress
    assert all(line.split()[1].rstrip(",").endswith("/%d" % total) for line in progress)
    assert [line.split("] ", 1)[1].split(":")[0] for line in progress if "unreachable" in line] == ["ghost"]
    assert all("gathered in" in line for line in progress if "ghost" not in line)
    for name in NAMES:
        assert data["hosts"][name]["findings"] == [], name
    assert data["summary"]["failing_hosts"] == ["ghost"]
    assert result.returncode == 2


def test_unknown_skip_rule_is_a_clear_error(faulty, tmp_path):
    result = run_playbook(
        faulty, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", '{"hostnet_skip_rules": ["no-such-rule"]}', "--limit", "clean"
    )
    assert result.returncode != 0
    assert "hostnet_skip_rules: 'no-such-rule' is not a rule id" in result.stdout and "no host was contacted" in result.stdout
    assert "Traceback" not in result.stdout
