"""Rule required-tools-missing over built facts: kubeadm's InPathCheck list, errors for its mandatory tools (conntrack
only below Kubernetes 1.32, from hostnet_kubernetes_version), warnings for the others, and the tool installed outside
PATH named with its place."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs

from helpers import host_facts, judge

ALL = {
    "ip": "/usr/sbin/ip",
    "iptables": "/usr/sbin/iptables",
    "mount": "/usr/bin/mount",
    "nsenter": "/usr/bin/nsenter",
    "conntrack": "/usr/sbin/conntrack",
    "ethtool": "/usr/sbin/ethtool",
    "socat": "/usr/bin/socat",
    "tc": "/usr/sbin/tc",
}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def found(tmp_path, missing=(), elsewhere=None, path=PATH, tools=None, **options):
    facts = host_facts(tmp_path, "debian12")
    in_path = dict(ALL, **dict.fromkeys(missing))
    facts["tools"] = tools if tools is not None else {"ip": "/usr/sbin/ip", "path": path, "in_path": in_path, "elsewhere": elsewhere or {}}
    return {f["severity"]: f for f in judge(facts, **options) if f["id"] == "required-tools-missing"}


def test_socat_and_ethtool_missing_is_a_warning_with_kubeadms_words(tmp_path):
    by = found(tmp_path, missing=("socat", "ethtool"))
    assert list(by) == ["warning"], by
    finding = by["warning"]
    assert finding["message"] == "ethtool, socat not in PATH"
    assert finding["evidence"] == ["PATH (the facts module's; root's with become): " + PATH, "ethtool: not in PATH", "socat: not in PATH"]
    assert "[WARNING FileExisting-ethtool]: ethtool not found in system path" in finding["why"]
    assert "`apt-get install ethtool socat`" in finding["fix"] and "`dnf install ethtool socat`" in finding["fix"]


@pytest.mark.parametrize("tool", ["ip", "iptables", "mount", "nsenter"])
def test_each_mandatory_tool_is_an_error(tmp_path, tool):
    by = found(tmp_path, missing=(tool,))
    assert list(by) == ["error"], by
    assert by["error"]["message"] == "%s not in PATH" % tool
    assert "[ERROR FileExisting-%s]: %s not found in system path" % (tool, tool) in by["error"]["why"]


@pytest.mark.parametrize("tool", ["ethtool", "socat", "tc"])
def test_each_optional_tool_is_a_warning(tmp_path, tool):
    assert list(found(tmp_path, missing=(tool,))) == ["warning"]


@pytest.mark.parametrize("version", ["1.31", "v1.31.2", "1.24.17", "1.9"])
def test_conntrack_is_an_error_below_kubernetes_1_32(tmp_path, version):
    by = found(tmp_path, missing=("conntrack",), kubernetes_version=version)
    assert list(by) == ["error"], by
    assert by["error"]["message"] == "conntrack not in PATH"
    assert "[ERROR FileExisting-conntrack]: conntrack not found in system path" in by["error"]["why"]
    assert by["error"]["fix"] == "Install conntrack: `apt-get install conntrack` (Debian, Ubuntu) or `dnf install conntrack-tools` (RHEL-like)."


@pytest.mark.parametrize("version", ["", None, "1.32", "v1.32.0", "1.33.1", "2.0"])
def test_conntrack_is_not_checked_from_kubernetes_1_32_or_the_latest(tmp_path, version):
    # kubeadm's addExecChecks: conntrack only below 1.32 (kube-proxy no longer runs it). Empty: the latest release.
    assert found(tmp_path / "a", missing=("conntrack",), kubernetes_version=version) == {}
    by = found(tmp_path / "b", missing=("conntrack", "nsenter"), kubernetes_version=version)  # the rule runs
    assert list(by) == ["error"] and by["error"]["message"] == "nsenter not in PATH"


@pytest.mark.parametrize("value", ["1.3x", "latest", "1", "v1.31.2; rm -rf /", "1.31.2.4"])
def test_a_bad_kubernetes_version_is_an_input_error(value):
    _normalised, errors = inputs.validate({"n1": {"hostnet_kubernetes_version": value}})
    assert errors == ["hostnet_kubernetes_version: %r is not a Kubernetes version (1.31, v1.31.2) (host n1)" % value], errors
    assert inputs.validate({"n1": {"hostnet_kubernetes_version": " v1.31.2 "}}) == ({"n1": {"hostnet_kubernetes_version": "v1.31.2"}}, [])


def test_both_severities_at_once_and_a_tool_outside_path(tmp_path):
    # sudo's secure_path without /usr/sbin: ip and iptables are installed, root's PATH does not reach them.
    elsewhere = {"iptables": "/usr/sbin/iptables", "tc": "/usr/sbin/tc"}
    by = found(tmp_path, missing=("iptables", "conntrack", "tc"), elsewhere=elsewhere, path="/usr/local/bin:/usr/bin:/bin", kubernetes_version="1.31")
    assert sorted(by) == ["error", "warning"]
    assert by["error"]["message"] == "iptables, conntrack not in PATH"
    assert by["error"]["evidence"][1:] == ["iptables: not in PATH (installed as /usr/sbin/iptables)", "conntrack: not in PATH"]
    assert by["error"]["fix"] == (
        "Install conntrack: `apt-get install conntrack` (Debian, Ubuntu) or `dnf install conntrack-tools` (RHEL-like). "
        "iptables is installed outside PATH: add /usr/sbin to root's PATH (sudo: `Defaults secure_path=` in /etc/sudoers)."
    )
    assert by["warning"]["message"] == "tc not in PATH"
    assert by["warning"]["fix"] == "tc is installed outside PATH: add /usr/sbin to root's PATH (sudo: `Defaults secure_path=` in /etc/sudoers)."
    assert by["warning"]["data"] == {"missing": ["tc"], "elsewhere": {"tc": "/usr/sbin/tc"}}


def test_every_tool_present_or_facts_without_the_lookup_are_no_finding(tmp_path):
    assert list(found(tmp_path / "a", missing=("socat",))) == ["warning"]  # the rule runs
    assert found(tmp_path / "b") == {}
    assert found(tmp_path / "c", tools={"ip": "/usr/sbin/ip"}) == {}  # an older facts module: nothing to judge
    assert found(tmp_path / "d", tools={"status": "not_applicable"}) == {}
