"""The host's own NetworkManager: a process of that name counts only in the caller's network and mount
namespaces; where the namespace links cannot be read, NetworkManager's pid file decides."""

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import nmdetect


def fake_proc(tmp_path, processes, self_ns=("net:[1]", "pid:[2]")):
    """A /proc with ``processes``: pid -> (comm, (net link, pid link) or None for unreadable links)."""
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    os.symlink(self_ns[0], str(proc / "self" / "ns" / "net"))
    os.symlink(self_ns[1], str(proc / "self" / "ns" / "pid"))
    os.symlink("mnt:[3]", str(proc / "self" / "ns" / "mnt"))
    for pid, (comm, links) in processes.items():
        (proc / str(pid) / "ns").mkdir(parents=True)
        (proc / str(pid) / "comm").write_bytes(comm)
        if links:
            os.symlink(links[0], str(proc / str(pid) / "ns" / "net"))
            os.symlink(links[1], str(proc / str(pid) / "ns" / "pid"))
            os.symlink(links[2] if len(links) > 2 else "mnt:[3]", str(proc / str(pid) / "ns" / "mnt"))
    return str(proc)


def test_own_networkmanager_counts(tmp_path):
    proc = fake_proc(tmp_path, {10: (b"sshd\n", ("net:[1]", "pid:[2]")), 42: (b"NetworkManager\n", ("net:[1]", "pid:[2]"))})
    assert nmdetect.running(proc, pid_file=str(tmp_path / "none")) is True


def test_networkmanager_of_another_namespace_does_not_count(tmp_path):
    # Same name, another network namespace (a container's), or the same network but another PID namespace
    # (a container on the host's network: docker --network host).
    proc = fake_proc(tmp_path, {42: (b"NetworkManager\n", ("net:[9]", "pid:[8]")), 43: (b"NetworkManager\n", ("net:[1]", "pid:[8]"))})
    assert nmdetect.running(proc, pid_file=str(tmp_path / "none")) is False


def test_unreadable_namespaces_fall_back_to_the_pid_file(tmp_path):
    proc = fake_proc(tmp_path, {42: (b"NetworkManager\n", None)})
    pid_file = tmp_path / "NetworkManager.pid"
    assert nmdetect.running(proc, pid_file=str(pid_file)) is False  # no pid file: not the host's
    pid_file.write_text("42\n")
    assert nmdetect.running(proc, pid_file=str(pid_file)) is True
    pid_file.write_text("77\n")  # stale: names no live NetworkManager
    assert nmdetect.running(proc, pid_file=str(pid_file)) is False
    pid_file.write_bytes(b"\xff\xfe garbage")
    assert nmdetect.running(proc, pid_file=str(pid_file)) is False


def test_no_networkmanager_and_odd_bytes(tmp_path):
    proc = fake_proc(tmp_path, {1: (b"\xff\xfeNetwork\x00", ("net:[1]", "pid:[2]"))})
    assert nmdetect.running(proc, pid_file=str(tmp_path / "none")) is False


def test_a_networkmanager_systemd_sandboxes_in_a_mount_namespace_of_its_own_counts(tmp_path):
    """NetworkManager.service runs with ProtectSystem=/ProtectHome= (Debian, Ubuntu, Fedora): systemd gives it a
    mount namespace of its own. It is the host's NetworkManager all the same (a booted machine showed it)."""
    proc = fake_proc(tmp_path, {42: (b"NetworkManager\n", ("net:[1]", "pid:[2]", "mnt:[77]"))})
    assert nmdetect.running(proc, pid_file=str(tmp_path / "none")) is True
