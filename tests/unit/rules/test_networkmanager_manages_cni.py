"""Rule networkmanager-manages-cni over captured and built facts: it fires on the fault and its variants, not on near misses."""

import os

from helpers import host_facts, ids, judge


def test_networkmanager_manages_cni(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    facts["networkmanager"] = {"running": True, "config_files": ["/etc/NetworkManager/NetworkManager.conf"], "unmanaged_devices": [], "unmanaged_sections": []}
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["severity"] == "warning" and "cali0123456789a, tunl0" in finding["message"], finding
    # kubespray's calico/flannel exclusion is not enough for cni0 and kube-ipvs0.
    facts["networkmanager"]["unmanaged_devices"] = ["interface-name:cali*", "interface-name:tunl*", "interface-name:vxlan.calico", "interface-name:flannel*"]
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["data"]["managed"] == ["cni0", "kube-ipvs0", "cilium_host", "weave"]
    # The role's drop-in (its default patterns) covers them all; NetworkManager stopped: nothing to judge.

    import yaml

    defaults = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "roles", "hostnet_networkmanager", "defaults", "main.yml")
    with open(defaults) as handle:
        patterns = yaml.safe_load(handle)["hostnet_networkmanager_unmanaged"]
    facts["networkmanager"]["unmanaged_sections"] = [
        {"section": "device-kubeprep-hostnet-cni", "specs": ["interface-name:" + p for p in patterns], "managed": False, "path": "/x"}
    ]
    assert "networkmanager-manages-cni" not in ids(judge(facts))
    facts["networkmanager"] = {"running": False, "unmanaged_devices": [], "unmanaged_sections": []}
    assert "networkmanager-manages-cni" not in ids(judge(facts))
