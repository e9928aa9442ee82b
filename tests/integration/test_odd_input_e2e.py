"""Odd bytes on real test hosts: /etc/hosts split as glibc splits it (a form feed or vertical tab is a
field separator inside a line, not a line break), and a non-UTF-8 hostname, file name or an interface
name with a control character, which must not cost the host its facts."""

import os
from xml.etree import ElementTree

import pytest

from conftest import load_report, run_module, run_playbook

NAMES = ["formfeed", "oddbytes"]

# Line 1 carries localhost after a form feed: glibc reads one line whose names are alias and localhost.
# A vertical tab separates names too; a file separator (0x1c) does not (glibc's isspace is " \t\n\v\f\r").
HOSTS = "10.9.9.9 alias\flocalhost\n127.0.0.1 localhost\n10.8.8.8 vt\vvtname\n10.7.7.7 fs\x1cfsname\n"

# What glibc answers, from inside the host (getent goes through nsswitch and nss_files).
GETENT = """
import subprocess, sys
for cmd in (["getent", "hosts", "localhost"], ["getent", "ahosts", "localhost"], ["getent", "hosts", "vtname"],
            ["getent", "hosts", "fsname"], ["getent", "hosts", "fs\\x1cfsname"]):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE)
    print(repr((cmd[1], cmd[2], proc.returncode, [line.split()[0] for line in proc.stdout.decode().split("\\n") if line])))
"""

# The odd sources: a hostname with a byte that is not UTF-8 (the kernel takes any bytes), a netplan file
# whose name has one, a veth whose name has a control character (iproute2 prints it raw inside -json).
ODD = """
import os, socket, subprocess
socket.sethostname(b"odd\\xffnode")
os.makedirs("/etc/netplan", exist_ok=True)
with open(b"/etc/netplan/junk\\xff.yaml", "w") as handle:
    handle.write("network: {version: 2}\\n")
subprocess.run(["ip", "link", "add", "odd\\x01if", "type", "veth", "peer", "name", "oddpeer"], check=True)
subprocess.run(["sysctl", "-qw", "net.ipv4.ip_forward=0"], check=True)
print(repr(os.uname().nodename))
"""


@pytest.fixture(scope="module")
def audited(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES)
    fleet.exec("formfeed", ["sh", "-c", "cat > /etc/hosts"], input_text=HOSTS)
    seen = {"getent": {}}
    for line in fleet.exec("formfeed", ["python3", "-c", GETENT]).stdout.splitlines():
        kind, name, rc, addresses = eval(line)  # our own repr() of plain values
        seen["getent"][(kind, name)] = (rc, addresses)
    seen["nodename"] = fleet.exec("oddbytes", ["python3", "-c", ODD]).stdout.strip()
    seen["ip_json"] = fleet.exec("oddbytes", ["sh", "-c", "ip -json link show | od -c | grep -c '001'"], check=False).stdout.strip()
    out = str(tmp_path_factory.mktemp("odd-input"))
    seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out)
    seen["report"] = load_report(out)
    seen["report_dir"] = out
    seen["facts"] = {name: run_module(fleet, name, "kubeprep.hostnet.hostnet_facts", {}) for name in NAMES}
    return seen


def findings(seen, host, rule):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == rule]


def hostnet(seen, host):
    rc, result = seen["facts"][host]
    assert rc == 0, result
    return result["ansible_facts"]["hostnet"]


def test_form_feed_glibc_resolves_localhost_to_the_line_it_shares(audited):
    getent = audited["getent"]
    # The symptom: glibc's first answer for localhost is 10.9.9.9, from line 1 (the name after the form feed).
    rc, hosts = getent[("hosts", "localhost")]
    assert rc == 0 and hosts[0] == "10.9.9.9", getent
    rc, ahosts = getent[("ahosts", "localhost")]
    assert rc == 0 and "10.9.9.9" in ahosts, getent
    assert getent[("hosts", "vtname")] == (0, ["10.8.8.8"]), getent
    assert getent[("hosts", "fsname")][0] == 2 and getent[("hosts", "fs\x1cfsname")] == (0, ["10.7.7.7"]), getent


def test_form_feed_facts_agree_with_glibc(audited):
    hosts_file = hostnet(audited, "formfeed")["hosts_file"]
    names = hosts_file["names"]
    # Every address getaddrinfo gives for localhost, and only those, in the facts; 10.9.9.9 first, as getent hosts says.
    assert set(names["localhost"]) == set(audited["getent"][("ahosts", "localhost")][1]), names
    assert names["localhost"] == audited["getent"][("hosts", "localhost")][1], names
    assert names["vtname"] == ["10.8.8.8"] and names["fs\x1cfsname"] == ["10.7.7.7"] and "fsname" not in names
    first = hosts_file["entries"][0]
    assert (first["line"], first["address"], first["names"]) == (1, "10.9.9.9", ["alias", "localhost"])
    assert first["raw"] == "10.9.9.9 alias\\x0clocalhost"
    assert hosts_file["invalid_lines"] == []


