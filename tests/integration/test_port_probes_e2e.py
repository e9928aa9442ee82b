"""node-port-unreachable on real test hosts: peers' nftables drop and reject ports a cluster
needs; the symptom is shown with a real client first, then the audit (as a user with sudo,
-e key=value strings) names source, destination, port and result, and no listener is left."""

import os
import subprocess
import time

import pytest

from conftest import VENV_BIN, ansible_env, load_report, run_playbook

NAMES = ["cp1", "w1", "w2", "w3", "w4"]
# w1 drops kubelet's port and rejects calico's VXLAN; cp1 (the etcd group) drops etcd's peer port.
FIREWALLS = {
    "w1": "tcp dport 10250 drop\n udp dport 4789 reject\n",
    "cp1": "tcp dport 2380 drop\n",
}
# How the tests run the playbooks: become root with sudo, the probes on, -e key=value strings.
AS_A_USER = ("-b", "-e", "hostnet_probe_ports=true", "-e", "hostnet_cni=calico")
CONNECT = """
import socket, sys, time
start = time.time()
sock = socket.socket()
sock.settimeout(3)
try:
    sock.connect((sys.argv[1], int(sys.argv[2])))
    print("connected")
except socket.timeout:
    print("timeout %.1f" % (time.time() - start))
except OSError as exc:
    print("error", exc.errno)
"""
# A stand-in for a service already on the host: the audit must leave its port alone.
HOLD_TCP = (
    "import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('0.0.0.0', %d)); s.listen(8); print('up', flush=True); time.sleep(600)"
)
HOLD_UDP = "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', %d)); print('up', flush=True); time.sleep(600)"


def in_host(fleet, name, args):
    return ["nsenter", "--target", str(fleet.sshd_pid(fleet.host(name))), "--net", "--mount", "--uts", "--"] + args


def hold(fleet, name, script):
    proc = subprocess.Popen(in_host(fleet, name, ["python3", "-c", script]), stdout=subprocess.PIPE, universal_newlines=True)
    assert proc.stdout.readline().strip() == "up"
    return proc


def connect(fleet, source, destination, port):
    return fleet.exec(source, ["python3", "-c", CONNECT, fleet.host(destination)["address"], str(port)]).stdout.strip()


def running_listeners(fleet, name):
    """Processes named kubeprep-probe that still run (an exited one waits as a zombie until this machine's
    init reaps it, which here takes about a second)."""
    out = fleet.exec(name, ["ps", "-C", "kubeprep-probe", "-o", "pid=,stat="], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and not line.split()[1].startswith("Z")]


def listeners_left(fleet):
    return {name: running_listeners(fleet, name) for name in NAMES}


@pytest.fixture(scope="module")
def probed(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES)
    for name, rules in FIREWALLS.items():
        fleet.exec(
            name,
            ["nft", "-f", "-"],
            input_text="table inet kubeprep_test {\n chain input {\n type filter hook input priority 0;\n iif lo accept\n %s }\n}\n" % rules,
        )
    seen = {}
    # The symptom, with a real client: a kubelet stand-in on w1:10250 answers w1 itself, never a peer.
    kubelet = hold(fleet, "w1", HOLD_TCP % 10250)
    try:
        seen["w1_to_itself"] = connect(fleet, "w1", "w1", 10250)
        seen["w3_to_w1"] = connect(fleet, "w3", "w1", 10250)
    finally:
        kubelet.kill()
        kubelet.wait()
    # Services already running: an API server stand-in on w2:6443, a VXLAN socket on w3:4789.
    holders = [hold(fleet, "w2", HOLD_TCP % 6443), hold(fleet, "w3", HOLD_UDP % 4789)]
    # The user's path: log in as a user, become root with sudo, an [etcd] group, -e key=value strings.
    inventory = os.path.join(fleet.state_dir, "inventory-deploy.ini")
    with open(os.path.join(fleet.state_dir, "inventory.ini")) as handle:
        text = handle.read().replace("ansible_user=root", "ansible_user=deploy")
    with open(inventory, "w") as handle:
        handle.write(text + "\n[etcd]\ncp1\n")
    for name in NAMES:
        fleet.add_user(name, "deploy")
    out = str(tmp_path_factory.mktemp("probes"))
    try:
        started = time.perf_counter()
        seen["proc"] = run_playbook(
            fleet, "kubeprep.hostnet.audit", *AS_A_USER, "-e", "hostnet_report_dir=" + out, "-e", "hostnet_fail_on=never", inventory=inventory
        )
        seen["seconds"] = time.perf_counter() - started
        seen["left"] = listeners_left(fleet)
        seen["w2_6443_holder_alive"] = holders[0].poll() is None
        seen["w2_after"] = connect(fleet, "w2", "w2", 6443)
    finally:
        for proc in holders:
            proc.kill()
            proc.wait()
    seen["report"] = load_report(out)
    with open(os.path.join(out, "hostnet-report.html")) as handle:
        seen["html"] = handle.read()
    seen["fleet"] = fleet
    seen["inventory"] = inventory
    return seen


