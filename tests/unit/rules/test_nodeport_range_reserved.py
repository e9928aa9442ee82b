"""Rule nodeport-range-reserved over built facts: a local port range overlapping the NodePort range, not reserved,
fires with the exact sysctl value; reserved, disjoint or unread ranges do not."""

import pytest

from helpers import host_facts, judge

RULE = "nodeport-range-reserved"


def local_ports(port_range, reserved, raw_reserved=None):
    return {
        "status": "ok",
        "port_range": list(port_range),
        "reserved": [list(r) for r in reserved],
        "raw": {"port_range": "%d\t%d" % tuple(port_range), "reserved": raw_reserved if raw_reserved is not None else ""},
    }


def found(tmp_path, fact, **options):
    facts = host_facts(tmp_path, "debian12")
    facts["local_ports"] = fact
    return [f for f in judge(facts, **options) if f["id"] == RULE]


def test_a_widened_local_range_with_nothing_reserved_is_a_warning_with_the_exact_fix(tmp_path):
    [finding] = found(tmp_path, local_ports((1024, 65535), []))
    assert finding["severity"] == "warning", finding
    assert finding["message"] == (
        "the kernel may hand out 2768 NodePorts (30000-32767) as source ports: ip_local_port_range 1024-65535 overlaps the "
        "NodePort range 30000-32767 and ip_local_reserved_ports does not reserve them"
    )
    assert finding["evidence"] == [
        "net.ipv4.ip_local_port_range = 1024 65535",
        "net.ipv4.ip_local_reserved_ports = (none)",
        "NodePort range 30000-32767 (hostnet_service_node_port_range)",
        "NodePorts the kernel may hand out: 30000-32767 (2768)",
    ]
    assert "sysctl -w net.ipv4.ip_local_reserved_ports=30000-32767" in finding["fix"]
    assert "`net.ipv4.ip_local_reserved_ports = 30000-32767` in /etc/sysctl.d/90-nodeport-reserved.conf" in finding["fix"]
    assert "bind: address already in use" in finding["why"] and "kubespray reserves" in finding["why"]


def test_partly_reserved_names_the_gaps_and_keeps_the_hosts_own_reservations(tmp_path):
    [finding] = found(tmp_path, local_ports((10000, 65535), [(8080, 8080), (30000, 30999), (32000, 32767)], "8080,30000-30999,32000-32767"))
    assert "1000 NodePorts (31000-31999)" in finding["message"], finding
    assert "net.ipv4.ip_local_reserved_ports = 8080,30000-30999,32000-32767" in finding["evidence"]
    assert "sysctl -w net.ipv4.ip_local_reserved_ports=8080,30000-32767" in finding["fix"]
    assert finding["data"] == {"nodeports_unreserved": [[31000, 31999]], "reserved_ports": "8080,30000-32767"}


def test_the_overlap_only_and_the_nodeport_range_option(tmp_path):
    # A local range ending inside the NodePort range: only the shared ports count.
    [finding] = found(tmp_path / "a", local_ports((20000, 30099), []))
    assert "100 NodePorts (30000-30099)" in finding["message"] and "ip_local_port_range 20000-30099" in finding["message"]
    # kubespray's kube_apiserver_node_port_range set to another range, as hostnet_service_node_port_range.
    [finding] = found(tmp_path / "b", local_ports((32768, 60999), []), service_node_port_range="40000-40009")
    assert "10 NodePorts (40000-40009)" in finding["message"] and "NodePort range 40000-40009" in finding["message"]
    # One port left.
    [finding] = found(tmp_path / "c", local_ports((1024, 65535), [(30000, 32766)]))
    assert "1 NodePort (32767)" in finding["message"]


@pytest.mark.parametrize(
    "fact",
    [
        local_ports((32768, 60999), []),  # Linux's default: disjoint from 30000-32767
        local_ports((1024, 65535), [(30000, 32767)], "30000-32767"),  # kubespray's reservation
        local_ports((1024, 65535), [(1024, 65535)], "1024-65535"),
        local_ports((1024, 29999), []),
        dict(local_ports((1024, 65535), []), reserved=None, status="partial"),  # reserved ports unread: not judged
        {"status": "not_applicable", "reason": "root is /x"},
        None,
    ],
    ids=["linux-default", "reserved", "all-reserved", "below", "reserved-unread", "not-applicable", "no-fact"],
)
def test_near_misses_are_clean(tmp_path, fact):
    facts = host_facts(tmp_path, "debian12")
    facts["local_ports"] = fact
    if fact is None:
        facts.pop("local_ports")
    assert [f for f in judge(facts) if f["id"] == RULE] == []
    facts["local_ports"] = local_ports((1024, 65535), [])  # and the same host with the fault fires: the rule ran
    assert [f["id"] for f in judge(facts) if f["id"] == RULE] == [RULE]
