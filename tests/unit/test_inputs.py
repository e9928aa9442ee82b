"""Inputs are checked on the controller: the forms users type are accepted, a bad value is
an error naming the variable and the value, a typo is not silently ignored."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs


def check(**values):
    return inputs.validate({"n1": values})


@pytest.mark.parametrize(
    "value, expected",
    [
        (["10.233.0.0/18"], ["10.233.0.0/18"]),
        ('["10.233.0.0/18"]', ["10.233.0.0/18"]),  # -e 'x=["..."]' arrives as a string on ansible-core 2.19
        ("10.96.0.1, 10.233.0.0/18", ["10.96.0.1", "10.233.0.0/18"]),
        (["10.96.0.1 "], ["10.96.0.1"]),
    ],
)
def test_list_forms_are_accepted(value, expected):
    normalised, errors = check(hostnet_service_ips=value)
    assert errors == [] and normalised["n1"]["hostnet_service_ips"] == expected


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("hostnet_service_ips", "banana", "hostnet_service_ips: 'banana' is not an IP address or CIDR"),
        ("hostnet_service_ips", ["10.96.0.1/40"], "hostnet_service_ips: '10.96.0.1/40' is not an IP address or CIDR"),
        ("hostnet_service_ips", '["10.233.0.0/18"', "hostnet_service_ips: '[\"10.233.0.0/18\"' looks like a JSON list but does not parse"),
        ("hostnet_service_ips", "", "hostnet_service_ips: '' is empty, so nothing would be checked"),
        ("hostnet_fail_on", "eror", "hostnet_fail_on: 'eror' is not one of error, warning, never"),
        ("hostnet_skip_rules", "ip-forward", "hostnet_skip_rules: 'ip-forward' is not a rule id"),
        ("hostnet_resolver_timeout", "2s", "hostnet_resolver_timeout: '2s' is not a number"),
        ("hostnet_node_ip_enabled", "ture", "hostnet_node_ip_enabled: 'ture' is not a boolean"),
        ("hostnet_service_route_gateway", "192.168.56.300", "hostnet_service_route_gateway: '192.168.56.300' is not an IP address"),
        ("hostnet_node_cidr", "192.168.56/24", "hostnet_node_cidr: '192.168.56/24' is not a CIDR"),
        ("kube_service_addresses", "10.233.0.0/33", "kube_service_addresses: '10.233.0.0/33' is not a CIDR"),
        ("hostnet_servce_ips", ["10.96.0.1"], "hostnet_servce_ips: unknown variable - did you mean hostnet_service_ips"),
        ("hostnet_probe_peers", "0", "hostnet_probe_peers: '0' is less than 1"),
        ("hostnet_probe_peers", "three", "hostnet_probe_peers: 'three' is not an integer"),
        ("hostnet_probe_ports", "ture", "hostnet_probe_ports: 'ture' is not a boolean"),
        ("hostnet_cni", "calcio", "hostnet_cni: 'calcio' is not one of"),
    ],
)
def test_bad_values_name_the_variable_and_the_value(name, value, message):
    _normalised, errors = check(**{name: value})
    assert len(errors) == 1 and errors[0].startswith(message), errors
    assert errors[0].endswith("(host n1)")


def test_the_etcd_group_must_be_a_group_of_the_inventory():
    values = {"n1": {"hostnet_etcd_group": "etcdd"}, "n2": {"hostnet_etcd_group": "etcdd"}}
    _normalised, errors = inputs.validate(values, groups={"all": ["n1", "n2"], "etcd": ["n1"]})
    assert errors == ["hostnet_etcd_group: 'etcdd' is not a group of the inventory (every host)"]
    normalised, errors = inputs.validate(
        {"n1": {"hostnet_etcd_group": "etcd", "hostnet_probe_ports": "yes", "hostnet_probe_peers": "2"}}, groups={"etcd": ["n1"]}
    )
    assert errors == [] and normalised["n1"] == {"hostnet_etcd_group": "etcd", "hostnet_probe_ports": True, "hostnet_probe_peers": 2}


def test_one_error_for_every_host_and_outputs_are_not_inputs():
    outputs = {"hostnet_audit_result": {}, "hostnet_sysctl_changes": [], "hostnet_probe_listen": {}, "hostnet_probe_results": {}}  # facts are variables too
    _normalised, errors = inputs.validate({h: dict(outputs, hostnet_fail_on="x") for h in ("a", "b")})
    assert errors == ["hostnet_fail_on: 'x' is not one of error, warning, never (every host)"]


def test_every_formatted_variable_is_declared_by_a_role():
    specs = inputs.role_specs()
    assert set(inputs.FORMATS) - set(specs) == set(inputs.KUBESPRAY_INPUTS)


def test_awx_survey_asks_for_declared_variables_and_its_defaults_pass():
    import json
    import os

    from conftest import ROOT

    with open(os.path.join(ROOT, "docs", "examples", "awx-survey.json")) as handle:
        survey = json.load(handle)
    specs = inputs.role_specs()
    answers = {}
    for question in survey["spec"]:
        assert question["variable"] in specs, question["variable"]
        for choice in question.get("choices") or []:
            assert not check(**{question["variable"]: choice})[1], (question["variable"], choice)
        if question["default"] != "" or question["variable"] not in ("hostnet_service_route_gateway",):
            answers[question["variable"]] = question["default"]
    _normalised, errors = check(**{k: v for k, v in answers.items() if v != ""})
    assert errors == []