def findings(seen, host, rule="node-port-unreachable", severity=None):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == rule and (severity is None or f["severity"] == severity)]


def pairs(seen):
    return {(c["source"], c["destination"]): c for c in seen["report"]["overview"]["probes"]["matrix"]}


def sources_of(seen, dest):
    return sorted(s for (s, d) in pairs(seen) if d == dest)


def test_the_symptom_a_peer_times_out_where_the_host_itself_connects(probed):
    assert probed["w1_to_itself"] == "connected", probed
    assert probed["w3_to_w1"].startswith("timeout 3."), probed


def test_dropped_and_rejected_ports_name_source_destination_port_and_result(probed):
    assert probed["proc"].returncode == 0, probed["proc"].stdout[-3000:]
    (finding,) = findings(probed, "w1", severity="error")
    expected_sources = sources_of(probed, "w1")
    assert len(expected_sources) == 3  # the default sample of peers, not all four
    assert finding["message"] == "tcp/10250, udp/4789 on w1 not reachable from %s (refused, timeout)" % ", ".join(expected_sources), finding
    failures = {(f["source"], f["proto"], f["port"], f["result"]) for f in finding["data"]["failures"]}
    assert failures == {(s, "tcp", 10250, "timeout") for s in expected_sources} | {(s, "udp", 4789, "refused") for s in expected_sources}
    address = probed["fleet"].host("w1")["address"]
    assert any(
        line.startswith("%s (" % expected_sources[0]) and "-> w1 %s tcp/10250 (kubelet): timeout after 2" % address in line for line in finding["evidence"]
    )
    assert "[ERROR node-port-unreachable] w1: tcp/10250, udp/4789 on w1" in probed["proc"].stdout


def test_etcd_ports_only_on_the_etcd_group(probed):
    (finding,) = findings(probed, "cp1", severity="error")
    assert {(f["port"], f["result"]) for f in finding["data"]["failures"]} == {(2380, "timeout")}, finding
    listeners = probed["report"]["overview"]["probes"]["listeners"]
    assert "tcp/2379" in listeners["cp1"]["listening"] and "tcp/2379" not in listeners["w4"]["listening"]
    # calico's BGP port is below 1024: it listened because the steps ran with become.
    assert all("tcp/179" in listeners[n]["listening"] for n in NAMES), listeners


def test_a_port_in_use_is_never_taken_and_said_so(probed):
    listeners = probed["report"]["overview"]["probes"]["listeners"]
    assert listeners["w2"]["in_use"] == ["tcp/6443 (0.0.0.0:6443)"] and "tcp/6443" not in listeners["w2"]["listening"]
    assert probed["w2_6443_holder_alive"] and probed["w2_after"] == "connected"
    # A TCP port in use is probed against the service there (open); a UDP one cannot be: a warning, never silence.
    assert all(pairs(probed)[(s, "w2")]["failed"] == [] for s in sources_of(probed, "w2"))
    (warning,) = findings(probed, "w3", severity="warning")
    assert all("w3 udp/4789: not probed: in use by 0.0.0.0:4789" in line for line in warning["evidence"]), warning
    assert len(warning["evidence"]) == 3


def test_clean_hosts_have_no_finding_and_every_pair_ran(probed):
    assert findings(probed, "w4") == [] and findings(probed, "w2") == []
    matrix = pairs(probed)
    assert len(matrix) == 5 * 3 and all(c["ran"] for c in matrix.values())
    assert {c["df"] for c in matrix.values()} == {"passed"}


def test_no_listener_is_left(probed):
    assert probed["left"] == {name: [] for name in NAMES}, probed["left"]
    # Every listener heard "done" from each of its peers and ended itself: the last task had none to stop, so
    # every host ended the role before it (meta end_role, on the controller) and it ran on none.
    out = probed["proc"].stdout
    assert "End the audit on the hosts with nothing to stop or fail" in out, out[-3000:]
    assert "TASK [kubeprep.hostnet.audit : Stop the listeners, and the hosts the gate does not pass]" not in out, out[-3000:]


