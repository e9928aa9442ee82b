"""k3s/rke2's service-cidr and cluster-cidr on the hosts fill the judge's Service and Pod CIDRs where the inputs
left them at the default, when the hosts agree; the report's source names the distribution, file, line and host."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rancherinputs, rules

from helpers import fleet

K3S = "/etc/rancher/k3s/config.yaml"


def config(**values):
    return {
        "distribution": "k3s",
        "files": [K3S],
        "values": {key.replace("_", "-"): {"value": value, "file": K3S, "line": n} for n, (key, value) in enumerate(sorted(values.items()), 1)},
        "errors": [],
    }


def test_agreeing_hosts_fill_the_defaults_and_say_where_from():
    facts = {"a": {"rancher_config": config(service_cidr="10.43.0.0/16", cluster_cidr="10.42.0.0/16,fd00:42::/56")}, "b": {}, "c": "unreachable"}
    facts["d"] = {"rancher_config": config(service_cidr="10.43.0.0/16")}
    options, sources = {"service_cidrs": ["10.96.0.1"], "pod_cidr": "10.244.0.0/16"}, {"hostnet_service_ips": "default", "hostnet_pod_cidr": "default"}
    assert rancherinputs.fill(options, facts, sources) == ["hostnet_service_ips", "hostnet_pod_cidr"]
    assert options == {"service_cidrs": ["10.43.0.0/16"], "pod_cidr": "10.42.0.0/16,fd00:42::/56"}
    assert sources == {
        "hostnet_service_ips": "k3s /etc/rancher/k3s/config.yaml:2 on a and 1 more host agreeing",
        "hostnet_pod_cidr": "k3s /etc/rancher/k3s/config.yaml:1 on a",
    }


@pytest.mark.parametrize(
    "sources, second, why",
    [
        ({"hostnet_service_ips": "user"}, "10.43.0.0/16", "the user's value wins"),
        ({"hostnet_service_ips": "kubespray kube_service_addresses"}, "10.43.0.0/16", "the installer's value wins"),
        ({}, "10.99.0.0/16", "the hosts disagree"),
        ({}, None, "not a CIDR"),
    ],
)
def test_nothing_is_filled_when(sources, second, why):
    facts = {"a": {"rancher_config": config(service_cidr="10.43.0.0/16" if second else "10.43.0.0/33")}}
    if second:
        facts["b"] = {"rancher_config": config(service_cidr=second)}
    options, before = {"service_cidrs": ["10.96.0.1"]}, dict(sources)
    assert rancherinputs.fill(options, facts, sources) == [], why
    assert options == {"service_cidrs": ["10.96.0.1"]} and sources == before


def test_the_filled_service_cidr_is_the_one_the_rules_judge(tmp_path):
    """An address inside k3s's 10.43.0.0/16 is an overlap only once the hosts' value is used."""
    facts = fleet(tmp_path, count=1)
    facts["node1"]["resolv_conf"]["nameservers"] = [{"address": "10.43.0.10", "line": 1}]
    facts["node1"]["rancher_config"] = config(service_cidr="10.43.0.0/16")
    options = {"service_cidrs": ["10.96.0.1"]}
    overlap = [f for f in rules.evaluate(facts, dict(options))["hosts"]["node1"]["findings"] if "10.43.0.10" in " ".join(f["evidence"])]
    assert overlap == []
    rancherinputs.fill(options, facts, {})
    overlap = [f for f in rules.evaluate(facts, options)["hosts"]["node1"]["findings"] if "10.43.0.10" in " ".join(f["evidence"])]
    assert [f["severity"] for f in overlap] == ["error"] and "Service CIDR 10.43.0.0/16" in overlap[0]["evidence"][0], overlap
