"""The opt-in fixes and the flag editors, on real test hosts, must never hide a fault, fool the
operator or cut a node: a name that is no name is refused; an edit the shell would not see is
refused; a failed docker restart is the recorded outcome; a new machine-id says, before the
change, what follows from it, and every file it touches is shown and recorded."""

import json

import pytest

from conftest import run_module, run_playbook

CLONED = "4c4c4544004d4810804eb8c04f4e3232"
NETWORKD_DHCP = "[Match]\nName=eth1\n\n[Network]\nDHCP=yes\n"


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


def changes_of(directory):
    return json.loads((directory / "hostnet-changes.json").read_text())["hosts"]


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["m1", "m2", "d1"])
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


# -- hostnet_docker_bip ---------------------------------------------------------------------------

# A stand-in for docker's init script (the test hosts run no docker): start/restart does what
# /run/docker-init says, and each successful one is counted in /run/docker-restarts.
DOCKER_INIT = """#!/bin/sh
case "$1" in
  stop|status) exit 0 ;;
  start|restart)
    if [ "$(cat /run/docker-init 2>/dev/null)" = ok ]; then echo restarted >> /run/docker-restarts; exit 0; fi
    echo "failed to start daemon: invalid bip" >&2
    exit 1 ;;
esac
"""
DAEMON = '{\n  "log-driver": "json-file",\n  "bip": "172.17.0.1/16"\n}\n'
SUBNET_ENV = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\n"


def docker_host(fleet, init):
    sh(fleet, "d1", "mkdir -p /run/flannel /etc/docker /etc/init.d && cat > /run/flannel/subnet.env", input_text=SUBNET_ENV)
    sh(fleet, "d1", "cat > /etc/docker/daemon.json", input_text=DAEMON)
    sh(fleet, "d1", "cat > /etc/init.d/docker && chmod 755 /etc/init.d/docker", input_text=DOCKER_INIT)
    sh(fleet, "d1", "echo %s > /run/docker-init && rm -f /run/docker-restarts" % init)


