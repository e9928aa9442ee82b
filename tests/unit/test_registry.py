"""The rule registry is the one place a rule's meaning lives: every entry has its
page, its fix path leads to a role that exists (and that the remediate playbook
can select by tag), and each option is declared once (role defaults, role
argument_specs and module docs agree)."""

import ast
import os
import re
import sys

import pytest
import yaml

sys_path_tools = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
if sys_path_tools not in sys.path:
    sys.path.insert(0, sys_path_tools)

from ansible_collections.kubeprep.hostnet.plugins.action import hostnet_audit as audit_action
from ansible_collections.kubeprep.hostnet.plugins.filter import change_summary
from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_audit as audit_doc
from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_facts as facts_module
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


def test_audit_action_options_come_from_the_module_docs():
    doc = yaml.safe_load(audit_doc.DOCUMENTATION)["options"]
    assert audit_action.ARGUMENT_SPEC == {k: {x: v[x] for x in ("type", "default", "choices", "elements", "required") if x in v} for k, v in doc.items()}
    # No rule option is an argument of its own: the action reads each through its declaration.
    assert not set(doc) & set(rules.declared_options()), sorted(set(doc) & set(rules.declared_options()))


AUDIT_SPEC = load("roles", "audit", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
AUDIT_DEFAULTS = load("roles", "audit", "defaults", "main.yml")


@pytest.mark.parametrize("name", sorted(rules.declared_options()))
def test_each_option_is_declared_once_and_the_role_agrees(name):
    """The audit role keeps every variable (ansible-doc -t role shows them); its spec and default must say
    what the option's declaration says."""
    option = rules.declared_options()[name]
    spec = AUDIT_SPEC.get(option.var)
    assert spec is not None, "%s (option %s) is missing from roles/audit/meta/argument_specs.yml" % (option.var, name)
    declared = option.spec()
    for key in ("type", "elements", "choices"):
        assert spec.get(key) == declared.get(key), "%s: argument_specs %s %r, declared %r" % (option.var, key, spec.get(key), declared.get(key))
    if "default" in spec or "default" in declared:
        assert spec.get("default") == declared.get("default"), "%s: default %r, declared %r" % (option.var, spec.get("default"), declared.get("default"))
    assert option.var in AUDIT_DEFAULTS, option.var
    value = AUDIT_DEFAULTS[option.var]
    if not (isinstance(value, str) and "{{" in value):
        assert value == declared.get("default"), "%s: defaults/main.yml %r, declared %r" % (option.var, value, declared.get("default"))


def test_every_option_has_an_owner_and_a_variable():
    seen = set()
    for option in rules.declared_options().values():
        assert option.var.startswith("hostnet_") and option.var not in seen, option.var
        seen.add(option.var)
        if option.type in ("int", "float"):
            assert option.minimum is not None or option.maximum is not None, "%s: a number needs its documented range" % option.var


FACTS_DOC = open(os.path.join(ROOT, "docs", "facts.md")).read()
FACTS_RETURN = yaml.safe_load(facts_module.RETURN)["ansible_facts"]["contains"]["hostnet"]["contains"]


@pytest.mark.parametrize("rule_id", sorted(REGISTRY))
def test_facts_a_rule_reads_are_in_the_contract(rule_id):
    """A rule's declared fact keys are documented (docs/facts.md) and returned by the facts module (RETURN),
    except the ones the judge adds on the controller (port_probes)."""
    item = rules.RULES[rule_id]
    assert item.reads or item.applies == "missing", "%s declares no fact keys" % rule_id
    for key in item.reads:
        assert "`%s`" % key in FACTS_DOC, "%s reads %s, not in docs/facts.md" % (rule_id, key)
        if key not in rules.CONTROLLER_FACTS:
            assert key in FACTS_RETURN, "%s reads %s, not in hostnet_facts RETURN" % (rule_id, key)


def test_remediation_role_order_is_written_once():
    text = open(os.path.join(ROOT, "playbooks", "remediate.yml")).read()
    play = yaml.safe_load(text)[0]
    [include] = [t for task in play["tasks"] for t in task.get("block", []) if "ansible.builtin.include_role" in t]
    assert include["tags"] == ["hostnet_remediate"] + rules.fix_roles()  # in order
    assert list(rules.fix_roles()) == [r for r in rules.ROLE_ORDER if r in rules.fix_roles()]


def _sources(*parts):
    base = os.path.join(ROOT, *parts)
    for folder, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith((".py", ".j2", ".yml")):
                yield os.path.join(folder, name)


def test_nothing_but_its_rule_names_a_rule_id():
    """The engine, the reports, the actions and the audit role's code name no rule: what they do about a rule
    comes from its declaration or its findings' data. (Module docs may cite rules as examples.)"""
    files = [os.path.join(ROOT, "plugins", "plugin_utils", "rules", n) for n in ("engine.py", "_facts.py", "_net.py", "__init__.py")]
    files += [os.path.join(ROOT, "plugins", "plugin_utils", n) for n in ("report.py", "report_html.py", "remediation.py", "inputs.py", "siterules.py")]
    files += [os.path.join(ROOT, "plugins", "action", n) for n in os.listdir(os.path.join(ROOT, "plugins", "action")) if n.endswith(".py")]
    files += [p for p in _sources("roles", "audit") if os.sep + "meta" + os.sep not in p]  # argument_specs are docs
    files += [os.path.join(ROOT, "roles", r, "defaults", "main.yml") for r in rules.fix_roles()]
    for path in files:
        text = open(path).read()
        if path.endswith(".py"):  # docstrings and comments may cite a rule; code may not
            tree = ast.parse(text)
            docstrings = set()
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body and isinstance(node.body[0], ast.Expr):
                    docstrings.add(id(node.body[0].value))
            strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]
        elif path.endswith(".yml"):  # YAML comments may cite a rule
            strings = [re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines()]
        else:
            strings = [text]
        for rule_id in REGISTRY:
            assert not any(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(rule_id), s) for s in strings), "%s names %s" % (os.path.relpath(path, ROOT), rule_id)


def test_generated_docs_are_current():
    """docs/rules/<id>.md, README.md's rule table and docs/remediation.md's table come from the registry
    (make docs-rules); a hand edit or a stale row fails here (and in make docs-check)."""
    import rules_docs

    assert rules_docs.stale() == []


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
