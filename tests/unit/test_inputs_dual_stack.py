"""Dual-stack inputs: kubeadm's serviceSubnet and podSubnet take "IPv4,IPv6" (one network per family); the inputs
check accepts that form (a single IPv6 network was accepted before), refuses two networks of one family or three, and the engine judges both
families (an IPv6 network makes the cluster IPv6 or dual-stack)."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs, rules
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Context


def check(**values):
    return inputs.validate({"n1": values})


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("hostnet_pod_cidr", "10.244.0.0/16,fd00:10:244::/56", "10.244.0.0/16,fd00:10:244::/56"),
        ("hostnet_pod_cidr", " fd00:10:244::/56 , 10.244.0.0/16", "fd00:10:244::/56,10.244.0.0/16"),
        ("kube_pods_subnet", "10.233.64.0/18,fd85:ee78:d8a6:8607::1:0000/112", "10.233.64.0/18,fd85:ee78:d8a6:8607::1:0000/112"),
        ("hostnet_service_ips", ["10.96.0.0/12,fd00:10:96::/108"], ["10.96.0.0/12,fd00:10:96::/108"]),
    ],
)
def test_ipv6_and_dual_stack_forms_are_accepted(name, value, expected):
    normalised, errors = check(**{name: value})
    assert errors == [] and normalised["n1"][name] == expected


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("hostnet_pod_cidr", "10.244.0.0/16,10.245.0.0/16", "two IPv4 networks (dual-stack is one IPv4 and one IPv6)"),
        ("hostnet_pod_cidr", "10.244.0.0/16,fd00::/56,fd01::/56", "more than two networks"),
        ("hostnet_pod_cidr", "10.244.0.0/16,fd00::/129", "is not a CIDR, or an IPv4 and an IPv6 CIDR separated by a comma"),
        ("hostnet_pod_cidr", "10.244.0.0/16,", "is not a CIDR, or an IPv4 and an IPv6 CIDR separated by a comma"),
        ("hostnet_service_ips", ["fd00::/108,fd01::/108"], "two IPv6 networks"),
    ],
)
def test_bad_dual_stack_values_are_errors_naming_why(name, value, message):
    _normalised, errors = check(**{name: value})
    assert len(errors) == 1 and errors[0].startswith(name + ": ") and message in errors[0], errors


def test_the_engine_judges_both_families_of_a_dual_stack_cidr():
    ctx = Context(dict(rules.default_options(), service_cidrs=["10.96.0.1,fd00:10:96::/108"], pod_cidr="10.244.0.0/16,fd00:10:244::/56"))
    assert [str(n) for n in ctx.service_networks] == ["10.96.0.0/12", "fd00:10:96::/108"]
    assert [str(n) for n in ctx.pod_networks] == ["10.244.0.0/16", "fd00:10:244::/56"]
    assert ctx.ipv6 is True
    assert Context(dict(rules.default_options())).ipv6 is False  # the default cluster is IPv4 only
