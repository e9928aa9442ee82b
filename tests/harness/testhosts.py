# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real test hosts: network namespaces with a private /etc and their own sshd.

Topology (one "fleet", slot S picks the subnet 10.213.S.0/24):

  root ns  kpSc 10.213.S.2 --veth-- [switch ns kpSsw: bridge br0 10.213.S.1, ip_forward=0]
                                        |-- veth -- [host ns kpSh1: eth1 10.213.S.11, default via .1]
                                        |-- veth -- [host ns kpSh2: eth1 10.213.S.12, ...]

The switch also owns 10.213.S.201-203 ("silent nameservers"): an nft rule
in the switch drops DNS to them, so a resolver that asks them waits for its
full timeout (a blackhole route would fail at once and show no delay).

Each host runs ``sshd`` inside ``unshare --mount --uts`` in its netns, with
an overlay on /etc (its own hosts, nsswitch.conf, resolv.conf, hostname,
machine-id), tmpfs on /run and /tmp, a private /root, and /proc/sys
read-only except /proc/sys/net (non-net sysctls are global). Traffic only
ever goes to addresses created here.

Usage (root):
  testhosts.py up --state-dir DIR [--count N]     create, write DIR/fleet.json and DIR/inventory.ini
  testhosts.py down --state-dir DIR               tear down one fleet
  testhosts.py down --all                         tear down every fleet of this harness
  testhosts.py exec --state-dir DIR HOST -- CMD   run CMD inside a host (its /etc, netns, hostname)
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

PREFIX = "kp"
LOCK_DIR = "/run/kubeprep-testhosts"
SILENT_NAMESERVERS = (201, 202, 203)
SSHD = "/usr/sbin/sshd"
PYTHON = "/usr/bin/python3"

