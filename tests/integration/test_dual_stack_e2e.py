"""Dual-stack on real test hosts: radvd on the test switch advertises a router with a short lifetime (12 s, an
advertisement every 3-4 s); the host learns its IPv6 default route from it (`proto ra`, accept_ra 1). Turning IPv6
forwarding on, as an installer does for a cluster with IPv6, loses that route (the kernel purges it and ignores the
advertisements that would renew it): a connect to an IPv6 address beyond the router fails with ENETUNREACH. The audit
right then names ipv6-ra-ignored (no route left, an address from the advertisements); the audit of the host as
handed to the installer (forwarding off, a dual-stack Service CIDR given as kubeadm writes it) names ipv6-ra-ignored
and ipv6-forwarding-disabled; --check --diff changes nothing; the remediation sets accept_ra=2 before
forwarding, the route outlives its lifetime (renewed) and the connect works; the persisted file, applied the way the
boot applies it, gives the same state. Every wait is bounded and polls state; no assert is about time."""

import os
import subprocess
import time

import pytest

from conftest import load_report, run_playbook

NAME = "ra1"
LIFETIME = 12  # AdvDefaultLifetime: the route expires this long after the last advertisement taken
BEYOND = "fd00:beef::1"  # an address beyond the router (on the switch's lo)
PORT = 8080
DUAL_STACK = "hostnet_service_ips=10.96.0.0/12,fd00:10:96::/108"
RADVD = """interface br0 {{
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime {lifetime};
  prefix {prefix} {{ AdvOnLink on; AdvAutonomous on; }};
}};
"""
LISTEN = (
    "import socket, sys; s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8); print('up', flush=True)\n"
    "while True:\n    c, _a = s.accept(); c.sendall(b'hello'); c.close()"
)
# The client: a TCP connect to the address beyond the router, as any IPv6 client of the host makes it.
CONNECT = """
import errno, socket, sys
s = socket.socket(socket.AF_INET6)
s.settimeout(5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("connected " + s.recv(16).decode())
except OSError as exc:
    print(errno.errorcode.get(exc.errno, str(exc)))
"""


def sw(fleet, *args):
    return subprocess.run(["ip", "netns", "exec", fleet.state["switch_ns"]] + list(args), check=True, stdout=subprocess.PIPE, universal_newlines=True)


def ra_route(fleet):
    """The host's IPv6 default route learnt from advertisements, or None."""
    out = fleet.exec(NAME, ["ip", "-6", "route", "show", "default"]).stdout.strip()
    return out if " proto ra " in " %s " % out else None


def poll(probe, want, limit):
    """probe() until bool(result) == want, at most ``limit`` seconds; the last result (the asserts judge it)."""
    deadline = time.monotonic() + limit
    result = probe()
    while bool(result) != want and time.monotonic() < deadline:
        time.sleep(0.5)
        result = probe()
    return result


def connect(fleet):
    return fleet.exec(NAME, ["python3", "-c", CONNECT, BEYOND, str(PORT)]).stdout.strip()


def sysctls(fleet):
    keys = ["net.ipv6.conf.all.forwarding", "net.ipv6.conf.default.forwarding", "net.ipv6.conf.eth1.accept_ra"]
    out = fleet.exec(NAME, ["sysctl", "-n"] + keys).stdout.split()
    return dict(zip(keys, out))


def findings(report):
    return {f["id"]: f for f in report["hosts"][NAME]["findings"]}


