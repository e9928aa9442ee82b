"""The single-file HTML report: no external assets, everything escaped, and it
really renders (headless Chromium runs its script and takes a screenshot)."""

import copy
import os
import re
import shutil
import subprocess
from html import escape

import pytest
from test_report import sample

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import report_html

HOSTILE = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'


def hostile_sample(tmp_path):
    doc = copy.deepcopy(sample(tmp_path))
    doc["hosts"]["node1"]["findings"][0]["evidence"].append("/etc/hosts:9: 10.0.0.1 " + HOSTILE)
    doc["hosts"]["node<b>4</b>"] = {"status": "ok", "findings": [], "skipped_rules": []}
    return doc


def count_findings(doc):
    return sum(len(h["findings"]) for h in doc["hosts"].values()) + len(doc["fleet"]["findings"])


def test_self_contained_and_escaped(tmp_path):
    doc = hostile_sample(tmp_path)
    page = report_html.render_html(doc)
    assert not re.search(r"""src\s*=\s*["']?(?:https?:)?//""", page) and "<link" not in page  # no external asset
    hrefs = re.findall(r'href="((?:https?:)?//[^"]*)"', page)
    assert hrefs and all(h.startswith(report_html.DOCS_URL + "/") for h in hrefs)  # only links to the rule pages
    assert page.count("<script>") == 1 and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;document.title" in page and "node&lt;b&gt;4&lt;/b&gt;" in page
    assert page.count('<details class="finding"') == count_findings(doc)
    for data in doc["hosts"].values():
        for finding in data["findings"]:
            assert escape(finding["message"]) in page


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium(tmp_path, *args):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is required (make test installs Debian's chromium)")
    cmd = [binary] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % (tmp_path / "profile")] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)


def test_renders_in_headless_chromium(tmp_path):
    doc = hostile_sample(tmp_path)
    page = tmp_path / "hostnet-report.html"
    page.write_text(report_html.render_html(doc))
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    # The inline script ran to the end (it counts the findings it can filter) ...
    assert 'data-rendered="%d"' % count_findings(doc) in dom.stdout, dom.stdout[:500]
    # ... and the hostile evidence stayed text: the title is the report's, no injected element exists.
    assert "<title>kubeprep.hostnet audit" in dom.stdout and 'document.title="owned"' not in dom.stdout.split("<pre>")[0]
    assert "<img" not in dom.stdout
    shot = tmp_path / "report.png"
    proc = chromium(tmp_path, "--screenshot=%s" % shot, "--window-size=1200,900", "--hide-scrollbars", page.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000  # a blank page compresses to a few KB
    os.makedirs("build", exist_ok=True)
    shutil.copy(str(shot), "build/hostnet-report-screenshot.png")  # for a human to look at


def test_fix_code_spans_render_as_code_and_findings_start_collapsed(tmp_path):
    doc = sample(tmp_path)
    doc["hosts"]["node1"]["findings"][0]["fix"] = "Run `sysctl -w net.ipv4.ip_forward=1` <now>"
    page = report_html.render_html(doc)
    assert "Run <code>sysctl -w net.ipv4.ip_forward=1</code> &lt;now&gt;" in page
    assert "`sysctl" not in page
    assert re.findall(r"<details[^>]*>", page) and not [tag for tag in re.findall(r"<details[^>]*>", page) if " open" in tag]
    assert 'href="%s/%s.md"' % (report_html.DOCS_URL, doc["hosts"]["node1"]["findings"][0]["id"]) in page
