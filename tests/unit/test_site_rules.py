"""Site rules as data: the three documented examples fire on the facts they describe and not
on healthy ones; they are reported, skipped and downgraded like built-in rules; a bad entry is
a clear error before any host is judged."""

import re

import pytest
import yaml

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs, rules, siterules

from conftest import ROOT
from helpers import healthy_kernel, host_facts


def documented_rules():
    text = open(ROOT + "/docs/site-rules.md").read()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)["hostnet_site_rules"]


def facts(tmp_path, mtu=1500, nameservers=2, hostname="node1"):
    kernel = healthy_kernel()
    for iface in kernel["interfaces"]["list"]:
        if iface["name"] == kernel["routes"]["default_ipv4"][0]["dev"]:
            iface["mtu"] = mtu
    resolv = "".join("nameserver 10.0.0.%d\n" % (i + 1) for i in range(nameservers))
    result = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": resolv}, kernel=kernel)
    result["identity"]["hostname"] = hostname
    return result


def judge(host_facts_, **options):
    result = rules.evaluate({"h": host_facts_}, dict({"site_rules": documented_rules()}, **options))
    return {f["id"]: f for f in result["hosts"]["h"]["findings"]}, result


def test_the_documented_examples_fire_on_what_they_describe(tmp_path):
    healthy = judge(facts(tmp_path / "a"))[0]
    assert not set(healthy) & {"default-mtu-too-small", "too-many-nameservers", "hostname-is-localhost"}
    found, result = judge(facts(tmp_path / "b", mtu=1400, nameservers=4, hostname="localhost"))
    assert {"default-mtu-too-small", "too-many-nameservers", "hostname-is-localhost"} <= set(found)
    assert found["hostname-is-localhost"]["severity"] == "error"
    assert found["default-mtu-too-small"]["evidence"] == ["site rule default-mtu-too-small: when default_interface.mtu < `1450` -> true"]
    assert result["rules"]["too-many-nameservers"]["site"] is True and found["too-many-nameservers"]["docs"] == "hostnet_site_rules"


def test_site_rules_are_skipped_and_downgraded_like_builtin_ones(tmp_path):
    bad = facts(tmp_path, hostname="localhost")
    found, result = judge(bad, skip_rules=["hostname-is-localhost"])
    assert "hostname-is-localhost" not in found and "hostname-is-localhost" in result["skipped_rules"]
    found = judge(bad, warn_rules=["hostname-is-localhost"])[0]
    assert found["hostname-is-localhost"]["severity"] == "warning" and found["hostname-is-localhost"]["downgraded_from"] == "error"


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            {"id": "x", "severity": "error", "when": "length(", "message": "m", "fix": "f"},
            "hostnet_site_rules[0] (x): when 'length(' is not a valid JMESPath expression",
        ),
        (
            {"id": "x", "severity": "fatal", "when": "a", "message": "m", "fix": "f"},
            "hostnet_site_rules[0]: severity 'fatal' is not one of error, warning, info",
        ),
        ({"id": "ip-forward-disabled", "severity": "error", "when": "a", "message": "m", "fix": "f"}, "id 'ip-forward-disabled' is already taken"),
        ({"id": "x", "severity": "error", "when": "a", "message": "m"}, "hostnet_site_rules[0]: fix is missing or empty"),
        ({"id": "Bad_Id", "severity": "error", "when": "a", "message": "m", "fix": "f"}, "id 'Bad_Id' is not lowercase words joined by dashes"),
    ],
)
def test_a_bad_site_rule_is_an_input_error(entry, message):
    _normalised, errors = inputs.validate({"n1": {"hostnet_site_rules": [entry]}})
    assert len(errors) == 1 and message in errors[0], errors


def test_site_rule_ids_are_valid_in_skip_rules():
    entry = {"id": "my-check", "severity": "info", "when": "a", "message": "m", "fix": "f"}
    _normalised, errors = inputs.validate({"n1": {"hostnet_site_rules": [entry], "hostnet_skip_rules": ["my-check"]}})
    assert errors == []
    assert siterules.compile_rules([entry], set(rules.RULES), rules.SEVERITIES)[0]["id"] == "my-check"
