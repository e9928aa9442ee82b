"""After remediation: the Service IP connects (through kube-proxy-style DNAT),
the route survives a flush because ifupdown re-applies it from the persisted
configuration, and the clean host was not touched."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_shared"))

from testinfra_helpers import changes, probe, report

HOOK = "/etc/network/if-up.d/kubeprep-hostnet-route-default"


def test_service_ip_connects(host):
    assert probe(host, "10.96.0.1", 443).startswith("CONNECTED 10.96.0.1 ")


def test_audit_clean(host):
    # The host had no default route at all (the incident's state): the fix gives it back, so both findings go.
    assert report()["hosts"][host.backend.get_hostname()]["findings"] == []


def test_route_is_persisted_with_ifupdown_and_comes_back(host):
    if host.backend.get_hostname() != "host1":
        assert not host.file(HOOK).exists
        return
    hook = host.file(HOOK)
    assert hook.mode == 0o755
    assert "|| ip route add default via " in hook.content_string
    host.check_output("ip route del default")
    assert probe(host, "10.96.0.1", 443).split()[2] == "ENETUNREACH"  # the reboot-like state
    # ifup --force re-runs the interface's up hooks; ifdown would take eth1 (our SSH path) down.
    host.check_output("mkdir -p /run/network && ifup --force eth1")
    assert "default via" in host.check_output("ip route show default")
    assert probe(host, "10.96.0.1", 443).startswith("CONNECTED 10.96.0.1 ")


def test_second_run_changed_nothing(host):
    assert changes()["hosts"][host.backend.get_hostname()]["changes"] == []
