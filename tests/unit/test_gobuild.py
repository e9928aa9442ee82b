"""Go build info: both layouts (Go 1.18+ inline strings, Go 1.13-1.17 pointers
resolved through ELF program headers), junk, and the F3 rule on an image root."""

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, gobuild
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

BASE = 0x400000


def elf64(payload, interp=False):
    """A minimal little-endian ELF64 image: one PT_LOAD mapping the whole file at BASE (and a PT_INTERP)."""
    phnum = 2 if interp else 1
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, BASE, 64, 0, 0, 64, 56, phnum, 0, 0, 0)
    table_end = 64 + 56 * phnum
    body = header + b"\x00" * (table_end - 64) + payload
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, len(body), len(body), 0x1000)
    phdrs = load + (struct.pack("<IIQQQQQQ", 3, 4, 0, 0, 0, 0, 0, 1) if interp else b"")
    return body[:64] + phdrs + body[table_end:]


def inline_blob(version):
    return gobuild.MAGIC + bytes([8, 2]) + b"\x00" * 16 + bytes([len(version)]) + version.encode() + b"\x00" * 8


def pointer_image(version):
    """Go 1.13-1.17: buildinfo holds a pointer to a string header (pointer, length) of the version."""
    prefix = b"\x00" * 64  # payload starts at file offset 120 (64 header + 56 phdr)
    payload_at = 120
    text_at = payload_at + len(prefix)
    text = version.encode()
    header_at = text_at + len(text) + (8 - len(text) % 8)
    string_header = struct.pack("<QQ", BASE + text_at, len(text))
    info_at = header_at + len(string_header)
    info = gobuild.MAGIC + bytes([8, 0]) + struct.pack("<QQ", BASE + header_at, 0)
    payload = prefix + text + b"\x00" * (header_at - text_at - len(text)) + string_header + info
    assert payload_at + payload.index(gobuild.MAGIC) == info_at
    return elf64(payload)


def test_inline_layout():
    data = elf64(b"junk" + inline_blob("go1.19.8"))
    assert gobuild.version_from_bytes(data) == "go1.19.8"


def test_pointer_layout_of_old_go():
    assert gobuild.version_from_bytes(pointer_image("go1.15.2")) == "go1.15.2"


def test_not_go_and_truncated():
    assert gobuild.version_from_bytes(b"\x7fELF" + b"\x00" * 100) is None
    assert gobuild.version_from_bytes(gobuild.MAGIC + b"\x08") is None
    assert gobuild.version_from_bytes(inline_blob("not-a-version")) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=60))
def test_junk_never_raises(before, after):
    for data in (before + gobuild.MAGIC + after, b"\x7fELF" + before + gobuild.MAGIC + after, before):
        found = gobuild.version_from_bytes(data)
        assert found is None or found.startswith("go1.")


def write_root(tmp_path, binaries, nsswitch=None):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    if nsswitch is not None:
        (root / "etc/nsswitch.conf").write_text(nsswitch)
    for name, (data, mode) in binaries.items():
        path = root / "usr/local/bin" / name
        path.write_bytes(data)
        path.chmod(mode)
    return str(root)


def test_image_root_with_old_go_is_an_error(tmp_path):
    root = write_root(
        tmp_path,
        {
            "etcd": (pointer_image("go1.15.2"), 0o755),
            "kubelet": (elf64(inline_blob("go1.22.3"), interp=True), 0o755),
            "not-executable": (elf64(inline_blob("go1.10.1")), 0o644),
            "script": (b"#!/bin/sh\n", 0o755),
        },
    )
    facts = gather.gather(root=root)
    go = facts["go_binaries"]
    assert go["status"] == "ok" and go["scanned"] == 3
    assert {b["path"]: (b["go_version"], b["files_first_without_nsswitch"], b["dynamic"]) for b in go["list"]} == {
        "/usr/local/bin/etcd": ("go1.15.2", False, False),
        "/usr/local/bin/kubelet": ("go1.22.3", True, True),
    }
    findings = rules.evaluate({"img": facts})["hosts"]["img"]["findings"]
    f3 = [f for f in findings if f["id"] == "dns-before-files"]
    assert len(f3) == 1 and f3[0]["severity"] == "error" and "/usr/local/bin/etcd (go1.15.2)" in f3[0]["message"]
    assert "/usr/local/bin/kubelet: built with go1.22.3 (/etc/hosts first)" in f3[0]["evidence"]


def test_new_go_only_stays_a_warning_and_nsswitch_line_skips_the_scan(tmp_path):
    root = write_root(tmp_path, {"kubelet": (elf64(inline_blob("go1.22.3")), 0o755)})
    facts = gather.gather(root=root)
    f3 = [f for f in rules.evaluate({"img": facts})["hosts"]["img"]["findings"] if f["id"] == "dns-before-files"]
    assert [f["severity"] for f in f3] == ["warning"]
    (tmp_path / "rootfs/etc/nsswitch.conf").write_text("hosts: files dns\n")
    facts = gather.gather(root=root)
    assert facts["go_binaries"]["status"] == "not_scanned"
    assert gather.gather(root=root, go_binaries="always")["go_binaries"]["list"][0]["go_version"] == "go1.22.3"
