"""The README's commands, run verbatim from a fresh copy of the tree: `make audit` with an inventory,
then every `ansible-playbook` line of its usage blocks, in a directory that has only inventory.ini."""

import os
import re
import subprocess

import pytest

from conftest import ROOT, VENV_BIN, copy_tree


def readme_commands():
    """Each `ansible-playbook ...` command of the README's sh blocks, continuation lines joined."""
    text = open(os.path.join(ROOT, "README.md")).read()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("ansible-playbook "):
                commands.append(line)
    return commands


@pytest.fixture(scope="module")
def copy(make_fleet, tmp_path_factory):
    fleet = make_fleet(["readme1", "readme2"])
    work = tmp_path_factory.mktemp("readme")
    tree = copy_tree(work / "src")
    with open(os.path.join(fleet.state_dir, "inventory.ini")) as handle:
        (tree / "inventory.ini").write_text(handle.read())
    env = fleet.ansible_env(str(tree / "build" / "collections"))
    env["PATH"] = VENV_BIN + ":" + env["PATH"]
    return fleet, tree, env


def sh(command, tree, env):
    return subprocess.run(
        command, shell=True, cwd=str(tree), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False
    )


def test_readme_has_the_commands_this_test_runs():
    commands = readme_commands()
    assert any(c.startswith("ansible-playbook kubeprep.hostnet.remediate") for c in commands)
    assert len([c for c in commands if c.startswith("ansible-playbook kubeprep.hostnet.audit")]) >= 3


def test_make_audit_with_an_inventory(copy):
    fleet, tree, env = copy
    # The venv is the suite's own (a fresh one costs minutes of pip); everything else is the copy's.
    result = sh("make audit INVENTORY=inventory.ini VENV=%s" % os.path.dirname(VENV_BIN), tree, env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert os.path.exists(tree / "hostnet-report" / "hostnet-report.md")
    assert "report: %s" % (tree / "hostnet-report" / "hostnet-report.md") in result.stdout


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_verbatim(copy, command):
    fleet, tree, env = copy
    sh("make install VENV=%s" % os.path.dirname(VENV_BIN), tree, env)
    result = sh(command, tree, env)
    assert "Traceback" not in result.stdout and "no host was contacted" not in result.stdout, result.stdout[-3000:]
    if "remediate" in command:
        assert result.returncode == 0, result.stdout[-3000:]  # clean hosts: nothing to fix, the gateway is never used
        assert os.path.exists(tree / "hostnet-report" / "hostnet-changes.json")
    else:
        assert result.returncode in (0, 2), result.stdout[-3000:]  # 2: the gate stopped a host (this machine may have faults)
        assert "report: " in result.stdout
