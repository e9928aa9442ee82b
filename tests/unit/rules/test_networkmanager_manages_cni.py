"""Rule networkmanager-manages-cni over captured and built facts: it fires on the fault and its variants, not on near misses."""

import os

from helpers import host_facts, ids, judge


def test_networkmanager_manages_cni(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    facts["networkmanager"] = {"running": True, "config_files": ["/etc/NetworkManager/NetworkManager.conf"], "unmanaged_devices": [], "unmanaged_sections": []}
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["severity"] == "warning" and "cali0123456789a, tunl0" in finding["message"], finding
    # An older calico/flannel exclusion is not enough for calico's IPv6 VXLAN device, cni0, kube-ipvs0 and nodelocaldns.
    facts["networkmanager"]["unmanaged_devices"] = ["interface-name:cali*", "interface-name:tunl*", "interface-name:vxlan.calico", "interface-name:flannel*"]
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["data"]["managed"] == ["vxlan-v6.calico", "cni0", "kube-ipvs0", "nodelocaldns", "cilium_host", "weave"]
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


def test_kubespray_names_calicos_ipv6_vxlan_device_and_nodelocaldns(tmp_path):
    """kubespray's preinstall (0062-networkmanager-unmanaged-devices.yml) writes calico.conf and k8s.conf with these
    patterns: its calico names and nodelocaldns's dummy device are covered, the other CNIs' are not; one without
    vxlan-v6.calico or nodelocaldns leaves that device to NetworkManager."""
    from ansible_collections.kubeprep.hostnet.plugins.module_utils import nmconf

    kubespray = [
        (
            "/etc/NetworkManager/conf.d/calico.conf",
            "[keyfile]\nunmanaged-devices+=interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:vxlan-v6.calico\n",
        ),
        ("/etc/NetworkManager/conf.d/k8s.conf", "[keyfile]\nunmanaged-devices+=interface-name:kube-ipvs0;interface-name:nodelocaldns\n"),
    ]
    facts = host_facts(tmp_path, "debian12")
    facts["networkmanager"] = dict(nmconf.parse(kubespray), running=True, config_files=[path for path, _text in kubespray])
    (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
    assert finding["data"]["managed"] == ["flannel.1", "cni0", "cilium_host", "weave"], finding
    for dropped, device in (("interface-name:vxlan-v6.calico", "vxlan-v6.calico"), ("interface-name:nodelocaldns", "nodelocaldns")):
        texts = [(path, text.replace(";" + dropped, "")) for path, text in kubespray]
        facts["networkmanager"] = dict(nmconf.parse(texts), running=True, config_files=[path for path, _text in texts])
        (finding,) = [f for f in judge(facts) if f["id"] == "networkmanager-manages-cni"]
        assert device in finding["data"]["managed"] and device in finding["message"], finding
