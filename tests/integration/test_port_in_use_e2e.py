"""port-in-use on real test hosts: a process that is not the cluster's holds 6443; a real bind of 6443 there fails
with EADDRINUSE (what kube-apiserver would meet), then the audit, run as a user with sudo, names the port, the pid
and the command. A host whose 6443 is free, and one where the kube-apiserver stand-in holds it, get no finding."""

import os
import subprocess

import pytest

from conftest import LISTENER, load_report, run_playbook

NAMES = ["busy", "free", "apiserver"]
# A service left on the host (a load balancer of another cluster, say): listens on 6443 like kube-apiserver would.
FOREIGN = (
    "import socket, sys, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('0.0.0.0', 6443)); s.listen(8); print('up', flush=True); time.sleep(600)"
)
# What kube-apiserver does at its start: bind 6443 on every address.
BIND = """
import errno, socket
sock = socket.socket()
try:
    sock.bind(("0.0.0.0", 6443))
    print("bound")
except OSError as exc:
    print(errno.errorcode[exc.errno])
"""


@pytest.fixture(scope="module")
def audited(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES)
    fleet.exec("apiserver", ["python3", "-c", LISTENER])  # the cluster's own: named kube-apiserver
    args = ["nsenter", "--target", str(fleet.sshd_pid(fleet.host("busy"))), "--net", "--mount", "--uts", "--"]
    holder = subprocess.Popen(args + ["python3", "-c", FOREIGN, "legacy-lb"], stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        seen = {"pid": holder.pid, "bind": {n: fleet.exec(n, ["python3", "-c", BIND]).stdout.strip() for n in NAMES}}
        seen["ss"] = fleet.exec("busy", ["ss", "-ltnp", "sport = :6443"]).stdout
        # The user's path: log in as a user, become root with sudo, -e key=value strings.
        inventory = os.path.join(fleet.state_dir, "inventory-deploy.ini")
        with open(os.path.join(fleet.state_dir, "inventory.ini")) as handle:
            text = handle.read().replace("ansible_user=root", "ansible_user=deploy")
        with open(inventory, "w") as handle:
            handle.write(text)
        for name in NAMES:
            fleet.add_user(name, "deploy")
        out = str(tmp_path_factory.mktemp("port-in-use"))
        user_args = ("-b", "-e", "hostnet_report_dir=" + out, "-e", "hostnet_fail_on=never")
        seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", *user_args, inventory=inventory)
        seen["report"] = load_report(out)
    finally:
        holder.kill()
        holder.wait()
    return seen


def findings(seen, host):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == "port-in-use"]


def test_the_symptom_then_the_finding_naming_port_pid_and_command(audited):
    # The symptom: kube-apiserver's bind fails where 6443 is held (by the foreign listener, or the apiserver stand-in).
    assert audited["bind"] == {"busy": "EADDRINUSE", "free": "bound", "apiserver": "EADDRINUSE"}, audited["bind"]
    # The fix path's command shows the holder.
    assert "pid=%d" % audited["pid"] in audited["ss"], audited["ss"]
    assert audited["proc"].returncode == 0, audited["proc"].stdout[-3000:]
    (finding,) = findings(audited, "busy")
    assert finding["severity"] == "error", finding
    assert finding["message"].startswith("TCP port 6443 (kube-apiserver) is held by pid %d (python3 -c import socket" % audited["pid"]), finding
    assert finding["message"].endswith(" legacy-lb)"), finding
    assert "held by pid %d (python3): python3 -c import socket" % audited["pid"] in "\n".join(finding["evidence"]), finding
    assert "ss -ltnp 'sport = :6443'" in finding["fix"]
    assert "[ERROR port-in-use] busy: TCP port 6443 (kube-apiserver) is held by pid %d" % audited["pid"] in audited["proc"].stdout


def test_a_free_port_and_the_clusters_own_holder_are_no_finding(audited):
    assert [f["host"] for h in NAMES for f in findings(audited, h)] == ["busy"]
