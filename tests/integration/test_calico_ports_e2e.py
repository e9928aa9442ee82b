"""port-in-use on a real test host for calico's felix health port: another process listens on localhost:9099;
there felix's own bind fails with EADDRINUSE and the HTTP GET calico-node's liveness probe makes
(`calico-node -felix-live` asks http://localhost:9099/liveness) is answered by that process, not felix. Then the
audit with hostnet_cni=calico names the port, the pid and the command."""

import subprocess

import pytest

from conftest import load_report, run_playbook

# A web server left on the host that happens to use felix's health port (a status page, say).
FOREIGN = ["python3", "-u", "-m", "http.server", "9099", "--bind", "127.0.0.1"]  # -u: its "Serving HTTP" line at once
# What felix does at its start: bind its health endpoint on localhost:9099.
BIND = """
import errno, socket
sock = socket.socket()
try:
    sock.bind(("127.0.0.1", 9099))
    print("bound")
except OSError as exc:
    print(errno.errorcode[exc.errno])
"""
# What calico-node's liveness probe does: GET /liveness on felix's health port; felix answers 204 when live.
PROBE = """
import urllib.error, urllib.request
try:
    print(urllib.request.urlopen("http://localhost:9099/liveness", timeout=5).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


@pytest.fixture(scope="module")
def audited(make_fleet, tmp_path_factory):
    fleet = make_fleet(["felix"])
    args = ["nsenter", "--target", str(fleet.sshd_pid(fleet.host("felix"))), "--net", "--mount", "--uts", "--"]
    holder = subprocess.Popen(args + FOREIGN, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    try:
        assert "Serving HTTP" in holder.stdout.readline()
        seen = {"pid": holder.pid, "bind": fleet.exec("felix", ["python3", "-c", BIND]).stdout.strip()}
        seen["probe"] = fleet.exec("felix", ["python3", "-c", PROBE]).stdout.strip()
        out = str(tmp_path_factory.mktemp("calico-ports"))
        user_args = ("-e", "hostnet_report_dir=" + out, "-e", "hostnet_fail_on=never", "-e", "hostnet_cni=calico")
        seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", *user_args)
        seen["report"] = load_report(out)
    finally:
        holder.kill()
        holder.wait()
    return seen


def test_felix_health_port_held_then_the_finding(audited):
    # The symptom: felix cannot bind its health port, and calico-node's liveness probe gets the other server's 404.
    assert audited["bind"] == "EADDRINUSE", audited["bind"]
    assert audited["probe"] == "404", audited["probe"]
    assert audited["proc"].returncode == 0, audited["proc"].stdout[-3000:]
    [finding] = [f for f in audited["report"]["hosts"]["felix"]["findings"] if f["id"] == "port-in-use"]
    assert finding["severity"] == "error", finding
    assert finding["message"].startswith("TCP port 9099 (calico felix health) is held by pid %d (python3 -u -m http.server 9099" % audited["pid"]), finding
    assert finding["evidence"][0].startswith("tcp 127.0.0.1:9099 (socket inode "), finding
    assert "ss -ltnp 'sport = :9099'" in finding["fix"]
