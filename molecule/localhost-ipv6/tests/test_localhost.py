"""After remediation: localhost:6443 connects (same client as prepare), the audit
is clean, every original line of /etc/hosts survives byte for byte, and the
clean host was not touched."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_shared"))

from testinfra_helpers import changes, probe, report

INCIDENT_LINES = [
    "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6",
    "127.0.0.1   centos7.Localdomain",
]


def test_localhost_connects(host):
    out = probe(host, "localhost", 6443)
    assert out.startswith("CONNECTED 127.0.0.1 ") or out.startswith("CONNECTED ::1 "), out


def test_ipv6_still_off_on_lo_so_the_fix_is_the_hosts_file(host):
    if host.backend.get_hostname() == "host1":
        assert host.file("/proc/sys/net/ipv6/conf/lo/disable_ipv6").content_string.strip() == "1"


def test_hosts_file_kept_every_line(host):
    lines = host.file("/etc/hosts").content_string.splitlines()
    if host.backend.get_hostname() == "host1":
        assert lines == ["127.0.0.1\tlocalhost"] + INCIDENT_LINES
        backups = host.run("ls /etc/hosts.*~").stdout.split()
        assert len(backups) == 1
        assert host.file(backups[0]).content_string.splitlines() == INCIDENT_LINES
    else:
        assert lines[0] == "127.0.0.1\tlocalhost"
        assert host.run("ls /etc/hosts.*~").rc != 0  # never touched: no backup either


def test_audit_clean_and_idempotent(host):
    name = host.backend.get_hostname()
    assert report()["hosts"][name]["findings"] == []
    # The idempotence run found nothing before and changed nothing.
    assert report("before")["hosts"][name]["findings"] == []
    assert changes()["hosts"][name]["changes"] == []
