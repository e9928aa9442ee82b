"""Time gathering and judging /etc/hosts of bad shapes, from small files up to 10 MB.

For each shape and size: the parse alone, the whole file-facts gather of an image root holding that
hosts file (read, parse, cap), and the rules engine judging the result; then microseconds per KB, so
a linear cost shows as a flat last column (microseconds per KB) and a quadratic one as a column growing with the size. Speed is
measured here, never asserted in tests (tests/unit/test_hostsfile_scale.py checks the structure).

usage: bench/hosts_file.py [LINES ...]   (default 6000 60000 400000; a shape stops at 10 MB)
"""

import importlib
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "dev"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))
conftest = importlib.import_module("conftest")  # creates the build/dev import tree the next imports need
hostsfile = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.module_utils.hostsfile")
gather = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.module_utils.gather")
rules = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules")
helpers = importlib.import_module("helpers")

LIMIT = 10 * 1024 * 1024


def v4(i, first=10):
    return "%d.%d.%d.%d" % (first, i >> 16 & 255, i >> 8 & 255, i & 255)


SHAPES = {
    # Every line names localhost at another address (the reported 58 s at 60,000 lines).
    "one name, distinct addresses": lambda n: "".join("%s localhost\n" % v4(i) for i in range(n)),
    "localhost, distinct loopbacks": lambda n: "".join("%s localhost\n" % v4(i, 127) for i in range(n)),
    "one name, distinct IPv6": lambda n: "".join("fd00::%x:%x localhost\n" % (i >> 16, i & 0xFFFF) for i in range(n)),
    "same line repeated": lambda n: "127.0.0.1 localhost\n" * n,
    "one line, the name n times": lambda n: "127.0.0.1" + " localhost" * n + "\n",
    "one line, n names": lambda n: "127.0.0.1 " + " ".join("n%d" % i for i in range(n)) + "\n",
    "n names, n lines": lambda n: "".join("%s h%d\n" % (v4(i), i) for i in range(n)),
    "n invalid lines": lambda n: "not-an-address localhost\n" * n,
}


def timed(func, *args):
    started = time.perf_counter()
    value = func(*args)
    return time.perf_counter() - started, value


def main(sizes):
    print("%-32s %9s %9s %8s %8s %8s %10s" % ("shape", "lines", "bytes", "parse s", "gather s", "judge s", "us/KB"))
    with tempfile.TemporaryDirectory() as tmp:
        kernel = helpers.healthy_kernel()
        for shape, build in SHAPES.items():
            for n in sizes:
                text = build(n)
                if len(text) > LIMIT:
                    text = text[: text.rfind("\n", 0, LIMIT) + 1]
                lines = text.count("\n") + (" " in text and text.count("\n") == 0)
                root = os.path.join(tmp, "root")
                os.makedirs(os.path.join(root, "etc"), exist_ok=True)
                with open(os.path.join(root, "etc", "hosts"), "w") as handle:
                    handle.write(text)
                parse_s, _parsed = timed(hostsfile.parse_hosts, text)
                gather_s, facts = timed(gather.gather, root)
                facts["live"] = True
                facts.update(kernel)
                judge_s, _result = timed(rules.evaluate, {"h1": facts})
                total = parse_s + gather_s + judge_s
                print("%-32s %9d %9d %8.3f %8.3f %8.3f %10.2f" % (shape, lines, len(text), parse_s, gather_s, judge_s, total * 1e6 / (len(text) / 1024.0)))
                if len(text) >= LIMIT - 100:
                    break


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [6000, 60000, 400000])
