"""Inputs are checked on the controller: the forms users type are accepted, a bad value is
an error naming the variable and the value, a typo is not silently ignored."""

import os
import subprocess

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


# -- the trust issue, items 7 and 8: a report directory and numbers the audit cannot use --------------------------


@pytest.mark.parametrize(
    "name, value",
    [
        ("hostnet_resolver_timeout", "0"),
        ("hostnet_resolver_timeout", "nan"),
        ("hostnet_resolver_timeout", "inf"),
        ("hostnet_resolver_timeout", "1e308"),
        ("hostnet_max_clock_skew", "nan"),
        ("hostnet_max_clock_skew", "inf"),
        ("hostnet_max_clock_skew", "-inf"),
        ("hostnet_resolver_max_seconds", "nan"),
        ("hostnet_resolver_max_seconds", "inf"),
        ("hostnet_rtt_budget", "nan"),
        ("hostnet_rtt_budget", "inf"),
        ("hostnet_probe_margin", "0.5"),
        ("hostnet_liveness_period", "0"),
    ],
)
def test_every_number_is_finite_and_inside_its_range(name, value):
    normalised, errors = inputs.validate({"h": {name: value}})
    assert errors and errors[0].startswith("%s: %r is " % (name, value)), errors


def test_numbers_inside_their_range_pass():
    normalised, errors = inputs.validate({"h": {"hostnet_resolver_timeout": "2", "hostnet_max_clock_skew": 0, "hostnet_rtt_budget": "20"}})
    assert errors == [] and normalised["h"] == {"hostnet_resolver_timeout": 2.0, "hostnet_max_clock_skew": 0.0, "hostnet_rtt_budget": 20.0}


def test_an_unusable_report_dir_is_an_input_error(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = {
        str(a_file): "is not a directory",
        str(dangling): "is a dangling symlink",
        str(dangling / "sub"): "is a dangling symlink",
        str(a_file / "sub"): "is not creatable",
    }
    if os.geteuid() != 0:  # root writes anywhere but a read-only filesystem (the e2e test mounts one)
        cases[str(locked / "sub")] = "is not writable"
    for path, reason in cases.items():
        _normalised, errors = inputs.validate({"h": {"hostnet_report_dir": path}})
        assert errors and errors[0].startswith("hostnet_report_dir: %r %s" % (path, reason)), (path, errors)
    for fine in (str(tmp_path / "new" / "deeper"), str(tmp_path)):
        assert inputs.validate({"h": {"hostnet_report_dir": fine}})[1] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a read-only filesystem needs root")
def test_a_report_dir_on_a_read_only_filesystem_is_an_input_error(tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mount)], check=True)
    try:
        _normalised, errors = inputs.validate({"h": {"hostnet_report_dir": str(mount / "reports")}})
        assert errors and errors[0].startswith("hostnet_report_dir: %r is not writable: %s (a read-only filesystem)" % (str(mount / "reports"), mount)), errors
    finally:
        subprocess.run(["umount", str(mount)], check=True)


