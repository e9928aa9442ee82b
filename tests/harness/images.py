# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base root filesystems for booted test machines, built once and cached.

Each image is a debootstrapped Debian (minbase) plus what the reboot
scenarios need; machines boot from an overlay over it, so the image itself is
never written. An image is rebuilt when its recipe (below) changes: the
recipe's hash is stored next to it.

  bookworm  Debian 12: ifupdown, NetworkManager, netplan.io, systemd-networkd,
            systemd-resolved, cloud-init (all but ifupdown disabled; a machine
            enables the one it is about)
  bullseye  Debian 11: glibc 2.31 and golang-1.15-go (Go 1.15.15), F3's real runtimes

Usage (root):  images.py build [bookworm|bullseye ...]   build what is missing or stale
               images.py path SUITE                      print an image's root
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

CACHE = os.environ.get("KUBEPREP_IMAGE_CACHE", "/var/cache/kubeprep-hostnet/images")
MIRROR = os.environ.get("KUBEPREP_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE = "systemd,systemd-sysv,iproute2,python3,openssh-server,ifupdown,dbus"

# The commands kubeadm's preflight looks for that minbase lacks (rule required-tools-missing): a machine is a host
# ready for kubeadm unless a test takes one away.
KUBEADM_TOOLS = ["iptables", "conntrack", "ethtool", "socat"]

RECIPES = {
    "bookworm": {
        "packages": ["network-manager", "netplan.io", "systemd-resolved", "cloud-init", "nftables", "procps", "sudo", "kmod"] + KUBEADM_TOOLS,
        # A stock Debian 12 has ifupdown in charge; the others are installed
        # but off until a scenario turns its manager on.
        # cloud-init stays off through /etc/cloud/cloud-init.disabled.
        "disable": ["NetworkManager.service", "NetworkManager-wait-online.service", "systemd-resolved.service"],
    },
    "bullseye": {
        "packages": ["golang-1.15-go", "nftables", "procps", "kmod"] + KUBEADM_TOOLS,
        "disable": [],
    },
}

# Runs inside the chroot after the packages are in.
FINISH = """set -e
rm -f /etc/ssh/ssh_host_*
rm -f /etc/machine-id /var/lib/dbus/machine-id
: > /etc/machine-id
rm -f /etc/resolv.conf
echo 'nameserver 127.0.0.1' > /etc/resolv.conf
for unit in {disable}; do systemctl disable "$unit" >/dev/null 2>&1 || true; done
systemctl enable ssh.service >/dev/null 2>&1 || true
systemctl mask getty@.service console-getty.service serial-getty@.service >/dev/null 2>&1 || true
touch /etc/cloud/cloud-init.disabled 2>/dev/null || true
apt-get clean
rm -rf /var/lib/apt/lists/*
"""


class ImageError(Exception):
    pass


def recipe_hash(suite):
    text = json.dumps({"base": BASE, "recipe": RECIPES[suite], "finish": FINISH}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def image_root(suite):
    return os.path.join(CACHE, suite, "rootfs")


def is_current(suite):
    try:
        with open(os.path.join(CACHE, suite, "recipe")) as handle:
            return handle.read().strip() == recipe_hash(suite) and os.path.isfile(os.path.join(image_root(suite), "sbin/init"))
    except OSError:
        return False


def _run(args, log, env=None):
    log.write("+ %s\n" % " ".join(args))
    log.flush()
    proc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    if proc.returncode != 0:
        raise ImageError("%s failed (%d); see %s" % (" ".join(args[:3]), proc.returncode, log.name))


def build(suite, log_dir=None):
    """Build ``suite``'s image unless a current one is cached; returns its root."""
    if suite not in RECIPES:
        raise ImageError("unknown image %r (have: %s)" % (suite, ", ".join(sorted(RECIPES))))
    if is_current(suite):
        return image_root(suite)
    for tool in ("debootstrap", "systemd-nspawn"):
        if not shutil.which(tool):
            raise ImageError("%s is required (apt-get install debootstrap systemd-container)" % tool)
    top = os.path.join(CACHE, suite)
    os.makedirs(top, exist_ok=True)
    staging = os.path.join(top, "rootfs.new")
    shutil.rmtree(staging, ignore_errors=True)
    log_path = os.path.join(log_dir or top, "build-%s.log" % suite)
    started = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    with open(log_path, "w") as log:
        _run(["debootstrap", "--variant=minbase", "--include=" + BASE, suite, staging, MIRROR], log, env)
        shutil.copy("/etc/resolv.conf", os.path.join(staging, "etc/resolv.conf"))
        policy = os.path.join(staging, "usr/sbin/policy-rc.d")
        with open(policy, "w") as handle:
            handle.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        packages = RECIPES[suite]["packages"]
        _run(["chroot", staging, "apt-get", "-o", "Dpkg::Use-Pty=0", "install", "-y", "-q", "--no-install-recommends"] + packages, log, env)
        os.unlink(policy)
        finish = FINISH.format(disable=" ".join(RECIPES[suite]["disable"]))
        _run(["chroot", staging, "sh", "-c", finish], log, env)
        log.write("built in %.0f s\n" % (time.monotonic() - started))
    final = image_root(suite)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(staging, final)
    with open(os.path.join(top, "recipe"), "w") as handle:
        handle.write(recipe_hash(suite) + "\n")
    return final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_build = sub.add_parser("build")
    p_build.add_argument("suites", nargs="*", default=sorted(RECIPES))
    p_path = sub.add_parser("path")
    p_path.add_argument("suite")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            for suite in args.suites:
                started = time.monotonic()
                fresh = not is_current(suite)
                root = build(suite)
                print("%s: %s (%s, %.0f s)" % (suite, root, "built" if fresh else "cached", time.monotonic() - started))
        else:
            print(image_root(args.suite))
    except ImageError as exc:
        print("images: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
