"""/etc/hosts of the shapes that made the audit quadratic (many lines sharing a name), parsed and judged.

No timed assert here (speed is measured in bench/hosts_file.py): these check the structure that keeps
the work linear and the facts bounded: one index from each name to its entries, which lookups use
instead of scanning every entry, and per-name address lists in the facts capped whatever the shape,
without hiding a non-loopback address of localhost.
"""

import json

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, hostsfile
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import healthy_kernel

N = 20000  # ~0.4 MB a shape; the current parser takes seconds on the first shape, the fix milliseconds


def v4(i, first=10):
    return "%d.%d.%d.%d" % (first, i >> 16 & 255, i >> 8 & 255, i & 255)


SHAPES = {
    "distinct addresses": lambda n: "".join("%s localhost\n" % v4(i) for i in range(n)),
    "distinct loopbacks, then a foreign one": lambda n: "".join("%s localhost\n" % v4(i, 127) for i in range(n)) + "10.9.9.9 localhost\n",
    "distinct IPv6": lambda n: "".join("fd00::%x:%x localhost\n" % (i >> 16, i & 0xFFFF) for i in range(n)),
    "same line repeated": lambda n: "127.0.0.1 localhost\n" * n,
    "the name n times on one line": lambda n: "127.0.0.1" + " LocalHost" * n + "\n",
}


class CountingList(list):
    """A list that counts the items read from it, by index or by iteration."""

    def __init__(self, items):
        super().__init__(items)
        self.reads = 0

    def __getitem__(self, index):
        self.reads += 1
        return super().__getitem__(index)

    def __iter__(self):
        for item in super().__iter__():
            self.reads += 1
            yield item


def reference_names(text):
    """Name -> distinct addresses in file order, computed the obvious way (a set per name)."""
    names, seen = {}, {}
    for line in text.split("\n"):
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        for name in fields[1:]:
            key = name.lower()
            if fields[0] not in seen.setdefault(key, set()):
                seen[key].add(fields[0])
                names.setdefault(key, []).append(fields[0])
    return names


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_parse_indexes_entries_per_name(shape):
    text = SHAPES[shape](N)
    parsed = hostsfile.parse_hosts(text)
    assert parsed["names"] == reference_names(text)
    # One index from each name to the positions of its entries, in file order, each entry once.
    index = parsed["index"]
    assert set(index) == set(parsed["names"])
    expected = {}
    for position, entry in enumerate(parsed["entries"]):
        for name in dict.fromkeys(n.lower() for n in entry["names"]):
            expected.setdefault(name, []).append(position)
    assert index == expected


def test_entries_for_reads_only_the_entries_of_the_name():
    text = "".join("%s h%d\n" % (v4(i), i) for i in range(N)) + "127.0.0.1 localhost\n"
    parsed = hostsfile.parse_hosts(text)
    parsed["entries"] = CountingList(parsed["entries"])
    found = hostsfile.entries_for(parsed, "LOCALHOST")
    assert [e["address"] for e in found] == ["127.0.0.1"]
    assert parsed["entries"].reads == 1  # not N + 1: the index, not a scan


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_gathered_facts_are_bounded_and_judged(tmp_path, shape):
    gathered = {}
    for n in (N // 10, N):
        root = tmp_path / ("root%d" % n)
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "hosts").write_text(SHAPES[shape](n))
        gathered[n] = gather.gather(root=str(root))
    # The names the facts carry do not grow with the file: 10 times the lines, the same size.
    sizes = {n: len(json.dumps(facts["hosts_file"]["names"])) for n, facts in gathered.items()}
    assert sizes[N] <= sizes[N // 10] + 64, sizes
    for n, facts in gathered.items():
        hosts = facts["hosts_file"]
        localhost = hosts["names"]["localhost"]
        assert len(localhost) <= gather.MAX_ADDRESSES_PER_NAME + 1
        total = len(reference_names(SHAPES[shape](n))["localhost"])
        if total > gather.MAX_ADDRESSES_PER_NAME:
            assert hosts["names_truncated"]["localhost"] == total
        else:
            assert "localhost" not in (hosts.get("names_truncated") or {})
        facts["live"] = True
        facts.update(healthy_kernel())
        found = [f for f in rules.evaluate({"h1": facts})["hosts"]["h1"]["findings"] if f["id"] == "localhost-unreachable"]
        if shape in ("distinct addresses", "distinct IPv6", "distinct loopbacks, then a foreign one"):
            # A non-loopback localhost is reported, even when it comes after the capped addresses.
            assert found and found[0]["severity"] == "error", shape
            assert ("10.9.9.9" in found[0]["message"]) == ("foreign" in shape)
        else:
            assert not found, [f["message"] for f in found]


def test_limit_keeps_the_first_entries_and_every_name():
    text = "".join("%s h%d localhost\n" % (v4(i), i) for i in range(50)) + "bogus x\n" * 5
    full, capped = hostsfile.parse_hosts(text), hostsfile.parse_hosts(text, limit=10)
    assert capped["entries"] == full["entries"][:10] and capped["invalid"] == full["invalid"]
    assert (capped["entries_total"], capped["invalid_total"]) == (50, 5)
    assert capped["names"] == full["names"]
    assert capped["index"]["localhost"] == list(range(10)) and capped["index"]["h49"] == []
    assert hostsfile.entries_for(capped, "h3") == [full["entries"][3]]


LONG_LINES = {
    # One line can hold the whole 8 MiB read: its names, its raw text and an overlong name would each be
    # sent to the controller (and the raw line into every report's evidence) in full.
    "one line, many names": lambda n: "127.0.0.1 " + " ".join("n%d" % i for i in range(n)) + " localhost\n",
    "one overlong name": lambda n: "10.9.9.9 " + "a" * (n * 10) + " localhost\n127.0.0.1 localhost\n",
}


@pytest.mark.parametrize("shape", sorted(LONG_LINES))
def test_a_long_line_gives_bounded_facts_and_keeps_localhost(tmp_path, shape):
    sizes = {}
    for n in (N * 3, N * 30):  # up to ~5 MB, within the 8 MiB read
        root = tmp_path / ("root%d" % n)
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "hosts").write_text(LONG_LINES[shape](n))
        facts = gather.gather(root=str(root))
        hosts = facts["hosts_file"]
        sizes[n] = len(json.dumps(hosts))
        # localhost is still seen on its line, and the rule still quotes that line.
        first = hosts["entries"][0]
        assert "localhost" in first["names"], first["names"][-3:]
        assert first.get("names_total", len(first["names"])) == len(LONG_LINES[shape](n).split("\n")[0].split()) - 1
        facts["live"] = True
        facts.update(healthy_kernel())
        found = [f for f in rules.evaluate({"h1": facts})["hosts"]["h1"]["findings"] if f["id"] == "localhost-unreachable"]
        if shape == "one overlong name":
            assert found and "10.9.9.9" in found[0]["message"]
            assert any(e.startswith("/etc/hosts:1: 10.9.9.9 aaaa") for e in found[0]["evidence"])
        else:
            assert not found
        assert max(len(e) for f in found for e in f["evidence"]) < 2048 if found else True
    # 10 times the line, the same facts (a few bytes for the counts).
    assert sizes[N * 30] <= sizes[N * 3] + 64, sizes
