"""Writes you can trust, on real test hosts: every file a fix needs is decided before
the first is written (a read-only or bind-mounted later file changes nothing, and
the remediation records the real reason and what was written); check mode
predicts the route fix's failures and leaves no lock file; the route module takes
its file lock before it adds the live route and names the process really holding
it; IPv4 and IPv6 default routes persist side by side; hostnet_unsafe_writes
reaches the modules; a sysctl name with a newline is refused."""

import json
import os
import subprocess
import time

import pytest

from conftest import CONNECT_PROBE, LISTENER, VENV_BIN, ansible_env, run_module, run_playbook
from testhosts import run as harness_run

F1_HOSTS = "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n127.0.0.1   centos7.Localdomain\n"
OURS = "/etc/sysctl.d/90-kubeprep-hostnet.conf"
LOCK_DIR = "/run/kubeprep-hostnet"


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


def probe(fleet, host, name, port):
    return fleet.exec(host, ["python3", "-c", CONNECT_PROBE, name, str(port)]).stdout.strip()


def changes_of(directory):
    return json.loads((directory / "hostnet-changes.json").read_text())["hosts"]


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["w", "rt", "lh"])
    fleet.exec("lh", ["python3", "-c", LISTENER])
    return fleet


# -- item 16: decide every file before writing any --------------------------------------


def test_sysctl_writes_nothing_when_a_later_etc_file_is_read_only(fleet):
    """/etc/sysctl.conf (read after our file at boot) sets the key back and sits on a read-only /etc, while
    /etc/sysctl.d is writable: writing ours and then failing on it left a half-applied fix reported as
    'nothing was changed'."""
    sh(fleet, "w", "rm -f %s; printf '# admin\\nnet.ipv4.ip_forward = 0\\n' > /etc/sysctl.conf; echo 0 > /proc/sys/net/ipv4/ip_forward" % OURS)
    sh(fleet, "w", "mount --bind /etc/sysctl.d /etc/sysctl.d && mount -o remount,bind,ro /etc")
    try:
        for extra in (("--check",), ()):  # check mode predicts the same failure
            rc, result = run_module(fleet, "w", "kubeprep.hostnet.hostnet_sysctl", {"name": "net.ipv4.ip_forward", "value": "1"}, *extra)
            assert rc != 0 and result["changed"] is False, (extra, result)
            assert "cannot write in /etc (read-only file system)" in result["msg"] and "nothing was changed" in result["msg"], result["msg"]
            assert sh(fleet, "w", "ls %s 2>&1; cat /proc/sys/net/ipv4/ip_forward" % OURS).stdout.splitlines()[-1] == "0"
            assert sh(fleet, "w", "test -e %s && echo written || echo absent" % OURS).stdout.strip() == "absent"
    finally:
        sh(fleet, "w", "mount -o remount,bind,rw /etc; umount /etc/sysctl.d; rm -f /etc/sysctl.conf; echo 1 > /proc/sys/net/ipv4/ip_forward")


