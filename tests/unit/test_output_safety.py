"""Host text through every renderer: 1,000 random reports per output, each full of what a broken or
hostile host can send (tests/unit/hostile.py), and each output parsed back: the console has no raw
control character, the JUnit parses as XML, the HTML and the Markdown (rendered by a CommonMark
renderer, raw HTML allowed) hold only the page's own tags, and every host string is there, shown."""

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from hostile import Hostile, raw_controls, shown
from markdown_it import MarkdownIt

from ansible_collections.kubeprep.hostnet.plugins.callback import hostnet_progress
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report, report_html, rules

CASES = 1000
RULE_IDS = sorted(rules.all_rules())
SEVERITIES = ("error", "warning", "info")


def hostile_report(gen):
    """A report as build_report makes it, every string in it from the generator."""
    rng = gen.rng
    names = []
    for _n in range(rng.randrange(1, 4)):
        name = gen.text(2) or "h"
        if name not in names:
            names.append(name)

    site_rules = []

    def finding(host, hosts=None):
        rule_id = rng.choice(RULE_IDS + [gen.text(2) or "site-rule"])
        if rule_id not in RULE_IDS and rule_id not in site_rules:
            site_rules.append(rule_id)  # a site rule (docs/site-rules.md): its id is the operator's text
        item = {
            "id": rule_id,
            "severity": rng.choice(SEVERITIES),
            "host": host,
            "message": gen.text(),
            "evidence": [gen.text() for _n in range(rng.randrange(4))],
            "why": gen.text() + " `%s` " % gen.text(1) + gen.text(2),
            "fix": gen.text(2) + " `%s`" % gen.text(1),
            "docs": "docs/rules/%s.md" % gen.text(1),
            "data": {gen.text(1): gen.text(1)},
        }
        if hosts:
            item["hosts"] = hosts
        if rng.randrange(4) == 0:
            item["downgraded_from"] = "error"
        return item

    result = {
        "hosts": {
            name: {"findings": [finding(name) for _n in range(rng.randrange(3))], "skipped_rules": rng.sample(RULE_IDS, rng.randrange(2))} for name in names
        },
        "fleet": {"findings": [finding(None, rng.sample(names, rng.randrange(1, len(names) + 1))) for _n in range(rng.randrange(2))]},
        "rules": RULE_IDS + site_rules,
        "skipped_rules": [gen.text(1) for _n in range(rng.randrange(2))],
        "warn_rules": [gen.text(1) for _n in range(rng.randrange(2))],
        "options": {"max_clock_skew": 30},
        "recommendations": {},
        "overview": {
            "mtu": {n: {"interface": gen.text(1), "mtu": rng.choice([1400, 1500])} for n in names},
            "clock": {n: {"offset_s": rng.uniform(-60, 60), "uncertainty_s": 0.1} for n in names},
            "probes": {
                "enabled": True,
                "matrix": [
                    {
                        "source": s,
                        "destination": d,
                        "ran": rng.randrange(5) > 0,
                        "open": 1,
                        "probed": 2,
                        "failed": [{"proto": gen.text(1), "port": 10250, "service": gen.text(1), "result": rng.choice(["timeout", gen.text(1)])}],
                        "df": rng.choice([None, "lost", gen.text(1)]),
                        "not_probed": rng.randrange(2),
                    }
                    for s in names
                    for d in names
                    if s != d
                ],
            },
        },
    }
    return report.build_report(result, gen.text(1), rng.choice(["error", "warning", "never"]), gen.text(1))


def all_findings(doc):
    return rules.ordered_findings(doc)


def reports(seed):
    gen = Hostile(seed)
    for case in range(CASES):
        yield case, hostile_report(gen)


def test_console_lines_have_no_raw_control_character():
    for case, doc in reports(1):
        lines = [text for text, _color in report.console_lines(doc, verbose=True)]
        for line in lines:
            assert raw_controls(line) == [], (case, line)
        printed = "\n".join(lines)
        for finding in all_findings(doc):
            assert shown(finding["message"]) in printed, case
            for item in finding["evidence"]:
                assert "    seen: " + shown(item) in lines, case
        for line, _color in report.console_lines(doc, verbose=False):  # hostnet_console=summary: names and titles
            assert raw_controls(line) == [] and "\n" not in line, (case, line)


class FakeDisplay:
    def __init__(self):
        self.lines = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)


class FakeHost:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class FakeResult:
    def __init__(self, host, result):
        self._host = FakeHost(host)
        self._result = result


class FakeTask:
    action = "kubeprep.hostnet.hostnet_facts"


def test_progress_callback_lines_have_no_raw_control_character():
    gen = Hostile(2)
    callback = hostnet_progress.CallbackModule()
    callback._display = FakeDisplay()
    callback.v2_playbook_on_task_start(FakeTask(), False)
    for case in range(CASES):
        host = gen.text(2)
        problems = [{"source": gen.text(2), "message": gen.text()} for _n in range(gen.rng.randrange(3))]
        callback.v2_runner_on_ok(FakeResult(host, {"ansible_facts": {"hostnet": {"problems": problems, "duration_ms": 5}}}))
        callback.v2_runner_on_failed(FakeResult(host, {"msg": gen.text()}))
        callback.v2_runner_on_unreachable(FakeResult(host, {"msg": gen.text(), "unreachable": True}))
        for line in callback._display.lines[-3:]:
            assert raw_controls(line) == [], (case, line)
        assert ("] %s: gathered" % shown(host)) in callback._display.lines[-3], case


