"""F2 across a real reboot under each network manager.

Every machine starts from the incident's state: its manager gives eth1 an
address and no gateway, so there is no default route and no route to the
Service network; kube-proxy's DNAT for 10.96.0.1:443 is installed at boot
and the apiserver listens. The client that failed in the incident (a TCP
connect to 10.96.0.1:443) fails before, connects after the remediation, and
still connects after the machine rebooted, because each manager now brings
the route up itself. A route added with ``ip route`` alone is shown gone
after the same reboot, so the reboot is real.
"""

import os

import pytest
from machinelib import BOOT_ENABLE, boot_services, load_report, probe, run_playbook

MANAGERS = ("ifupdown", "systemd-networkd", "NetworkManager", "netplan-networkd", "netplan-NetworkManager")
# Outside the Service CIDR 10.96.0.0/12 (a route inside it is a service-cidr-overlap warning); TEST-NET-1, no traffic sent.
CONTROL_ROUTE = "192.0.2.0/24"


def name_of(manager):
    return "f2-" + manager.lower().replace("systemd-", "").replace("networkmanager", "nm")


@pytest.fixture(scope="module")
def f2(make_machines, tmp_path_factory):
    specs = [{"name": name_of(m), "image": "bookworm", "manager": m, "files": boot_services, "enable": BOOT_ENABLE} for m in MANAGERS]
    fleet = make_machines(specs)
    names = [spec["name"] for spec in specs]
    gateway = fleet.state["gateway"]
    seen = {"names": names, "fleet": fleet}

    def look(phase):
        seen[phase] = {
            name: {
                "probe": probe(fleet, name, "10.96.0.1", 443),
                "routes": fleet.ssh(name, "ip route show").stdout,
                "ip_forward": fleet.ssh(name, "cat /proc/sys/net/ipv4/ip_forward").stdout.strip(),
                "boot_id": fleet.ssh(name, "cat /proc/sys/kernel/random/boot_id").stdout.strip(),
            }
            for name in names
        }

    look("before")
    fleet.ssh(names[0], "ip route add %s via %s dev eth1" % (CONTROL_ROUTE, gateway))
    reports = tmp_path_factory.mktemp("f2-reports")
    seen["remediate"] = run_playbook(
        fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_service_route_gateway=" + gateway, "-e", "hostnet_report_dir=%s" % reports
    )
    seen["reports"] = str(reports)
    look("fixed")
    fleet.reboot(names)
    look("rebooted")
    again = tmp_path_factory.mktemp("f2-again")
    seen["again"] = run_playbook(fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_service_route_gateway=" + gateway, "-e", "hostnet_report_dir=%s" % again)
    seen["files"] = {
        name: fleet.ssh(
            name,
            "ls -d /etc/network/if-up.d/kubeprep* /etc/systemd/network/*.d/* /etc/netplan/* /etc/NetworkManager/system-connections/* 2>/dev/null",
            check=False,
        ).stdout
        for name in names
    }
    return seen


def _by_machine(f2, phase, check):
    return {name: f2[phase][name] for name in f2["names"] if not check(f2[phase][name])}


def test_symptom_before_the_fix(f2):
    """The incident: no default route, so the connect fails before DNAT can matter."""
    wrong = _by_machine(f2, "before", lambda m: m["probe"].startswith("FAIL 10.96.0.1 ENETUNREACH") and "default" not in m["routes"])
    assert not wrong, wrong


def test_remediation_fixes_every_manager(f2):
    proc = f2["remediate"]
    assert proc.returncode == 0, proc.stdout[-4000:]
    changes = load_report(f2["reports"])
    assert all(changes["hosts"][name]["status"] == "ok" for name in f2["names"]), {n: changes["hosts"][n]["findings"] for n in f2["names"]}
    with open(os.path.join(f2["reports"], "hostnet-changes.json")) as handle:
        import json

        outcomes = {name: host["outcome"] for name, host in json.load(handle)["hosts"].items()}
    assert outcomes == dict.fromkeys(f2["names"], "fixed"), outcomes


def test_cure_after_the_fix(f2):
    wrong = _by_machine(f2, "fixed", lambda m: m["probe"].startswith("CONNECTED") and m["ip_forward"] == "1")
    assert not wrong, wrong


def test_the_reboot_is_real(f2):
    """A new boot of each machine; the route added with ip route alone is gone."""
    assert all(f2["rebooted"][n]["boot_id"] != f2["fixed"][n]["boot_id"] for n in f2["names"])
    first = f2["names"][0]
    assert CONTROL_ROUTE in f2["fixed"][first]["routes"]
    assert CONTROL_ROUTE not in f2["rebooted"][first]["routes"], f2["rebooted"][first]["routes"]


def test_cure_survives_the_reboot(f2):
    """Each manager brought the route (and systemd-sysctl ip_forward) back by itself."""
    wrong = _by_machine(f2, "rebooted", lambda m: m["probe"].startswith("CONNECTED") and "default via" in m["routes"] and m["ip_forward"] == "1")
    assert not wrong, (wrong, f2["files"])


def test_nothing_left_to_fix_after_the_reboot(f2):
    proc = f2["again"]
    assert proc.returncode == 0, proc.stdout[-4000:]
    recap = [line for line in proc.stdout.splitlines() if line.startswith(tuple(f2["names"])) and "changed=" in line]
    assert len(recap) == len(f2["names"]) and all("changed=0" in line for line in recap), recap