def test_remediation_records_the_real_reason_and_what_was_written(fleet, tmp_path):
    """The IPv6 method sets two keys in a loop; the second is undone at boot by a bind-mounted /etc/sysctl.conf.
    The outcome must carry that item's reason (with the unsafe_writes hint), not the loop's 'One or more items
    failed', and the change record the first item's write, not []."""
    sh(fleet, "w", "cat > /etc/hosts && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6; rm -f %s" % OURS, input_text=F1_HOSTS)
    sh(fleet, "w", "printf 'net.ipv6.conf.lo.disable_ipv6 = 1\\n' > /etc/sysctl.conf && mount --bind /etc/sysctl.conf /etc/sysctl.conf")
    try:
        args = ["-l", "w", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_localhost_method=ipv6"]
        result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
        assert result.returncode != 0, result.stdout[-3000:]
        outcome = changes_of(tmp_path)["w"]
        assert outcome["outcome"] == "failed", outcome
        reason = " ".join(outcome["reasons"])
        assert "One or more items failed" not in reason, reason
        assert "net.ipv6.conf.lo.disable_ipv6" in reason and "/etc/sysctl.conf is a mount point" in reason, reason
        assert "hostnet_unsafe_writes: true" in reason, reason
        written = [c for c in outcome["changes"] if c["rule"] == "localhost-unreachable"]
        assert written and any("net.ipv6.conf.all.disable_ipv6" in json.dumps(c) for c in written), outcome["changes"]
        # Nothing of the failed item was written: the boot still applies the admin's line, ours has no lo entry.
        assert "net.ipv6.conf.lo" not in sh(fleet, "w", "cat %s" % OURS).stdout
        assert sh(fleet, "w", "cat /etc/sysctl.conf").stdout == "net.ipv6.conf.lo.disable_ipv6 = 1\n"
    finally:
        sh(fleet, "w", "umount /etc/sysctl.conf; rm -f /etc/sysctl.conf %s" % OURS)


def test_sysctl_says_what_it_wrote_when_a_later_write_fails(fleet):
    """A failure no check foresees: /etc/sysctl.d is a file system with room for one more file. Ours is written,
    then commenting out the later file's line fails (no space): the result must say changed and what was
    written, not 'nothing was changed'."""
    site = "/etc/sysctl.d/95-site.conf"
    setup = "mount -t tmpfs -o size=12k tmpfs /etc/sysctl.d && printf 'net.ipv4.ip_forward = 0\\n' > %s" % site
    sh(fleet, "w", setup + " && dd if=/dev/zero of=/etc/sysctl.d/.fill bs=4096 count=1 2>/dev/null")
    try:
        rc, result = run_module(fleet, "w", "kubeprep.hostnet.hostnet_sysctl", {"name": "net.ipv4.ip_forward", "value": "1", "apply": False})
        assert rc != 0 and "No space left on device" in result["msg"], result
        assert result["changed"] is True and "nothing was changed" not in result["msg"], result
        assert "Already written: %s: set net.ipv4.ip_forward = 1" % OURS in result["msg"], result["msg"]
        assert result["actions"] == ["%s: set net.ipv4.ip_forward = 1" % OURS], result
        assert sh(fleet, "w", "cat %s" % OURS).stdout.splitlines()[-1] == "net.ipv4.ip_forward = 1"
        assert sh(fleet, "w", "cat %s" % site).stdout == "net.ipv4.ip_forward = 0\n"
    finally:
        sh(fleet, "w", "umount /etc/sysctl.d")


# -- item 21: hostnet_unsafe_writes ------------------------------------------------------


def test_hostnet_unsafe_writes_reaches_the_module_for_a_bind_mounted_hosts_file(fleet, tmp_path):
    """A container-like host whose /etc/hosts is bind-mounted: the hint says to set unsafe_writes, and the
    remediation's hostnet_unsafe_writes (or ANSIBLE_UNSAFE_WRITES on the controller) must reach the module."""
    sh(fleet, "lh", "cat > /etc/hosts && mount --bind /etc/hosts /etc/hosts", input_text=F1_HOSTS)
    sh(fleet, "lh", "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6")  # the F1 host: ::1 first, IPv6 off on lo
    try:
        assert probe(fleet, "lh", "localhost", 6443).split()[0:2] == ["FAIL", "::1"]  # the symptom
        args = ["-l", "lh", "-e", "hostnet_report_dir=%s" % tmp_path]
        result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
        assert result.returncode != 0
        outcome = changes_of(tmp_path)["lh"]
        assert outcome["outcome"] == "failed" and "hostnet_unsafe_writes: true" in outcome["summary"], outcome
        assert fleet.exec("lh", ["cat", "/etc/hosts"]).stdout == F1_HOSTS

        result = run_playbook(fleet, "kubeprep.hostnet.remediate", *(args + ["-e", "hostnet_unsafe_writes=true"]))
        assert result.returncode == 0, result.stdout[-3000:]
        assert changes_of(tmp_path)["lh"]["outcome"] == "fixed"
        assert fleet.exec("lh", ["cat", "/etc/hosts"]).stdout == "127.0.0.1\tlocalhost\n" + F1_HOSTS
        assert sh(fleet, "lh", "mountpoint -q /etc/hosts && echo mounted").stdout.strip() == "mounted"  # written in place
        assert probe(fleet, "lh", "localhost", 6443).startswith("CONNECTED 127.0.0.1 ")

        # The controller's ANSIBLE_UNSAFE_WRITES, which Ansible itself does not pass to a host, does too.
        sh(fleet, "lh", "cat > /etc/hosts", input_text=F1_HOSTS)
        result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args, env={"ANSIBLE_UNSAFE_WRITES": "1"})
        assert result.returncode == 0, result.stdout[-3000:]
        assert fleet.exec("lh", ["cat", "/etc/hosts"]).stdout == "127.0.0.1\tlocalhost\n" + F1_HOSTS
    finally:
        sh(fleet, "lh", "umount /etc/hosts; echo 0 > /proc/sys/net/ipv6/conf/lo/disable_ipv6")


