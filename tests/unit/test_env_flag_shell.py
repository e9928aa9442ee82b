"""hostnet_env_flag's editor against what sh really makes of the file: every edit it makes is
checked by sourcing the result with sh (and ``sh -n``); every construct whose meaning it cannot
keep exact is refused with the construct and the manual step, and nothing is written."""

import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits

VAR = "KUBELET_EXTRA_ARGS"


def sh_syntax_ok(data):
    return subprocess.run(["sh", "-n"], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False).returncode == 0


def shell_value(data):
    """What sh computes for the variable after sourcing the file (run with an empty PATH: no command runs)."""
    proc = subprocess.run(
        ["/bin/sh", "-c", '. /dev/stdin; printf %s "$' + VAR + '"'],
        input=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/nonexistent"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


def edit(data):
    return edits.ensure_env_flag(data, VAR, "--node-ip", "10.1.1.1")


@pytest.mark.parametrize(
    "before, value",
    [
        # The last line has no newline (it used to crash: str + bytes).
        (b'KUBELET_EXTRA_ARGS="--v=2"', "--v=2 --node-ip=10.1.1.1"),
        (b"# kubelet\nKUBELET_EXTRA_ARGS='--node-ip=10.0.2.15'", "--node-ip=10.1.1.1"),
        (b"OTHER=1\nKUBELET_EXTRA_ARGS=--v=2 # c", "--v=2 --node-ip=10.1.1.1"),
        # A dead branch before the assignment the shell really uses: that one is edited.
        (b'if false; then\n  KUBELET_EXTRA_ARGS="--node-ip=9.9.9.9"\nfi\nKUBELET_EXTRA_ARGS="--v=2"\n', "--v=2 --node-ip=10.1.1.1"),
        # A function defined before (its body never runs when the file is sourced).
        (b'f() {\n  KUBELET_EXTRA_ARGS="--node-ip=9.9.9.9"\n}\nKUBELET_EXTRA_ARGS="--v=2" ; export KUBELET_EXTRA_ARGS\n', "--v=2 --node-ip=10.1.1.1"),
        # Parameter expansion stays where it was (HOME is unset here: it expands to nothing).
        (b'KUBELET_EXTRA_ARGS="--root-dir=${HOME}/k --node-ip=1.1.1.1"\n', "--root-dir=/k --node-ip=10.1.1.1"),
        # `#` inside a word is no comment; a here-string-less case statement before is fine.
        (b'case x in\n  y) KUBELET_EXTRA_ARGS="--node-ip=9.9.9.9" ;;\nesac\nKUBELET_EXTRA_ARGS=--a#b\n', "--a#b --node-ip=10.1.1.1"),
    ],
)
def test_edit_gives_the_shell_value_claimed(before, value):
    new, actions = edit(before)
    assert actions and sh_syntax_ok(new)
    assert shell_value(new) == value
    assert edit(new) == (new, [])


@pytest.mark.parametrize(
    "before, construct",
    [
        # $(...) unquoted: the old edit left "(cat /etc/kubelet-args)" behind, a shell syntax error.
        (b"KUBELET_EXTRA_ARGS=$(cat /etc/kubelet-args)\n", "command substitution"),
        # Backticks: the old edit gave --node-ip=10.1.1.1`echo 9.9.9.9`--bt, i.e. --node-ip=10.1.1.19.9.9.9--bt.
        (b"KUBELET_EXTRA_ARGS=--node-ip=`echo 9.9.9.9`--bt\n", "command substitution"),
        (b'KUBELET_EXTRA_ARGS="--node-ip=`echo 9.9.9.9` --v=2"\n', "command substitution"),
        # --node-ip=$(cmd) inside quotes: the old edit left "9.9.9.9)" behind.
        (b'KUBELET_EXTRA_ARGS="--v=2 --node-ip=$(echo 9.9.9.9)"\n', "command substitution"),
        # The last assignment sits in a branch that never runs: editing it changes nothing the shell sees.
        (b'KUBELET_EXTRA_ARGS="--v=2"\nif false; then\n  KUBELET_EXTRA_ARGS="--v=2 --node-ip=10.0.2.15"\nfi\n', "inside an if"),
        (b'KUBELET_EXTRA_ARGS="--v=2"\nif [ -e /x ]; then KUBELET_EXTRA_ARGS="--v=4"; fi\n', "inside an if"),
        (b'KUBELET_EXTRA_ARGS="--v=2"\nwhile false; do\nKUBELET_EXTRA_ARGS=--v=3\ndone\n', "inside a while"),
        (b'KUBELET_EXTRA_ARGS="--v=2"\nsetup() {\nKUBELET_EXTRA_ARGS=--v=3\n}\n', "inside a function"),
        (b'KUBELET_EXTRA_ARGS="--v=2"\n[ -e /x ] && KUBELET_EXTRA_ARGS="--v=4"\n', "after &&"),
        # An assignment before a command sets the variable for that command only.
        (b'KUBELET_EXTRA_ARGS="--v=2" true\n', "before a command"),
        (b'A=1 KUBELET_EXTRA_ARGS="--v=2"\n', "with another assignment"),
        (b"export A=1 KUBELET_EXTRA_ARGS=--v=2\n", "with another assignment"),
        # An unterminated quote on an earlier line swallows the assignment.
        (b"OTHER='a\nKUBELET_EXTRA_ARGS=--v=2\n", "unterminated"),
        (b"cat <<EOF\nKUBELET_EXTRA_ARGS=--v=2\nEOF\n", "here-document"),
        # A last line ending in a backslash continues into the line an edit would add.
        (b"OTHER=a\\", "would not read line 2"),
        (b"OTHER=a\\\n", "would not read line 2"),
    ],
)
def test_constructs_the_editor_cannot_keep_exact_are_refused(before, construct):
    with pytest.raises(ValueError, match=construct) as info:
        edit(before)
    message = str(info.value)
    assert "by hand" in message and "--node-ip=10.1.1.1" in message, message


SNIPPETS = [
    b"# a comment with 'quote",
    b'KUBELET_EXTRA_ARGS="--v=2"',
    b"KUBELET_EXTRA_ARGS='--node-ip=10.0.2.15 --max-pods=200'",
    b"KUBELET_EXTRA_ARGS=--node-ip=10.0.2.15",
    b'export KUBELET_EXTRA_ARGS="--node-ip 10.0.2.15 --v=4"  # pinned',
    b"if false; then",
    b"if true; then",
    b"else",
    b"fi",
    b"f() {",
    b"}",
    b'KUBELET_EXTRA_ARGS="--node-ip=$(echo 9.9.9.9)"',
    b"KUBELET_EXTRA_ARGS=`echo --v=9`",
    b'[ -n "$X" ] && KUBELET_EXTRA_ARGS=--v=5',
    b"OTHER='a b'; export OTHER",
    b'KUBELET_EXTRA_ARGS="$KUBELET_EXTRA_ARGS --cgroup-driver=systemd"',
    b"A=1 KUBELET_EXTRA_ARGS=--v=6",
    b"KUBELET_EXTRA_ARGS=--v=7 true",
]


def node_ip(value):
    """The --node-ip kubelet (pflag) takes from the words: the last one wins."""
    words, found = value.split(), None
    for number, word in enumerate(words):
        if word.startswith("--node-ip="):
            found = word.split("=", 1)[1]
        elif word == "--node-ip" and number + 1 < len(words):
            found = words[number + 1]
    return found


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(SNIPPETS), max_size=7), st.sampled_from([b"\n", b""]))
def test_every_accepted_edit_means_what_it_claims_to_sh(lines, last_newline):
    data = b"\n".join(lines) + (last_newline if lines else b"")
    try:
        new, actions = edit(data)
    except ValueError as exc:
        assert "by hand" in str(exc) or "mixes quoting" in str(exc)
        return
    assert sh_syntax_ok(new) or not sh_syntax_ok(data)
    if not sh_syntax_ok(data):
        return
    assert node_ip(shell_value(new)) == "10.1.1.1", (data, new)
    assert edit(new) == (new, [])


def test_hostile_sizes_are_bounded():
    """A host sends what it likes: more than 1 MiB is refused, and 1 MiB is read in linear time
    (one long word took ~55 s when the tokenizer built words by +=)."""
    with pytest.raises(ValueError, match="more than an environment file holds"):
        edit(b"#" * (edits.ENV_FILE_MAX + 1))
    started = time.monotonic()
    new, _actions = edit(b"X=" + b"z" * (edits.ENV_FILE_MAX - 100) + b"\n")
    assert new.endswith(b'KUBELET_EXTRA_ARGS="--node-ip=10.1.1.1"\n')
    assert time.monotonic() - started < 15
