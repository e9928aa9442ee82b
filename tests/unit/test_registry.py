"""The rule registry is the one place a rule's meaning lives: every entry has its
page, its fix path leads to a role that exists (and that the remediate playbook
can select by tag), and each option is declared once (role defaults, role
argument_specs and module docs agree)."""

import os
import re

import pytest
import yaml

from ansible_collections.kubeprep.hostnet.plugins.action import hostnet_audit as audit_action
from ansible_collections.kubeprep.hostnet.plugins.filter import change_summary
from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_audit as audit_doc
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import remediation, rules

from conftest import ROOT

REGISTRY = rules.all_rules()


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("rule_id", sorted(REGISTRY))
def test_every_rule_has_its_page_severities_and_fix_path(rule_id):
    entry = REGISTRY[rule_id]
    assert os.path.isfile(os.path.join(ROOT, entry["docs"])), entry["docs"]
    assert entry["severities"] and set(entry["severities"]) <= set(rules.SEVERITIES)
    fix = entry["fix"]
    if fix["kind"] == "role":
        role = fix["role"].split(".")[-1]
        assert os.path.isfile(os.path.join(ROOT, "roles", role, "tasks", "main.yml")), role
        spec = load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        defaults = load("roles", role, "defaults", "main.yml")
        for name in fix["inputs"] + ([fix["opt_in"]] if fix["opt_in"] else []):
            if name.startswith(role + "_"):  # the role's own variable: declared by the role
                assert name in spec and name in defaults, name
    else:
        assert fix["reason"]
    page = open(os.path.join(ROOT, entry["docs"])).read()
    assert "## Fix" in page, "%s has no Fix section" % entry["docs"]


def test_remediate_playbook_has_no_rule_list_and_tags_every_role():
    text = open(os.path.join(ROOT, "playbooks", "remediate.yml")).read()
    for rule_id in REGISTRY:
        assert "'%s'" % rule_id not in text and '"%s"' % rule_id not in text, rule_id
    roles = sorted({e["fix"]["role"].split(".")[-1] for e in REGISTRY.values() if e["fix"]["kind"] == "role"})
    play = yaml.safe_load(text)[0]
    [include] = [t for task in play["tasks"] for t in task.get("block", []) if "ansible.builtin.include_role" in t]
    assert include["tags"][0] == "hostnet_remediate" and sorted(include["tags"][1:]) == roles
    assert sorted(k[: -len("_changes")] for k in change_summary.role_records()) == roles


@pytest.mark.parametrize("role", sorted(os.listdir(os.path.join(ROOT, "roles"))))
def test_role_defaults_and_argument_specs_agree(role):
    spec = load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("roles", role, "defaults", "main.yml") or {}
    assert sorted(defaults) == sorted(spec), role
    for name, option in spec.items():
        value = defaults[name]
        if "default" in option and not (isinstance(value, str) and "{{" in value):
            assert option["default"] == value, name


