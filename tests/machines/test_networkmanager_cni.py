"""networkmanager-manages-cni on a booted Debian 12 where NetworkManager is in charge of eth1.

A CNI-like bridge (cni0, with the first address of a pod subnet) is created
the way flannel's bridge plugin does, behind NetworkManager's back.
NetworkManager takes it: ``nmcli`` shows it ``connected (externally)``. After
the remediation's drop-in and reload it shows ``unmanaged``, and after a reboot
a bridge made again is unmanaged from the start.
"""

import json
import os

import pytest
from machinelib import load_report, run_playbook

MAKE_CNI0 = "ip link add cni0 type bridge && ip addr add 10.244.0.1/24 dev cni0 && ip link set cni0 up && sleep 2"
STATE = "nmcli -g GENERAL.STATE device show cni0"


@pytest.fixture(scope="module")
def nm(make_machines, tmp_path_factory):
    fleet = make_machines([{"name": "nm-cni", "image": "bookworm", "manager": "NetworkManager", "gateway": True}])
    seen = {}
    fleet.ssh("nm-cni", MAKE_CNI0)
    seen["before"] = fleet.ssh("nm-cni", STATE).stdout.strip()
    seen["reports"] = str(tmp_path_factory.mktemp("nm-cni"))
    seen["remediate"] = run_playbook(fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_report_dir=" + seen["reports"])
    seen["after"] = fleet.ssh("nm-cni", "sleep 1; " + STATE).stdout.strip()
    fleet.reboot("nm-cni")
    fleet.ssh("nm-cni", MAKE_CNI0)
    seen["rebooted"] = fleet.ssh("nm-cni", STATE).stdout.strip()
    playbook = os.path.join(str(tmp_path_factory.mktemp("nm-role")), "role.yml")
    with open(playbook, "w") as handle:
        handle.write("- hosts: all\n  gather_facts: false\n  roles: [kubeprep.hostnet.hostnet_networkmanager]\n")
    seen["again"] = run_playbook(fleet, playbook)
    return seen


def test_networkmanager_takes_the_cni_bridge_and_the_audit_names_it(nm):
    assert nm["before"].startswith("100 (connected (externally))"), nm["before"]
    before = load_report(os.path.join(nm["reports"], "before"))
    (finding,) = [f for f in before["hosts"]["nm-cni"]["findings"] if f["id"] == "networkmanager-manages-cni"]
    assert "cni0" in finding["message"] and "NetworkManager is running" in finding["evidence"], finding


def test_the_drop_in_lets_go_now_and_after_a_reboot(nm):
    assert nm["remediate"].returncode == 0, nm["remediate"].stdout[-3000:]
    with open(os.path.join(nm["reports"], "hostnet-changes.json")) as handle:
        host = json.load(handle)["hosts"]["nm-cni"]
    assert host["outcome"] == "fixed", host
    assert nm["after"].startswith("10 (unmanaged)"), nm["after"]
    assert nm["rebooted"].startswith("10 (unmanaged)"), nm["rebooted"]


def test_the_role_run_again_changes_nothing(nm):
    """Idempotent on its own too: the drop-in is there and no CNI device is held any more."""
    proc = nm["again"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    recap = [line for line in proc.stdout.splitlines() if line.startswith("nm-cni") and "changed=" in line]
    assert recap and "changed=0" in recap[-1], recap