# -- item 23: a sysctl name ending in a newline --------------------------------------------


def test_sysctl_name_with_a_trailing_newline_is_refused(fleet):
    sh(fleet, "w", "printf '# mine\\n' > %s" % OURS)
    rc, result = run_module(fleet, "w", "kubeprep.hostnet.hostnet_sysctl", {"name": "net.ipv4.ip_forward\n", "value": "1", "apply": False})
    assert rc != 0 and "invalid sysctl name" in result["msg"] and result["changed"] is False, result
    assert sh(fleet, "w", "cat %s" % OURS).stdout == "# mine\n"
    sh(fleet, "w", "rm -f %s" % OURS)


# -- items 20 and 25: check mode predicts the route fix, and writes nothing ---------------------


def routes(fleet, host="rt"):
    return sh(fleet, host, "ip route; ip -6 route; ls -la --time-style=+ /etc/network /etc/network/if-up.d 2>&1; true").stdout


def route(fleet, args, *extra, host="rt"):
    return run_module(fleet, host, "kubeprep.hostnet.hostnet_route", args, *extra)


@pytest.mark.parametrize(
    "setup, expected",
    [
        ("mkdir -p /etc/network/if-up.d && mount --bind /etc/network /etc/network && mount -o remount,bind,ro /etc/network", "read-only file system"),
        ("rm -rf /etc/network/if-up.d && mount --bind /etc/network /etc/network && mount -o remount,bind,ro /etc/network", "read-only file system"),
        ("mkdir -p /etc/network && rm -rf /etc/network/if-up.d && touch /etc/network/if-up.d", "/etc/network/if-up.d is not a directory"),
    ],
    ids=["read-only", "read-only-no-if-up-d", "if-up-d-a-file"],
)
def test_check_mode_predicts_the_route_fix_failing(fleet, setup, expected):
    sh(fleet, "rt", setup)
    try:
        before = routes(fleet)
        for extra in (("--check",), ()):
            rc, result = route(fleet, {"dest": "10.91.0.0/16", "gateway": fleet.state["gateway"], "persist": "ifupdown"}, *extra)
            assert rc != 0 and result["changed"] is False, (extra, result)
            assert expected in result["msg"] and "nothing was changed" in result["msg"], (extra, result["msg"])
            assert not [a for a in result.get("actions") or [] if a.startswith("created")], result  # nothing was created
            assert routes(fleet) == before
    finally:
        sh(fleet, "rt", "mountpoint -q /etc/network && umount /etc/network; rm -f /etc/network/if-up.d; mkdir -p /etc/network/if-up.d")


def test_check_mode_creates_no_lock_file(fleet):
    sh(fleet, "rt", "rm -rf %s /etc/network/if-up.d/kubeprep-hostnet-route-10_90_0_0_16" % LOCK_DIR)
    rc, result = route(fleet, {"dest": "10.90.0.0/16", "gateway": fleet.state["gateway"], "persist": "ifupdown"}, "--check")
    assert rc == 0 and result["changed"], result
    rc, result = run_module(fleet, "rt", "kubeprep.hostnet.hostnet_sysctl", {"name": "net.ipv4.ip_forward", "value": "1", "apply": False}, "--check")
    assert rc == 0, result
    assert sh(fleet, "rt", "ls -d %s 2>&1 || true" % LOCK_DIR).stdout.strip().endswith("No such file or directory")
    assert "10.90.0.0/16" not in routes(fleet)


# -- items 22 and 25: the lock before the live route; the real holder named -----------------


