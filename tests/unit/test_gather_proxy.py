"""proxy_env: what systemd gives kubelet and the runtimes, and root's login environment, read from real files."""

import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, proxyenv


def write(root, path, text, mode="w"):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, mode) as handle:
        handle.write(text)
    return full


def test_a_drop_in_sets_the_proxy_with_file_and_line_and_the_password_never_leaves(tmp_path):
    write(tmp_path, "/lib/systemd/system/containerd.service", "[Unit]\nDescription=containerd\n[Service]\nExecStart=/usr/bin/containerd\n")
    write(
        tmp_path,
        "/etc/systemd/system/containerd.service.d/http-proxy.conf",
        '[Service]\nEnvironment="HTTPS_PROXY=http://alice:s3cr%40t@10.0.0.3:3128" "NO_PROXY=10.96.0.0/12,.svc"\nEnvironment=http_proxy=bob:hunter2@proxy:80\n',
    )
    facts = gather.gather(root=str(tmp_path))
    containerd = facts["proxy_env"]["services"]["containerd"]
    assert containerd["unit"] == "/lib/systemd/system/containerd.service"
    assert containerd["files"] == ["/lib/systemd/system/containerd.service", "/etc/systemd/system/containerd.service.d/http-proxy.conf"]
    drop_in = "/etc/systemd/system/containerd.service.d/http-proxy.conf"
    assert containerd["vars"] == {
        "HTTPS_PROXY": {"value": "http://alice:REDACTED@10.0.0.3:3128", "file": drop_in, "line": 2},
        "NO_PROXY": {"value": "10.96.0.0/12,.svc", "file": drop_in, "line": 2},
        "http_proxy": {"value": "bob:REDACTED@proxy:80", "file": drop_in, "line": 3},
    }
    assert "kubelet" not in facts["proxy_env"]["services"]  # no unit: not installed
    text = json.dumps(facts)
    assert "s3cr" not in text and "hunter2" not in text


def test_redact_keeps_what_is_not_a_password():
    assert proxyenv.redact("http://10.0.0.3:3128") == "http://10.0.0.3:3128"
    assert proxyenv.redact("http://token@proxy:3128") == "http://token@proxy:3128"
    assert proxyenv.redact("http://u:p@ss@proxy:3128") == "http://u:REDACTED@proxy:3128"  # the user information ends at the last @
    assert proxyenv.redact("http://u:p/ss@proxy:3128") == "http://u:REDACTED@proxy:3128"  # an unescaped / in it too
    assert proxyenv.redact("10.0.0.0/8,.example.com") == "10.0.0.0/8,.example.com"


def test_environment_file_overrides_environment_and_systemd_order_is_kept(tmp_path):
    write(tmp_path, "/usr/lib/systemd/system/kubelet.service", "[Service]\nEnvironment=HTTPS_PROXY=http://unit:3128\n")
    # kubeadm's drop-in in /usr/lib, hidden by /etc's file of the same name.
    write(tmp_path, "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", "[Service]\nEnvironment=NO_PROXY=hidden\n")
    write(
        tmp_path,
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "[Service]\nEnvironmentFile=-/etc/default/kubelet\nEnvironmentFile=-/etc/sysconfig/absent\nEnvironmentFile=/etc/%i.env\n",
    )
    write(tmp_path, "/etc/systemd/system/kubelet.service.d/20-proxy.conf", "[Service]\nEnvironment=NO_PROXY=from-unit HTTPS_PROXY=http://dropin:3128\n")
    write(tmp_path, "/etc/default/kubelet", "# comment\nKUBELET_EXTRA_ARGS=--node-ip=10.0.0.1\nexport NO_PROXY='10.0.0.0/8'\n")
    kubelet = proxyenv.gather(str(tmp_path))["services"]["kubelet"]
    assert kubelet["files"] == [
        "/usr/lib/systemd/system/kubelet.service",
        "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        "/etc/systemd/system/kubelet.service.d/20-proxy.conf",
    ]
    assert kubelet["vars"]["HTTPS_PROXY"] == {"value": "http://dropin:3128", "file": "/etc/systemd/system/kubelet.service.d/20-proxy.conf", "line": 2}
    assert kubelet["vars"]["NO_PROXY"] == {"value": "10.0.0.0/8", "file": "/etc/default/kubelet", "line": 3}
    assert [(f["path"], f["status"]) for f in kubelet["env_files"]] == [
        ("/etc/default/kubelet", "ok"),
        ("/etc/sysconfig/absent", "missing"),
        ("/etc/%i.env", "unreadable"),
    ]
    assert "KUBELET_EXTRA_ARGS" not in kubelet["vars"]


def test_an_empty_environment_line_resets_and_unbalanced_quotes_are_named(tmp_path):
    write(
        tmp_path,
        "/etc/systemd/system/crio.service",
        '[Service]\nEnvironment=HTTPS_PROXY=http://old:3128\nEnvironment=\nEnvironment="HTTP_PROXY=http://a:3128\n[Install]\nEnvironment=NO_PROXY=x\n',
    )
    crio = proxyenv.gather(str(tmp_path))["services"]["crio"]
    assert crio["vars"] == {}
    assert crio["unparsed"] == [{"file": "/etc/systemd/system/crio.service", "line": 4, "reason": "unbalanced quotes"}]