def test_form_feed_audit_names_the_foreign_localhost(audited):
    (finding,) = findings(audited, "formfeed", "localhost-unreachable")
    assert finding["severity"] == "error" and "10.9.9.9" in finding["message"], finding
    # The line is quoted with its form feed shown (a console shows none: "aliaslocalhost").
    assert "/etc/hosts:1: 10.9.9.9 alias\\x0clocalhost" in finding["evidence"], finding["evidence"]


def test_odd_bytes_keep_the_hosts_facts(audited):
    assert audited["nodename"] == "'odd\\udcffnode'", audited["nodename"]  # the kernel took the byte
    facts = hostnet(audited, "oddbytes")
    # Every other fact is there: interfaces (the odd one too), routes, the identity with the byte replaced.
    names = [i["name"] for i in facts["interfaces"]["list"]]
    assert facts["interfaces"]["status"] == "ok" and {"lo", "eth1", "odd\x01if", "oddpeer"} <= set(names), names
    assert facts["routes"]["status"] == "ok" and facts["routes"]["default_ipv4"], facts["routes"]
    assert facts["identity"]["hostname"] == "odd\ufffdnode", facts["identity"]
    assert facts["sysctl"]["net.ipv4.ip_forward"]["value"] == "0"
    # Each odd source is named.
    problems = {p["source"]: p["message"] for p in facts["problems"]}
    assert any("odd\\xffnode" in m for m in problems.values()), problems
    assert any("/etc/netplan/junk\\xff.yaml" in m for m in problems.values()), problems
    assert any("odd\\x01if" in m and "control character" in m for m in problems.values()), problems


def test_odd_bytes_audit_reports_the_hosts_findings(audited):
    assert findings(audited, "oddbytes", "facts-missing") == [], audited["proc"].stdout[-3000:]
    assert findings(audited, "oddbytes", "ip-forward-disabled"), audited["report"]["hosts"]["oddbytes"]
    (hostname,) = findings(audited, "oddbytes", "hostname-invalid")
    assert "odd\ufffdnode" in hostname["message"], hostname
    (incomplete,) = findings(audited, "oddbytes", "facts-incomplete")
    evidence = "\n".join(incomplete["evidence"])
    for odd in ("odd\\xffnode", "/etc/netplan/junk\\xff.yaml", "odd\\x01if"):
        assert odd in evidence, evidence
    # Every report is still well formed (XML allows no control character), and names the host's findings.
    ElementTree.parse(os.path.join(audited["report_dir"], "hostnet-report.junit.xml"))
    for name in ("hostnet-report.md", "hostnet-report.html"):
        with open(os.path.join(audited["report_dir"], name), encoding="utf-8") as handle:
            text = handle.read()
        assert "ip-forward-disabled" in text and "odd\\xffnode" in text, name


def test_lone_carriage_return_fix_cures_what_glibc_sees(make_fleet):
    """A lone carriage return is whitespace inside a line for glibc: the audit flags localhost on the 10.9.9.9
    line, and the fix (hostnet_hosts, check mode first) must remove it there, as getent then shows."""
    fleet = make_fleet(["cr"])
    fleet.exec("cr", ["sh", "-c", "cat > /etc/hosts"], input_text="10.9.9.9 alias\rlocalhost\n127.0.0.1 localhost\n")

    def getent():
        proc = fleet.exec("cr", ["getent", "hosts", "localhost"])
        return [line.split()[0] for line in proc.stdout.split("\n") if line.strip()]

    assert getent()[0] == "10.9.9.9"  # the symptom
    rc, facts = run_module(fleet, "cr", "kubeprep.hostnet.hostnet_facts", {})
    assert rc == 0 and facts["ansible_facts"]["hostnet"]["hosts_file"]["names"]["localhost"] == ["10.9.9.9", "127.0.0.1"]
    before = fleet.exec("cr", ["od", "-c", "/etc/hosts"]).stdout
    rc, checked = run_module(fleet, "cr", "kubeprep.hostnet.hostnet_hosts", {}, "--check", "--diff")
    assert rc == 0 and checked["changed"], checked
    assert fleet.exec("cr", ["od", "-c", "/etc/hosts"]).stdout == before  # check mode changed nothing
    rc, fixed = run_module(fleet, "cr", "kubeprep.hostnet.hostnet_hosts", {})
    assert rc == 0 and fixed["changed"], fixed
    assert getent() == ["127.0.0.1"]  # the cure, as glibc sees it
    assert fleet.exec("cr", ["cat", "/etc/hosts"]).stdout == "10.9.9.9 alias\n127.0.0.1 localhost\n"
    rc, again = run_module(fleet, "cr", "kubeprep.hostnet.hostnet_hosts", {})
    assert rc == 0 and not again["changed"], again