# -- issue 21: a Pod CIDR overlapping a Service CIDR is refused before any host is contacted --------------------


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"hostnet_pod_cidr": "10.96.0.0/16", "hostnet_service_ips": ["10.96.0.0/12"]},
            "hostnet_pod_cidr: '10.96.0.0/16' (the Pod network) overlaps hostnet_service_ips: ['10.96.0.0/12'] (the Service network) at 10.96.0.0/16",
        ),
        (  # the IPv6 halves of dual-stack values collide; the IPv4 halves do not
            {"hostnet_pod_cidr": "10.244.0.0/16,fd00:10:244::/56", "hostnet_service_ips": "10.96.0.0/12,fd00:10:244:1::/108"},
            "hostnet_pod_cidr: '10.244.0.0/16,fd00:10:244::/56' (the Pod network) overlaps "
            "hostnet_service_ips: ['10.96.0.0/12', 'fd00:10:244:1::/108'] (the Service network) at fd00:10:244:1::/108",
        ),
        (  # a bare Service IP inside the Pod network
            {"hostnet_pod_cidr": "10.244.0.0/16", "hostnet_service_ips": "10.244.0.10"},
            "hostnet_pod_cidr: '10.244.0.0/16' (the Pod network) overlaps hostnet_service_ips: ['10.244.0.10'] (the Service network) at 10.244.0.10",
        ),
        (  # kubespray's variables alone
            {"kube_pods_subnet": "10.233.0.0/18", "kube_service_addresses": "10.233.0.0/24"},
            "kube_pods_subnet: '10.233.0.0/18' (the Pod network) overlaps kube_service_addresses: '10.233.0.0/24' (the Service network) at 10.233.0.0/24",
        ),
        (  # the audit role's defaults carry kubespray's values: both names are given
            {
                "kube_pods_subnet": "10.233.64.0/18",
                "kube_service_addresses": "10.233.0.0/17",
                "hostnet_pod_cidr": "10.233.64.0/18",
                "hostnet_service_ips": ["10.233.0.0/17"],
            },
            "hostnet_pod_cidr (kube_pods_subnet): '10.233.64.0/18' (the Pod network) overlaps "
            "hostnet_service_ips (kube_service_addresses): ['10.233.0.0/17'] (the Service network) at 10.233.64.0/18",
        ),
    ],
    ids=["ipv4", "ipv6-half", "bare-service-ip", "kubespray", "defaults-from-kubespray"],
)
def test_a_pod_cidr_overlapping_a_service_cidr_is_an_input_error(values, message):
    _normalised, errors = check(**values)
    assert len(errors) == 1 and errors[0].startswith(message + ": kubeadm and kubespray refuse it"), errors
    assert errors[0].endswith("(host n1)")


def test_pod_and_service_cidrs_that_do_not_overlap_pass():
    near_misses = [
        {"hostnet_pod_cidr": "10.244.0.0/16", "hostnet_service_ips": ["10.96.0.1"]},  # the defaults
        {"hostnet_pod_cidr": "10.233.64.0/18", "hostnet_service_ips": ["10.233.0.0/18"]},  # kubespray's, adjacent
        {"hostnet_pod_cidr": "10.244.0.0/16,fd00:10:244::/56", "hostnet_service_ips": ["10.96.0.0/12,fd00:10:96::/108"]},
        {"hostnet_pod_cidr": "fd00:10:96::/108", "hostnet_service_ips": ["10.96.0.0/12"]},  # other family: no overlap
        {"hostnet_pod_cidr": "10.244.0.0/16", "hostnet_service_ips": ["10.96.0.0/12"], "kube_service_addresses": "10.244.0.0/12"},  # ours wins over kubespray's
    ]
    for values in near_misses:
        assert check(**values)[1] == [], values
    assert check(hostnet_pod_cidr="10.233.0.0/18", hostnet_service_ips=["10.233.0.0/18"])[1]  # and the same shape does refuse an overlap


def test_a_bad_pod_cidr_is_one_error_not_also_an_overlap():
    _normalised, errors = check(hostnet_pod_cidr="10.244.0.0/33", hostnet_service_ips=["10.244.0.1"])
    assert len(errors) == 1 and errors[0].startswith("hostnet_pod_cidr: '10.244.0.0/33' is not a CIDR"), errors
    assert "overlaps" in check(hostnet_pod_cidr="10.244.0.0/16", hostnet_service_ips=["10.244.0.1"])[1][0]


def test_the_nodeport_range_is_low_dash_high():
    for bad in ("30000:32767", "32767-30000", "0-100", "30000-70000", "banana"):
        _normalised, errors = check(hostnet_service_node_port_range=bad)
        assert len(errors) == 1 and errors[0].startswith("hostnet_service_node_port_range: %r is not a port range (low-high" % bad), errors
    normalised, errors = check(hostnet_service_node_port_range=" 30000-32767 ")
    assert errors == [] and normalised["n1"]["hostnet_service_node_port_range"] == "30000-32767"
