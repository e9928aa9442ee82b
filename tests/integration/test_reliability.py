"""Reliability suite on real test hosts: a write killed at every file operation
leaves the old or the new file, never a partial one; two runs at once lose no
update; bad input gets a clear message, no traceback and no change; and a
route fix never cuts the management connection, even when it runs over the
default route."""

import json
import os
import time

import pytest

from conftest import load_report, oneline_result, run_adhoc, run_module, run_playbook

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files", "payload_driver.py")
F1_HOSTS = b"::1 localhost localhost.localdomain\n# keep this comment \xe9\n10.1.2.3\tdb1\r\n"
FINGERPRINT = """
for f in /etc/hosts /etc/nsswitch.conf /etc/resolv.conf /etc/sysctl.d/90-kubeprep-hostnet.conf; do
  echo "== $f"; if [ -f "$f" ]; then md5sum < "$f"; else ls -ld "$f" 2>&1; fi
done
echo "== etc"; ls -la --time-style=+ /etc | grep -v ' \\.\\.\\?$' | md5sum
echo "== net"; ip route; ip -6 route; ip -o addr
for f in /proc/sys/net/ipv6/conf/lo/disable_ipv6 /proc/sys/net/ipv4/ip_forward; do cat "$f" 2>&1; done; true
"""


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


def fingerprint(fleet, host):
    return sh(fleet, host, FINGERPRINT).stdout


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["crash", "race", "bad", "mgmt"])
    with open(DRIVER) as handle:
        for host in ("crash", "race"):
            sh(fleet, host, "cat > /root/driver.py", input_text=handle.read())
            handle.seek(0)
    return fleet


