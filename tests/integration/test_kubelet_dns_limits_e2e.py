"""kubelet-dns-limits on real test hosts: a resolv.conf with four nameservers of which only the fourth answers.

glibc (like kubelet, for the pods it starts) reads only the first three nameservers: `getent hosts` on the host
fails while the same client pointed at the fourth alone resolves the name. The README's audit command names the
fourth as omitted on that host, and says nothing about a host whose three nameservers include the one that
answers."""

import os
import shutil
import subprocess
import time

import pytest

from conftest import VENV_BIN, ansible_env, load_report

NAME = "api.limits.example"
RULE = "kubelet-dns-limits"
# The same glibc client against the fourth nameserver alone: a private mount namespace inside the host whose
# /etc/resolv.conf lists only it (the host's own file is left as it is).
DIRECT = (
    'unshare --mount sh -c \'echo "nameserver $1" > /tmp/direct-resolv.conf'
    ' && mount --bind /tmp/direct-resolv.conf /etc/resolv.conf && exec getent hosts "$2"\' sh "$1" "$2"'
)


@pytest.fixture(scope="module")
def limits(make_fleet, tmp_path_factory):
    assert shutil.which("dnsmasq"), "Debian's dnsmasq-base is required (make test installs it)"
    fleet = make_fleet(["four", "three"])
    st = fleet.state
    answer = st["subnet"].rsplit(".", 1)[0] + ".250"
    silent = st["silent_nameservers"]  # .201-.203: their DNS traffic is dropped on the switch
    # The one nameserver that answers: a dnsmasq on the switch, at the gateway's address.
    dnsmasq = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            st["switch_ns"],
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=" + st["gateway"],
            "--host-record=%s,%s" % (NAME, answer),
            "--pid-file=",
            "--log-facility=-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        options = "options timeout:1 attempts:1\n"
        resolv = {
            "four": "".join("nameserver %s\n" % a for a in silent + [st["gateway"]]) + options,
            "three": "".join("nameserver %s\n" % a for a in silent[:2] + [st["gateway"]]) + options,
        }
        for host, text in resolv.items():
            fleet.exec(host, ["sh", "-c", "cat > /etc/resolv.conf"], input_text=text)
        deadline = time.monotonic() + 10
        while fleet.exec("four", ["sh", "-c", DIRECT, "sh", st["gateway"], NAME], check=False).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        seen = {
            "answer": answer,
            "fourth": st["gateway"],
            "resolv": {h: fleet.exec(h, ["cat", "/etc/resolv.conf"]).stdout for h in resolv},
            # The symptom, with glibc's own client inside each host.
            "getent": {h: fleet.exec(h, ["getent", "hosts", NAME], check=False, timeout=60) for h in resolv},
            "direct": fleet.exec("four", ["sh", "-c", DIRECT, "sh", st["gateway"], NAME], check=False),
        }
        # The README's audit command, run as a user would: an inventory, a report directory relative to the cwd.
        work = tmp_path_factory.mktemp("kubelet-dns-limits")
        inventory = os.path.join(fleet.state_dir, "inventory.ini")
        seen["proc"] = subprocess.run(
            [os.path.join(VENV_BIN, "ansible-playbook"), "kubeprep.hostnet.audit", "-i", inventory, "-e", "hostnet_report_dir=report"],
            cwd=str(work),
            env=ansible_env(fleet),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            timeout=600,
            check=False,
        )
        seen["report"] = load_report(str(work / "report"))
        yield seen
    finally:
        dnsmasq.terminate()
        dnsmasq.wait(timeout=10)


def findings(seen, host):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == RULE]


def test_the_fourth_nameserver_is_never_asked(limits):
    assert limits["resolv"]["four"].count("nameserver ") == 4 and limits["resolv"]["four"].splitlines()[3] == "nameserver " + limits["fourth"]
    # Asked directly, the fourth nameserver answers; from the host's resolv.conf, glibc never reaches it.
    direct = limits["direct"]
    assert direct.returncode == 0 and direct.stdout.split()[:2] == [limits["answer"], NAME], (direct.stdout, direct.stderr)
    four = limits["getent"]["four"]
    assert four.returncode == 2 and four.stdout == "", (four.returncode, four.stdout, four.stderr)
    # Within the first three, the same nameserver is reached behind the same two silent ones.
    three = limits["getent"]["three"]
    assert three.returncode == 0 and three.stdout.split()[:2] == [limits["answer"], NAME], (three.returncode, three.stdout, three.stderr)


def test_the_audit_names_the_omitted_nameserver(limits):
    fourth = limits["fourth"]
    (finding,) = findings(limits, "four")
    assert finding["severity"] == "warning", finding
    assert finding["message"] == "/etc/resolv.conf lists 4 nameservers (at most 3): kubelet omits %s" % fourth, finding
    assert finding["data"]["omitted_nameservers"] == [fourth] and finding["data"]["limits"] == ["nameservers"], finding
    assert any(
        line.startswith("kubelet keeps the first 3 (") and ("omits %s: Nameserver limits were exceeded" % fourth) in line for line in finding["evidence"]
    )
    assert finding["docs"] == "docs/rules/kubelet-dns-limits.md"
    assert "[WARNING %s] four" % RULE in limits["proc"].stdout, limits["proc"].stdout[-3000:]


def test_three_nameservers_are_no_finding(limits):
    assert findings(limits, "three") == []
    assert "[WARNING %s] three" % RULE not in limits["proc"].stdout
