"""Real test hosts for integration tests, always torn down."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))

import testhosts

VENV_BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(ROOT, "build", "collections")


@pytest.fixture(scope="session")
def make_fleet(tmp_path_factory):
    """Factory: make_fleet(names) -> testhosts.Fleet; every fleet is torn down at session end."""
    if os.geteuid() != 0:
        pytest.skip("test hosts need root")
    made = []

    def factory(names, **kwargs):
        fleet = testhosts.Fleet(str(tmp_path_factory.mktemp("fleet")))
        made.append(fleet)
        fleet.up(names=names, **kwargs)
        return fleet

    try:
        yield factory
    finally:
        for fleet in made:
            fleet.down()


def copy_tree(tree):
    """The tracked (and new, unignored) files of the checkout, copied to ``tree``: a fresh copy as a clone has it."""
    tree.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, stdout=subprocess.PIPE, check=True).stdout
    paths = [p for p in files.decode().split("\0") if p and os.path.exists(os.path.join(ROOT, p))]
    subprocess.run(["cp", "--parents", "-t", str(tree)] + paths, cwd=ROOT, check=True)
    return tree


def ansible_env(fleet, extra=None):
    return fleet.ansible_env(COLLECTIONS, extra=extra)


def run_playbook(fleet, playbook, *args, inventory=None, timeout=600, env=None):
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory or os.path.join(fleet.state_dir, "inventory.ini"), playbook] + list(args)
    return subprocess.run(
        cmd, env=ansible_env(fleet, env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, check=False
    )


with open(os.path.join(ROOT, "docs", "schemas", "hostnet-report.schema.json")) as _handle:
    REPORT_SCHEMA = json.load(_handle)


def load_report(directory):
    """A report the test made, checked against the collection's JSON Schema (the contract users parse)."""
    import jsonschema

    with open(os.path.join(directory, "hostnet-report.json")) as handle:
        report = json.load(handle)
    jsonschema.validate(report, REPORT_SCHEMA, format_checker=jsonschema.FormatChecker())
    return report


# The same client and listener the Molecule scenarios use (one copy of each).
SHARED_FILES = os.path.join(ROOT, "molecule", "_shared", "files")
with open(os.path.join(SHARED_FILES, "probe.py")) as _handle:
    CONNECT_PROBE = _handle.read()  # python3 -c CONNECT_PROBE NAME PORT
with open(os.path.join(SHARED_FILES, "listener.py")) as _handle:
    LISTENER = _handle.read()  # python3 -c LISTENER: returns once [::]:6443 is listening


def run_adhoc(fleet, host, module, args, *extra, env=None, inventory=None):
    """One module call with the ansible CLI; returns the CompletedProcess."""
    cmd = [os.path.join(VENV_BIN, "ansible"), "-i", inventory or os.path.join(fleet.state_dir, "inventory.ini"), host, "-m", module]
    if args:  # an empty -a '{}' would be taken as raw parameters
        cmd += ["-a", json.dumps(args)]
    return subprocess.run(
        cmd + list(extra), env=ansible_env(fleet, env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False
    )


def run_module(fleet, host, module, args, *extra, inventory=None):
    """One module call, one-line output; returns (rc, parsed result)."""
    proc = run_adhoc(fleet, host, module, args, "-o", *extra, inventory=inventory)
    return proc.returncode, oneline_result(proc, host)[1]


def oneline_result(proc, host):
    """(line, parsed result) of ``host`` in the one-line (-o) output of an ad-hoc run."""
    line = [x for x in proc.stdout.splitlines() if x.startswith(host + " |")][-1]
    return line, json.loads(line.split("=>", 1)[1])
