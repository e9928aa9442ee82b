"""The collector on real files: live system, image roots, and bad input."""

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, hostprocs

from helpers import make_root


def test_live_gather_reports_every_group():
    facts = gather.gather(run_command=None)
    for key in ("hosts_file", "nsswitch", "resolv_conf", "libc", "sysctl", "routes", "localhost_resolution", "identity", "interfaces"):
        assert key in facts, key
    assert facts["live"] is True
    assert facts["localhost_resolution"]["status"] in ("ok", "error", "timeout")
    # Without a command runner there is no ip: a problem is recorded, routes come from /proc.
    assert any(p["source"] == "ip" for p in facts["problems"])
    assert facts["interfaces"]["status"] == "unavailable"
    assert facts["routes"]["source"] == "/proc/net/route"


def test_sysctl_absent_key_is_absent_not_zero():
    facts = gather.gather()
    for key, entry in facts["sysctl"].items():
        path = "/proc/sys/" + key.replace(".", "/")
        assert entry["status"] == ("ok" if os.path.exists(path) else "absent"), key
        if entry["status"] == "absent":
            assert entry["value"] is None


def test_image_root(tmp_path):
    root = make_root(tmp_path, "alpine318", libc=("musl", "1.2.4"))
    facts = gather.gather(root=root)
    assert facts["live"] is False
    assert facts["libc"]["family"] == "musl" and facts["libc"]["version"] == "1.2.4"
    assert facts["nsswitch"]["status"] == "missing"
    assert facts["nsswitch"]["effective_from"] == "libc default"
    assert facts["resolv_conf"]["worst_case_model"] == "musl"
    assert facts["localhost_resolution"]["status"] == "not_applicable"


def test_old_glibc_image_defaults_to_dns_first(tmp_path):
    root = make_root(tmp_path, "centos7", libc=("glibc", "2.17"), overrides={"etc/nsswitch.conf": None})
    facts = gather.gather(root=root)
    assert facts["libc"] == {"family": "glibc", "version": "2.17", "source": os.path.join(root, "lib/x86_64-linux-gnu/libc.so.6")}
    assert facts["nsswitch"]["dns_before_files"] is True


def test_bad_input_is_reported_not_raised(tmp_path):
    root = make_root(tmp_path, "debian12")
    os.unlink(os.path.join(root, "etc/hosts"))
    os.mkdir(os.path.join(root, "etc/hosts"))  # a directory where a file should be
    with open(os.path.join(root, "etc/resolv.conf"), "wb") as handle:
        handle.write(b"nameserver 10.0.0.1\n\xff\xfe garbage\n")
    facts = gather.gather(root=root)
    assert facts["hosts_file"]["status"] == "not_a_file"
    assert any(p["source"] == "/etc/hosts" for p in facts["problems"])
    assert facts["resolv_conf"]["non_utf8_at_byte"] == 20
    assert [n["address"] for n in facts["resolv_conf"]["nameservers"]] == ["10.0.0.1"]


def test_missing_root(tmp_path):
    facts = gather.gather(root=str(tmp_path / "nope"))
    assert facts["problems"][0]["source"] == "root"


def test_resolver_probe_is_bounded(monkeypatch):
    import socket
    import time

    def slow(*args, **kwargs):
        time.sleep(3)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    start = time.monotonic()
    facts = gather.gather(resolver_timeout=0.2)
    assert time.monotonic() - start < 2
    assert facts["localhost_resolution"]["status"] == "timeout"


def test_service_ip_from_cidr():
    assert gather.first_service_ip("10.233.0.0/18") == "10.233.0.1"
    assert gather.first_service_ip("10.96.0.10") == "10.96.0.10"
    assert gather.first_service_ip("fd00::/108") == "fd00::1"
    assert gather.first_service_ip("not-an-ip") is None


# -- port_holders (rule port-in-use) -------------------------------------------------------------

TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def tcp_line(n, port, inode, state="0A", address="00000000"):
    return "%4d: %s:%04X 00000000:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n" % (
        n,
        address,
        port,
        state,
        inode,
    )


