"""The host checks beyond the five incidents, each made real on a test host and
its symptom shown with a real client before the audit names it."""

import pytest

from conftest import load_report, run_playbook

NAMES = ["good", "named-localhost", "next-boot"]


@pytest.fixture(scope="module")
def audited(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES)
    # A host left with the image's name: the kernel's hostname is localhost (its own UTS namespace).
    fleet.exec("named-localhost", ["hostname", "localhost"])
    # A host whose /etc/hostname the next boot would apply: an invalid node name.
    fleet.exec("next-boot", ["sh", "-c", "echo node_2 > /etc/hostname"])
    seen = {
        # What kubelet would register: the lowercased hostname, and what that name resolves to.
        "node_name": {
            n: fleet.exec(n, ["python3", "-c", "import socket; n = socket.gethostname().lower(); print(n, socket.gethostbyname(n))"]).stdout.split()
            for n in NAMES
        },
    }
    out = str(tmp_path_factory.mktemp("host-rules"))
    seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out)
    seen["report"] = load_report(out)
    return seen


def findings(seen, host, rule):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == rule]


def test_hostname_localhost_symptom_and_finding(audited):
    # The symptom: the node would register as "localhost", a name that means loopback to every client.
    assert audited["node_name"]["named-localhost"] == ["localhost", "127.0.0.1"], audited["node_name"]
    (finding,) = findings(audited, "named-localhost", "hostname-invalid")
    assert finding["severity"] == "error" and "the kernel's hostname localhost is localhost" in finding["message"], finding
    assert "[ERROR hostname-invalid] named-localhost" in audited["proc"].stdout


def test_hostname_of_the_next_boot(audited):
    (finding,) = findings(audited, "next-boot", "hostname-invalid")
    assert "/etc/hostname (the name at the next boot) node_2 is not a DNS-1123 name" in finding["message"], finding
    assert "the kernel's hostname: next-boot" in finding["evidence"]


def test_valid_name_is_clean(audited):
    assert findings(audited, "good", "hostname-invalid") == []
