# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Booted test machines that really reboot: systemd-nspawn over cached Debian images.

Beside the namespace test hosts (testhosts.py, no init, fast), a machine runs
a real systemd: network managers, systemd-sysctl, cloud-init and units start
at boot, so persistence can be proven. Topology as in testhosts.py (one switch
per fleet, 10.213.S.0/24); machine i has 10.213.S.(10+i) on eth1, a veth whose
peer is on the switch, in a network namespace of its own ``kpSmi``.

  boot    an overlay (upper dir per machine) over the image in images.py is the
          machine's disk; systemd-nspawn --boot runs from the root namespace
          with --network-namespace-path, CAP_NET_ADMIN, --register=no and
          SYSTEMD_NSPAWN_API_VFS_WRITABLE=network (else systemd-sysctl is
          skipped at boot), each machine in a cgroup of its own (name=systemd
          and unified), or the guests' systemds stop each other's units.
  reboot  the guest's systemd reboots cleanly (ctrl-alt-del.target; nspawn exits), then the namespace and
          veth are deleted and made again (routes, addresses, per-namespace
          sysctls are lost, as in a real reboot), and the same disk boots.
  down    the guest is killed, the overlay unmounted, cgroups, namespaces and
          the machine's directory removed; ``down_all`` finds every leftover
          through the registry in /run/kubeprep-machines, even after a crash.

Usage (root):
  machines.py up --state-dir DIR NAME:IMAGE[:MANAGER] ...   boot machines (MANAGER sets up eth1, default ifupdown)
  machines.py reboot --state-dir DIR NAME
  machines.py down --state-dir DIR | --all
