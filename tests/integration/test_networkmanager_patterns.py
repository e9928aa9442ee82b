"""Role hostnet_networkmanager never lets NetworkManager take the node's own interfaces: a pattern that matches
the interface of the controller's session, of a default route or of the node address, or that carries
NetworkManager's list syntax or a newline, is refused before any change (no drop-in, no `nmcli device set`)."""

import json

import pytest

from conftest import run_playbook

DROPIN = "/etc/NetworkManager/conf.d/90-kubeprep-hostnet-cni.conf"
# nmcli stand-in (the test hosts have no NetworkManager): logs its arguments, lists the devices NetworkManager has.
FAKE_NMCLI = """#!/bin/sh
echo "$*" >> /tmp/nmcli.log
case "$*" in
  *"device status"*) printf 'eth1:connected\\nlo:unmanaged\\nnodenic0:connected\\ncali0:connected\\n'; cat /tmp/nmcli.extra 2>/dev/null || true ;;
esac
"""
PLAY = """
- hosts: p1
  gather_facts: false
  environment:
    PATH: /tmp/fakebin:/usr/sbin:/usr/bin:/sbin:/bin
  roles:
    - role: kubeprep.hostnet.hostnet_networkmanager
      vars:
        hostnet_networkmanager_reload: false
"""


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["p1"])
    fleet.exec(
        "p1",
        [
            "sh",
            "-c",
            "ip link add nodenic0 type veth peer name peer0 && ip addr add 10.77.0.5/24 dev nodenic0 && ip link set nodenic0 up && mkdir -p /tmp/fakebin",
        ],
    )
    fleet.exec("p1", ["sh", "-c", "cat > /tmp/fakebin/nmcli && chmod 0755 /tmp/fakebin/nmcli"], input_text=FAKE_NMCLI)
    return fleet


def apply(fleet, tmp_path, extra_vars, *args):
    fleet.exec("p1", ["sh", "-c", "mkdir -p /etc/NetworkManager/conf.d && rm -f %s /tmp/nmcli.log" % DROPIN])
    if "nmcli_extra" in extra_vars:  # more devices NetworkManager holds (name:state lines)
        fleet.exec("p1", ["sh", "-c", "cat > /tmp/nmcli.extra"], input_text=extra_vars.pop("nmcli_extra"))
    else:
        fleet.exec("p1", ["rm", "-f", "/tmp/nmcli.extra"])
    playbook = tmp_path / "nm.yml"
    playbook.write_text(PLAY)
    result = run_playbook(fleet, str(playbook), "-e", json.dumps(extra_vars), *args)
    dropin = fleet.exec("p1", ["sh", "-c", "cat %s 2>/dev/null || echo ABSENT" % DROPIN]).stdout
    log = fleet.exec("p1", ["sh", "-c", "cat /tmp/nmcli.log 2>/dev/null || true"]).stdout
    return result, dropin, log


@pytest.mark.parametrize(
    "patterns, node_address, named",
    [
        (["cali*", "eth*"], "", "matches eth1"),  # the SSH session's and the default route's interface
        (["*"], "", "matches eth1"),
        (["e?h1"], "", "matches eth1"),
        (["node*"], "10.77.0.5", "matches nodenic0, which the node needs (it holds the node address 10.77.0.5)"),
        (["cali*\n[main]\ndns=none"], "", "control character"),
        (["cali*;eth1"], "", "list syntax (';')"),
        (["cali*,eth1"], "", "list syntax (',')"),
    ],
)
def test_unsafe_pattern_is_refused_before_any_change(fleet, tmp_path, patterns, node_address, named):
    extra = {"hostnet_networkmanager_unmanaged": patterns, "hostnet_networkmanager_node_address": node_address}
    result, dropin, log = apply(fleet, tmp_path, extra)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "refusing the interface pattern" in result.stdout and named in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in result.stdout
    assert dropin.strip() == "ABSENT", dropin
    assert "device set" not in log, log


def test_safe_patterns_are_written_and_only_their_devices_released(fleet, tmp_path):
    extra = {"hostnet_networkmanager_node_address": "10.77.0.5"}
    checked, dropin, log = apply(fleet, tmp_path, extra, "--check", "--diff")
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert dropin.strip() == "ABSENT" and "device set" not in log
    assert "+match-device=interface-name:cali*;interface-name:tunl*" in checked.stdout
    result, dropin, log = apply(fleet, tmp_path, extra)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "match-device=interface-name:cali*;interface-name:tunl*;" in dropin and "managed=0" in dropin, dropin
    assert [line for line in log.splitlines() if "device set" in line] == ["device set cali0 managed no"], log


def test_kubesprays_nodelocaldns_and_calicos_ipv6_vxlan_devices_are_released(fleet, tmp_path):
    """kubespray's preinstall leaves nodelocaldns (NodeLocal DNSCache's dummy device) and vxlan-v6.calico unmanaged:
    the role's default patterns do too, and a NetworkManager already holding them lets go of them."""
    extra = {"hostnet_networkmanager_node_address": "10.77.0.5", "nmcli_extra": "nodelocaldns:connected\nvxlan-v6.calico:connected\nwg-v6.cali:connected\n"}
    result, dropin, log = apply(fleet, tmp_path, extra)
    assert result.returncode == 0, result.stdout[-3000:]
    for name in ("nodelocaldns", "vxlan-v6.calico", "wireguard.cali", "wg-v6.cali"):
        assert "interface-name:%s;" % name in dropin, dropin
    released = sorted(line for line in log.splitlines() if "device set" in line)
    assert released == [
        "device set cali0 managed no",
        "device set nodelocaldns managed no",
        "device set vxlan-v6.calico managed no",
        "device set wg-v6.cali managed no",
    ], log