def kept_payload(fleet, host, module, args, copies=1):
    """The AnsiballZ file Ansible really sends for ``module`` (kept with
    ANSIBLE_KEEP_REMOTE_FILES, from a check-mode call), exploded in /root/payload-N."""
    env = {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_PIPELINING": "False"}
    proc = run_adhoc(fleet, host, "kubeprep.hostnet." + module, args, "--check", env=env)
    assert "FAILED" not in proc.stdout, proc.stdout
    dirs = []
    for copy in range(copies):
        target = "/root/payload-%s-%d" % (module, copy)
        sh(
            fleet,
            host,
            "rm -rf {t}; mkdir -p {t}; cp $(ls -t /root/.ansible/tmp/*/AnsiballZ_{m}.py | head -1) {t}/"
            " && cd {t} && python3 AnsiballZ_{m}.py explode >/dev/null".format(t=target, m=module),
        )
        dirs.append(target)
    return dirs


def drive(fleet, host, payload, watch, mode, arg, args):
    """Run the payload on the host through the audit-hook driver."""
    command = "python3 /root/driver.py %s %s %s %s" % (payload, watch, mode, arg)
    return sh(fleet, host, command, input_text=json.dumps(args), check=False)


# -- crash safety ---------------------------------------------------------------------


def test_kill_at_every_file_operation_leaves_old_or_new(fleet):
    """SIGKILL the real hostnet_hosts payload before each file operation it makes
    under /etc (backup, temp file, chown, chmod, rename): /etc/hosts is always
    exactly the old or exactly the new file, and the next run clears the litter."""
    (payload,) = kept_payload(fleet, "crash", "hostnet_hosts", {})
    args = {"backup": True}

    def reset():
        sh(fleet, "crash", "cat > /etc/hosts; rm -f /etc/hosts.*~ /etc/.kubeprep-hostnet.*", input_text=F1_HOSTS.decode("latin-1"))

    # The new file, from one clean run; and the operations that run makes.
    reset()
    proc = drive(fleet, "crash", payload, "/etc", "trace", 0, args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = sh(fleet, "crash", "od -An -c /etc/hosts").stdout
    operations = [line for line in proc.stderr.splitlines() if line.split()[0] in ("open", "os.rename", "os.chmod", "os.chown", "os.utime", "shutil.copyfile")]
    assert any(op.startswith("os.rename /etc/.kubeprep-hostnet.hosts.") for op in operations), operations
    assert len(operations) >= 6, operations
    reset()
    old = sh(fleet, "crash", "od -An -c /etc/hosts").stdout
    assert old != new

    outcomes = []
    for point in range(1, len(operations) + 1):
        reset()
        proc = drive(fleet, "crash", payload, "/etc", "kill", point, args)
        assert proc.returncode == 137, "point %d: %s %s" % (point, proc.stdout, proc.stderr)  # killed, not finished
        now = sh(fleet, "crash", "od -An -c /etc/hosts").stdout
        assert now in (old, new), "partial /etc/hosts after a kill at %s" % operations[point - 1]
        outcomes.append("new" if now == new else "old")
    # Before the rename the old file stands; only the rename makes the new one appear.
    rename = next(i for i, op in enumerate(operations) if op.startswith("os.rename"))
    assert outcomes[: rename + 1] == ["old"] * (rename + 1)

    # A kill before the rename leaves a dot-file beside /etc/hosts; the next run removes it.
    reset()
    drive(fleet, "crash", payload, "/etc", "kill", rename + 1, args)
    litter = sh(fleet, "crash", "ls -a /etc | grep '^.kubeprep-hostnet.hosts.' || true").stdout.split()
    assert litter
    rc, result = run_module(fleet, "crash", "kubeprep.hostnet.hostnet_hosts", {})
    assert rc == 0 and result["changed"]
    assert sorted(os.path.basename(p) for p in result["removed_stale_temp_files"]) == sorted(litter)
    assert sh(fleet, "crash", "od -An -c /etc/hosts").stdout == new


def test_read_only_file_system_fails_cleanly(fleet):
    """A read-only /etc (a container image, a failing disk): a clear message, the file untouched."""
    sh(fleet, "crash", "printf '::1 localhost\\n' > /etc/hosts; mount -o remount,ro /etc")
    try:
        rc, result = run_module(fleet, "crash", "kubeprep.hostnet.hostnet_hosts", {})
        assert rc != 0 and "read-only file system" in result["msg"] and "nothing was changed" in result["msg"], result
    finally:
        sh(fleet, "crash", "mount -o remount,rw /etc")
    assert sh(fleet, "crash", "cat /etc/hosts").stdout == "::1 localhost\n"


# -- concurrency ------------------------------------------------------------------------


def test_two_runs_at_once_lose_no_update(fleet):
    """Two hostnet_sysctl payloads set different keys in the same file at once; each
    pauses 1 s after reading the file, so without the lock the second would write
    back what it read and drop the first one's key."""
    conf = "/etc/sysctl.d/90-kubeprep-hostnet.conf"
    lock_dir = "/run/kubeprep-hostnet"
    args = [{"name": "net.ipv4.ip_forward", "value": "1", "apply": False}, {"name": "net.ipv6.conf.lo.disable_ipv6", "value": "0", "apply": False}]
    payloads = kept_payload(fleet, "race", "hostnet_sysctl", args[0], copies=2)
    for index, item in enumerate(args):
        sh(fleet, "race", "cat > /root/args%d.json" % index, input_text=json.dumps(item))

    def race(lock_usable):
        sh(fleet, "race", "rm -rf %s; printf '# mine\\n' > %s" % (lock_dir, conf))
        if not lock_usable:  # a lock directory others could write to is refused: no lock is taken
            sh(fleet, "race", "mkdir -m 0777 %s && chmod 0777 %s" % (lock_dir, lock_dir))
        runs = " & ".join(
            "python3 /root/driver.py %s /etc/sysctl.d pause 1.0 < /root/args%d.json > /root/out%d.json" % (p, i, i) for i, p in enumerate(payloads)
        )
        sh(fleet, "race", runs + " & wait")
        results = [json.loads(sh(fleet, "race", "cat /root/out%d.json" % i).stdout) for i in range(2)]
        assert all(r["changed"] for r in results), results
        return sh(fleet, "race", "cat " + conf).stdout.splitlines()

    lines = race(lock_usable=True)
    assert lines[0] == "# mine" and sorted(lines[1:]) == ["net.ipv4.ip_forward = 1", "net.ipv6.conf.lo.disable_ipv6 = 0"], lines
    # The control: the same race with no lock loses one key, so the test above can fail.
    lines = race(lock_usable=False)
    assert len(lines) == 2, lines


def test_a_local_user_cannot_stall_a_run_with_a_lock_file(fleet):
    """The old lock place, /run/lock (mode 1777), let any user hold the lock; the new one is root's, 0700."""
    sh(
        fleet,
        "race",
        "id kpuser >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/sh kpuser; mkdir -p /run/lock; chmod 1777 /run/lock; rm -rf /run/kubeprep-hostnet",
    )
    holder = "import fcntl, time; h = open('/run/lock/kubeprep-hostnet-etc_hosts.lock', 'a'); fcntl.flock(h, fcntl.LOCK_EX); time.sleep(60)"
    sh(fleet, "race", 'su kpuser -c "python3 -c \\"%s\\"" >/dev/null 2>&1 &' % holder)
    try:
        rc, result = run_module(fleet, "race", "kubeprep.hostnet.hostnet_hosts", {})
        assert rc == 0, result
        info = sh(fleet, "race", "stat -c '%a %U' /run/kubeprep-hostnet").stdout.split()
        assert info == ["700", "root"]
        # A lock directory another user could write to is not used at all.
        sh(fleet, "race", "rm -rf /run/kubeprep-hostnet && mkdir -m 0777 /run/kubeprep-hostnet && chmod 0777 /run/kubeprep-hostnet")
        rc, result = run_module(fleet, "race", "kubeprep.hostnet.hostnet_hosts", {})
        assert rc == 0, result
        assert sh(fleet, "race", "ls /run/kubeprep-hostnet").stdout == ""
    finally:
        sh(fleet, "race", "pkill -u kpuser python3; rm -rf /run/kubeprep-hostnet; true")


def test_a_held_lock_is_waited_for_then_named(fleet):
    """Another run that never lets go: the module waits its 30 s, names the holder, changes nothing."""
    sh(fleet, "race", "rm -rf /run/kubeprep-hostnet; mkdir -m 0700 /run/kubeprep-hostnet")
    holder = (
        "import fcntl, os, time; h = open('/run/kubeprep-hostnet/etc_hosts.lock', 'a+'); fcntl.flock(h, fcntl.LOCK_EX); "
        "h.write(str(os.getpid())); h.flush(); time.sleep(45)"
    )
    sh(fleet, "race", "cat > /etc/hosts", input_text="::1 localhost\n")
    sh(fleet, "race", 'python3 -c "%s" >/dev/null 2>&1 & echo $! > /root/holder.pid; sleep 0.5' % holder)
    pid = sh(fleet, "race", "cat /root/holder.pid").stdout.strip()
    try:
        started = time.monotonic()
        rc, result = run_module(fleet, "race", "kubeprep.hostnet.hostnet_hosts", {})
        waited = time.monotonic() - started
        assert rc != 0 and result["changed"] is False, result
        assert "another run is editing /etc/hosts" in result["msg"] and "held by pid %s" % pid in result["msg"], result["msg"]
        assert "Nothing was changed" in result["msg"] and waited >= 30
        assert sh(fleet, "race", "cat /etc/hosts").stdout == "::1 localhost\n"
    finally:
        sh(fleet, "race", "kill %s 2>/dev/null; rm -rf /run/kubeprep-hostnet; true" % pid)


# -- bad input --------------------------------------------------------------------------

TEN_MB_HOSTS = (
    "python3 -c \"import sys; sys.stdout.write(''.join('10.%d.%d.%d\\tnode%d.example.org node%d\\n' % (i >> 16 & 255, i >> 8 & 255, i & 255, i, i)"
    " for i in range(300000)))\" > /etc/hosts; printf '::1 localhost\\n' >> /etc/hosts"
)
HIDE_IP = "mount --bind /dev/null /usr/bin/ip"
UNREADABLE = "python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/tmp/sock')\"; mount --bind /tmp/sock /proc/sys/net/ipv4/ip_forward"
NON_ROOT = {"become": ["--become", "--become-user", "kpuser", "--become-method", "su"]}

# id, setup (shell on the host), module, arguments, fails, text expected in msg (or, for facts, in problems/evidence), undo
BAD_INPUT = [
    ("no-ip-binary-facts", HIDE_IP, "hostnet_facts", {}, False, "the ip command (iproute2) is not installed", "umount /usr/bin/ip"),
    ("no-ip-binary-route", HIDE_IP, "hostnet_route", {"dest": "10.96.0.0/12", "gateway": "GATEWAY", "persist": "none"}, True, "ip", "umount /usr/bin/ip"),
    ("unreadable-proc", UNREADABLE, "hostnet_facts", {}, False, "No such device or address", "umount /proc/sys/net/ipv4/ip_forward; rm -f /tmp/sock"),
    ("10mb-hosts-facts", TEN_MB_HOSTS, "hostnet_facts", {}, False, "truncated_at_bytes", "cp /root/hosts.orig /etc/hosts"),
    (
        "non-utf8-resolv-facts",
        "printf 'nameserver 10.0.0.1\\n\\377\\376 odd\\n' > /etc/resolv.conf",
        "hostnet_facts",
        {},
        False,
        "non_utf8_at_byte",
        "cp /root/resolv.orig /etc/resolv.conf",
    ),
    (
        "directory-nsswitch",
        "rm /etc/nsswitch.conf; mkdir /etc/nsswitch.conf",
        "hostnet_nsswitch",
        {},
        True,
        "is not a regular file",
        "rmdir /etc/nsswitch.conf; cp /root/nsswitch.orig /etc/nsswitch.conf",
    ),
    (
        "directory-nsswitch-facts",
        "rm /etc/nsswitch.conf; mkdir /etc/nsswitch.conf",
        "hostnet_facts",
        {},
        False,
        "not_a_file",
        "rmdir /etc/nsswitch.conf; cp /root/nsswitch.orig /etc/nsswitch.conf",
    ),
    ("no-root-hosts", "printf '::1 localhost\\n' > /etc/hosts", "hostnet_hosts", NON_ROOT, True, "Permission denied", "cp /root/hosts.orig /etc/hosts"),
    ("no-root-sysctl", "", "hostnet_sysctl", dict(NON_ROOT, name="net.ipv4.ip_forward", value="1"), True, "", ""),
    ("no-root-facts", "", "hostnet_facts", NON_ROOT, False, "", ""),
]


@pytest.fixture(scope="module")
def bad_host(fleet):
    sh(fleet, "bad", "cp /etc/hosts /root/hosts.orig; cp /etc/nsswitch.conf /root/nsswitch.orig; cp /etc/resolv.conf /root/resolv.orig")
    sh(fleet, "bad", "id kpuser >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/sh kpuser")
    return fleet


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_a_clear_message_and_changes_nothing(bad_host, case):
    name, setup, module, args, fails, expected, undo = case
    fleet = bad_host
    args = dict(args)
    extra = args.pop("become", [])
    args = {k: (fleet.state["gateway"] if v == "GATEWAY" else v) for k, v in args.items()}
    if setup:
        sh(fleet, "bad", setup)
    try:
        before = fingerprint(fleet, "bad")
        proc = run_adhoc(fleet, "bad", "kubeprep.hostnet." + module, args, "-o", *extra)
        after = fingerprint(fleet, "bad")
    finally:
        if undo:
            sh(fleet, "bad", undo)
    assert "Traceback" not in proc.stdout and "MODULE FAILURE" not in proc.stdout, proc.stdout[-3000:]
    line, result = oneline_result(proc, "bad")
    assert (proc.returncode != 0) == fails, line[:2000]
    if fails:
        assert "nothing was changed" in result["msg"] or "Nothing was changed" in result["msg"] or module == "hostnet_route", result["msg"]
        assert expected in result["msg"], result["msg"]
    else:
        assert expected in line, line[:3000]
    assert after == before, "%s changed the host" % name


@pytest.mark.parametrize(
    "setup",
    [TEN_MB_HOSTS, "printf '::1 localhost\\n# caf\\351 \\377\\n10.1.2.3\\tdb1\\r\\n' > /etc/hosts"],
    ids=["10mb-hosts", "non-utf8-hosts"],
)
def test_odd_files_are_fixed_keeping_every_other_byte(bad_host, setup):
    fleet = bad_host
    sh(fleet, "bad", setup + "; cp /etc/hosts /root/hosts.before")
    try:
        rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {})
        assert rc == 0 and result["changed"], result
        diff = sh(fleet, "bad", "diff /root/hosts.before /etc/hosts", check=False).stdout.splitlines()
        # One line added, nothing else touched.
        assert [line for line in diff if line[:1] in "<>"] == ["> 127.0.0.1\tlocalhost"], diff[:10]
        rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {})
        assert rc == 0 and not result["changed"]
    finally:
        sh(fleet, "bad", "cp /root/hosts.orig /etc/hosts")