def test_route_waits_for_the_lock_before_adding_the_live_route_and_names_the_real_holder(fleet):
    """Another run holds the hook's lock (without writing its pid; the file still names a long-gone run): the
    live route must not be added while the module waits (a kill then would leave a live-only route), and the
    timeout names the process really holding the lock, not the stale pid in the file."""
    gateway = fleet.state["gateway"]
    lock = "%s/etc_network_if-up.d_kubeprep-hostnet-route-10_89_0_0_16.lock" % LOCK_DIR
    stale = "4194304"  # above any pid_max: never a running process
    sh(fleet, "rt", "rm -rf %s; mkdir -m 0700 %s; echo %s > %s" % (LOCK_DIR, LOCK_DIR, stale, lock))
    holder = "import fcntl, time; h = open('%s', 'a'); fcntl.flock(h, fcntl.LOCK_EX); time.sleep(60)" % lock
    sh(fleet, "rt", 'python3 -c "%s" >/dev/null 2>&1 & echo $! > /root/holder.pid; sleep 0.5' % holder)
    pid = sh(fleet, "rt", "cat /root/holder.pid").stdout.strip()
    args = {"dest": "10.89.0.0/16", "gateway": gateway, "persist": "ifupdown"}
    cmd = [os.path.join(VENV_BIN, "ansible"), "-i", os.path.join(fleet.state_dir, "inventory.ini"), "rt", "-m", "kubeprep.hostnet.hostnet_route"]
    run = subprocess.Popen(
        cmd + ["-a", json.dumps(args), "-o"], env=ansible_env(fleet), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True
    )
    try:
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and run.poll() is None:
            seen.append(sh(fleet, "rt", "ip route show 10.89.0.0/16").stdout.strip())
            time.sleep(0.5)
        assert not any(seen), "the live route was added while the lock was still held: %s" % [s for s in seen if s][:1]
        out, _err = run.communicate(timeout=120)
        assert run.returncode != 0, out
        line = [x for x in out.splitlines() if x.startswith("rt |")][-1]
        result = json.loads(line.split("=>", 1)[1])
        assert "another run is editing" in result["msg"] and "held by pid %s" % pid in result["msg"], result["msg"]
        assert stale not in result["msg"] and result["changed"] is False
        assert sh(fleet, "rt", "ip route show 10.89.0.0/16").stdout.strip() == ""
    finally:
        if run.poll() is None:
            run.kill()
        sh(fleet, "rt", "kill %s 2>/dev/null; true" % pid)
    # Released: the next run adds and persists it, and the lock file no longer names anyone.
    rc, result = route(fleet, args)
    assert rc == 0 and result["changed"], result
    assert sh(fleet, "rt", "ip route show 10.89.0.0/16").stdout.startswith("10.89.0.0/16 via %s dev eth1" % gateway)
    assert sh(fleet, "rt", "cat %s" % lock).stdout == ""
    sh(fleet, "rt", "ip route del 10.89.0.0/16; rm -f /etc/network/if-up.d/kubeprep-hostnet-route-10_89_0_0_16")


# -- item 17: one persistence file per family -------------------------------------------------


def test_ipv4_and_ipv6_default_routes_persist_side_by_side(fleet):
    """Both families' default routes under ifupdown: each run kept overwriting the other's hook (reporting
    success, so the result flipped) and only the last family came back at the next ifup."""
    gateway = fleet.state["gateway"]
    sh(fleet, "rt", "ip -6 addr add fd00:213::12/64 dev eth1 nodad; mkdir -p /etc/network/if-up.d")
    harness_run(["ip", "-n", fleet.state["switch_ns"], "addr", "add", "fd00:213::1/64", "dev", "br0", "nodad"])
    try:
        v4 = {"dest": "default", "gateway": gateway, "persist": "ifupdown"}
        v6 = {"dest": "default", "gateway": "fd00:213::1", "persist": "ifupdown"}
        for args in (v4, v6):
            rc, result = route(fleet, args)
            assert rc == 0 and result["changed"], (args, result)
        for args in (v4, v6):  # a second round changes nothing: neither overwrote the other
            rc, result = route(fleet, args)
            assert rc == 0 and not result["changed"], (args, result)
        # What the next ifup does: both come back.
        sh(fleet, "rt", "ip route del default; ip -6 route del default")
        sh(fleet, "rt", "for f in /etc/network/if-up.d/kubeprep-hostnet-route-*; do IFACE=eth1 $f; done")
        assert sh(fleet, "rt", "ip route show default").stdout.startswith("default via %s dev eth1" % gateway)
        assert sh(fleet, "rt", "ip -6 route show default").stdout.startswith("default via fd00:213::1 dev eth1")
    finally:
        sh(fleet, "rt", "ip -6 route del default; ip -6 addr del fd00:213::12/64 dev eth1; rm -f /etc/network/if-up.d/kubeprep-hostnet-route-*; true")
        sh(fleet, "rt", "ip route show default | grep -q . || ip route add default via %s dev eth1" % gateway)
        harness_run(["ip", "-n", fleet.state["switch_ns"], "addr", "del", "fd00:213::1/64", "dev", "br0"])