def test_audit_action_options_come_from_the_module_docs_and_match_the_engine():
    doc = yaml.safe_load(audit_doc.DOCUMENTATION)["options"]
    assert audit_action.ARGUMENT_SPEC == {k: {x: v[x] for x in ("type", "default", "choices", "elements", "required") if x in v} for k, v in doc.items()}
    for name, default in rules.DEFAULT_OPTIONS.items():
        if name in doc and "default" in doc[name]:
            assert doc[name]["default"] == (list(default) if isinstance(default, tuple) else default), name
    judge = open(os.path.join(ROOT, "roles", "audit", "tasks", "02-judge.yml")).read().split("\n- name:")[0]  # the judge task
    audit_spec = load("roles", "audit", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for option in [o for o in re.findall(r"^    (\w+): ", judge, re.MULTILINE) if not o.startswith("__")]:
        assert option in doc, option
        variables = re.findall(r"default\((hostnet_\w+)\)|\{\{ (hostnet_\w+)", judge.split("    %s: " % option, 1)[1].splitlines()[0])
        for variable in [a or b for a, b in variables]:
            assert variable in audit_spec, variable


def finding(rule_id, host="n1", severity="error", **extra):
    return dict({"id": rule_id, "host": host, "severity": severity, "message": "m", "fix": "do it"}, **extra)


def roles(host_plan):
    return [{"role": e["role"], "rules": e["rules"]} for e in host_plan["roles"]]


def test_plan_follows_the_registry():
    findings = [
        finding("ip-forward-disabled"),
        finding("service-network-unroutable"),
        finding("localhost-unreachable", host="n2"),
        finding("probe-budget-exceeded", host="n2"),
        finding("duplicate-node-identity", host=None, hosts=["n1", "n2"], data={"key": "machine_id", "value": "a" * 32}),
        # As the rule reports it: only a machine-id is the role's, a MAC finding carries its manual step.
        finding("duplicate-node-identity", host=None, hosts=["n1", "n2"], data={"key": "MAC", "value": "x", "manual": "only key=machine_id"}),
        finding("slow-resolver", host="n2", severity="info"),
    ]
    plan = remediation.plan(findings, ["n1", "n2"], {"n1": {"hostnet_machine_id_regenerate": "true"}})
    assert roles(plan["n1"]) == [
        {"role": "kubeprep.hostnet.hostnet_sysctl", "rules": ["ip-forward-disabled"]},
        {"role": "kubeprep.hostnet.hostnet_machine_id", "rules": ["duplicate-node-identity"]},
    ]
    assert plan["n1"]["roles"][0]["does"] == ["ip_forward"]  # the role's step, from the rule's Fix
    assert [n["variables"] for n in plan["n1"]["needs_input"]] == [["hostnet_service_route_gateway"]]
    assert [m["rule"] for m in plan["n1"]["manual"]] == ["duplicate-node-identity"]  # the MAC one
    assert roles(plan["n2"]) == [{"role": "kubeprep.hostnet.hostnet_localhost", "rules": ["localhost-unreachable"]}]
    manual = plan["n2"]["manual"]
    assert sorted(m["rule"] for m in manual) == ["duplicate-node-identity", "duplicate-node-identity", "probe-budget-exceeded"]
    assert any("hostnet_machine_id_regenerate=true" in m["reason"] for m in manual)
    assert [m["step"] for m in manual if m["rule"] == "probe-budget-exceeded"] == ["do it"]


def test_outcomes():
    plan = remediation.plan([finding("ip-forward-disabled"), finding("service-network-unroutable")], ["n1"], {})["n1"]
    assert remediation.outcome_of(plan, [finding("service-network-unroutable")], [{"rule": "x"}], None, False, False)["outcome"] == "needs_input"
    left = remediation.outcome_of(plan, [finding("ip-forward-disabled")], [], None, False, False)
    assert left["outcome"] == "failed" and "error left after its fix ran: ip-forward-disabled" in left["summary"]
    assert remediation.outcome_of(plan, [], [{"rule": "x"}], None, False, False)["outcome"] == "fixed"  # needs_input cured by the other fix
    assert remediation.outcome_of(plan, [], [], None, True, False)["outcome"] == "failed"
    assert remediation.outcome_of(plan, [finding("ip-forward-disabled")], [], None, False, True)["outcome"] == "needs_input"
    gone = remediation.outcome_of({}, [finding("facts-missing")], [], None, False, False)
    assert gone["outcome"] == "failed" and "not remediated" in gone["summary"]


def test_plan_honours_tags():
    findings = [finding("ip-forward-disabled"), finding("localhost-unreachable")]
    plan = remediation.plan(findings, ["n1"], {}, run_tags=["hostnet_localhost"])["n1"]
    assert roles(plan) == [{"role": "kubeprep.hostnet.hostnet_localhost", "rules": ["localhost-unreachable"]}]
    assert [m["reason"] for m in plan["manual"]] == ["not run: --tags/--skip-tags did not select hostnet_sysctl"]
    plan = remediation.plan(findings, ["n1"], {}, skip_tags=["hostnet_localhost"])["n1"]
    assert [r["role"] for r in plan["roles"]] == ["kubeprep.hostnet.hostnet_sysctl"]


def test_engine_needs_netaddr_only_for_fleet_rules(monkeypatch):
    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import nodeip

    monkeypatch.setattr(nodeip, "HAS_NETADDR", False)
    fleet_rules = [r for r, e in REGISTRY.items() if e["scope"] == "fleet"]
    result = rules.evaluate({"h": {"schema_version": 1}}, {"skip_rules": fleet_rules})
    assert result["recommendations"] == {}
    with pytest.raises(RuntimeError, match="netaddr is required"):
        rules.evaluate({"h": {"schema_version": 1}}, {})