def test_docker_restart_runs_before_the_record_and_its_failure_is_the_outcome(fleet, tmp_path):
    """With hostnet_docker_bip_restart=true the restart was a handler: it ran after hostnet-changes.json
    said 'fixed', so a failed restart gave rc 2 under a record that still said fixed."""
    docker_host(fleet, "fail")
    args = ["-l", "d1", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_docker_bip_enabled=true", "-e", "hostnet_docker_bip_restart=true"]
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert result.returncode != 0, result.stdout[-3000:]
    outcome = changes_of(tmp_path)["d1"]
    assert outcome["outcome"] == "failed", outcome
    assert "docker did not restart" in outcome["summary"] and "invalid bip" in outcome["summary"], outcome["summary"]
    # The file change that was made is recorded, with what did not happen.
    [change] = [c for c in outcome["changes"] if c["rule"] == "docker-bip-mismatch"]
    assert change["path"] == "/etc/docker/daemon.json"
    assert any(a.startswith("docker did not restart") for a in change["actions"]), change
    assert '"bip": "10.244.3.1/24"' in sh(fleet, "d1", "cat /etc/docker/daemon.json").stdout
    assert sh(fleet, "d1", "cat /run/docker-restarts", check=False).returncode != 0
    # Docker that restarts: fixed, the restart recorded, and done once.
    docker_host(fleet, "ok")
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert result.returncode == 0, result.stdout[-3000:]
    outcome = changes_of(tmp_path)["d1"]
    [change] = [c for c in outcome["changes"] if c["rule"] == "docker-bip-mismatch"]
    assert outcome["outcome"] == "fixed" and "restarted docker" in change["actions"], outcome
    assert sh(fleet, "d1", "cat /run/docker-restarts").stdout == "restarted\n"
    sh(fleet, "d1", "rm -rf /etc/docker /run/flannel /etc/init.d/docker /run/docker-init /run/docker-restarts")


def test_docker_bip_on_a_whitespace_only_daemon_json(fleet):
    """A daemon.json of blanks is an empty config ("substring not found" before)."""
    sh(fleet, "d1", "mkdir -p /run/flannel /etc/docker && cat > /run/flannel/subnet.env", input_text=SUBNET_ENV)
    sh(fleet, "d1", "printf ' \\n\\t\\n' > /etc/docker/daemon.json")
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_docker_bip", {})
    assert rc == 0 and result["changed"], result
    written = json.loads(sh(fleet, "d1", "cat /etc/docker/daemon.json").stdout)
    assert written == {"bip": "10.244.3.1/24", "mtu": 1450}
    rc, result = run_module(fleet, "d1", "kubeprep.hostnet.hostnet_docker_bip", {})
    assert rc == 0 and not result["changed"], result
    sh(fleet, "d1", "rm -rf /etc/docker /run/flannel")


# -- hostnet_machine_id ---------------------------------------------------------------------------


def machine_files(fleet, host):
    return sh(fleet, host, "cat /etc/machine-id /var/lib/dbus/machine-id; ls /var/log/journal").stdout


def test_new_machine_id_is_announced_before_the_change_and_every_file_is_shown_and_recorded(fleet, tmp_path):
    """A cloned pair whose copies use systemd-networkd DHCP (its default client identifier derives from the
    machine-id), keep a persistent journal and a copy (not a link) in /var/lib/dbus/machine-id."""
    for name in ("m1", "m2"):
        sh(fleet, name, "echo %s | tee /etc/machine-id > /var/lib/dbus/machine-id && mkdir -p /var/log/journal/%s" % (CLONED, CLONED))
        sh(fleet, name, "mkdir -p /etc/systemd/network && cat > /etc/systemd/network/10-eth1.network", input_text=NETWORKD_DHCP)
    before = {name: machine_files(fleet, name) for name in ("m1", "m2")}
    args = ["-l", "m1,m2", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_machine_id_regenerate=true", "--diff"]

    # --check --diff: the warning and both files' diffs, nothing changed.
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *(args + ["--check"]))
    assert result.returncode == 0, result.stdout[-3000:]
    out = " ".join(result.stdout.split())
    assert "/etc/systemd/network/10-eth1.network" in out and "another address" in out and "SSH session" in out, result.stdout[-4000:]
    assert "journalctl -D /var/log/journal/%s" % CLONED in out
    assert "journald writes to /var/log/journal/<the new id>" in out  # check mode draws no id a real run would write
    assert "before: /etc/machine-id" in out and "before: /var/lib/dbus/machine-id" in out, result.stdout[-4000:]
    assert {name: machine_files(fleet, name) for name in ("m1", "m2")} == before

    # The change: said before the task that makes it, both files get the same new id, both recorded.
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert result.returncode == 0, result.stdout[-3000:]
    out = " ".join(result.stdout.split())
    warned = out.find("another address")
    changing = out.find("TASK [kubeprep.hostnet.hostnet_machine_id : Replace a machine-id")
    assert 0 <= warned < changing, result.stdout[-4000:]
    assert "before: /var/lib/dbus/machine-id" in out[changing:]
    changed = [name for name in ("m1", "m2") if machine_files(fleet, name) != before[name]]
    assert len(changed) == 1, changed  # the first host of the group keeps its id
    new_etc, new_dbus = sh(fleet, changed[0], "cat /etc/machine-id /var/lib/dbus/machine-id").stdout.split()
    assert new_etc == new_dbus != CLONED
    outcome = changes_of(tmp_path)[changed[0]]
    assert outcome["outcome"] == "fixed", outcome
    assert [c["path"] for c in outcome["changes"]] == ["/etc/machine-id", "/var/lib/dbus/machine-id"], outcome["changes"]
    follow_ups = [a for a in outcome["changes"][0]["actions"] if a.startswith("follow-up: ")]
    assert any("10-eth1.network" in a for a in follow_ups), follow_ups
    assert any("/var/log/journal/%s" % new_etc in a and "/var/log/journal/%s" % CLONED in a for a in follow_ups), follow_ups
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert [o["changes"] for o in changes_of(tmp_path).values()] == [[], []]
    for name in ("m1", "m2"):
        sh(fleet, name, "rm -f /etc/systemd/network/10-eth1.network")
