"""After pinning: each host's recommended address is its eth1 address, host1's
service is reachable there from the other hosts, the vars files say so, and
kubelet is pinned."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "_shared"))

from testinfra_helpers import REPORT_DIR, probe, report


def eth1_address(host):
    return host.interface("eth1").addresses[0]


def test_recommendation_is_eth1(host):
    rec = report()["recommendations"][host.backend.get_hostname()]
    assert (rec["interface"], rec["address"], rec["reaches_hosts"]) == ("eth1", eth1_address(host), 2)


def test_host1_reachable_at_its_recommended_address(host):
    host1 = report()["recommendations"]["host1"]["address"]
    assert probe(host, host1, 6443).startswith("CONNECTED %s " % host1)


def test_vars_file(host):
    name = host.backend.get_hostname()
    with open(os.path.join(REPORT_DIR, "before", "host_vars", "%s.yml" % name)) as handle:
        text = handle.read()
    address = eth1_address(host)
    for line in ("ip: %s" % address, "access_ip: %s" % address, "flannel_interface: eth1", 'calico_ip_auto_method: "interface=eth1"'):
        assert line in text.splitlines()


def test_kubelet_pinned_and_audit_downgraded(host):
    assert host.file("/etc/default/kubelet").content_string == 'KUBELET_EXTRA_ARGS="--node-ip=%s"\n' % eth1_address(host)
    after = report()
    assert after["hosts"][host.backend.get_hostname()]["findings"] == []
    [shared] = after["fleet"]["findings"]
    assert shared["id"] == "shared-default-address" and shared["severity"] == "info"