def test_the_html_report_draws_the_matrix(probed):
    html = probed["html"]
    assert 'id="probe-matrix"' in html and "source \\ destination" in html
    source = sources_of(probed, "w1")[0]
    assert 'class="error" title="2 of 4 port(s) open; tcp/10250 kubelet: timeout; udp/4789 calico VXLAN: refused; DF datagram of the MTU: passed"' in html
    matrix = html[html.index('id="probe-matrix"') :].split("</table>", 1)[0]  # the failing-pairs table has its own cells
    assert matrix.count('<td class="error"') == 3 + 3  # w1 from its three sources, cp1 from its three
    assert "<th>%s</th>" % source in html
    # w3's VXLAN port is held by a UDP socket: its cells say a port was not probed, never all clear.
    assert matrix.count(">3/3 +1?</td>") == 3 and '<td class="warning" title="3 of 3 port(s) open; DF datagram of the MTU: passed; 1 port(s) not probed' in html


def test_a_listener_the_controller_never_stops_ends_at_its_lifetime(probed, tmp_path):
    """The listeners outlive the SSH session (detached), and end by themselves when no stop comes:
    a playbook that listens with a 3-second lifetime, then fails before any stop."""
    playbook = tmp_path / "abandon.yml"
    playbook.write_text(
        """
- hosts: w4
  gather_facts: false
  tasks:
    - kubeprep.hostnet.hostnet_facts:
    - kubeprep.hostnet.hostnet_port_probe: {step: listen, lifetime: 3}
    - ansible.builtin.fail: {msg: the controller gives up here}
"""
    )
    fleet = probed["fleet"]
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "-i", probed["inventory"], "-b", str(playbook)],
        env=ansible_env(fleet),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0 and "the controller gives up here" in proc.stdout, proc.stdout[-2000:]
    assert running_listeners(fleet, "w4"), "the listener should be running after the play ended"
    until = time.time() + 15
    while time.time() < until and running_listeners(fleet, "w4"):
        time.sleep(0.5)
    assert running_listeners(fleet, "w4") == []


def test_probes_off_by_default(probed, tmp_path):
    out = str(tmp_path / "report")
    proc = run_playbook(probed["fleet"], "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out, "-e", "hostnet_fail_on=never")
    assert proc.returncode == 0, proc.stdout[-2000:]
    # Probes off costs no per-host task and no plan: each host ends the probe step on the controller (meta
    # end_role) before the plan, and neither the probe nor the listeners' stop task is queued for any host.
    assert "TASK [kubeprep.hostnet.audit : Skip the probe step on the hosts without a listener]" in proc.stdout, proc.stdout[-3000:]
    assert "TASK [kubeprep.hostnet.audit : Plan the port probes between nodes]" not in proc.stdout, proc.stdout[-3000:]
    assert "TASK [kubeprep.hostnet.audit : Probe the peers]" not in proc.stdout, proc.stdout[-3000:]
    assert "TASK [kubeprep.hostnet.audit : Stop the listeners, and the hosts the gate does not pass]" not in proc.stdout
    report = load_report(out)
    assert report["overview"]["probes"] == {"enabled": False, "peers": None, "hosts": [], "matrix": [], "listeners": {}}
    assert not [f for h in report["hosts"].values() for f in h["findings"] if f["id"] == "node-port-unreachable"]


def test_the_remediation_judges_the_probes_again_after_its_fixes(probed, tmp_path):
    """A fix runs (ip_forward on w4), so the remediation audits again: that audit judges the first audit's
    probes (no fix changes a firewall) instead of saying the ports are fine, and no listener is left."""
    fleet = probed["fleet"]
    fleet.exec("w4", ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    out = str(tmp_path / "remediate")
    proc = run_playbook(fleet, "kubeprep.hostnet.remediate", *AS_A_USER, "-e", "hostnet_report_dir=" + out, inventory=probed["inventory"])
    assert proc.returncode == 0 and "TASK [kubeprep.hostnet.hostnet_sysctl" in proc.stdout, proc.stdout[-3000:]
    before, after = load_report(os.path.join(out, "before")), load_report(out)
    for report in (before, after):
        (finding,) = [f for f in report["hosts"]["w1"]["findings"] if f["id"] == "node-port-unreachable" and f["severity"] == "error"]
        assert {(f["port"], f["result"]) for f in finding["data"]["failures"]} == {(10250, "timeout"), (4789, "refused")}
    assert after["overview"]["probes"]["matrix"] == before["overview"]["probes"]["matrix"]
    assert not [f for f in after["hosts"]["w4"]["findings"] if f["id"] == "ip-forward-disabled"]
    assert listeners_left(fleet) == {name: [] for name in NAMES}
