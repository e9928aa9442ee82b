"""Odd bytes in what a host sends: a control character inside ``ip -json`` names, strings with bytes that
are not UTF-8 (Python's surrogate escapes). The real symptom on a host: tests/integration/test_odd_input_e2e.py."""

import json

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, iproute

from helpers import make_root, read_fixture


def test_ip_json_with_a_raw_control_character_in_a_name():
    # What iproute2 prints for an interface named "odd\x01if": the byte raw inside the JSON string.
    text = read_fixture("iproute", "addr.json").replace('"ifname":"lo"', '"ifname":"odd\x01if"', 1)
    assert '"odd\x01if"' in text
    names = [i["name"] for i in iproute.parse_ip_addr(text)]
    assert "odd\x01if" in names and "eth1" in names


def test_clean_odd_text_replaces_and_names_each_odd_string():
    facts = {
        "identity": {"hostname": "odd\udcffnode", "fqdn": None},
        "network_managers": [{"evidence": ["/etc/netplan/ok.yaml", "/etc/netplan/junk\udcff.yaml"]}],
        "names": {"k\udcfe": ["x"]},
        "count": 3,
    }
    found = []
    gather.clean_odd_text(facts, "", found)
    assert facts["identity"] == {"hostname": "odd\ufffdnode", "fqdn": None}
    assert facts["network_managers"][0]["evidence"] == ["/etc/netplan/ok.yaml", "/etc/netplan/junk\ufffd.yaml"]
    assert facts["names"] == {"k\ufffd": ["x"]} and facts["count"] == 3
    assert sorted(found) == [
        ("identity.hostname", "odd\\xffnode"),
        ("names (a key)", "k\\xfe"),
        ("network_managers[0].evidence[1]", "/etc/netplan/junk\\xff.yaml"),
    ]
    json.dumps(facts, ensure_ascii=False).encode("utf-8")  # what the controller decodes: no surrogate left


def test_gather_of_a_root_with_an_odd_file_name_keeps_every_fact(tmp_path):
    root = make_root(tmp_path, "debian12")
    (tmp_path / "root-debian12" / "etc" / "netplan").mkdir(parents=True, exist_ok=True)
    with open(root.encode() + b"/etc/netplan/junk\xff.yaml", "w") as handle:
        handle.write("network: {version: 2}\n")
    facts = gather.gather(root=root)
    json.dumps(facts, ensure_ascii=False).encode("utf-8")
    assert facts["hosts_file"]["status"] == "ok" and facts["nsswitch"]["status"] == "ok"
    assert any("/etc/netplan/junk\\xff.yaml" in p["message"] for p in facts["problems"]), facts["problems"]


def test_hosts_lines_in_the_facts_show_control_characters(tmp_path):
    """A form feed or lone carriage return separates names for glibc but is invisible in a console (the audit
    showed "10.9.9.9 aliaslocalhost"), and XML allows neither (the JUnit report did not parse)."""
    from xml.etree import ElementTree

    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

    from helpers import healthy_kernel

    root = make_root(tmp_path, "debian12", overrides={"/etc/hosts": "10.9.9.9 alias\flocalhost\n127.0.0.1 localhost\nbad\x01line x\n"})
    facts = gather.gather(root=root)
    hosts = facts["hosts_file"]
    assert hosts["entries"][0]["raw"] == "10.9.9.9 alias\\x0clocalhost"
    assert hosts["entries"][0]["names"] == ["alias", "localhost"]
    assert hosts["invalid_lines"][0]["raw"] == "bad\\x01line x"
    facts["live"] = True
    facts.update(healthy_kernel())
    (finding,) = [f for f in rules.evaluate({"h1": facts})["hosts"]["h1"]["findings"] if f["id"] == "localhost-unreachable"]
    assert "/etc/hosts:1: 10.9.9.9 alias\\x0clocalhost" in finding["evidence"]
    element = ElementTree.Element("failure")
    element.text = "\n".join(finding["evidence"])
    ElementTree.fromstring(ElementTree.tostring(element))  # well-formed XML