def test_root_login_environment_simple_lines_in_login_order(tmp_path):
    write(tmp_path, "/etc/environment", 'PATH="/usr/bin"\nhttps_proxy="http://env:3128"\n')
    write(tmp_path, "/etc/profile.d/b-proxy.sh", "export https_proxy=http://profiled:3128\nexport no_proxy=localhost\n")
    write(tmp_path, "/etc/profile.d/a.sh", "export https_proxy=http://first:3128\n")
    write(tmp_path, "/etc/profile.d/notes.txt", "export https_proxy=http://ignored:3128\n")
    write(tmp_path, "/root/.bashrc", "alias ll='ls -l'\nif true; then export NO_PROXY=x; fi\n  export HTTP_PROXY=http://bashrc:8080\n")
    login = proxyenv.gather(str(tmp_path))["login"]
    assert login["files"] == ["/etc/environment", "/etc/profile.d/a.sh", "/etc/profile.d/b-proxy.sh", "/root/.bashrc"]
    assert login["vars"] == {
        "https_proxy": {"value": "http://profiled:3128", "file": "/etc/profile.d/b-proxy.sh", "line": 1},
        "no_proxy": {"value": "localhost", "file": "/etc/profile.d/b-proxy.sh", "line": 2},
        "HTTP_PROXY": {"value": "http://bashrc:8080", "file": "/root/.bashrc", "line": 3},
    }


def test_bounds_in_files_bytes_values_and_time(tmp_path):
    for index in range(5):
        write(tmp_path, "/etc/profile.d/p%d.sh" % index, "export HTTP_PROXY=http://p%d:3128\n" % index)
    limited = proxyenv.gather(str(tmp_path), max_files=3)
    assert limited["login"]["files"] == ["/etc/profile.d/p0.sh", "/etc/profile.d/p1.sh", "/etc/profile.d/p2.sh"]
    assert limited["partial"] == ["/etc/profile.d/p%d.sh not read: 3 files were read already" % i for i in (3, 4)]
    write(tmp_path, "/etc/environment", "NO_PROXY=" + "a," * proxyenv.MAX_VALUE_CHARS + "\n" + "#" * proxyenv.MAX_FILE_BYTES + "\nHTTP_PROXY=late\n")
    facts = proxyenv.gather(str(tmp_path))
    entry = facts["login"]["vars"]["NO_PROXY"]
    assert len(entry["value"]) == proxyenv.MAX_VALUE_CHARS and entry["truncated_at_chars"] == proxyenv.MAX_VALUE_CHARS
    assert "/etc/environment: only its first %d bytes were read" % proxyenv.MAX_FILE_BYTES in facts["partial"]
    assert facts["login"]["vars"]["HTTP_PROXY"]["file"] == "/etc/profile.d/p4.sh"  # the line past the bound was not read
    ticks = iter(range(100))
    timed = proxyenv.gather(str(tmp_path), budget=1.5, clock=lambda: next(ticks))  # one tick a file read
    assert timed["login"]["files"] == ["/etc/environment"] and any("budget was spent" in p for p in timed["partial"])


def test_odd_bytes_are_replaced_and_a_directory_is_a_problem(tmp_path):
    write(tmp_path, "/etc/environment", b"HTTPS_PROXY=http://pr\xffoxy:3128\n", mode="wb")
    os.makedirs(str(tmp_path / "root" / ".bashrc"))
    facts = gather.gather(root=str(tmp_path))
    assert facts["proxy_env"]["login"]["vars"]["HTTPS_PROXY"]["value"] == "http://pr\ufffdoxy:3128"
    assert {"source": "/root/.bashrc", "message": "not a regular file"} in facts["problems"]
    assert "problems" not in facts["proxy_env"]


# -- hostile text: the parsers return, keep their bounds and never let a password through ----------------------

TOKENS = list("=\"' \\#;[]:/@,.*%-_aZ09\t\x00\ufffd\u2028") + ["Environment", "EnvironmentFile", "HTTPS_PROXY", "no_proxy", "export ", "[Service]"]
LINE = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=20))
def test_environment_lines_of_any_text_keep_only_the_watched_names(lines):
    found = proxyenv.parse_env_file(lines, "/etc/environment")
    assert set(found) <= set(proxyenv.NAMES)
    assert all(len(entry["value"]) <= proxyenv.MAX_VALUE_CHARS and 1 <= entry["line"] <= len(lines) for entry in found.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, max_size=20))
def test_a_unit_of_any_text_is_read_without_raising(tmp_path_factory, lines):
    root = tmp_path_factory.mktemp("unit")
    write(root, "/etc/systemd/system/kubelet.service", "\n".join(["[Service]"] + lines))
    kubelet = proxyenv.gather(str(root))["services"]["kubelet"]
    assert set(kubelet["vars"]) <= set(proxyenv.NAMES)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "socks5://", ""]),
    st.text(alphabet=st.characters(blacklist_characters=":@/?#", blacklist_categories=("Cs",)), max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),  # even "/", "@" and ":" unescaped
)
def test_a_proxy_password_never_survives(scheme, user, password):
    secret = "Pw" + password + "Q9"  # a marker no redacted URL holds by chance
    value = "%s%s:%s@proxy.example:3128" % (scheme, user, secret)
    assert secret not in proxyenv.redact(value)
