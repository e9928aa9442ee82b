"""The facts contract: what hostnet_facts returns on a real host and on an image root
is exactly what docs/facts.md and the module's RETURN say (keys, types, status values)."""

import os
import re

import pytest
import yaml

from ansible_collections.kubeprep.hostnet.plugins.modules import hostnet_facts

from conftest import ROOT, run_module

TYPES = {"dict": dict, "list": list, "int": int, "float": float, "bool": bool, "str": str}


def docs_table():
    text = open(os.path.join(ROOT, "docs", "facts.md")).read()
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| `([a-z0-9_]+)` \| (\w+) \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    head = text.split("`problems` lists")[0]
    return rows, set(re.findall(r"`([a-z_]+)`", head.split("checks every one the module returns against it):")[1]))


def return_keys():
    doc = yaml.safe_load(hostnet_facts.RETURN)
    return doc["ansible_facts"]["contains"]["hostnet"]["contains"]


def statuses_in(value, found):
    if isinstance(value, dict):
        if isinstance(value.get("status"), str):
            found.add(value["status"])
        for item in value.values():
            statuses_in(item, found)
    elif isinstance(value, list):
        for item in value:
            statuses_in(item, found)
    return found


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["facts"])
    # An image root next to the live system: only file facts apply there.
    fleet.exec("facts", ["sh", "-c", "mkdir -p /tmp/img/etc && printf '::1 localhost\\n' > /tmp/img/etc/hosts"])
    return fleet


@pytest.mark.parametrize("args", [{}, {"root": "/tmp/img"}], ids=["live", "image-root"])
def test_facts_match_the_documented_contract(fleet, args):
    rc, result = run_module(fleet, "facts", "kubeprep.hostnet.hostnet_facts", args)
    assert rc == 0, result
    facts = result["ansible_facts"]["hostnet"]
    rows, statuses = docs_table()
    returned = return_keys()
    conditional = {key for key, (_type, contents) in rows.items() if "*conditional*" in contents}
    assert set(rows) == set(returned), "docs/facts.md and RETURN list different keys: %s" % (set(rows) ^ set(returned))
    assert set(facts) <= set(rows), "undocumented keys: %s" % (set(facts) - set(rows))
    assert set(rows) - conditional <= set(facts), "documented keys missing: %s" % (set(rows) - conditional - set(facts))
    for key, value in facts.items():
        kind = rows[key][0]
        assert kind == returned[key]["type"], key
        expected = TYPES[kind]
        if isinstance(value, dict) and value.get("status") == "not_applicable":
            continue  # a kernel group when root is not /: {status, reason}
        assert isinstance(value, expected) and not (expected is int and isinstance(value, bool)), (key, value)
    assert statuses_in(facts, set()) <= statuses, statuses_in(facts, set()) - statuses
    # Second-level keys of every dict group are named in its docs row.
    undocumented = {}
    for key, value in facts.items():
        if isinstance(value, dict) and key != "sysctl" and value.get("status") != "not_applicable":
            named = set(re.findall(r"`([A-Za-z0-9_]+)`", rows[key][1]))
            if set(value) - named:
                undocumented[key] = sorted(set(value) - named)
    assert undocumented == {}
