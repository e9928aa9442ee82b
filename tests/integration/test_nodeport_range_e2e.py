"""nodeport-range-reserved on a real test host: with a local port range that reaches into the NodePort range and
nothing reserved, a client's outgoing connections get NodePort numbers as their source ports; the audit names it
with the exact sysctl; with that value reserved, the same client's ports all fall outside the NodePort range and
the audit is clean. The range is narrow (32760-32779: 8 NodePorts and 12 others) so that 20 held connections use
every port of it, whatever order the kernel picks them in."""

import pytest

from conftest import load_report, run_playbook

LOCAL_RANGE = "32760 32779"
# A client on the node: 20 connections held open to a local server; prints each source port, or the error that
# stopped it (EADDRNOTAVAIL once the usable ports are used up).
CLIENT = """
import errno, socket
server = socket.socket()
server.bind(("127.0.0.1", 8080))
server.listen(64)
held, ports = [], []
for _ in range(20):
    sock = socket.socket()
    try:
        sock.connect(("127.0.0.1", 8080))
    except OSError as exc:
        print(errno.errorcode[exc.errno])
        break
    held.append(sock)
    ports.append(sock.getsockname()[1])
print(" ".join(str(p) for p in sorted(ports)))
"""


def client_ports(fleet):
    lines = fleet.exec("nodeport", ["python3", "-c", CLIENT]).stdout.split("\n")
    return [int(p) for p in lines[-2].split()] if lines[-2].strip() else [], lines[:-2]


def audit(fleet, out):
    result = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s" % out, "-e", "hostnet_fail_on=never")
    assert result.returncode == 0, result.stdout[-3000:]
    return [f for f in load_report(str(out))["hosts"]["nodeport"]["findings"] if f["id"] == "nodeport-range-reserved"], result.stdout


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["nodeport"])
    fleet.exec("nodeport", ["sh", "-c", "echo '%s' > /proc/sys/net/ipv4/ip_local_port_range; echo > /proc/sys/net/ipv4/ip_local_reserved_ports" % LOCAL_RANGE])
    return fleet


def test_source_ports_in_the_nodeport_range_then_the_finding_then_reserved(fleet, tmp_path):
    # The symptom: the client's connections take NodePort numbers (32760-32767) as source ports.
    ports, errors = client_ports(fleet)
    assert len(ports) == 20 and errors == [], (ports, errors)
    assert [p for p in ports if 30000 <= p <= 32767] == list(range(32760, 32768)), ports
    [finding], stdout = audit(fleet, tmp_path / "before")
    assert finding["severity"] == "warning"
    assert finding["message"].startswith("the kernel may hand out 8 NodePorts (32760-32767) as source ports: ip_local_port_range 32760-32779"), finding
    assert "net.ipv4.ip_local_reserved_ports = (none)" in finding["evidence"], finding
    assert "[WARNING nodeport-range-reserved] nodeport: the kernel may hand out 8 NodePorts" in stdout
    # The fix the finding prints, as a user runs it on the host.
    assert "sysctl -w net.ipv4.ip_local_reserved_ports=30000-32767" in finding["fix"]
    fleet.exec("nodeport", ["sysctl", "-w", "net.ipv4.ip_local_reserved_ports=30000-32767"])
    ports, errors = client_ports(fleet)
    assert ports == list(range(32768, 32780)) and errors == ["EADDRNOTAVAIL"], (ports, errors)
    assert audit(fleet, tmp_path / "after")[0] == []
