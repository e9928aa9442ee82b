"""Rule facts-missing: a host the audit could not gather is an error with the engine's reason, never ok."""

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import remediation, rules


def test_a_host_without_facts_is_an_error_with_the_reason():
    result = rules.evaluate({"a": None, "b": "the host left the play", "c": {"no": "schema"}}, {"skip_rules": [r for r in rules.RULES if r != "facts-missing"]})
    messages = {host: [f["message"] for f in data["findings"]] for host, data in result["hosts"].items()}
    assert messages == {
        "a": ["no hostnet facts for this host (facts were not gathered)"],
        "b": ["no hostnet facts for this host (the host left the play)"],
        "c": ["no hostnet facts for this host (facts were not gathered)"],
    }


def test_skipping_it_is_said_and_the_remediation_fails_the_host():
    result = rules.evaluate({"a": None}, {"skip_rules": ["facts-missing"]})
    assert result["hosts"]["a"]["findings"] == [] and "facts-missing" in result["skipped_rules"]
    finding = rules.evaluate({"a": None})["hosts"]["a"]["findings"][0]
    assert remediation.outcome_of({}, [finding], [], None, False, False)["outcome"] == "failed"
