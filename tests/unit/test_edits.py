"""File edits: exact results on real files, and properties on arbitrary input
(unrelated lines byte-identical, second edit changes nothing, result parses
back to the intended state)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits, hostsfile, nsswitch

from helpers import read_fixture

F1 = read_fixture("centos7", "hosts.f1-broken").encode()


def localhost_ok(data):
    parsed = hostsfile.parse_hosts(data.decode("utf-8", "replace"))
    return parsed["names"].get("localhost", [None])[0] == "127.0.0.1" and all(hostsfile.classify_address(a)[1] for a in parsed["names"]["localhost"])


def test_f1_incident_file_gets_ipv4_localhost_first():
    new, actions = edits.ensure_localhost(F1)
    assert new == b"127.0.0.1\tlocalhost\n" + F1
    assert actions == ["added '127.0.0.1 localhost'"]
    assert edits.ensure_localhost(new) == (new, [])


def test_already_fine_files_are_untouched():
    for distro in ("debian12", "ubuntu2204", "centos7", "fedora39", "alpine318"):
        data = read_fixture(distro, "etc", "hosts").encode()
        assert edits.ensure_localhost(data) == (data, []), distro


def test_non_loopback_localhost_is_removed_keeping_aliases():
    data = b"10.0.0.5   localhost node1   # lab\r\n::1 localhost\r\n"
    new, actions = edits.ensure_localhost(data)
    assert new == b"::1 localhost\r\n".join([b"10.0.0.5   node1   # lab\r\n127.0.0.1\tlocalhost\r\n", b""])
    assert len(actions) == 2


def test_line_with_only_localhost_on_wrong_address_is_commented_not_deleted():
    new, _actions = edits.ensure_localhost(b"10.0.0.5 localhost\n")
    assert new == b"127.0.0.1\tlocalhost\n# 10.0.0.5 localhost  # disabled by kubeprep.hostnet: localhost must be loopback\n"


def test_no_trailing_newline_and_empty_file():
    assert edits.ensure_localhost(b"10.1.1.1 a") == (b"127.0.0.1\tlocalhost\n10.1.1.1 a", ["added '127.0.0.1 localhost'"])
    assert edits.ensure_localhost(b"# only a comment")[0] == b"# only a comment\n127.0.0.1\tlocalhost\n"
    assert edits.ensure_localhost(b"")[0] == b"127.0.0.1\tlocalhost\n"


hosts_lines = st.one_of(
    st.sampled_from(
        [
            b"::1 localhost localhost.localdomain\n",
            b"127.0.0.1 centos7.Localdomain\n",
            b"127.0.1.1\tubuntu\n",
            b"10.0.0.1 localhost other\n",
            b"# comment localhost\n",
            b"\n",
            b"   \t \r\n",
            b"not-an-ip name\n",
            b"fe80::1%eth0 ll\n",
            b"\xff\xfe binary\n",
        ]
    ),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(hosts_lines, max_size=12), st.booleans())
def test_hosts_edit_properties(lines, strip_last):
    data = b"".join(lines)
    if strip_last:
        data = data.rstrip(b"\n")
    new, _actions = edits.ensure_localhost(data)
    assert localhost_ok(new)
    assert edits.ensure_localhost(new) == (new, [])  # idempotent
    # Every original line that does not name localhost survives byte for byte, in order.
    untouched = [line for line in edits.split_lines(data) if b"localhost" not in line.lower()]
    remaining = iter(edits.split_lines(new))
    for line in untouched:
        stripped = line.rstrip(b"\r\n")
        assert any(candidate.rstrip(b"\r\n") == stripped for candidate in remaining), line


@pytest.mark.parametrize(
    "before, after",
    [
        (b"hosts: dns files\n", b"hosts: files dns\n"),
        (b"hosts:      dns [!UNAVAIL=return] files myhostname  # x\n", b"hosts:      files dns [!UNAVAIL=return] myhostname  # x\n"),
        (b"hosts: dns\n", b"hosts: files dns\n"),
        (b"hosts: mdns4_minimal [NOTFOUND=return] dns files\r\n", b"hosts: mdns4_minimal [NOTFOUND=return] files dns\r\n"),
        (b"passwd: files\n", b"passwd: files\nhosts:          files dns\n"),
        (b"passwd: files", b"passwd: files\nhosts:          files dns\n"),
    ],
)
def test_nsswitch_fix(before, after):
    new, actions = edits.ensure_nsswitch_files_first(before)
    assert new == after
    assert actions
    assert edits.ensure_nsswitch_files_first(new) == (new, [])


@pytest.mark.parametrize("distro", ["debian12", "ubuntu2204", "centos7", "fedora39"])
def test_nsswitch_good_files_untouched(distro):
    data = read_fixture(distro, "etc", "nsswitch.conf").encode()
    assert edits.ensure_nsswitch_files_first(data) == (data, [])


def test_nsswitch_missing_file_is_created():
    new, actions = edits.ensure_nsswitch_files_first(None)
    assert new == b"hosts:          files dns\n" and actions


sources = st.lists(st.sampled_from([b"files", b"dns", b"myhostname", b"resolve", b"[!UNAVAIL=return]", b"mdns4_minimal", b"[NOTFOUND=return]"]), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"passwd: files\n", b"# hosts: dns files\n", b"\n", b"group: files sss\n"]), max_size=5), sources)
def test_nsswitch_edit_properties(others, hosts_sources):
    data = b"".join(others) + b"hosts: " + b" ".join(hosts_sources) + b"\n"
    new, _actions = edits.ensure_nsswitch_files_first(data)
    entry = nsswitch.parse_nsswitch(new.decode())["databases"]["hosts"]
    assert not nsswitch.dns_before_files(nsswitch.source_names(entry))
    assert edits.ensure_nsswitch_files_first(new) == (new, [])
    assert new.startswith(b"".join(others))  # lines before the hosts line are unchanged


def test_key_value():
    new, actions = edits.ensure_key_value(None, "net.ipv6.conf.lo.disable_ipv6", "0")
    assert new == b"# Managed by kubeprep.hostnet\nnet.ipv6.conf.lo.disable_ipv6 = 0\n" and actions
    data = b"# mine\nnet/ipv6/conf/lo/disable_ipv6=1\r\nvm.swappiness = 10\nnet.ipv6.conf.lo.disable_ipv6 = 1\n"
    new, actions = edits.ensure_key_value(data, "net.ipv6.conf.lo.disable_ipv6", "0")
    assert new == b"# mine\nnet.ipv6.conf.lo.disable_ipv6 = 0\r\nvm.swappiness = 10\n# net.ipv6.conf.lo.disable_ipv6 = 1\n"
    assert edits.ensure_key_value(new, "net.ipv6.conf.lo.disable_ipv6", "0") == (new, [])


@pytest.mark.parametrize(
    "before, after",
    [
        (None, b'KUBELET_EXTRA_ARGS="--node-ip=10.1.1.1"\n'),
        (b"KUBELET_EXTRA_ARGS=\n", b'KUBELET_EXTRA_ARGS="--node-ip=10.1.1.1"\n'),
        (
            b'# keep\nKUBELET_EXTRA_ARGS="--max-pods=200 --node-ip=10.0.2.15 --v=2"\r\n',
            b'# keep\nKUBELET_EXTRA_ARGS="--max-pods=200 --node-ip=10.1.1.1 --v=2"\r\n',
        ),
        (b"KUBELET_EXTRA_ARGS='--node-ip 10.0.2.15 --v=2'\n", b"KUBELET_EXTRA_ARGS='--node-ip=10.1.1.1 --v=2'\n"),
        # The shell uses the last assignment; a comment stays.
        (
            b'KUBELET_EXTRA_ARGS="--v=2"\nKUBELET_EXTRA_ARGS="--v=4" # last wins\n',
            b'KUBELET_EXTRA_ARGS="--v=2"\nKUBELET_EXTRA_ARGS="--v=4 --node-ip=10.1.1.1" # last wins\n',
        ),
        # Single quotes keep $HOME unexpanded; quotes inside double quotes are kept byte for byte.
        (b"KUBELET_EXTRA_ARGS='--root-dir=$HOME/kubelet'\n", b"KUBELET_EXTRA_ARGS='--root-dir=$HOME/kubelet --node-ip=10.1.1.1'\n"),
        (b"KUBELET_EXTRA_ARGS=--foo='a b'\n", b"KUBELET_EXTRA_ARGS=--foo='a b --node-ip=10.1.1.1'\n"),
        (b'KUBELET_EXTRA_ARGS=""\n', b'KUBELET_EXTRA_ARGS="--node-ip=10.1.1.1"\n'),
        (b'export KUBELET_EXTRA_ARGS="--node-ip=1.1.1.1 --v=2 --node-ip=2.2.2.2"\n', b'export KUBELET_EXTRA_ARGS="--v=2 --node-ip=10.1.1.1"\n'),
        (b"OTHER=1", b'OTHER=1\nKUBELET_EXTRA_ARGS="--node-ip=10.1.1.1"\n'),
    ],
)
def test_env_flag(before, after):
    new, actions = edits.ensure_env_flag(before, "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1")
    assert new == after and actions
    assert edits.ensure_env_flag(new, "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1") == (new, [])


def shell_value(data, variable):
    """What sh computes for the variable after sourcing the file (the consumer's view)."""
    import subprocess

    return subprocess.run(["sh", "-c", '. /dev/stdin; printf %s "$' + variable + '"'], input=data, stdout=subprocess.PIPE, check=True).stdout


@pytest.mark.parametrize(
    "before",
    [
        b"KUBELET_EXTRA_ARGS='--root-dir=$HOME/kubelet --node-ip=10.0.2.15'\n",
        b"KUBELET_EXTRA_ARGS=--foo='a b'\n",
        b'KUBELET_EXTRA_ARGS="--v=2"\nKUBELET_EXTRA_ARGS="--cgroup-driver=systemd --node-ip 10.0.2.15"  # pinned\n',
        b'KUBELET_EXTRA_ARGS="--a=\\$x --b=\\"q\\""\n',
    ],
)
def test_env_flag_keeps_what_the_shell_computes_for_other_arguments(before):
    new, _actions = edits.ensure_env_flag(before, "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1")
    old_value, new_value = shell_value(before, "KUBELET_EXTRA_ARGS"), shell_value(new, "KUBELET_EXTRA_ARGS")
    others = [w for w in old_value.split() if not w.startswith(b"--node-ip") and w != b"10.0.2.15"]
    assert new_value.split() == others + [b"--node-ip=10.1.1.1"] or new_value.split()[: len(others)] == others
    assert b"--node-ip=10.1.1.1" in new_value.split()
    assert [w for w in new_value.split() if not w.startswith(b"--node-ip")] == others


def test_env_flag_mixed_quoting_is_refused():
    with pytest.raises(ValueError, match="mixes quoting styles"):
        edits.ensure_env_flag(b"KUBELET_EXTRA_ARGS=--node-ip='1.1.1.1'\n", "KUBELET_EXTRA_ARGS", "--node-ip", "10.1.1.1")


def test_env_flag_unparsable_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot parse the file on line 1 as sh does: unterminated"):
        edits.ensure_env_flag(b'KUBELET_EXTRA_ARGS="--v=2\n', "KUBELET_EXTRA_ARGS", "--node-ip", "1.1.1.1")


def test_ipv4_mapped_loopback_localhost_is_kept():
    data = b"::ffff:127.0.0.1 localhost\n"
    new, _actions = edits.ensure_localhost(data)
    assert new == b"127.0.0.1\tlocalhost\n" + data  # added before it, never commented out


@pytest.mark.parametrize(
    "before, after",
    [
        (b"hosts: files dns\nhosts: dns files\n", b"# kubeprep.hostnet: ignored (the last hosts: line wins): hosts: files dns\nhosts: files dns\n"),
        (b"hosts: dns files\nhosts: files dns\n", b"# kubeprep.hostnet: ignored (the last hosts: line wins): hosts: dns files\nhosts: files dns\n"),
        # A form feed does not end a line for glibc: the comment hides no hosts: line, the edit converges.
        (b"# note\x0chosts: dns files\nhosts: dns files\n", b"# note\x0chosts: dns files\nhosts: files dns\n"),
    ],
)
def test_nsswitch_fix_leaves_one_effective_hosts_line(before, after):
    new, actions = edits.ensure_nsswitch_files_first(before)
    assert new == after and actions
    assert edits.ensure_nsswitch_files_first(new) == (new, [])


def test_localhost_lines_read_as_glibc_reads_them():
    """A lone carriage return is whitespace inside a line for glibc (getent on a test host), not a line break:
    the fix must see localhost on the 10.9.9.9 line the audit flags; a NUL ends a line for glibc."""
    data = b"10.9.9.9 alias\rlocalhost\n127.0.0.1 localhost\n"
    new, actions = edits.ensure_localhost(data)
    assert new == b"10.9.9.9 alias\n127.0.0.1 localhost\n", new
    assert hostsfile.parse_hosts(new.decode())["names"]["localhost"] == ["127.0.0.1"]
    assert edits.ensure_localhost(new) == (new, [])
    # glibc stops reading the line at the NUL: localhost is not on it, and the line is left as it is.
    data = b"10.9.9.9 alias\0localhost\n127.0.0.1 localhost\n"
    assert edits.ensure_localhost(data) == (data, [])
    # A last line ended by a lone carriage return is not ended for glibc: the added line starts on a line of its own.
    new, _actions = edits.ensure_localhost(b"# no entries\r")
    assert new == b"# no entries\r\n127.0.0.1\tlocalhost\n", new
    assert hostsfile.parse_hosts(new.decode())["names"] == {"localhost": ["127.0.0.1"]}
