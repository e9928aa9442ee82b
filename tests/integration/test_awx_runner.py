"""AWX and Automation Platform run playbooks through ansible-runner: the audit's summary, failing hosts
and report paths, and the remediation's outcomes, reach the job's artifacts (set_stats)."""

import json
import os
import shutil

import pytest

from conftest import COLLECTIONS, ROOT, ansible_env

ansible_runner = pytest.importorskip("ansible_runner", reason="make test installs ansible-runner (requirements-test.txt)")


@pytest.fixture(scope="module")
def fleet(make_fleet):
    return make_fleet(["awx1", "awx2"], stock=True)


def run(fleet, tmp_path, playbook, extravars):
    data = tmp_path / "runner"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    shutil.copy(os.path.join(fleet.state_dir, "inventory.ini"), str(data / "inventory" / "hosts"))
    (data / "project" / "job.yml").write_text("- ansible.builtin.import_playbook: %s\n" % playbook)
    env = ansible_env(fleet)
    envvars = {k: env[k] for k in env if k.startswith("ANSIBLE_")}
    envvars["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    envvars["PATH"] = os.path.dirname(shutil.which("ansible-playbook") or os.path.join(ROOT, ".venv", "bin", "x")) + ":" + os.environ["PATH"]
    runner = ansible_runner.run(private_data_dir=str(data), playbook="job.yml", extravars=extravars, envvars=envvars, quiet=True)
    stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
    return runner, stats[-1]["event_data"].get("artifact_data") or {}


def test_audit_publishes_summary_failing_hosts_and_reports(fleet, tmp_path):
    runner, artifacts = run(fleet, tmp_path, "kubeprep.hostnet.audit", {"hostnet_report_dir": str(tmp_path / "report")})
    assert runner.rc == 2 and runner.status == "failed"  # stock hosts: ip_forward=0 stops the gate
    assert artifacts["hostnet_failing_hosts"] == ["awx1", "awx2"]
    assert artifacts["hostnet_summary"]["errors"] == 2
    assert artifacts["hostnet_report_files"]["markdown"] == str(tmp_path / "report" / "hostnet-report.md")
    assert os.path.exists(artifacts["hostnet_report_files"]["html"])


def test_remediation_publishes_outcomes(fleet, tmp_path):
    runner, artifacts = run(fleet, tmp_path, "kubeprep.hostnet.remediate", {"hostnet_report_dir": str(tmp_path / "report")})
    assert runner.rc == 0, runner.stdout.read()[-3000:]
    assert artifacts["hostnet_outcomes"] == {"awx1": "fixed", "awx2": "fixed"}
    assert artifacts["hostnet_failing_hosts"] == []
    with open(artifacts["hostnet_changes_file"]) as handle:
        assert json.load(handle)["outcome"] == "fixed"
