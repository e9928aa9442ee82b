"""The remediation record's console lines (plugins/action/hostnet_remediation.py): a host's outcome line
carries host text (a finding's message, a failed fix's message), shown with its control characters escaped.
The action's real run() is driven with Ansible's task plumbing replaced by the values it reads."""

from unittest import mock

from hostile import Hostile, raw_controls, shown

from ansible_collections.kubeprep.hostnet.plugins.action import hostnet_remediation


class Captured:
    def __init__(self):
        self.lines = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)


def record(tmp_path, findings, hosts, failures):
    action = object.__new__(hostnet_remediation.ActionModule)  # no task, connection or loader: run() reads none
    action._task = mock.Mock(check_mode=False)
    action._play_context = mock.Mock(check_mode=False)
    args = {"stage": "record", "audit": {"findings": findings}, "plan": {h: {} for h in hosts}, "report_dir": str(tmp_path), "reports_from": None}
    task_vars = {
        "ansible_play_hosts_all": hosts,
        "ansible_play_hosts": hosts,
        "hostvars": {h: {"__hostnet_fix_failure": failures.get(h)} for h in hosts},
    }
    captured = Captured()
    with mock.patch.object(hostnet_remediation.ActionBase, "run", return_value={}), mock.patch.object(hostnet_remediation, "display", captured):
        with mock.patch.object(hostnet_remediation.ActionModule, "validate_argument_spec", return_value=(None, args)):
            action.run(task_vars=task_vars)
    return captured.lines


def test_outcome_lines_show_host_text_escaped(tmp_path):
    gen = Hostile("remediation")
    for case in range(200):
        message, failure = gen.text(), gen.text()
        lines = record(
            tmp_path,
            [{"id": "facts-missing", "severity": "error", "host": "a", "message": message}],
            ["a", "b"],
            {"b": {"task": "Ensure localhost maps to 127.0.0.1", "msg": failure}},
        )
        for line in lines:
            assert raw_controls(line) == [], (case, line)
        assert "[hostnet remediation] a: failed - nothing was changed - not remediated: %s" % shown(message) in lines, case
        assert "[hostnet remediation] b: failed - nothing was changed - Ensure localhost maps to 127.0.0.1: %s" % shown(failure) in lines, case
