"""Rule docker-bip-mismatch over captured and built facts: it fires on the fault and its variants, not on near misses."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import host_facts


def test_flag_values():
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import cniconf

    assert cniconf.flag_values("--node-ip=1.2.3.4 -iface eth1 --v=2") == {"node-ip": "1.2.3.4", "iface": "eth1", "v": "2"}


def test_docker_bip_mismatch(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    facts["container_network"] = {
        "flannel_subnet_env": {"status": "ok", "values": {"FLANNEL_SUBNET": "10.244.1.1/24", "FLANNEL_MTU": "1450"}},
        "docker_daemon_json": {"status": "missing", "path": "/etc/docker/daemon.json"},
    }
    [finding] = rules.evaluate({"h": facts})["hosts"]["h"]["findings"]
    assert finding["id"] == "docker-bip-mismatch"
    assert "bip is unset (docker0 keeps 172.17.0.1/16), FLANNEL_SUBNET is 10.244.1.1/24" in finding["message"]
    facts["container_network"]["docker_daemon_json"] = {"status": "ok", "path": "/etc/docker/daemon.json", "bip": "10.244.1.1/24", "mtu": 1450}
    assert rules.evaluate({"h": facts})["hosts"]["h"]["findings"] == []
