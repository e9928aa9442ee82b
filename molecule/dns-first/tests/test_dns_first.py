"""After remediation: localhost resolves at once although the nameservers are
still silent, nsswitch.conf kept every other line, and resolv.conf got bounds."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_shared"))

from testinfra_helpers import changes, probe, report


def test_localhost_lookup_is_fast(host):
    start = time.monotonic()
    out = host.check_output("timeout 6 getent ahosts localhost")
    assert "127.0.0.1" in out
    assert time.monotonic() - start < 3
    resolve_seconds = float(probe(host, "localhost", 22).split()[-1])
    assert resolve_seconds < 0.5


def test_nsswitch_only_the_hosts_line_changed(host):
    lines = host.file("/etc/nsswitch.conf").content_string.splitlines()
    assert lines[3] == "hosts:          files dns"
    assert lines[:3] == ["passwd:         files", "group:          files", "shadow:         files"]
    assert lines[4:] == ["networks:       files", "protocols:      db files", "services:       db files"]


def test_resolver_bounded_on_the_faulty_host_only(host):
    text = host.file("/etc/resolv.conf").content_string
    if host.backend.get_hostname() == "host1":
        assert text.splitlines()[-1] == "options timeout:1 attempts:2"
        assert text.count("nameserver") == 3  # nameservers kept
    else:
        assert re.fullmatch(r"nameserver 10\.213\.\d+\.1\noptions timeout:1 attempts:2\n", text), text  # as the harness wrote it


def test_audit_clean_and_idempotent(host):
    name = host.backend.get_hostname()
    assert report()["hosts"][name]["findings"] == []
    assert changes()["hosts"][name]["changes"] == []