def test_junit_parses_as_xml_and_keeps_the_text():
    for case, doc in reports(3):
        xml = report.render_junit(doc)
        assert raw_controls(xml, allowed="\n") == [], case
        tree = ET.fromstring(xml)
        failures = {(f.get("type"), f.get("message")) for f in tree.iter("failure")}
        for finding in all_findings(doc):
            if report.at_or_above(finding["severity"], doc["fail_on"]) and finding["host"] is not None:
                assert (finding["severity"], shown(finding["message"])) in failures, case
        cases = tree.find("testsuite").findall("testcase")
        assert {c.get("classname") for c in cases} >= {shown(name) for name in doc["hosts"]}, case


class Page(HTMLParser):
    """Every tag, attribute and text run of a page, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attrs = []
        self.text = []
        self.stack = []
        self.blocks = {}  # tag -> texts of each element of that tag

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self.stack.append([tag, []])

    def handle_endtag(self, tag):
        while self.stack:
            name, parts = self.stack.pop()
            self.blocks.setdefault(name, []).append("".join(parts))
            if self.stack:
                self.stack[-1][1].extend(parts)
            if name == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if self.stack:
            self.stack[-1][1].append(data)


def parse_page(text):
    page = Page()
    page.feed(text)
    page.close()
    return page


HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "main", "div", "b", "a", "small", "code"}
HTML_TAGS |= {"table", "tr", "th", "td", "label", "input", "button", "details", "summary", "span", "em", "pre", "br", "script"}
HTML_TAGS |= {"select", "option"}  # the rule filter
HTML_ATTRS = {"lang", "charset", "name", "content", "class", "href", "title", "id", "type", "value", "checked", "data-severity"}
HTML_ATTRS |= {"data-rule", "data-host", "placeholder"}  # what the filters match; the search boxes' hint


def test_html_holds_only_its_own_markup():
    for case, doc in reports(4):
        page = parse_page(report_html.render_html(doc))
        assert set(page.tags) <= HTML_TAGS and page.tags.count("script") == 1, (case, set(page.tags) - HTML_TAGS)
        assert {name for name, _value in page.attrs} <= HTML_ATTRS, case
        for name, value in page.attrs:
            if name == "href":
                assert value.startswith(("#f-", report_html.DOCS_URL + "/")) or value == "", (case, value)
        text = "".join(page.text)
        assert raw_controls(text, allowed="\n") == [], case
        for finding in all_findings(doc):
            assert shown(finding["message"]) in text, case
            assert "\n".join(shown(e) for e in finding["evidence"]) in page.blocks.get("pre", []), case


MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")
MD_TAGS = {"h1", "h2", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "strong"}


def test_markdown_renders_without_markup_from_hosts():
    for case, doc in reports(5):
        text = report.render_markdown(doc)
        assert raw_controls(text, allowed="\n") == [], case
        page = parse_page(MARKDOWN.render(text))
        findings = all_findings(doc)
        assert set(page.tags) <= MD_TAGS and not page.attrs, (case, set(page.tags) - MD_TAGS, page.attrs)
        assert page.tags.count("h1") == 1 and page.tags.count("h2") == len(findings) and page.tags.count("pre") == len(findings), case
        assert page.tags.count("td") == 3 * len(doc["hosts"]), case
        paragraphs = page.blocks.get("p", [])
        blocks = page.blocks.get("pre", [])
        for finding in findings:
            assert shown(finding["message"]) in paragraphs or not finding["message"], case
            assert "".join(shown(e) + "\n" for e in finding["evidence"]) in blocks, case
        cells = page.blocks.get("td", [])
        for name in doc["hosts"]:
            assert shown(name) in cells, case


@pytest.mark.parametrize("render", [report.render_markdown, report.render_junit, report_html.render_html], ids=["markdown", "junit", "html"])
def test_renderers_write_hostile_text_to_files(tmp_path, render):
    """Every file of the report can be written whatever a host sent (a lone surrogate cannot be encoded)."""
    gen = Hostile(6)
    for _n in range(50):
        doc = hostile_report(gen)
        paths = report.write_report(doc, str(tmp_path / "out"))
        with open(paths["junit"], "rb") as handle:
            ET.fromstring(handle.read())
        assert render(doc)


def test_unicode_spaces_at_either_end_of_a_markdown_line_are_kept():
    """A message starting with U+2008 (a random report found it): CommonMark parsers strip every Unicode space at the
    ends of a paragraph, so md_inline writes them as entities, as it does ASCII spaces."""
    from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import safetext

    for value in ("\u2008127.0.0.1", "x\u3000", " \u00a0x "):
        assert MARKDOWN.render(safetext.md_inline(value)) == "<p>%s</p>\n" % value, value
