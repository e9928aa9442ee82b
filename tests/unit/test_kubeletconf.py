"""kubeletconf.set_resolv_conf: the resolvConf edit of hostnet_kubelet_resolv_conf keeps every other byte,
is idempotent, and refuses (ValueError, nothing returned) every form it cannot keep exact."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import kubeletconf, kubeletdns

TARGET = "/run/systemd/resolve/resolv.conf"
KUBEADM = (
    b"apiVersion: kubelet.config.k8s.io/v1beta1\n"
    b"authentication:\n"
    b"  anonymous:\n"
    b"    enabled: false\n"
    b"clusterDNS:\n"
    b"- 10.96.0.10\n"
    b"kind: KubeletConfiguration\n"
    b"resolvConf: /etc/resolv.conf   # set by hand\n"
    b"rotateCertificates: true\n"
)


def edit(data, target=TARGET):
    return kubeletconf.set_resolv_conf(data, target)


def test_only_the_value_changes_and_a_second_run_changes_nothing():
    new, actions = edit(KUBEADM)
    assert new == KUBEADM.replace(b"resolvConf: /etc/resolv.conf   #", b"resolvConf: " + TARGET.encode() + b"   #")
    assert actions == ["resolvConf: %s (line 8, was '/etc/resolv.conf')" % TARGET]
    assert edit(new) == (new, [])


def test_a_missing_key_is_added_at_the_end_with_the_files_line_ending():
    data = KUBEADM.replace(b"resolvConf: /etc/resolv.conf   # set by hand\n", b"").replace(b"\n", b"\r\n").rstrip(b"\r\n")
    new, actions = edit(data)
    assert new == data + b"\r\nresolvConf: " + TARGET.encode() + b"\r\n"
    assert actions[0].startswith("added resolvConf: %s" % TARGET)
    assert kubeletdns.config_resolv_conf(new.decode())[1] == TARGET
    assert edit(new) == (new, [])


@pytest.mark.parametrize(
    "line, expected",
    [
        (b'resolvConf: "/etc/resolv.conf"\n', b'resolvConf: "%s"\n'),
        (b"'resolvConf':\t'/etc/resolv.conf'\r\n", b"'resolvConf':\t'%s'\r\n"),
        (b"resolvConf:\n", b"resolvConf: %s\n"),
        (b"resolvConf: # none yet\n", b"resolvConf: %s # none yet\n"),
        (b'resolvConf: ""\n', b'resolvConf: "%s"\n'),
    ],
)
def test_quoting_spacing_and_comments_are_kept(line, expected):
    data = b"kind: KubeletConfiguration\n" + line + b"x: 1\n"
    new, _actions = edit(data)
    assert new == b"kind: KubeletConfiguration\n" + expected % TARGET.encode() + b"x: 1\n"
    assert edit(new) == (new, [])


def test_hostile_bytes_on_other_lines_are_kept_byte_for_byte():
    hostile = b"kind: KubeletConfiguration\n# \xff\xfe not utf-8 \x1b[31m\x00\nstaticPodPath: /etc/\xe2\x80\xa8k\r\nresolvConf: /etc/resolv.conf\nz: 'a\tb'"
    new, _actions = edit(hostile)
    assert new == hostile.replace(b"resolvConf: /etc/resolv.conf", b"resolvConf: " + TARGET.encode())


def test_a_nested_resolvconf_is_not_the_top_level_one():
    data = b"kind: KubeletConfiguration\nnested:\n  resolvConf: /etc/resolv.conf\n"
    new, _actions = edit(data)
    assert new == data + b"resolvConf: " + TARGET.encode() + b"\n"


@pytest.mark.parametrize(
    "data, why",
    [
        (b'{"kind": "KubeletConfiguration", "resolvConf": "/etc/resolv.conf"}\n', "JSON or flow form"),
        (b"kind: KubeletConfiguration\n---\nkind: Other\n", "more than one YAML document"),
        (b"kind: KubeletConfiguration\n...\n", "more than one YAML document"),
        (b"resolvConf: /a\nkind: KubeletConfiguration\nresolvConf: /b\n", "resolvConf 2 times"),
        (b"kind: KubeletConfiguration\nresolvConf: /etc/\n  resolv.conf\n", "continues on the lines below"),
        (b"kind: KubeletConfiguration\nresolvConf:\n  /etc/resolv.conf\n", "continues on the lines below"),
        (b'kind: KubeletConfiguration\nresolvConf: "/etc/resolv\n  .conf"\n', "continues on the next line"),
        (b'kind: KubeletConfiguration\nresolvConf: "/etc/\\x72esolv.conf"\n', "with escapes"),
        (b"kind: KubeletConfiguration\nresolvConf: *conf\n", "starts with '*'"),
        (b"kind: KubeletConfiguration\nresolvConf: !!str /etc/resolv.conf\n", "starts with '!'"),
        (b"kind: KubeletConfiguration\nresolvConf: |\n  /etc/resolv.conf\n", "starts with '|'"),
        (b"kind: KubeletConfiguration\nresolvConf: '/a''b'\n", "escaped quote"),
        (b"kind: KubeletConfiguration\nresolvConf: '/a' x\n", "goes on after the value"),
        (b"- kind: KubeletConfiguration\n", "not a block mapping"),
        (b"  kind: KubeletConfiguration\n", "not a block mapping"),
        (b"# only a comment\n\n", "no key at all"),
        (b"kind: KubeletConfiguration\n" + b"#" * kubeletconf.MAX_CONFIG_BYTES, "more than a KubeletConfiguration holds"),
        (None, "does not exist"),
    ],
)
def test_what_cannot_be_kept_exact_is_refused_with_why(data, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace("*", r"\*").replace("|", r"\|")):
        edit(data)


@pytest.mark.parametrize("target", ["relative/resolv.conf", "/etc/resolv conf", "/etc/../etc/resolv.conf", "/a\nresolvConf: /b", "/a: b", "", "/etc/x#y"])
def test_a_target_that_would_need_quoting_or_is_not_plain_is_refused(target):
    with pytest.raises(ValueError, match="not a plain absolute path"):
        edit(KUBEADM, target)


def test_the_kubeadm_written_config_reads_back_with_the_facts_reader():
    new, _actions = edit(KUBEADM)
    line, value = kubeletdns.config_resolv_conf(new.decode())
    assert (line, value) == (8, TARGET)


def test_host_text_in_a_message_cannot_drive_the_terminal_or_fake_a_line():
    assert kubeletconf.shown("/etc/r\x1b]52;c;AAAA\x07\n[OK] \u202efake") == "/etc/r\\x1b]52;c;AAAA\\x07\\n[OK] \\u202efake"
    assert kubeletconf.shown("/a" * 500).endswith("...") and len(kubeletconf.shown("/a" * 500)) == 259
    assert kubeletconf.shown("/etc/\u00e9t\u00e9.conf") == "/etc/\u00e9t\u00e9.conf"  # printable text stays as it is


def test_kubelet_running_is_read_from_proc(tmp_path):
    (tmp_path / "41").mkdir()
    (tmp_path / "41" / "comm").write_bytes(b"kubelet-helper\n")
    assert kubeletconf.process_running("kubelet", proc=str(tmp_path)) is False
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "comm").write_bytes(b"kubelet\n")
    assert kubeletconf.process_running("kubelet", proc=str(tmp_path)) is True


def test_the_flags_kubelet_uses_are_the_last_ones_found(tmp_path):
    dropins = tmp_path / "etc/systemd/system/kubelet.service.d"
    dropins.mkdir(parents=True)
    (dropins / "10-kubeadm.conf").write_text('[Service]\nEnvironment="KUBELET_CONFIG_ARGS=--config=/etc/k/config.yaml --resolv-conf=/first"\n')
    (tmp_path / "etc/default").mkdir(parents=True)
    (tmp_path / "etc/default/kubelet").write_text("# --resolv-conf=/commented\nKUBELET_EXTRA_ARGS='--resolv-conf=/etc/k/resolv.conf'\n")
    found = kubeletconf.flags(root=str(tmp_path))
    assert found == {
        "config": ("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 2, "/etc/k/config.yaml"),
        "resolv-conf": ("/etc/default/kubelet", 2, "/etc/k/resolv.conf"),
    }
    assert kubeletconf.flags(root=str(tmp_path / "empty")) == {"resolv-conf": None, "config": None}