"""

import argparse
import glob
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import images

import testhosts
from testhosts import HarnessError, run

REGISTRY = "/run/kubeprep-machines"
CGROUP_ROOTS = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
BOOT_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 60.0

HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n{address}\t{name}\n"
SSHD_DROPIN = "# kubeprep test machine\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\nMaxStartups 100\n"


def network_files(manager, address, prefix=24, gateway=None, interface="eth1"):
    """The files (path -> (text, mode)) and units that make ``manager`` configure
    ``interface`` at boot: the address, and a gateway only when given (F2's
    incident state is an address and no gateway)."""
    cidr = "%s/%d" % (address, prefix)
    if manager == "ifupdown":
        text = "auto lo\niface lo inet loopback\n\nauto {i}\niface {i} inet static\n    address {c}\n".format(i=interface, c=cidr)
        if gateway:
            text += "    gateway %s\n" % gateway
        return {"etc/network/interfaces": (text, 0o644)}, []
    if manager == "systemd-networkd":
        text = "[Match]\nName={i}\n\n[Network]\nAddress={c}\n".format(i=interface, c=cidr) + ("Gateway=%s\n" % gateway if gateway else "")
        return {"etc/systemd/network/10-%s.network" % interface: (text, 0o644)}, ["systemd-networkd.service"]
    if manager == "NetworkManager":
        text = (
            "[connection]\nid={i}\nuuid={u}\ntype=ethernet\ninterface-name={i}\n\n[ipv4]\nmethod=manual\naddress1={c}{g}\n\n[ipv6]\nmethod=disabled\n"
        ).format(i=interface, u=uuid.uuid4(), c=cidr, g=("," + gateway) if gateway else "")
        return {"etc/NetworkManager/system-connections/%s.nmconnection" % interface: (text, 0o600)}, ["NetworkManager.service"]
    if manager in ("netplan-networkd", "netplan-NetworkManager"):
        renderer = manager.split("-", 1)[1]
        text = "network:\n  version: 2\n  renderer: {r}\n  ethernets:\n    {i}:\n      addresses: [{c}]\n".format(r=renderer, i=interface, c=cidr)
        if gateway:
            text += "      routes:\n        - to: default\n          via: %s\n" % gateway
        units = ["systemd-networkd.service"] if renderer == "networkd" else ["NetworkManager.service"]
        return {"etc/netplan/10-%s.yaml" % interface: (text, 0o600)}, units
    raise HarnessError("unknown network manager %r" % manager)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Machines(testhosts.Fleet):
    """Booted machines on one switch. Always call down(), even on failure."""

    def _registry_file(self):
        return os.path.join(REGISTRY, "slot-%d.json" % self.state["slot"])

    def save(self):
        super().save()
        os.makedirs(REGISTRY, exist_ok=True)
        with open(self._registry_file(), "w") as handle:
            json.dump(self.state, handle)

    # -- up ----------------------------------------------------------------------
    def up(self, machines, **_ignored):
        """``machines``: dicts with name, image (images.RECIPES), and optionally
        manager (network_files), gateway (True: the switch; default none), files {path: (text, mode)}
        (or a function of the machine's dict: it knows the address), links {path: target},
        remove [paths], enable [units]. Images are built when missing."""
        for tool in ("systemd-nspawn", "ip", "ssh-keygen", "ssh"):
            if not shutil.which(tool):
                raise HarnessError("%s is required (apt-get install systemd-container iproute2 openssh-client)" % tool)
        if os.geteuid() != 0:
            raise HarnessError("test machines need root (namespaces, overlays, nspawn)")
        for suite in sorted({m["image"] for m in machines}):
            images.build(suite)
        os.makedirs(self.state_dir, exist_ok=True)
        self.state = self.new_state(testhosts._claim_slot(), kind="machines")
        self.save()
        self._switch()
        self._keys()
        for index, spec in enumerate(machines, start=1):
            self._machine(index, spec)
            self.save()
        for host in self.hosts:
            self._boot(host)
            self.save()
        self._wait_booted(self.hosts)
        self.write_inventory()
        return self

    def _machine(self, index, spec):
        st = self.state
        name = spec["name"]
        address = "10.213.%d.%d" % (st["slot"], 10 + index)
        mdir = os.path.join(self.state_dir, "machines", name)
        for sub in ("upper", "work", "root"):
            os.makedirs(os.path.join(mdir, sub), exist_ok=True)
        host = {
            "name": name,
            "index": index,
            "ns": "%s%dm%d" % (testhosts.PREFIX, st["slot"], index),
            "veth_peer": "%s%dm%dp" % (testhosts.PREFIX, st["slot"], index),
            "address": address,
            "dir": mdir,
            "root": os.path.join(mdir, "root"),
            "image": spec["image"],
            "manager": spec.get("manager", "ifupdown"),
            "cgroup": "kubeprep-%d-%s" % (st["slot"], name),
            "boots": 0,
        }
        self.hosts.append(host)
        self.save()
        run(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (images.image_root(spec["image"]), mdir, mdir),
                host["root"],
            ]
        )
        host["mounted"] = True
        files = {
            "etc/hostname": (name + "\n", 0o644),
            "etc/hosts": (HOSTS.format(address=address, name=name), 0o644),
            "etc/machine-id": (uuid.uuid4().hex + "\n", 0o444),
            # The switch (nothing answers on 53: refused at once), not the image's 127.0.0.1: kubelet hands this
            # file to pods, where a loopback nameserver is the pod's own (rule resolv-conf-loopback-nameserver).
            "etc/resolv.conf": ("nameserver %s\noptions timeout:1 attempts:2\n" % st["gateway"], 0o644),
            "etc/ssh/sshd_config.d/kubeprep.conf": (SSHD_DROPIN, 0o644),
        }
        gateway = st["gateway"] if spec.get("gateway") is True else spec.get("gateway")
        net_files, units = network_files(host["manager"], address, gateway=gateway)
        files.update(net_files)
        extra = spec.get("files") or {}
        files.update(extra(host) if callable(extra) else extra)
        with open(st["identity_file"] + ".pub") as handle:
            files["root/.ssh/authorized_keys"] = (handle.read(), 0o600)
        for key in ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"):
            with open(os.path.join(self.state_dir, key)) as handle:
                files["etc/ssh/" + key] = (handle.read(), 0o600 if not key.endswith(".pub") else 0o644)
        self.write_files(name, files)
        for path, target in (spec.get("links") or {}).items():
            link = os.path.join(host["root"], path.lstrip("/"))
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
        for path in spec.get("remove") or []:
            target = os.path.join(host["root"], path.lstrip("/"))
            if os.path.lexists(target):
                os.unlink(target)
        for unit in units + list(spec.get("enable") or []):
            run(["systemctl", "--root=" + host["root"], "--quiet", "enable", unit])

    def write_files(self, name, files):
        """Write files into a machine's disk (for the next boot; the overlay's upper dir keeps them)."""
        root = self.host(name)["root"]
        for path, (text, mode) in files.items():
            target = os.path.join(root, path.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.islink(target):
                os.unlink(target)
            with open(target, "w") as handle:
                handle.write(text)
            os.chmod(target, mode)

    def _netns(self, host):
        st = self.state
        # The old namespace's veth goes with it, but asynchronously: delete it now.
        run(["ip", "-n", st["switch_ns"], "link", "del", host["veth_peer"]], check=False)
        run(["ip", "netns", "add", host["ns"]])
        # A NIC keeps its MAC across a reboot: with a new one, every neighbour's
        # ARP cache points at the old MAC for half a minute.
        mac = "02:00:0a:d5:%02x:%02x" % (st["slot"], 10 + host["index"])
        run(["ip", "-n", st["switch_ns"], "link", "add", host["veth_peer"], "type", "veth", "peer", "name", "eth1", "address", mac, "netns", host["ns"]])
        testhosts.ns_sh(st["switch_ns"], "ip link set {p} master br0; ip link set {p} up".format(p=host["veth_peer"]))

    def _cgroups(self, host):
        paths = []
        for top in CGROUP_ROOTS:
            if os.path.isdir(top):
                path = os.path.join(top, host["cgroup"])
                os.makedirs(path, exist_ok=True)
                paths.append(path)
        return paths

    def _boot(self, host):
        self._netns(host)
        cgroups = self._cgroups(host)
        moves = "".join("echo $$ > %s/cgroup.procs; " % path for path in cgroups)
        nspawn = [
            "systemd-nspawn",
            "--quiet",
            "-D",
            host["root"],
            "--boot",
            "--network-namespace-path=/run/netns/" + host["ns"],
            "--capability=CAP_NET_ADMIN",
            "--register=no",
            "--keep-unit",
            "--console=read-only",
            # The machine's own /etc/resolv.conf (by default nspawn copies in this machine's, whose nameserver is a real network).
            "--resolv-conf=off",
            "--timezone=off",
            # SIGTERM to nspawn becomes SIGINT to the guest's systemd: ctrl-alt-del.target, a clean reboot.
            "--kill-signal=SIGINT",
            "--machine=" + host["name"],
        ]
        host["boots"] += 1
        log = open(os.path.join(host["dir"], "console-%d.log" % host["boots"]), "w")
        env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="network")
        proc = subprocess.Popen(
            ["sh", "-c", moves + 'exec "$@"', "sh"] + nspawn,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        log.close()
        host["pid"] = proc.pid
        self._procs = getattr(self, "_procs", {})
        self._procs[host["name"]] = proc

    def _wait_booted(self, hosts, timeout=BOOT_TIMEOUT):
        """sshd answers and systemd has finished starting up (running or degraded)."""
        deadline = time.monotonic() + timeout
        for host in hosts:
            while True:
                if not _pid_alive(host["pid"]):
                    raise HarnessError("machine %s exited during boot: %s" % (host["name"], self.console(host["name"])[-2000:]))
                if self._banner(host["address"]):
                    state = self.ssh(host["name"], "systemctl is-system-running --wait", check=False, timeout=max(5, deadline - time.monotonic()))
                    if state.stdout.strip() in ("running", "degraded"):
                        break
                if time.monotonic() > deadline:
                    raise HarnessError("machine %s did not boot in %.0f s: %s" % (host["name"], timeout, self.console(host["name"])[-2000:]))
                time.sleep(0.2)

    @staticmethod
    def _banner(address):
        try:
            with socket.create_connection((address, 22), timeout=1.0) as sock:
                sock.settimeout(2.0)
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def console(self, name):
        host = self.host(name)
        try:
            with open(os.path.join(host["dir"], "console-%d.log" % host["boots"]), errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    # -- using machines --------------------------------------------------------------
    def ssh(self, name, command, check=True, timeout=120, input_text=None):
        """Run a shell command on a machine over SSH (as root), as Ansible reaches it."""
        host = self.host(name)
        args = [
            "ssh",
            "-i",
            self.state["identity_file"],
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "root@" + host["address"],
            command,
        ]
        proc = subprocess.run(args, input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise HarnessError("%r on %s failed (%d): %s %s" % (command, name, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def exec(self, name, args, input_text=None, check=True, timeout=120):
        """Run args on a machine (over SSH: the guest's own mounts, pid namespace and cgroups)."""
        command = " ".join(shlex.quote(arg) for arg in args)
        return self.ssh(name, command, check=check, timeout=timeout, input_text=input_text)

    def reboot(self, names):
        """Reboot machines the way a real reboot loses state: a clean shutdown,
        a new network namespace (no address, route or sysctl survives), the same disk."""
        names = [names] if isinstance(names, str) else list(names)
        hosts = [self.host(name) for name in names]
        for host in hosts:
            if host.get("pid") and _pid_alive(host["pid"]):
                os.kill(host["pid"], signal.SIGTERM)
        for host in hosts:
            self._stop(host, SHUTDOWN_TIMEOUT)
            testhosts.kill_namespaces([host["ns"]])
            self._boot(host)
            self.save()
        self._wait_booted(hosts)

    def _stop(self, host, timeout):
        """Wait for nspawn to exit; kill the guest (its whole pid namespace) when it does not."""
        pid = host.get("pid")
        deadline = time.monotonic() + timeout
        while pid and _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid and _pid_alive(pid):
            for child in _children(pid):
                _kill(child)
            _kill(pid)
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        proc = getattr(self, "_procs", {}).pop(host["name"], None)
        if proc is not None:
            proc.poll()
        host["pid"] = None

    # -- down ----------------------------------------------------------------------
    def down(self):
        if self.state is None:
            try:
                self.load()
            except HarnessError:
                return
        teardown(self.state)
        shutil.rmtree(os.path.join(self.state_dir, "machines"), ignore_errors=True)
        try:
            os.unlink(self.state_file)
        except OSError:
            pass


def _children(pid):
    found = []
    for path in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(path) as handle:
                found += [int(x) for x in handle.read().split()]
        except OSError:
            pass
    return found


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def teardown(state):
    """Remove everything one machine fleet made, from its saved state (no live objects needed)."""
    for host in state.get("hosts", []):
        pid = host.get("pid")
        if pid and _pid_alive(pid):
            for child in _children(pid):
                _kill(child)
            _kill(pid)
    namespaces = [h["ns"] for h in state.get("hosts", [])] + [state["switch_ns"]]
    testhosts.kill_namespaces(namespaces)
    for host in state.get("hosts", []):
        pid = host.get("pid")
        deadline = time.monotonic() + 10
        while pid and _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if os.path.ismount(host["root"]):
            if run(["umount", host["root"]], check=False).returncode != 0:
                run(["umount", "-l", host["root"]], check=False)
        for top in CGROUP_ROOTS:
            _remove_cgroup(os.path.join(top, host["cgroup"]))
    run(["ip", "link", "del", state["controller_if"]], check=False)
    try:
        os.unlink(os.path.join(testhosts.LOCK_DIR, "slot-%d" % state["slot"]))
    except OSError:
        pass
    try:
        os.unlink(os.path.join(REGISTRY, "slot-%d.json" % state["slot"]))
    except OSError:
        pass


def _remove_cgroup(path):
    """Empty cgroup directories can only be removed deepest first (rmdir, not rm)."""
    if not os.path.isdir(path):
        return
    for current, dirs, _files in os.walk(path, topdown=False):
        for directory in dirs:
            try:
                os.rmdir(os.path.join(current, directory))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def down_all():
    """Tear down every machine fleet in the registry (then the namespace leftovers)."""
    removed = []
    for path in sorted(glob.glob(os.path.join(REGISTRY, "slot-*.json"))):
        try:
            with open(path) as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            os.unlink(path)
            continue
        teardown(state)
        shutil.rmtree(os.path.join(state.get("state_dir", "/nonexistent"), "machines"), ignore_errors=True)
        removed += [h["name"] for h in state.get("hosts", [])]
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--state-dir", required=True)
    p_up.add_argument("machines", nargs="+", help="NAME:IMAGE[:MANAGER]")
    p_reboot = sub.add_parser("reboot")
    p_reboot.add_argument("--state-dir", required=True)
    p_reboot.add_argument("names", nargs="+")
    p_down = sub.add_parser("down")
    p_down.add_argument("--state-dir")
    p_down.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            specs = []
            for item in args.machines:
                parts = item.split(":")
                specs.append({"name": parts[0], "image": parts[1] if len(parts) > 1 else "bookworm", "manager": parts[2] if len(parts) > 2 else "ifupdown"})
            fleet = Machines(args.state_dir)
            try:
                fleet.up(specs)
            except BaseException:
                fleet.down()
                raise
            print(json.dumps(fleet.state, indent=2))
        elif args.cmd == "reboot":
            Machines(args.state_dir).load().reboot(args.names)
        elif args.all:
            print("removed machines: %s" % " ".join(down_all()))
        elif args.state_dir:
            Machines(args.state_dir).down()
        else:
            parser.error("down needs --state-dir or --all")
    except (HarnessError, images.ImageError) as exc:
        print("machines: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
