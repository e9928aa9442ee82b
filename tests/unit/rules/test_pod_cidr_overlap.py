"""Rule pod-cidr-overlap: the Pod network (hostnet_pod_cidr) against the host's addresses, gateways,
nameservers (errors) and routes (warnings)."""

from helpers import host_facts, judge


def overlap(tmp_path, **options):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": "nameserver 10.244.3.3\n"})
    return [f for f in judge(facts, **options) if f["id"] == "pod-cidr-overlap"]


def test_a_nameserver_inside_the_default_pod_network_is_an_error(tmp_path):
    [finding] = overlap(tmp_path)
    assert finding["severity"] == "error" and "Pod CIDR 10.244.0.0/16 overlaps nameserver 10.244.3.3" in finding["message"]
    assert finding["data"]["network"] == "10.244.0.0/16"


def test_the_pod_cidr_option_decides(tmp_path):
    assert overlap(tmp_path / "a", pod_cidr="192.168.128.0/17") == []
    [finding] = overlap(tmp_path / "b", pod_cidr="10.244.3.0/24")
    assert finding["data"]["network"] == "10.244.3.0/24"
