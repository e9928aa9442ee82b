"""Verify (testinfra) after auditing clean hosts: no findings, nothing changed,
and localhost really works on every host."""

import json
import os

import pytest

REPORT = os.path.join(os.environ["HOSTNET_REPORT_DIR"], "hostnet-report.json")

CONNECT = (
    'python3 -c \'import socket; s=socket.socket(); s.settimeout(2); s.bind(("127.0.0.1", 0)); '
    's.listen(1); p=s.getsockname()[1]; c=socket.create_connection(("localhost", p), 2); print("ok")\''
)


@pytest.fixture(scope="module")
def report():
    with open(REPORT) as handle:
        return json.load(handle)


def test_report_has_every_host_and_no_finding(host, report):
    name = host.backend.get_hostname()
    assert report["hosts"][name]["status"] == "ok"
    assert report["hosts"][name]["findings"] == []
    assert report["summary"]["failed"] is False


def test_audit_left_the_host_as_it_was(host):
    name = host.backend.get_hostname()
    hosts = host.file("/etc/hosts")
    assert hosts.content_string.splitlines()[:2] == ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    assert hosts.content_string.splitlines()[-1].endswith("\t%s.test.internal %s" % (name, name))
    assert host.file("/etc/nsswitch.conf").contains("^hosts:          files dns$")
    assert not host.file("/etc/hosts").is_symlink


def test_localhost_connects(host):
    assert host.check_output(CONNECT) == "ok"
