"""F3 with the incident's real runtimes, on a booted Debian 11: Go 1.15.15
(Debian's golang-1.15-go) and glibc 2.31.

The machine has no /etc/nsswitch.conf and three nameservers that never
answer (the switch drops DNS to them). A static Go 1.15 program built on the
machine (CGO_ENABLED=0, Go's own resolver) dials localhost:6443 as
kube-apiserver did and gets the seed's ``dial tcp: i/o timeout``: Go before
1.16 reads a missing nsswitch.conf as DNS first. glibc 2.31's getaddrinfo
without the file asks DNS first too. The audit names the binary from its real
build info; the remediation cures both clients, also after a reboot.
"""

import pytest
from machinelib import load_report, run_playbook

APISERVER = """package main

import (
\t"fmt"
\t"net"
\t"os"
\t"time"
)

// Dials the apiserver by name, as kube-apiserver's loopback client does.
func main() {
\tstart := time.Now()
\tconn, err := net.DialTimeout("tcp", "localhost:6443", 5*time.Second)
\tif err != nil {
\t\tfmt.Printf("FAIL %v %.1f\\n", err, time.Since(start).Seconds())
\t\tos.Exit(0)
\t}
\tfmt.Printf("CONNECTED %s %.1f\\n", conn.RemoteAddr(), time.Since(start).Seconds())
}
"""
BUILD = (
    "cd /root/apiserver && HOME=/root GOCACHE=/root/.cache/go GO111MODULE=off CGO_ENABLED=0 "
    "/usr/lib/go-1.15/bin/go build -o /usr/local/bin/kube-apiserver main.go"
)
LISTENER_UNIT = "kp-apiserver.service"


@pytest.fixture(scope="module")
def f3(make_machines, tmp_path_factory):
    from machinelib import BOOT_UNITS

    files = {k: v for k, v in BOOT_UNITS.items() if "proxy" not in k}
    files["root/apiserver/main.go"] = (APISERVER, 0o644)
    fleet = make_machines(
        [{"name": "f3-go115", "image": "bullseye", "gateway": True, "files": files, "enable": [LISTENER_UNIT], "remove": ["etc/nsswitch.conf"]}]
    )
    name = "f3-go115"
    silent = "".join("nameserver %s\n" % address for address in fleet.state["silent_nameservers"])
    fleet.ssh(name, "cat > /etc/resolv.conf", input_text=silent)
    seen = {"fleet": fleet, "build": fleet.ssh(name, BUILD + " && /usr/lib/go-1.15/bin/go version /usr/local/bin/kube-apiserver", check=False)}

    def look(phase):
        seen[phase] = {
            "go": fleet.ssh(name, "/usr/local/bin/kube-apiserver", timeout=60).stdout.strip(),
            "getent": fleet.ssh(name, "timeout 6 getent ahosts localhost >/dev/null; echo $?").stdout.strip(),
            "nsswitch": fleet.ssh(name, "cat /etc/nsswitch.conf 2>&1", check=False).stdout,
        }

    look("before")
    seen["glibc"] = fleet.ssh(name, "ldd --version | head -1").stdout
    image = tmp_path_factory.mktemp("f3-image")
    seen["image_report"] = str(image)
    seen["image_audit"] = run_playbook(
        fleet, "kubeprep.hostnet.image_audit", "-e", "hostnet_image_root=" + fleet.host(name)["root"], "-e", "hostnet_report_dir=%s" % image
    )
    seen["reports"] = str(tmp_path_factory.mktemp("f3-reports"))
    seen["remediate"] = run_playbook(
        fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_name_service_resolver_timeout=1", "-e", "hostnet_report_dir=" + seen["reports"]
    )
    look("fixed")
    fleet.reboot(name)
    look("rebooted")
    return seen


def test_the_runtimes_are_the_incidents(f3):
    assert f3["build"].returncode == 0, f3["build"].stderr
    assert f3["build"].stdout.strip().endswith("go1.15.15"), f3["build"].stdout
    assert "2.31" in f3["glibc"], f3["glibc"]


def test_symptom_before_the_fix(f3):
    """Go 1.15: the seed's error after the client's 5 s; glibc 2.31: the lookup outlives 6 s."""
    before = f3["before"]
    assert before["go"].startswith("FAIL dial tcp: i/o timeout"), before
    assert before["getent"] == "124", before
    assert "No such file" in before["nsswitch"]


def test_image_audit_names_the_real_go115_binary(f3):
    proc = f3["image_audit"]
    assert proc.returncode != 0, proc.stdout[-3000:]
    (finding,) = [f for f in load_report(f3["image_report"])["hosts"]["localhost"]["findings"] if f["id"] == "dns-before-files"]
    assert "/usr/local/bin/kube-apiserver: built with go1.15.15 (DNS before /etc/hosts)" in finding["evidence"], finding


def test_remediation_cures_both_clients(f3):
    assert f3["remediate"].returncode == 0, f3["remediate"].stdout[-4000:]
    for phase in ("fixed", "rebooted"):
        seen = f3[phase]
        assert seen["go"].startswith(("CONNECTED 127.0.0.1:6443", "CONNECTED [::1]:6443")), (phase, seen)
        assert seen["getent"] == "0", (phase, seen)
