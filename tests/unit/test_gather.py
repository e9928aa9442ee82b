"""The collector on real files: live system, image roots, and bad input."""

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather

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
