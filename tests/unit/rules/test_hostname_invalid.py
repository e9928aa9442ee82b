"""Rule hostname-invalid over captured and built facts: it fires on the fault and its variants, not on near misses."""

import pytest

from helpers import host_facts, ids, judge


@pytest.mark.parametrize(
    "kernel, etc, bad",
    [
        ("localhost", "localhost\n", "localhost"),
        ("localhost.localdomain", None, "localhost.localdomain"),
        ("node_1", "node_1\n", "node_1"),
        ("node1", "# set by the image\nlocalhost\n", "localhost"),  # the next boot's name
        ("-node", None, "-node"),
        ("a" * 64, None, "a" * 64),
    ],
)
def test_hostname_invalid(tmp_path, kernel, etc, bad):
    facts = host_facts(tmp_path, "debian12")
    facts["identity"].update(hostname=kernel, etc_hostname=(etc or "").splitlines()[-1] if etc else None)
    finding = [f for f in judge(facts) if f["id"] == "hostname-invalid"][0]
    assert finding["severity"] == "error" and bad in finding["message"], finding


@pytest.mark.parametrize("name", ["node1", "Node-1.Example.internal", "k8s-cp-01.dc1.example.com", "a" * 63])
def test_hostname_valid(tmp_path, name):
    facts = host_facts(tmp_path, "debian12")
    facts["identity"].update(hostname=name, etc_hostname=name)
    assert "hostname-invalid" not in ids(judge(facts))
