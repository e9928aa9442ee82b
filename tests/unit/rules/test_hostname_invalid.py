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


# Valid DNS-1123 names, but longer than the 63 characters of a label value (kubelet's kubernetes.io/hostname).
LONG = "k8s-worker-0001.rack-17.datacenter-frankfurt-2.internal.example.com"
KERNEL_MAX = "node-1." + "b" * 52 + ".corp"  # 64: the most a kernel hostname holds


@pytest.mark.parametrize("kernel, etc", [(LONG, LONG), ("node1", KERNEL_MAX), (LONG.upper(), None)])
def test_longer_than_a_label_value(tmp_path, kernel, etc):
    facts = host_facts(tmp_path, "debian12")
    facts["identity"].update(hostname=kernel, etc_hostname=etc)
    finding = [f for f in judge(facts) if f["id"] == "hostname-invalid"][0]
    name = etc if kernel == "node1" else kernel
    expected = "is %d characters long: kubelet's kubernetes.io/hostname label holds at most 63" % len(name)
    assert finding["severity"] == "error" and finding["message"].endswith(name + " " + expected), finding
    assert "must be no more than 63 characters" in finding["why"]
    # The near miss: one character less is a valid node name.
    facts["identity"].update(hostname="node-1." + "b" * 51 + ".corp", etc_hostname=None)
    assert "hostname-invalid" not in ids(judge(facts))


@pytest.mark.parametrize("name", ["node1", "Node-1.Example.internal", "k8s-cp-01.dc1.example.com", "a" * 63])
def test_hostname_valid(tmp_path, name):
    facts = host_facts(tmp_path, "debian12")
    facts["identity"].update(hostname=name, etc_hostname=name)
    assert "hostname-invalid" not in ids(judge(facts))
