"""Rule facts-incomplete: a fact source that could not be read is said, with the source and the reason."""

from helpers import host_facts, judge


def test_each_unreadable_source_is_evidence(tmp_path):
    facts = host_facts(tmp_path, "debian12")
    facts["problems"] = [{"source": "/etc/nsswitch.conf", "message": "Permission denied"}, {"source": "ip", "message": "not installed"}]
    [finding] = [f for f in judge(facts) if f["id"] == "facts-incomplete"]
    assert finding["severity"] == "warning" and finding["message"].startswith("2 fact source(s) could not be read")
    assert finding["evidence"] == ["/etc/nsswitch.conf: Permission denied", "ip: not installed"]


def test_no_problem_no_finding(tmp_path):
    assert [f for f in judge(host_facts(tmp_path, "debian12")) if f["id"] == "facts-incomplete"] == []
