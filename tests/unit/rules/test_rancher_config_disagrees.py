"""Rule rancher-config-disagrees: hosts whose k3s/rke2 configs set different service-cidr or cluster-cidr values are
one fleet error naming each value's hosts and files; agreeing hosts, hosts without the key and unparsed keys are
not compared."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import fleet

RULE = "rancher-config-disagrees"
K3S = "/etc/rancher/k3s/config.yaml"


def rancher(value=None, key="service-cidr", distribution="k3s", path=K3S, line=2, unparsed=False):
    entry = {"value": None if unparsed else value, "file": path, "line": line}
    if unparsed:
        entry["unparsed"] = True
    return {"distribution": distribution, "files": [path], "values": {key: entry} if value or unparsed else {}, "errors": []}


def found(facts):
    result = rules.evaluate(facts)
    return result["fleet"]["findings"] + [f for d in result["hosts"].values() for f in d["findings"] if f["id"] == RULE]


def test_hosts_setting_different_cidrs_are_an_error(tmp_path):
    facts = fleet(tmp_path, count=3)
    facts["node1"]["rancher_config"] = rancher("10.43.0.0/16")
    facts["node2"]["rancher_config"] = rancher("10.43.0.0/16, fd00:43::/112".replace(", ", ","), line=3)
    facts["node3"]["rancher_config"] = rancher("10.43.0.0/16", distribution="rke2", path="/etc/rancher/rke2/config.yaml.d/50-net.yaml", line=1)
    (finding,) = [f for f in found(facts) if f["id"] == RULE]
    assert finding["severity"] == "error" and finding["host"] is None and finding["hosts"] == ["node1", "node2", "node3"]
    assert finding["message"] == "the hosts' k3s/rke2 configurations set 2 different service-cidr values"
    assert finding["evidence"] == [
        "service-cidr 10.43.0.0/16: node1 (k3s /etc/rancher/k3s/config.yaml:2), node3 (rke2 /etc/rancher/rke2/config.yaml.d/50-net.yaml:1)",
        "service-cidr 10.43.0.0/16,fd00:43::/112: node2 (k3s /etc/rancher/k3s/config.yaml:3)",
    ]
    assert "critical configuration value mismatch" in finding["why"] and "every host's /etc/rancher/{k3s,rke2}/config.yaml" in finding["fix"]
    assert finding["data"]["values"] == {"10.43.0.0/16": ["node1", "node3"], "10.43.0.0/16,fd00:43::/112": ["node2"]}


def test_agreeing_missing_and_unparsed_are_clean(tmp_path):
    facts = fleet(tmp_path, count=4)
    facts["node1"]["rancher_config"] = rancher("10.43.0.0/16")
    facts["node2"]["rancher_config"] = rancher(" 10.43.0.0/16 ".strip())
    facts["node3"]["rancher_config"] = rancher(None)  # an agent: no service-cidr
    facts["node4"]["rancher_config"] = rancher(unparsed=True)  # facts-incomplete names it
    assert [f for f in found(facts) if f["id"] == RULE] == []
    facts["node4"]["rancher_config"] = rancher("", line=5)
    facts["node4"]["rancher_config"]["values"] = {"service-cidr": {"value": "", "file": K3S, "line": 5}}  # empty: k3s's default
    assert [f for f in found(facts) if f["id"] == RULE] == []
    facts["node4"]["rancher_config"] = rancher("10.44.0.0/16", key="cluster-cidr")  # another key: not compared with service-cidr
    assert [f for f in found(facts) if f["id"] == RULE] == []