def test_a_localhost_line_past_the_read_limit_is_said_to_be_unseen(bad_host, tmp_path):
    """A 10 MB /etc/hosts whose only localhost line is past 8 MiB: the finding says the file was read only that far."""
    fleet = bad_host
    sh(fleet, "bad", TEN_MB_HOSTS)
    try:
        result = run_playbook(fleet, "kubeprep.hostnet.audit", "-l", "bad", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_fail_on=never")
        assert result.returncode == 0, result.stdout[-3000:]
        [finding] = [f for f in load_report(str(tmp_path))["hosts"]["bad"]["findings"] if f["id"] == "localhost-unreachable"]
        assert "/etc/hosts is larger than 8388608 bytes and was read only that far: lines after it were not judged" in finding["evidence"]
    finally:
        sh(fleet, "bad", "cp /root/hosts.orig /etc/hosts")


# -- the management connection ----------------------------------------------------------


@pytest.fixture(scope="module")
def over_default_route(fleet):
    """The controller talks to host "mgmt" from an address that is not on the host's
    network, so the host's replies leave through its default route (via the switch,
    which forwards for this test only)."""
    st = fleet.state
    client = "10.214.%d.2" % st["slot"]
    os.system("ip addr add %s/32 dev %s" % (client, st["controller_if"]))
    os.system("ip netns exec %s sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; ip route add %s/32 via %s'" % (st["switch_ns"], client, st["controller"]))
    inventory = os.path.join(fleet.state_dir, "inventory-mgmt.ini")
    with open(os.path.join(fleet.state_dir, "inventory.ini")) as handle:
        text = handle.read()
    control = os.path.join(fleet.state_dir, "cp-mgmt")
    os.makedirs(control, exist_ok=True)
    text = text.replace("ControlPath=%s/%%C" % os.path.join(fleet.state_dir, "cp"), "ControlPath=%s/%%C -o BindAddress=%s" % (control, client))
    with open(inventory, "w") as handle:
        handle.write(text)
    return inventory, client


def mgmt_module(fleet, inventory, module, args):
    return run_module(fleet, "mgmt", module, args, inventory=inventory)


def test_route_fixes_never_cut_a_connection_over_the_default_route(fleet, over_default_route):
    inventory, client = over_default_route
    gateway, wrong = fleet.state["gateway"], fleet.state["gateway"].rsplit(".", 1)[0] + ".99"
    proc = run_adhoc(fleet, "mgmt", "ansible.builtin.command", {"argv": ["sh", "-c", 'echo "$SSH_CONNECTION"; ip route get %s' % client]}, inventory=inventory)
    assert proc.returncode == 0 and "\n%s " % client in proc.stdout and "%s via %s dev eth1" % (client, gateway) in proc.stdout, proc.stdout
    before = sh(fleet, "mgmt", "ip route; ls /etc/network/if-up.d").stdout

    # F2 remediation aimed at the default route, with a wrong gateway: the route carrying SSH is not replaced.
    rc, result = mgmt_module(fleet, inventory, "kubeprep.hostnet.hostnet_route", {"dest": "default", "gateway": wrong, "persist": "none"})
    assert rc != 0 and "is not replaced" in result["msg"], result
    assert result["management_connection"] == {"client": client, "route": {"dev": "eth1", "gateway": gateway}}
    # A Service CIDR that happens to contain the controller, via a wrong gateway: refused before any change.
    rc, result = mgmt_module(fleet, inventory, "kubeprep.hostnet.hostnet_route", {"dest": "10.208.0.0/12", "gateway": wrong, "persist": "ifupdown"})
    assert rc != 0 and "the address Ansible connects from" in result["msg"], result
    # A gateway that is not on any connected network: refused.
    rc, result = mgmt_module(fleet, inventory, "kubeprep.hostnet.hostnet_route", {"dest": "10.96.0.0/12", "gateway": "10.99.0.1", "persist": "ifupdown"})
    assert rc != 0 and "not on a directly connected network" in result["msg"], result

    assert sh(fleet, "mgmt", "ip route; ls /etc/network/if-up.d").stdout == before
    rc, result = mgmt_module(fleet, inventory, "ansible.builtin.ping", {})
    assert rc == 0 and result["ping"] == "pong"


def test_the_guard_sees_the_ssh_client_through_sudo(fleet, over_default_route):
    """Real inventories log in as a user and become root with sudo, which drops SSH_CONNECTION:
    the guard must still know where Ansible connects from."""
    inventory, client = over_default_route
    fleet.add_user("mgmt", "deploy")
    deploy = inventory.replace(".ini", "-deploy.ini")
    with open(inventory) as handle, open(deploy, "w") as out:
        out.write(handle.read().replace("ansible_user=root", "ansible_user=deploy"))
    become = ["--become", "--become-method", "sudo"]
    proc = run_adhoc(fleet, "mgmt", "ansible.builtin.command", {"argv": ["sh", "-c", 'id -u; echo "SSH=$SSH_CONNECTION"']}, *become, inventory=deploy)
    assert proc.returncode == 0 and "\n0\n" in proc.stdout and "SSH=\n" in proc.stdout + "\n", proc.stdout  # root, and sudo dropped it
    before = sh(fleet, "mgmt", "ip route").stdout
    rc, result = run_module(
        fleet,
        "mgmt",
        "kubeprep.hostnet.hostnet_route",
        {"dest": "10.208.0.0/12", "gateway": fleet.state["gateway"], "persist": "none"},
        *become,
        inventory=deploy,
    )
    assert rc != 0 and "the address Ansible connects from" in result["msg"], result
    assert result["management_connection"]["client"] == client
    assert sh(fleet, "mgmt", "ip route").stdout == before
