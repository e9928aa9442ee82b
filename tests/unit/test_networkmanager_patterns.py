"""The interface patterns of role hostnet_networkmanager: NetworkManager's glob, its list syntax refused."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_networkmanager as nm


@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("eth*", "eth1", True),
        ("*", "eth1", True),
        ("e?h1", "eth1", True),
        ("e?h1", "eth10", False),
        ("cali*", "eth1", False),
        ("vxlan.calico", "vxlanxcalico", False),
        ("cni0", "cni0", True),
        ("a\\;b", "a;b", True),
        ("[e]th1", "eth1", False),
    ],
)
def test_glob_as_networkmanager_matches(pattern, name, expected):
    assert nm.matches(pattern, name) is expected


@pytest.mark.parametrize(
    "pattern",
    ["", "  ", "cali*\n[main]\ndns=none", "cali*\r", "a;b", "a,b", "tab\there", "trailing\\", " cali*", "x" * 300, "nul\x00"],
)
def test_unsafe_syntax_is_refused(pattern):
    assert nm.check_syntax(pattern)


@pytest.mark.parametrize("pattern", ["cali*", "vxlan-v6.calico", "cilium_*", "a\\;b", "a\\,b"])
def test_plain_patterns_pass(pattern):
    assert nm.check_syntax(pattern) is None
