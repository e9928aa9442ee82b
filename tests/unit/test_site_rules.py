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


# -- a site rule that cannot judge a host, and bounded expressions (the trust issue, items 1, 2 and 9) ------------


def test_a_site_rule_that_errors_on_one_host_is_that_hosts_finding_and_the_fleet_is_still_judged(tmp_path):
    """The documented example length(resolv_conf.nameservers) raises a JMESPath type error on a host without
    /etc/resolv.conf: that host gets a finding naming the rule and the error; every rule and host is judged."""
    broken = facts(tmp_path / "a", nameservers=5)
    broken["resolv_conf"] = {"path": "/etc/resolv.conf", "status": "missing", "error": "No such file"}
    broken["sysctl"]["net.ipv4.ip_forward"]["value"] = "0"
    fine = facts(tmp_path / "b", nameservers=5)
    result = rules.evaluate({"broken": broken, "fine": fine}, {"site_rules": documented_rules()})
    [failed] = [f for f in result["hosts"]["broken"]["findings"] if f["id"] == "too-many-nameservers"]
    assert failed["severity"] == "warning" and "could not judge broken" in failed["message"] and "JMESPathTypeError" in failed["message"]
    assert "site rule too-many-nameservers raised JMESPathTypeError" in failed["evidence"][0]
    assert "ip-forward-disabled" in {f["id"] for f in result["hosts"]["broken"]["findings"]}  # built-in rules still judged
    assert "too-many-nameservers" in {f["id"] for f in result["hosts"]["fine"]["findings"]}  # and the other host


def test_a_crashing_rule_costs_the_host_a_finding_not_the_report(tmp_path):
    @rules.rule("test-crash", "crashes", severities=("error",), fix=rules.Fix(manual="test"))
    def crash(host, facts_, ctx):
        raise KeyError("surprise")

    result = rules.evaluate({"h": facts(tmp_path)}, extra_rules=[crash])
    [finding] = [f for f in result["hosts"]["h"]["findings"] if f["id"] == "test-crash"]
    assert finding["severity"] == "error" and "KeyError" in finding["message"]


def nested(depth):
    return "a" + "".join(".b[?c" for _n in range(depth)) + "]" * depth


@pytest.mark.parametrize("depth", [22, 40, 3000])
def test_deep_expressions_are_refused_before_any_host_naming_the_variable(depth):
    entry = {"id": "deep", "severity": "error", "when": nested(depth) if depth < 3000 else "(" * depth + "a" + ")" * depth, "message": "m", "fix": "f"}
    with pytest.raises(inputs.InputError, match=r"hostnet_site_rules\[0\] \(deep\): when") as info:
        inputs.normalise("hostnet_site_rules", [entry], {"type": "list", "elements": "dict"})
    assert "recursion" not in str(info.value)


def test_a_long_expression_is_refused():
    entry = {"id": "long", "severity": "error", "when": " || ".join(["a"] * 400), "message": "m", "fix": "f"}
    with pytest.raises(siterules.SiteRuleError, match="characters long"):
        siterules.compile_rules([entry], set(), rules.SEVERITIES)


def test_an_expression_whose_work_explodes_is_stopped_on_each_host(tmp_path):
    """Shallow and short enough to pass, but each map() multiplies the work by 16 (2.4 million steps, 5 s a host
    unbounded): stopped on each host after MAX_STEPS, as that host's finding."""
    wide = "[" + ",".join(["@"] * 16) + "]"
    when = "@"
    for _level in range(5):
        when = "map(&%s, %s)" % (when, wide)
    entry = {"id": "explodes", "severity": "warning", "when": when, "message": "m", "fix": "f"}
    siterules.compile_rules([entry], set(), rules.SEVERITIES)  # accepted
    result = rules.evaluate({"h": facts(tmp_path)}, {"site_rules": [entry]})
    [finding] = [f for f in result["hosts"]["h"]["findings"] if f["id"] == "explodes"]
    assert "evaluation stopped after" in finding["message"], finding


def test_all_is_not_a_site_rule_id():
    entry = {"id": "all", "severity": "error", "when": "`true`", "message": "m", "fix": "f"}
    with pytest.raises(siterules.SiteRuleError, match="reserved"):
        siterules.compile_rules([entry], set(), rules.SEVERITIES)
