"""NetworkManager, trusted only where it is the host's own: a process named NetworkManager in another PID
namespace on the same machine (a container's) is not the host's (one detection for the facts and hostnet_route);
the README remediate command exits 0 on stock hosts while one runs."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import VENV_BIN, ansible_env, load_report, run_playbook


@pytest.fixture(scope="module")
def fleet(make_fleet):
    return make_fleet(["n1", "n2"], stock=True)


@pytest.fixture
def container_networkmanager(tmp_path):
    """A copy of sleep named NetworkManager, pid 1 of a PID namespace of its own (as in a container) on this
    machine; ended by its pid at the end."""
    binary = tmp_path / "NetworkManager"
    shutil.copy(shutil.which("sleep"), str(binary))
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", str(binary), "600"])
    pids = []
    try:
        until = time.time() + 10
        while time.time() < until and not pids:
            pids = [p for p in os.listdir("/proc") if p.isdigit() and _comm(p) == "NetworkManager" and _ppid(p) == proc.pid]
            time.sleep(0.05)
        assert pids, "the NetworkManager stand-in did not start"
        yield int(pids[0])
    finally:
        # pid 1 of a PID namespace takes from this namespace only SIGKILL (it has no handlers); unshare then exits.
        for pid in pids:
            os.kill(int(pid), signal.SIGKILL)
        if not pids:
            proc.kill()
        proc.wait(10)


def _comm(pid):
    try:
        with open("/proc/%s/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return None


def _ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def readme_remediate(fleet, cwd, *extra):
    """README: `ansible-playbook kubeprep.hostnet.remediate -i inventory.ini -e hostnet_service_route_gateway=...`."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "kubeprep.hostnet.remediate", "-i", "inventory.ini"] + list(extra)
    return subprocess.run(
        cmd, cwd=str(cwd), env=ansible_env(fleet), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False
    )


def test_readme_remediate_ignores_a_networkmanager_in_another_pid_namespace(fleet, tmp_path, container_networkmanager):
    # The stand-in is visible in every test host's /proc (they share this machine's PID namespace), and the
    # hosts have no NetworkManager of their own (no /etc/NetworkManager/conf.d).
    listing = fleet.exec("n1", ["sh", "-c", "cat /proc/%d/comm; ls -d /etc/NetworkManager/conf.d 2>&1 || true" % container_networkmanager]).stdout
    assert listing.startswith("NetworkManager\n") and "No such file" in listing, listing
    workdir = tmp_path / "empty"
    workdir.mkdir()
    shutil.copy(os.path.join(fleet.state_dir, "inventory.ini"), str(workdir / "inventory.ini"))
    result = readme_remediate(fleet, workdir, "-e", "hostnet_service_route_gateway=%s" % fleet.state["gateway"])
    assert result.returncode == 0, result.stdout[-6000:]
    for report in (load_report(str(workdir / "hostnet-report" / "before")), load_report(str(workdir / "hostnet-report"))):
        ids = sorted(f["id"] for host in report["hosts"].values() for f in host["findings"])
        assert "networkmanager-manages-cni" not in ids, ids


ROUTE_PLAY = """
- hosts: n2
  gather_facts: false
  environment:
    PATH: /tmp/fakebin:/usr/sbin:/usr/bin:/sbin:/bin
  tasks:
    - kubeprep.hostnet.hostnet_route:
        dest: 10.96.0.0/12
        gateway: "{{ gateway }}"
        interface: eth1
        neighbour_timeout: 0
      check_mode: true
      register: route
    - ansible.builtin.debug:
        msg: "MANAGER={{ route.manager }}"
"""


def test_route_module_does_not_take_a_containers_networkmanager_for_the_hosts(fleet, tmp_path, container_networkmanager):
    # hostnet_route's persist=auto on a host with ifupdown, nmcli installed (a stand-in on PATH) and NetworkManager's
    # runtime directory left over, but no NetworkManager of its own: the one in another PID namespace is not the host's.
    fleet.exec("n2", ["sh", "-c", "mkdir -p /run/NetworkManager /etc/network /tmp/fakebin && touch /etc/network/interfaces"])
    fleet.exec("n2", ["sh", "-c", "cat > /tmp/fakebin/nmcli && chmod 0755 /tmp/fakebin/nmcli"], input_text="#!/bin/sh\nexit 8\n")
    playbook = tmp_path / "route.yml"
    playbook.write_text(ROUTE_PLAY)
    try:
        result = run_playbook(fleet, str(playbook), "-e", "gateway=%s" % fleet.state["gateway"])
    finally:
        fleet.exec("n2", ["rm", "-rf", "/run/NetworkManager", "/tmp/fakebin"])
    assert result.returncode == 0, result.stdout[-4000:]
    assert "MANAGER=ifupdown" in result.stdout, result.stdout[-4000:]