@pytest.fixture(scope="module")
def seen(make_fleet, tmp_path_factory):
    if not any(os.access(os.path.join(d, "radvd"), os.X_OK) for d in ("/usr/sbin", "/sbin", "/usr/bin")):
        pytest.fail("radvd is not installed (make system-deps installs it)")
    fleet = make_fleet([NAME])
    slot = fleet.state["slot"]
    prefix = "fd00:213:%d::/64" % slot
    conf = str(tmp_path_factory.mktemp("radvd") / "radvd.conf")
    with open(conf, "w") as handle:
        handle.write(RADVD.format(lifetime=LIFETIME, prefix=prefix))
    sw(fleet, "ip", "addr", "add", "fd00:213:%d::1/64" % slot, "dev", "br0", "nodad")
    sw(fleet, "ip", "addr", "add", BEYOND + "/128", "dev", "lo")
    sw(fleet, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")  # the switch is the router
    ns = ["ip", "netns", "exec", fleet.state["switch_ns"]]
    listener = subprocess.Popen(ns + ["python3", "-c", LISTEN, BEYOND, str(PORT)], stdout=subprocess.PIPE, universal_newlines=True)
    radvd = subprocess.Popen(
        ns + ["radvd", "-n", "-m", "stderr", "-C", conf, "-p", conf + ".pid"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True
    )
    seen = {}
    try:
        assert listener.stdout.readline().strip() == "up"
        # The host as it boots: IPv6 forwarding off, accept_ra 1; it learns its default route from the advertisements.
        seen["initial"] = sysctls(fleet)
        seen["learnt"] = poll(lambda: ra_route(fleet), True, 15)
        seen["connect_learnt"] = connect(fleet)
        # The symptom: forwarding on (as an installer turns it on for a cluster with IPv6) while accept_ra is 1.
        fleet.exec(NAME, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        seen["forwarding_on"] = ra_route(fleet)
        # Past the router lifetime and several advertisements: none is taken, the route does not come back.
        seen["past_lifetime"] = poll(lambda: ra_route(fleet), True, LIFETIME + 4)
        seen["connect_forwarding"] = connect(fleet)
        out = str(tmp_path_factory.mktemp("dual-stack"))
        # The audit after the fact (the route already gone), on any cluster: the default IPv4-only one.
        seen["audit_lost"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s/lost" % out, "-e", "hostnet_fail_on=never")
        seen["lost_report"] = load_report(out + "/lost")
        # The host as handed to the installer: forwarding off again, the route learnt again.
        fleet.exec(NAME, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=0"])
        seen["relearnt"] = poll(lambda: ra_route(fleet), True, 15)
        seen["audit"] = run_playbook(
            fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=%s/audit" % out, "-e", "hostnet_fail_on=never", "-e", DUAL_STACK
        )
        seen["audit_report"] = load_report(out + "/audit")
        seen["check"] = run_playbook(fleet, "kubeprep.hostnet.remediate", "--check", "--diff", "-e", "hostnet_report_dir=%s/check" % out, "-e", DUAL_STACK)
        seen["after_check"] = sysctls(fleet)
        seen["file_after_check"] = fleet.exec(NAME, ["sh", "-c", "cat /etc/sysctl.d/90-kubeprep-hostnet.conf 2>&1 || true"]).stdout
        seen["remediate"] = run_playbook(fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_report_dir=%s/fix" % out, "-e", DUAL_STACK)
        seen["fixed_report"] = load_report(out + "/fix")
        seen["after_fix"] = sysctls(fleet)
        seen["route_after_fix"] = ra_route(fleet)
        # Past the router lifetime: the route is still there only if advertisements renewed it.
        time.sleep(LIFETIME + 2)
        seen["route_past_lifetime"] = ra_route(fleet)
        seen["connect_fixed"] = connect(fleet)
        seen["file"] = fleet.exec(NAME, ["sh", "-c", "cat /etc/sysctl.d/90-kubeprep-hostnet.conf 2>&1 || true"]).stdout
        # A reboot's kernel defaults, then the file applied in its order as systemd-sysctl applies it at boot.
        fleet.exec(NAME, ["sh", "-c", "sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv6.conf.eth1.accept_ra=1"])
        seen["relearnt_before_boot"] = poll(lambda: ra_route(fleet), True, 15)
        fleet.exec(NAME, ["sh", "-c", "sysctl -q -p /etc/sysctl.d/90-kubeprep-hostnet.conf || true"])
        seen["after_boot_file"] = sysctls(fleet)
        seen["route_after_boot_file"] = ra_route(fleet)
        seen["connect_after_boot_file"] = connect(fleet)
    finally:
        for proc in (radvd, listener):
            proc.kill()
            proc.wait()
    return seen


def test_the_symptom_then_the_audit_names_the_rules_and_check_mode_changes_nothing(seen):
    # The symptom first: forwarding on with accept_ra 1 loses the RA default route, the connect fails with ENETUNREACH.
    assert seen["initial"]["net.ipv6.conf.all.forwarding"] == "0" and seen["initial"]["net.ipv6.conf.eth1.accept_ra"] == "1", seen["initial"]
    assert seen["learnt"] and "dev eth1 proto ra" in seen["learnt"], seen["learnt"]
    assert seen["connect_learnt"] == "connected hello"
    assert seen["forwarding_on"] is None  # the kernel purged it when forwarding went on
    assert seen["past_lifetime"] is None  # and took no advertisement since
    assert seen["connect_forwarding"] == "ENETUNREACH"
    # After the fact: no route left, the address learnt from the advertisements still there.
    assert seen["audit_lost"].returncode == 0, seen["audit_lost"].stdout[-3000:]
    lost = findings(seen["lost_report"])["ipv6-ra-ignored"]
    assert lost["message"].startswith("eth1 has no IPv6 default route although it has an address from router advertisements"), lost
    assert "/proc/sys/net/ipv6/conf/eth1/forwarding = 1" in lost["evidence"]
    assert seen["relearnt"], "the route was not learnt again with forwarding off"
    assert seen["audit"].returncode == 0, seen["audit"].stdout[-3000:]
    found = findings(seen["audit_report"])
    ra = found["ipv6-ra-ignored"]
    assert ra["severity"] == "error"
    assert ra["message"].startswith("the IPv6 default route on eth1 comes from router advertisements that the kernel will ignore")
    assert ra["evidence"][1:3] == ["/proc/sys/net/ipv6/conf/eth1/accept_ra = 1", "/proc/sys/net/ipv6/conf/eth1/forwarding = 0"]
    assert "the cluster has IPv6 (fd00:10:96::/108): forwarding must be turned on" in ra["evidence"]
    forwarding = found["ipv6-forwarding-disabled"]
    assert forwarding["evidence"] == ["/proc/sys/net/ipv6/conf/all/forwarding = 0", "/proc/sys/net/ipv6/conf/default/forwarding = 0"]
    assert "[ERROR ipv6-ra-ignored] %s:" % NAME in seen["audit"].stdout
    # --check --diff: the diff shows the lines, nothing changes.
    assert seen["check"].returncode == 0, seen["check"].stdout[-3000:]
    assert "+net.ipv6.conf.eth1.accept_ra = 2" in seen["check"].stdout
    assert "+net.ipv6.conf.all.forwarding = 1" in seen["check"].stdout
    assert seen["after_check"] == seen["initial"]
    assert "accept_ra" not in seen["file_after_check"] and "forwarding" not in seen["file_after_check"]


def test_the_fix_keeps_the_route_renewed_with_forwarding_on_and_at_boot(seen):
    assert seen["remediate"].returncode == 0, seen["remediate"].stdout[-3000:]
    assert seen["after_fix"] == {"net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.default.forwarding": "1", "net.ipv6.conf.eth1.accept_ra": "2"}
    left = set(findings(seen["fixed_report"])) & {"ipv6-ra-ignored", "ipv6-forwarding-disabled"}
    assert not left, left
    assert seen["route_after_fix"], "the fix lost the route"
    assert seen["route_past_lifetime"] and "proto ra" in seen["route_past_lifetime"]  # renewed by advertisements
    assert seen["connect_fixed"] == "connected hello"
    # Persisted, accept_ra before forwarding: applied in that order at boot, the route is kept.
    lines = [line for line in seen["file"].splitlines() if line and not line.startswith("#")]
    assert lines.index("net.ipv6.conf.eth1.accept_ra = 2") < lines.index("net.ipv6.conf.all.forwarding = 1"), lines
    assert seen["relearnt_before_boot"]
    assert seen["after_boot_file"] == seen["after_fix"]
    assert seen["route_after_boot_file"] and seen["connect_after_boot_file"] == "connected hello"