CLEAN_HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
{address}\t{name}.test.internal {name}
"""
CLEAN_NSSWITCH = """passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      db files
services:       db files
"""
# The switch's address (nothing answers on 53 there: a query is refused at once). Not a loopback address: kubelet
# hands this file to pods, where 127.0.0.1 is the pod's own loopback (rule resolv-conf-loopback-nameserver).
CLEAN_RESOLV = "nameserver {gateway}\noptions timeout:1 attempts:2\n"

INIT_SCRIPT = """#!/bin/sh
# Runs inside: ip netns exec NS unshare --mount --uts --propagation private
set -e
hostname {name}
mount -t overlay overlay -o lowerdir=/etc,upperdir={hostdir}/upper,workdir={hostdir}/work /etc
# sshd's files are inside the private /root: the state directory itself may
# live under /root, /tmp or /run, which the mounts below hide.
mount --bind {hostdir}/root /root
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount --bind /proc/sys/net /proc/sys/net
mount -o remount,bind,rw /proc/sys/net
exec {sshd} -D -e -f /root/.sshd/sshd_config
"""

SSHD_CONFIG = """ListenAddress {address}:22
HostKey /root/.sshd/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
AuthorizedKeysFile /root/.ssh/authorized_keys /etc/kubeprep-testhosts/keys/%u
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
MaxStartups 200
MaxSessions 100
Subsystem sftp internal-sftp
"""


class HarnessError(Exception):
    pass


def run(args, check=True, input_text=None):
    proc = subprocess.run(args, input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise HarnessError("%s failed (%d): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


def ns_sh(ns, script):
    """Run a shell snippet in a network namespace (fresh mount ns, real /etc)."""
    return run(["ip", "netns", "exec", ns, "sh", "-ec", script])


def netns_list():
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _claim_slot():
    os.makedirs(LOCK_DIR, exist_ok=True)
    existing = set(netns_list())
    for slot in range(1, 250):
        if "%s%dsw" % (PREFIX, slot) in existing:
            continue
        try:
            fd = os.open(os.path.join(LOCK_DIR, "slot-%d" % slot), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return slot
    raise HarnessError("no free test-host slot in %s" % LOCK_DIR)


class Fleet:
    """One set of test hosts on one switch. Always call down(), even on failure."""

    def __init__(self, state_dir):
        self.state_dir = os.path.abspath(state_dir)
        self.state_file = os.path.join(self.state_dir, "fleet.json")
        self.state = None

    # -- state ---------------------------------------------------------------
    def load(self):
        try:
            with open(self.state_file) as handle:
                self.state = json.load(handle)
        except (OSError, ValueError) as exc:
            raise HarnessError("no fleet in %s: %s" % (self.state_dir, exc)) from exc
        return self

    def save(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.state, handle, indent=2)
        os.replace(tmp, self.state_file)

    @property
    def hosts(self):
        return self.state["hosts"]

    def host(self, name):
        for host in self.hosts:
            if host["name"] == name:
                return host
        raise HarnessError("no test host %r" % name)

    # -- up --------------------------------------------------------------------
    def new_state(self, slot, **extra):
        """The state of a new fleet on slot S: its subnet 10.213.S.0/24, switch, controller link, silent nameservers."""
        net = "10.213.%d" % slot
        return dict(
            {
                "slot": slot,
                "subnet": net + ".0/24",
                "gateway": net + ".1",
                "controller": net + ".2",
                "switch_ns": "%s%dsw" % (PREFIX, slot),
                "controller_if": "%s%dc" % (PREFIX, slot),
                "silent_nameservers": ["%s.%d" % (net, i) for i in SILENT_NAMESERVERS],
                "state_dir": self.state_dir,
                "hosts": [],
            },
            **extra,
        )

    def up(self, count=1, names=None, nat_hosts=(), stock=False):
        """``stock``: leave the kernel's defaults of a new host (net.ipv4.ip_forward=0), as a fresh machine has."""
        for tool in ("ip", "unshare", "nsenter", SSHD, "ssh-keygen", PYTHON):
            if not shutil.which(tool):
                raise HarnessError("%s is required (apt-get install iproute2 util-linux openssh-server python3)" % tool)
        if os.geteuid() != 0:
            raise HarnessError("test hosts need root (network namespaces, mounts)")
        os.makedirs(self.state_dir, exist_ok=True)
        names = list(names or ["host%d" % i for i in range(1, count + 1)])
        self.state = self.new_state(_claim_slot())
        self.save()
        self._switch()
        self._keys()
        for index, name in enumerate(names, start=1):
            self._host(index, name, stock)
            self.save()
        for name in nat_hosts:
            self.add_nat_nic(name)
            self.save()
        self._wait_for_ssh()
        self.write_inventory()
        return self

    def _switch(self):
        st = self.state
        sw = st["switch_ns"]
        run(["ip", "netns", "add", sw])
        ns_sh(
            sw,
            "ip link set lo up; ip link add br0 type bridge; ip addr add {gw}/24 dev br0; ip link set br0 up; echo 0 > /proc/sys/net/ipv4/ip_forward".format(
                gw=st["gateway"]
            ),
        )
        for address in st["silent_nameservers"]:
            run(["ip", "-n", sw, "addr", "add", address + "/24", "dev", "br0"])
        nft = (
            "table inet kubeprep {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n"
            "  ip daddr {{ {ns} }} udp dport 53 drop\n  ip daddr {{ {ns} }} tcp dport 53 drop\n }}\n}}\n"
        ).format(ns=", ".join(st["silent_nameservers"]))
        run(["ip", "netns", "exec", sw, "nft", "-f", "-"], input_text=nft)
        ctl = st["controller_if"]
        run(["ip", "link", "add", ctl, "type", "veth", "peer", "name", ctl + "p", "netns", sw])
        run(["ip", "addr", "add", st["controller"] + "/24", "dev", ctl])
        run(["ip", "link", "set", ctl, "up"])
        ns_sh(sw, "ip link set {p} master br0; ip link set {p} up".format(p=ctl + "p"))

    def _keys(self):
        for key in ("id_ed25519", "ssh_host_ed25519_key"):
            path = os.path.join(self.state_dir, key)
            if not os.path.exists(path):
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path])
        self.state["identity_file"] = os.path.join(self.state_dir, "id_ed25519")

    def _host(self, index, name, stock=False):
        st = self.state
        ns = "%s%dh%d" % (PREFIX, st["slot"], index)
        address = "10.213.%d.%d" % (st["slot"], 10 + index)
        hostdir = os.path.join(self.state_dir, "hosts", name)
        for sub in ("upper", "work", "root/.ssh", "root/.sshd"):
            os.makedirs(os.path.join(hostdir, sub), exist_ok=True)
        shutil.copy(self.state["identity_file"] + ".pub", os.path.join(hostdir, "root/.ssh/authorized_keys"))
        shutil.copy(os.path.join(self.state_dir, "ssh_host_ed25519_key"), os.path.join(hostdir, "root/.sshd/"))
        files = {
            "hostname": name + "\n",
            "hosts": CLEAN_HOSTS.format(address=address, name=name),
            "nsswitch.conf": CLEAN_NSSWITCH,
            "resolv.conf": CLEAN_RESOLV.format(gateway=self.state["gateway"]),
            "machine-id": uuid.uuid4().hex + "\n",
        }
        for fname, text in files.items():
            with open(os.path.join(hostdir, "upper", fname), "w") as handle:
                handle.write(text)
        # resolv.conf may be a symlink in the lower /etc; the upper file replaces it.
        with open(os.path.join(hostdir, "root/.sshd/sshd_config"), "w") as handle:
            handle.write(SSHD_CONFIG.format(address=address))
        with open(os.path.join(hostdir, "init.sh"), "w") as handle:
            handle.write(INIT_SCRIPT.format(name=name, hostdir=hostdir, sshd=SSHD))
        run(["ip", "netns", "add", ns])
        peer = "%s%dh%dp" % (PREFIX, st["slot"], index)
        run(["ip", "-n", st["switch_ns"], "link", "add", peer, "type", "veth", "peer", "name", "eth1", "netns", ns])
        ns_sh(st["switch_ns"], "ip link set {p} master br0; ip link set {p} up".format(p=peer))
        ns_sh(
            ns,
            "ip link set lo up; ip addr add {a}/24 dev eth1; ip link set eth1 up; ip route add default via {gw}{forward}".format(
                a=address, gw=st["gateway"], forward="" if stock else "; echo 1 > /proc/sys/net/ipv4/ip_forward"
            ),
        )
        log = open(os.path.join(hostdir, "sshd.log"), "w")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--mount", "--uts", "--propagation", "private", "--", "/bin/sh", os.path.join(hostdir, "init.sh")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.hosts.append({"name": name, "ns": ns, "address": address, "pid": proc.pid, "dir": hostdir, "veth_peer": peer})

    def add_nat_nic(self, name):
        """Vagrant's NAT NIC: nat0 = 10.0.2.15/24 holding the default route, its peer
        10.0.2.2 alone in a private namespace (so nothing crosses between hosts)."""
        host = self.host(name)
        index = self.hosts.index(host) + 1
        nat_ns = "%s%dn%d" % (PREFIX, self.state["slot"], index)
        run(["ip", "netns", "add", nat_ns])
        run(["ip", "-n", nat_ns, "link", "add", "gw0", "type", "veth", "peer", "name", "nat0", "netns", host["ns"]])
        ns_sh(nat_ns, "ip link set lo up; ip addr add 10.0.2.2/24 dev gw0; ip link set gw0 up")
        ns_sh(host["ns"], "ip addr add 10.0.2.15/24 dev nat0; ip link set nat0 up; ip route replace default via 10.0.2.2 dev nat0")
        host["nat_ns"] = nat_ns

    def _wait_for_ssh(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        pending = list(self.hosts)
        while pending:
            host = pending[0]
            try:
                with socket.create_connection((host["address"], 22), timeout=1.0) as sock:
                    sock.settimeout(2.0)
                    if sock.recv(4).startswith(b"SSH-"):
                        pending.pop(0)
                        continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                with open(os.path.join(host["dir"], "sshd.log")) as handle:
                    log = handle.read()[-2000:]
                raise HarnessError("sshd of %s did not come up: %s" % (host["name"], log))
            time.sleep(0.05)

    def write_inventory(self):
        control = os.path.join(self.state_dir, "cp")
        os.makedirs(control, exist_ok=True)
        lines = ["[testhosts]"]
        for host in self.hosts:
            lines.append("%s ansible_host=%s" % (host["name"], host["address"]))
        lines += [
            "",
            "[testhosts:vars]",
            "ansible_user=root",
            "ansible_ssh_private_key_file=%s" % self.state["identity_file"],
            "ansible_python_interpreter=%s" % PYTHON,
            "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            "-o LogLevel=ERROR -o ControlMaster=auto -o ControlPersist=60s -o ControlPath=%s/%%C'" % control,
        ]
        path = os.path.join(self.state_dir, "inventory.ini")
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    # -- using hosts -----------------------------------------------------------
    def ansible_env(self, collections, forks=20, extra=None):
        """Environment for ansible/ansible-playbook runs against this fleet's inventory."""
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=collections,
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_PIPELINING="True",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCAL_TEMP=os.path.join(self.state_dir, "ansible-local"),
            ANSIBLE_FORKS=str(forks),
        )
        env.update(extra or {})
        return env

    def exec(self, name, args, input_text=None, check=True, timeout=120):
        """Run args inside host ``name`` (its /etc overlay, netns and hostname)."""
        host = self.host(name)
        pid = self.sshd_pid(host)
        proc = subprocess.run(
            ["nsenter", "--target", str(pid), "--mount", "--uts", "--net", "--"] + list(args),
            input=input_text,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise HarnessError("%s on %s failed (%d): %s %s" % (args, name, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def add_user(self, name, user, sudo=True):
        """A login user on host ``name`` with the fleet's key (and passwordless sudo), as real inventories have."""
        with open(self.state["identity_file"] + ".pub") as handle:
            key = handle.read()
        script = (
            # usermod -p '*': sshd without PAM refuses a locked ('!') account even for key logins.
            "id {u} >/dev/null 2>&1 || useradd -M -d /tmp -s /bin/sh {u}; usermod -p '*' {u}; mkdir -p /etc/kubeprep-testhosts/keys; "
            "cat > /etc/kubeprep-testhosts/keys/{u}; chmod 0644 /etc/kubeprep-testhosts/keys/{u}"
        ).format(u=user)
        if sudo:
            script += "; echo '{u} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{u}; chmod 0440 /etc/sudoers.d/{u}".format(u=user)
        self.exec(name, ["sh", "-c", script], input_text=key)

    def sshd_pid(self, host):
        """sshd's pid: ip netns exec, unshare and the init script all exec, so
        the process started is sshd itself (its title is rewritten, not its pid)."""
        pid = host["pid"]
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                alive = b"sshd" in handle.read()
        except OSError:
            alive = False
        if not alive:
            raise HarnessError("sshd of %s (pid %d) is not running" % (host["name"], pid))
        return pid

    # -- down ------------------------------------------------------------------
    def down(self):
        if self.state is None:
            try:
                self.load()
            except HarnessError:
                return
        namespaces = [h["ns"] for h in self.hosts] + [h["nat_ns"] for h in self.hosts if h.get("nat_ns")] + [self.state["switch_ns"]]
        kill_namespaces(namespaces)
        run(["ip", "link", "del", self.state["controller_if"]], check=False)
        try:
            os.unlink(os.path.join(LOCK_DIR, "slot-%d" % self.state["slot"]))
        except OSError:
            pass
        shutil.rmtree(os.path.join(self.state_dir, "hosts"), ignore_errors=True)
        try:
            os.unlink(self.state_file)
        except OSError:
            pass


def kill_namespaces(namespaces):
    for ns in namespaces:
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    for ns in namespaces:
        for _attempt in range(50):
            if not run(["ip", "netns", "pids", ns], check=False).stdout.strip():
                break
            time.sleep(0.02)
        run(["ip", "netns", "del", ns], check=False)


def down_all():
    """Remove every namespace, link and slot this harness (and machines.py) can have made."""
    import machines  # booted machines share the slots and switches; their overlays and cgroups go first

    removed = machines.down_all()
    mine = [ns for ns in netns_list() if re.match(r"^%s\d+(sw|h\d+|n\d+|m\d+)$" % PREFIX, ns)]
    kill_namespaces(mine)
    links = run(["ip", "-o", "link", "show"], check=False).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(PREFIX) and name.endswith("c"):
            run(["ip", "link", "del", name], check=False)
    shutil.rmtree(LOCK_DIR, ignore_errors=True)
    return removed + mine


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--state-dir", required=True)
    p_up.add_argument("--count", type=int, default=1)
    p_up.add_argument("--names", help="comma-separated host names (overrides --count)")
    p_up.add_argument("--stock", action="store_true", help="kernel defaults of a fresh host (ip_forward=0)")
    p_up.add_argument("--nat-hosts", default="", help="comma-separated hosts that get a Vagrant-like NAT NIC (nat0 10.0.2.15, default route)")
    p_down = sub.add_parser("down")
    p_down.add_argument("--state-dir")
    p_down.add_argument("--all", action="store_true")
    p_exec = sub.add_parser("exec")
    p_exec.add_argument("--state-dir", required=True)
    p_exec.add_argument("host")
    p_exec.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            fleet = Fleet(args.state_dir)
            names = args.names.split(",") if args.names else None
            try:
                fleet.up(count=args.count, names=names, nat_hosts=[n for n in args.nat_hosts.split(",") if n], stock=args.stock)
            except BaseException:
                fleet.down()
                raise
            print(json.dumps(fleet.state, indent=2))
        elif args.cmd == "down":
            if args.all:
                print("removed: %s" % " ".join(down_all()))
            elif args.state_dir:
                Fleet(args.state_dir).down()
            else:
                parser.error("down needs --state-dir or --all")
        elif args.cmd == "exec":
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            proc = Fleet(args.state_dir).load().exec(args.host, command, check=False)
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
            return proc.returncode
    except HarnessError as exc:
        print("testhosts: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
