"""Image audit (F3) on a rootfs made here: static Go binaries really built with
Debian's golang (go1.19) and with Go 1.15.15 (Debian 11's golang-1.15-go, from
the bullseye machine image of tests/harness/images.py, built once and cached),
a copy without .go.buildinfo (as Go 1.12 and older wrote them), and no
nsswitch.conf."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import COLLECTIONS, ROOT, VENV_BIN

sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
import images

HELLO = """package main

import (
\t"fmt"
\t"net"
)

func main() {
\taddrs, err := net.LookupHost("localhost")
\tfmt.Println(addrs, err)
}
"""


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    go = shutil.which("go")
    assert go, "Debian's golang-go is required (make test installs it)"
    work = tmp_path_factory.mktemp("gobuild")
    (work / "main.go").write_text(HELLO)
    env = dict(os.environ, HOME=str(work), GOCACHE=str(work / "cache"), CGO_ENABLED="0", GOFLAGS="-mod=mod", GOPROXY="off")
    subprocess.run([go, "build", "-o", str(work / "hello"), "main.go"], cwd=str(work), env=env, check=True)
    root = tmp_path_factory.mktemp("image") / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n")
    (root / "etc/resolv.conf").write_text("nameserver 10.213.255.201\n")
    shutil.copy(str(work / "hello"), str(root / "usr/local/bin/kube-apiserver"))
    native = go_version(go, str(work / "hello"))
    # The real Go 1.15 toolchain (a glibc program; it runs here as well as in its Debian 11).
    go115 = os.path.join(images.build("bullseye"), "usr/lib/go-1.15/bin/go")
    subprocess.run([go115, "build", "-o", str(root / "usr/local/bin/etcd"), "main.go"], cwd=str(work), env=dict(env, GO111MODULE="off", GOFLAGS=""), check=True)
    old = go_version(go, str(root / "usr/local/bin/etcd"))
    assert old == "go1.15.15", old
    # Go 1.12 and older wrote no build info: the same binary without its .go.buildinfo section.
    subprocess.run(["objcopy", "--remove-section", ".go.buildinfo", str(work / "hello"), str(root / "usr/local/bin/flanneld")], check=True)
    return {"root": root, "go": go, "native": native, "old": old}


def go_version(go, path):
    return subprocess.run([go, "version", path], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.split()[-1]


def run_image_audit(root, report):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1")
    cmd = [
        os.path.join(VENV_BIN, "ansible-playbook"),
        "kubeprep.hostnet.image_audit",
        "-e",
        "hostnet_image_root=%s" % root,
        "-e",
        "hostnet_report_dir=%s" % report,
    ]
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False, cwd=str(report.parent))


def test_go_reads_the_same_versions(rootfs):
    assert go_version(rootfs["go"], str(rootfs["root"] / "usr/local/bin/kube-apiserver")) == rootfs["native"]
    assert go_version(rootfs["go"], str(rootfs["root"] / "usr/local/bin/etcd")) == rootfs["old"]
    proc = subprocess.run(
        [rootfs["go"], "version", str(rootfs["root"] / "usr/local/bin/flanneld")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=False,
    )
    assert "could not read Go build info" in proc.stdout


def test_image_audit_names_the_old_go_program(rootfs, tmp_path):
    proc = run_image_audit(rootfs["root"], tmp_path / "report")
    assert proc.returncode != 0, proc.stdout  # fail_on=error by default: a gate for an image pipeline
    assert "[ERROR dns-before-files] localhost: /etc/nsswitch.conf is missing and 2 Go program(s) built before Go 1.16" in proc.stdout
    assert "Traceback" not in proc.stdout
    report = json.loads((tmp_path / "report/hostnet-report.json").read_text())
    facts_root = report["hosts"]["localhost"]
    (finding,) = [f for f in facts_root["findings"] if f["id"] == "dns-before-files"]
    assert "/usr/local/bin/etcd: built with %s (DNS before /etc/hosts)" % rootfs["old"] in finding["evidence"]
    assert "/usr/local/bin/flanneld: built with go1.12 or older (DNS before /etc/hosts)" in finding["evidence"]
    assert "/usr/local/bin/kube-apiserver: built with %s (/etc/hosts first)" % rootfs["native"] in finding["evidence"]


def test_fixed_image_is_clean(rootfs, tmp_path):
    (rootfs["root"] / "etc/nsswitch.conf").write_text("hosts: files dns\n")
    try:
        proc = run_image_audit(rootfs["root"], tmp_path / "report")
    finally:
        (rootfs["root"] / "etc/nsswitch.conf").unlink()
    assert proc.returncode == 0, proc.stdout
    report = json.loads((tmp_path / "report/hostnet-report.json").read_text())
    assert [f["id"] for f in report["hosts"]["localhost"]["findings"] if f["id"] == "dns-before-files"] == []
