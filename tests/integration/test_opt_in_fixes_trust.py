"""The opt-in fixes and the flag editors, on real test hosts, must never hide a fault, fool the
operator or cut a node: a name that is no name is refused; an edit the shell would not see is
refused; a failed docker restart is the recorded outcome; a new machine-id says, before the
change, what follows from it, and every file it touches is shown and recorded."""

import json

import pytest

from conftest import run_module

CLONED = "4c4c4544004d4810804eb8c04f4e3232"
NETWORKD_DHCP = "[Match]\nName=eth1\n\n[Network]\nDHCP=yes\n"


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


def changes_of(directory):
    return json.loads((directory / "hostnet-changes.json").read_text())["hosts"]


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["m1", "m2", "d1"], stock=True)
    # /var is the machine's own: each host gets a private /var/lib/dbus and /var/log/journal (its mount namespace).
    for name in ("m1", "m2"):
        sh(fleet, name, "mount -t tmpfs tmpfs /var/lib/dbus && mount -t tmpfs tmpfs /var/log/journal")
    return fleet


def fingerprint(fleet, host, path):
    return sh(fleet, host, "ls -la --time-style=full-iso %s 2>&1; cat %s 2>&1; true" % (path, path)).stdout


# -- hostnet_env_flag ---------------------------------------------------------------------------


def test_env_flag_variable_name_ending_in_a_newline_is_refused(fleet):
    """'KUBELET_EXTRA_ARGS\\n' passed the old check ('$' matches before a final newline) and wrote
    'KUBELET_EXTRA_ARGS\\n="--node-ip=..."': sourcing the file then runs a command named KUBELET_EXTRA_ARGS."""
    sh(fleet, "d1", "rm -f /etc/default/kubelet")
    args = {"path": "/etc/default/kubelet", "variable": "KUBELET_EXTRA_ARGS\n", "flag": "--node-ip", "value": "10.213.0.5", "create": True}
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_env_flag", args)
    assert rc != 0 and result["changed"] is False, result
    assert "invalid variable name" in result["msg"] and "nothing was changed" in result["msg"], result
    assert sh(fleet, "d1", "test -e /etc/default/kubelet", check=False).returncode != 0


@pytest.mark.parametrize(
    "before, construct",
    [
        ('KUBELET_EXTRA_ARGS="--v=2"\nif false; then\n  KUBELET_EXTRA_ARGS="--v=2 --node-ip=10.0.2.15"\nfi\n', "inside an if"),
        ('KUBELET_EXTRA_ARGS="--v=2 --node-ip=$(echo 9.9.9.9)"\n', "command substitution"),
        ("KUBELET_EXTRA_ARGS=--node-ip=`echo 9.9.9.9`--bt\n", "command substitution"),
    ],
)
def test_env_flag_refuses_what_the_shell_would_not_see(fleet, before, construct):
    sh(fleet, "d1", "mkdir -p /etc/default && cat > /etc/default/kubelet", input_text=before)
    seen_before = sh(fleet, "d1", '. /etc/default/kubelet; printf %s "$KUBELET_EXTRA_ARGS"').stdout
    print_before = fingerprint(fleet, "d1", "/etc/default/kubelet")
    args = {"path": "/etc/default/kubelet", "variable": "KUBELET_EXTRA_ARGS", "flag": "--node-ip", "value": "10.213.0.5"}
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_env_flag", args)
    assert rc != 0 and result["changed"] is False, result
    assert construct in result["msg"] and "set --node-ip=10.213.0.5 in KUBELET_EXTRA_ARGS by hand" in result["msg"], result
    assert "Traceback" not in json.dumps(result)
    assert fingerprint(fleet, "d1", "/etc/default/kubelet") == print_before
    assert sh(fleet, "d1", '. /etc/default/kubelet; printf %s "$KUBELET_EXTRA_ARGS"').stdout == seen_before


def test_env_flag_last_line_without_newline_is_edited_as_the_shell_reads_it(fleet):
    sh(fleet, "d1", "mkdir -p /etc/default && printf %s 'KUBELET_EXTRA_ARGS=\"--v=2\"' > /etc/default/kubelet")
    args = {"path": "/etc/default/kubelet", "variable": "KUBELET_EXTRA_ARGS", "flag": "--node-ip", "value": "10.213.0.5"}
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_env_flag", args)
    assert rc == 0 and result["changed"], result
    sh(fleet, "d1", "sh -n /etc/default/kubelet")
    assert sh(fleet, "d1", '. /etc/default/kubelet; printf %s "$KUBELET_EXTRA_ARGS"').stdout == "--v=2 --node-ip=10.213.0.5"
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_env_flag", args)
    assert rc == 0 and not result["changed"], result
    sh(fleet, "d1", "rm -f /etc/default/kubelet")


# -- hostnet_kernel_module --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["--remove", "-r", "-"])
def test_kernel_module_name_that_modprobe_reads_as_an_option_is_refused(fleet, name):
    conf = "/etc/modules-load.d/kubeprep-hostnet.conf"
    before = fingerprint(fleet, "d1", conf)
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_kernel_module", {"name": name})
    assert rc != 0 and result["changed"] is False, result
    assert "invalid kernel module name" in result["msg"] and "not starting with -" in result["msg"], result
    assert fingerprint(fleet, "d1", conf) == before
