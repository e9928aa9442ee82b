"""The embedding examples in docs/examples, run as a user would: against real
test hosts, with kubespray's inventory layout and variables, --limit,
import_role and include_role, gather_facts off."""

import os

import pytest
import yaml

from conftest import ROOT, load_report, run_playbook

EXAMPLES = os.path.join(ROOT, "docs", "examples")
KUBESPRAY_GROUPS = """
[kube_control_plane]
host1

[kube_node]
host1
host2

[etcd]
host1

[k8s_cluster:children]
kube_control_plane
kube_node

[k8s_cluster:vars]
kube_service_addresses=10.233.0.0/18
"""
STAND_IN = """---
# Stands in for kubespray's cluster.yml (not fetched here): records that it ran, per host.
- name: Stand-in for kubespray cluster.yml
  hosts: k8s_cluster
  gather_facts: false
  tasks:
    - name: Record that the install ran
      ansible.builtin.copy:
        content: "ran\\n"
        dest: "{marker}/ran-{{{{ inventory_hostname }}}}"
        mode: "0644"
      delegate_to: localhost
"""


@pytest.fixture(scope="module")
def fleet(make_fleet, tmp_path_factory):
    fleet = make_fleet(["host1", "host2"])
    with open(os.path.join(fleet.state_dir, "inventory.ini")) as handle:
        text = handle.read()
    fleet.kubespray_inventory = os.path.join(fleet.state_dir, "kubespray.ini")
    with open(fleet.kubespray_inventory, "w") as handle:
        handle.write(text + KUBESPRAY_GROUPS)
    return fleet


@pytest.fixture
def kubespray(tmp_path):
    marker = tmp_path / "marker"
    marker.mkdir()
    (tmp_path / "kubespray").mkdir()
    (tmp_path / "kubespray" / "cluster.yml").write_text(STAND_IN.format(marker=marker))
    return {"dir": str(tmp_path / "kubespray"), "marker": marker, "report": str(tmp_path / "kubespray-report")}


def gate(fleet, kubespray, *extra):
    return run_playbook(
        fleet,
        os.path.join(EXAMPLES, "kubespray-gate.yml"),
        "-e",
        "kubespray_dir=%s" % kubespray["dir"],
        "-e",
        "hostnet_report_dir=%s" % kubespray["report"],
        *extra,
        inventory=fleet.kubespray_inventory,
    )


@pytest.fixture
def host2_lost_default_route(fleet):
    gateway = fleet.state["gateway"]
    fleet.exec("host2", ["ip", "route", "del", "default"])
    yield
    fleet.exec("host2", ["ip", "route", "add", "default", "via", gateway])


def test_kubespray_gate_lets_a_clean_fleet_through(fleet, kubespray):
    proc = gate(fleet, kubespray)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(p.name for p in kubespray["marker"].iterdir()) == ["ran-host1", "ran-host2"]
    report = load_report(kubespray["report"])
    assert sorted(report["hosts"]) == ["host1", "host2"]


def test_kubespray_gate_stops_the_install_on_f2(fleet, kubespray, host2_lost_default_route):
    proc = gate(fleet, kubespray)
    assert proc.returncode != 0
    # The Service IP checked is the first of kubespray's kube_service_addresses, not kubeadm's 10.96.0.1.
    assert "[ERROR service-network-unroutable] host2" in proc.stdout and "10.233.0.1" in proc.stdout, proc.stdout[-3000:]
    seen = [line for line in proc.stdout.splitlines() if line.strip().startswith("seen:")]
    assert any("10.233.0.1" in line for line in seen) and not any("10.96.0.1" in line for line in seen), seen
    assert list(kubespray["marker"].iterdir()) == []  # kubespray never started, on any host


def test_kubespray_gate_honours_limit(fleet, kubespray, host2_lost_default_route):
    proc = gate(fleet, kubespray, "--limit", "host1")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(load_report(kubespray["report"])["hosts"]) == ["host1"]
    assert [p.name for p in kubespray["marker"].iterdir()] == ["ran-host1"]


def test_kubeadm_preflight_with_include_role(fleet, tmp_path, host2_lost_default_route):
    args = ["-e", "kubeadm_marker_dir=%s" % tmp_path, "-e", "hostnet_report_dir=%s" % (tmp_path / "report")]
    proc = run_playbook(fleet, os.path.join(EXAMPLES, "kubeadm-preflight.yml"), "--limit", "host2", *args)
    assert proc.returncode != 0 and "Host networking preflight failed" in proc.stdout, proc.stdout[-3000:]
    assert not (tmp_path / "kubeadm-host2.cmd").exists()
    proc = run_playbook(fleet, os.path.join(EXAMPLES, "kubeadm-preflight.yml"), "--limit", "host1", *args)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "kubeadm-host1.cmd").read_text().startswith("kubeadm init --service-cidr 10.96.0.0/12")


def test_rke_cluster_yml_uses_the_recommended_addresses(fleet, tmp_path):
    target = tmp_path / "cluster.yml"
    proc = run_playbook(
        fleet, os.path.join(EXAMPLES, "rke-cluster-yml.yml"), "-e", "rke_cluster_yml=%s" % target, "-e", "hostnet_report_dir=%s" % (tmp_path / "r")
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    nodes = yaml.safe_load(target.read_text())["nodes"]
    assert [(n["hostname_override"], n["address"], n["internal_address"]) for n in nodes] == [
        (h["name"], h["address"], h["address"]) for h in sorted(fleet.hosts, key=lambda h: h["name"])
    ]