def fake_proc(tmp_path, tcp, processes, udp=""):
    """A /proc with net/tcp (and net/udp) and each pid's comm, cmdline and fd links ({pid: (comm, argv, [inodes])})."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(TCP_HEADER + tcp)
    (tmp_path / "net" / "udp").write_text(TCP_HEADER + udp)
    for pid, (comm, argv, inodes) in processes.items():
        (tmp_path / str(pid) / "fd").mkdir(parents=True)
        (tmp_path / str(pid) / "comm").write_bytes(comm + b"\n")
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
        (tmp_path / str(pid) / "fd" / "0").symlink_to("/dev/null")
        for fd, inode in enumerate(inodes, 3):
            (tmp_path / str(pid) / "fd" / str(fd)).symlink_to("socket:[%d]" % inode)
    return str(tmp_path)


def test_port_holders_names_the_listening_process(tmp_path):
    tcp = tcp_line(0, 6443, 777) + tcp_line(1, 6443, 778, state="01") + tcp_line(2, 22, 779) + tcp_line(3, 10259, 0)
    proc = fake_proc(tmp_path, tcp, {812: (b"haproxy", [b"/usr/sbin/haproxy", b"-f", b"/etc/haproxy/haproxy.cfg"], [779, 777]), 9: (b"sshd", [b"sshd"], [779])})
    result = hostprocs.port_holders(proc=proc)
    assert result["status"] == "ok" and "tcp/6443" in result["ports"] and "udp/8472" in result["ports"]
    # The established connection (state 01) and port 22 are not listed; the kernel's socket (inode 0) is, with no process.
    assert result["list"] == [
        {
            "proto": "tcp",
            "port": 6443,
            "address": "0.0.0.0:6443",
            "inode": 777,
            "processes": [{"pid": 812, "comm": "haproxy", "command": "/usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg"}],
        },
        {"proto": "tcp", "port": 10259, "address": "0.0.0.0:10259", "inode": 0, "processes": []},
    ]


def test_port_holders_bounds_and_decodes_host_text(tmp_path):
    argv = [b"/opt/x\xff", b"A" * 5000]
    proc = fake_proc(tmp_path, tcp_line(0, 2379, 55), {70: (b"evil\xfe\x1b[2J", argv, [55])})
    [entry] = hostprocs.port_holders(proc=proc)["list"]
    [process] = entry["processes"]
    assert process["comm"] == "evil\ufffd\x1b[2J"  # decoded with replacement; the reports escape it
    assert process["command"].startswith("/opt/x\ufffd AAA") and process["command"].endswith(" ...")
    assert len(process["command"]) == hostprocs.MAX_COMMAND_CHARS + 4


def test_port_holders_stops_at_its_time_budget(tmp_path):
    proc = fake_proc(tmp_path, tcp_line(0, 6443, 777), {1: (b"a", [b"a"], []), 2: (b"haproxy", [b"haproxy"], [777])})
    ticks = iter(range(100))
    owners, complete = hostprocs.socket_owners([777], proc, budget=1.5, clock=lambda: next(ticks))
    assert (owners, complete) == ({}, False)
    result = hostprocs.port_holders(proc=proc, budget=-1)
    assert result["status"] == "partial" and "were not all read" in result["error"]


def test_port_holders_of_a_real_listener():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        result = hostprocs.port_holders(ports=(("tcp", port),))
    finally:
        listener.close()
    [entry] = result["list"]
    assert entry["address"] == "127.0.0.1:%d" % port
    assert [p["pid"] for p in entry["processes"]] == [os.getpid()]


def test_live_gather_has_port_holders_and_an_image_root_not(tmp_path):
    assert gather.gather()["port_holders"]["status"] in ("ok", "partial")
    assert gather.gather(root=make_root(tmp_path, "debian12"))["port_holders"]["status"] == "not_applicable"


# -- tools in PATH (rule required-tools-missing) --------------------------------------------------


def test_tools_in_path_looks_up_as_kubeadm_does(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second, tmp_path / "rel"):
        directory.mkdir()
    for directory, name, mode in ((first, "socat", 0o755), (second, "socat", 0o755), (first, "ethtool", 0o644), (tmp_path / "rel", "conntrack", 0o755)):
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(mode)
    (second / "tc").mkdir()  # a directory of the name is no command
    monkeypatch.chdir(tmp_path)
    path = "%s:rel::%s" % (first, second)
    result = hostprocs.tools_in_path(names=("socat", "ethtool", "tc", "conntrack", "ip"), path=path)
    assert result["path"] == path and "path_truncated" not in result
    # The first PATH directory wins; a file without x is not a command; a relative entry is not searched.
    assert result["in_path"] == {"socat": str(first / "socat"), "ethtool": None, "tc": None, "conntrack": None, "ip": None}
    # ip (iproute2, which the tests need) is installed, outside this PATH: it is named with its place.
    assert result["elsewhere"]["ip"].endswith("/ip") and "socat" not in result["elsewhere"]


def test_tools_in_path_is_bounded_and_uses_the_modules_path(monkeypatch):
    long_path = ":".join("/nonexistent/%d" % n for n in range(1000))
    result = hostprocs.tools_in_path(names=("ip",), path=long_path)
    assert result["path_truncated"] is True and len(result["path"]) == hostprocs.MAX_PATH_CHARS
    monkeypatch.setenv("PATH", "/nonexistent")
    assert hostprocs.tools_in_path(names=("ip",))["path"] == "/nonexistent"
    assert set(gather.gather()["tools"]["in_path"]) == set(hostprocs.KUBEADM_TOOLS)


def test_port_holders_reads_a_bounded_socket_table(tmp_path):
    tcp = "".join(tcp_line(n, 40000 + n, 100 + n, state="01") for n in range(5)) + tcp_line(5, 6443, 777)
    proc = fake_proc(tmp_path, tcp, {})
    assert [e["port"] for e in hostprocs.port_holders(proc=proc, max_lines=6)["list"]] == [6443]
    result = hostprocs.port_holders(proc=proc, max_lines=5)  # the listener is on line 6
    assert result["list"] == [] and result["status"] == "partial"
    assert result["error"] == "a socket table has more than 5 lines; the rest was not read"
