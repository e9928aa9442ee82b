"""safetext: the escaping every renderer uses, and the issue's own examples through the real renderers
(a screen cleared, a fake [OK] line, OSC 52, a hostname whose newline closed the evidence fence, an ESC
in a hosts-file comment that made the JUnit unparseable)."""

import sys
import unicodedata
import xml.etree.ElementTree as ET

import hostile
from hostile import raw_controls, shown
from markdown_it import MarkdownIt
from test_output_safety import parse_page

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report, safetext

MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")


def test_unsafe_set_matches_this_pythons_unicode_database():
    """The written-out ranges are every Cc, Cf, Cs, Zl and Zp character and the noncharacters, and beyond
    them only code points this Python's database does not assign yet (format characters of a later Unicode)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    ours, expected = set(safetext.UNSAFE.findall(every)), set(hostile.UNSAFE.findall(every))
    wrong = sorted(hex(ord(c)) for c in (expected - ours) | {c for c in ours - expected if unicodedata.category(c) != "Cn"})
    assert wrong == [], "%s (Unicode %s)" % (wrong[:20], unicodedata.unidata_version)


def test_visible():
    assert safetext.visible("a\x1b[2Jb\r\n\t\x00\x9b\u202e\u2028\U000e0041é") == "a\\x1b[2Jb\\r\\n\\t\\x00\\x9b\\u202e\\u2028\\U000e0041é"
    assert safetext.visible(b"\xff\x1b") == "\ufffd\\x1b"  # bytes: decoded with replacement, as the gather does
    assert safetext.visible(None) == "" and safetext.visible(3) == "3"
    assert safetext.visible("\udc80") == "\\udc80"  # a lone surrogate can be written to a UTF-8 file escaped


def test_deep_maps_keys_and_values_only_strings():
    assert safetext.deep({"a\n": ["\x1b", 1, None, {"k": ("\r",)}], 2: 1.5}) == {"a\\n": ["\\x1b", 1, None, {"k": ["\\r"]}], 2: 1.5}


def render_md(text):
    return parse_page(MARKDOWN.render(text))


def test_markdown_pieces_render_as_their_text():
    items = ["<img src=x onerror=alert(1)>", "*a* _b_ [l](javascript:x)", "# h", "    code", "1. x", "2) y", "- x", "+ x", "=", "---", "***"]
    items += ["a | b", "x  ", "\\", "&amp;", "[r]: /url", "a ~~b~~", "h ##", "<http://x>", "![i](x)", "a\\", "`x`"]
    items += ["\u2008x\u3000", "\u00a0 y \u2003"]  # Unicode white space at either end: a renderer trims it too
    for value in items:
        page = render_md(safetext.md_inline(value))
        assert page.tags == ["p"] and page.blocks["p"] == [value], value
    for value in ["`", "a``b", " x ", "`a`", "<b>", "|"]:
        page = render_md("x " + safetext.md_code(value))
        assert page.tags == ["p", "code"] and page.blocks["code"] == [value], value
    page = render_md(safetext.md_rich("run `hostnamectl set-hostname <x>` then *reboot* `a|b`"))
    assert page.tags == ["p", "code", "code"] and page.blocks["code"] == ["hostnamectl set-hostname <x>", "a|b"]
    page = render_md("\n".join(safetext.md_fence(["```", "a\n```\n# h1", "````` x"])))
    assert page.tags == ["pre", "code"] and page.blocks["pre"] == ["```\na\\n```\\n# h1\n````` x\n"]


def issue_report():
    """A report whose host text is the issue's examples."""
    hosts_comment = "/etc/hosts:1: ::1 localhost # \x1b[2J\x1b[H\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07"
    finding = {
        "id": "localhost-unreachable",
        "severity": "error",
        "host": "node1",
        "message": "localhost resolves only to ::1\r[OK] node1: no findings",
        "evidence": [hosts_comment, "the kernel's hostname: node1\n```\n# pwned\n<img src=x onerror=alert(1)>"],
        "why": "because",
        "fix": "run `sysctl -w net.ipv6.conf.lo.disable_ipv6=0`",
        "docs": "docs/rules/localhost-unreachable.md",
    }
    result = {
        "hosts": {"node1": {"findings": [finding], "skipped_rules": []}},
        "fleet": {"findings": []},
        "rules": ["localhost-unreachable"],
    }
    return report.build_report(result, "2026-01-01T00:00:00+00:00", "error", "0.2.0"), finding


def test_issue_examples_console():
    doc, finding = issue_report()
    lines = [text for text, _color in report.console_lines(doc)]
    assert all(raw_controls(line) == [] for line in lines), lines
    assert "[ERROR localhost-unreachable] node1: localhost resolves only to ::1\\r[OK] node1: no findings" in lines
    assert "    seen: /etc/hosts:1: ::1 localhost # \\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\x1b]52;c;cm0gLXJmIH4=\\x07" in lines


def test_issue_examples_markdown():
    doc, finding = issue_report()
    page = render_md(report.render_markdown(doc))
    assert "img" not in page.tags and page.tags.count("h1") == 1 and page.tags.count("h2") == 1, page.tags
    assert page.blocks["pre"] == ["".join(shown(e) + "\n" for e in finding["evidence"])]


def test_issue_examples_junit():
    doc, finding = issue_report()
    tree = ET.fromstring(report.render_junit(doc))
    (failure,) = tree.iter("failure")
    assert failure.get("message") == shown(finding["message"])
    assert "seen: " + shown(finding["evidence"][0]) in failure.text
