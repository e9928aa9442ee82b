"""factmemo: values derived from a host's facts once per judgement (rules.evaluate), and every time outside one;
and the fast paths the engine's speed work added, checked against the slow forms they replaced."""

import contextlib
import ipaddress

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import factmemo, nodeip, rules
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules import proxy_not_excluded

from helpers import fleet

CALLS = []


@factmemo.per_facts
def derived(facts):
    CALLS.append(facts.get("name"))
    return (facts.get("name"),)


def test_outside_a_judgement_every_call_computes():
    CALLS.clear()
    facts = {"name": "a"}
    assert derived(facts) == derived(facts) == ("a",)
    assert CALLS == ["a", "a"]


def test_inside_a_judgement_once_per_facts_dict_and_forgotten_after():
    CALLS.clear()
    first, equal = {"name": "a"}, {"name": "a"}  # equal content, another host: computed on its own
    with factmemo.judging():
        assert derived(first) == derived(first) == derived(equal) == ("a",)
        with factmemo.judging():  # nested: the outer judgement's values are kept
            derived(first)
        derived(first)
    assert CALLS == ["a", "a"]
    derived(first)
    assert CALLS == ["a", "a", "a"]


def test_a_changed_facts_dict_in_the_next_judgement_is_derived_again(tmp_path):
    facts = fleet(tmp_path, count=1)["node1"]
    with factmemo.judging():
        before = nodeip.ipv4_interfaces(facts)
    for iface in facts["interfaces"]["list"]:
        if iface["name"] == "eth1":
            iface["addresses"][0]["address"] = "192.168.56.99"
    with factmemo.judging():
        after = nodeip.ipv4_interfaces(facts)
    assert before != after and any(addr == "192.168.56.99" for _n, addr, _l, _v in after)


def test_evaluate_judges_the_same_with_and_without_the_memo(tmp_path, monkeypatch):
    hosts = fleet(tmp_path, count=3)
    options = {"service_cidrs": ["10.96.0.0/12", "fd00:10:96::/112"], "pod_cidr": "10.244.0.0/16,fd00:10:244::/56"}
    remembered = rules.evaluate(hosts, dict(options))

    @contextlib.contextmanager
    def nothing():
        yield

    monkeypatch.setattr(factmemo, "judging", nothing)
    assert rules.evaluate(hosts, dict(options)) == remembered


@pytest.mark.parametrize(
    "text",
    ["10.0.0.1", "0.0.0.0", "255.255.255.255", "010.0.0.1", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", " 1.2.3.4"]
    + ["1.2.3.4\n", "1.2.3.4\x00", "1.2.3.\u0664", "1.2.3.4/24", "x"],
)
def test_go_dotted_quads_through_inet_pton_are_what_ipaddress_takes(text):
    """Go's ParseIP and Python's ipaddress both refuse leading zeros; the inet_pton fast path must agree."""
    try:
        expected = ipaddress.IPv4Address(text)
    except ValueError:
        expected = None
    assert proxy_not_excluded._go_ip(text) == expected


@pytest.mark.parametrize(
    "address, prefixlen, subnet",
    [
        ("192.168.56.7", 24, "192.168.56.0/24"),
        ("192.168.56.7", None, "192.168.56.7/32"),
        ("192.168.56.7", "24", "192.168.56.7/32"),  # not an int (a broken host): the address alone
        ("192.168.56.7", 33, "192.168.56.7/32"),
        ("192.168.56.7", True, "192.168.56.7/32"),
        ("fd00::5", 64, "fd00::/64"),
        ("::5", 120, "::/120"),  # a small IPv6 value stays IPv6
    ],
)
def test_a_nodes_subnet_in_the_no_proxy_line(address, prefixlen, subnet):
    version, value, length = proxy_not_excluded._subnet_key(ipaddress.ip_address(address), prefixlen)
    network = (ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)((value, length))
    assert network == ipaddress.ip_network(subnet)
