"""Open the HTML report of a synthetic 5,000-host fleet (with port probes) in headless Chromium.

Times what a person waits for: the page's own clock from navigation start to the end of its script
(the page parsed, laid out and its filters applied; it writes ``data-ready-ms`` on its body), read
from Chromium's ``--dump-dom``, R times (issue 22: under 2 s at 5,000 hosts); and, for scale, the
whole Chromium run next to the same browser loading an empty page, interleaved. Writes a
screenshot of the page (build/bench/report-5000.png) and prints the page's size.
Not part of `make test`: speed is measured here, never asserted.

usage: bench/report_page.py [--hosts 5000] [--repeat 5] [--out build/bench]
"""

import argparse
import copy
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rules_engine  # builds the import tree first

# The Chromium tests' own flags (no network, no GPU, a throwaway profile): one list for both.
sys.path.insert(0, os.path.join(rules_engine.ROOT, "tests", "unit"))
from test_report_html import CHROMIUM_FLAGS


def browser(profile, *args):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        sys.exit("chromium is required (make test installs Debian's chromium)")
    start = time.perf_counter()
    proc = subprocess.run(
        [binary] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % profile] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit("chromium failed (%d): %s" % (proc.returncode, proc.stderr[-2000:]))
    return time.perf_counter() - start, proc.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(rules_engine.ROOT, "build", "bench"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kubeprep-page-") as workdir:
        fleet = {"node%d" % i: copy.deepcopy(rules_engine.node(i)) for i in range(args.hosts)}
        findings = rules_engine.rules.evaluate(fleet, {"port_probes": rules_engine.with_probes(fleet)})
        doc = rules_engine.report.build_report(findings, "2026-01-01T00:00:00+00:00", "error", "bench")
        page = rules_engine.report.write_report(doc, os.path.join(workdir, "report"))["html"]
        empty = os.path.join(workdir, "empty.html")
        with open(empty, "w") as handle:
            handle.write("<!DOCTYPE html><html><body></body></html>\n")
        profile = os.path.join(workdir, "profile")
        browser(profile, "--dump-dom", "file://" + empty)  # warm-up: the profile and the binary's pages
        times = {"empty": [], "report": []}
        ready = []
        dom = ""
        for _attempt in range(args.repeat):
            times["empty"].append(browser(profile, "--dump-dom", "file://" + empty)[0])
            seconds, dom = browser(profile, "--dump-dom", "file://" + page)
            times["report"].append(seconds)
            found = re.search(r'data-ready-ms="(\d+)"', dom)
            ready.append(int(found.group(1)) / 1000.0 if found else float("nan"))
        shot = os.path.join(args.out, "report-%d.png" % args.hosts)
        browser(profile, "--screenshot=%s" % shot, "--window-size=1400,1800", "file://" + page)
        median = {kind: statistics.median(values) for kind, values in times.items()}
        print("== the %d-host HTML report (with port probes) in headless Chromium, %d runs each, interleaved" % (args.hosts, args.repeat))
        print(
            "  page: %.1f MB, %d findings; its script ran to the end: %s"
            % (
                os.path.getsize(page) / 1e6,
                sum(len(host["findings"]) for host in doc["hosts"].values()) + len(doc["fleet"]["findings"]),
                "data-rendered" in dom,
            )
        )
        print("  empty page   median %.2f s  (browser start)" % median["empty"])
        print("  report page  median %.2f s" % median["report"])
        print("  report page - empty page: %.2f s (Chromium's whole run, the page's --dump-dom included)" % (median["report"] - median["empty"]))
        print("  in the page: navigation start to the end of its script (parsed, laid out, filters applied):")
        print("    median %.2f s, runs %s (target < 2 s)" % (statistics.median(ready), ", ".join("%.2f" % r for r in ready)))
        print("  screenshot: %s" % shot)


if __name__ == "__main__":
    main()
