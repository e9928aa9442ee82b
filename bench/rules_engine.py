"""Time the controller-side rules engine (per-host and fleet rules) and the report writing on synthetic fleets.

Prints seconds and microseconds per host for each size, so linearity shows as a
flat per-host column; then, per report artifact (JSON, Markdown, JUnit, HTML), the seconds to render and
write it, its bytes and bytes per host, and each size's bytes per host over the smallest size's (1.0 is
linear; issue 22 asks <= 1.25 from 500 to 5,000 hosts and all four written in under 10 s at 5,000).
Not part of `make test`: speed is measured here, never asserted.

usage: bench/rules_engine.py [N ...]   (default 1000 5000 10000)
"""

import copy
import importlib
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "dev"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
conftest = importlib.import_module("conftest")  # creates the build/dev import tree the next import needs
rules = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules")
probeplan = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.probeplan")
report = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.report")
report_html = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.report_html")
ARTIFACTS = ("json", "markdown", "junit", "html")


def node(i):
    """A Vagrant-shaped node: eth0 10.0.2.15 with the default route (shared), eth1 unique in a /16."""
    return {
        "schema_version": 1,
        "interfaces": {
            "status": "ok",
            "list": [
                {
                    "name": "eth0",
                    "link_type": "ether",
                    "mac": "08:00:27:%02x:%02x:00" % (i // 256 % 256, i % 256),
                    "addresses": [{"family": 4, "address": "10.0.2.15", "prefixlen": 24, "scope": "global"}],
                },
                {
                    "name": "eth1",
                    "link_type": "ether",
                    "mac": "08:00:27:%02x:%02x:01" % (i // 256 % 256, i % 256),
                    "addresses": [{"family": 4, "address": "192.168.%d.%d" % (i // 250, i % 250 + 1), "prefixlen": 16, "scope": "global"}],
                },
            ],
        },
        "routes": {
            "status": "ok",
            "ipv4": [],
            "ipv6": [],
            "default_ipv4": [{"dev": "eth0", "gateway": "10.0.2.2", "metric": 100, "default": True, "type": "unicast"}],
            "default_ipv6": [],
        },
        "identity": {"hostname": "node%d" % i, "machine_id": "%032x" % i, "product_uuid": None},
        "hosts_file": {"status": "ok", "names": {"localhost": ["127.0.0.1"]}, "entries": []},
        "nsswitch": {"status": "ok", "hosts_sources": ["files", "dns"], "effective_sources": ["files", "dns"], "dns_before_files": False},
        "problems": [],
    }


def with_probes(fleet):
    """The port probe reports of a run with 3 peers (as the audit action attaches them), one port in 100 dropped,
    and the plan: node-port-unreachable and the DF part of mtu-mismatch then judge 3 x N pairs."""
    sources = probeplan.pairs(fleet, 3)
    token = "bench"
    hosts = {}
    for name, facts in fleet.items():
        address = facts["interfaces"]["list"][1]["addresses"][0]["address"]
        hosts[name] = {"address": address, "interface": "eth1", "mtu": 1500, "ports": probeplan.ports_for(name, "calico", set()), "probed_by": sources[name]}
    for name in hosts:
        hosts[name]["probes"] = []
    for dest, srcs in sources.items():
        for src in srcs:
            hosts[src]["probes"].append(dest)
    for index, (name, facts) in enumerate(sorted(fleet.items())):
        listen = {"token": token, "listening": hosts[name]["ports"], "in_use": [], "not_bound": [], "echo_port": 40000}
        results = []
        for dest in hosts[name]["probes"]:
            for k, port in enumerate(hosts[dest]["ports"]):
                result = "timeout" if (index + k) % 100 == 0 else "open"
                results.append(dict(port, host=dest, address=hosts[dest]["address"], result=result, detail=None, ms=1))
        df = [
            {"host": dest, "address": hosts[dest]["address"], "ports": [40000], "port": 40000, "size": 1500, "result": "passed"}
            for dest in hosts[name]["probes"]
        ]
        facts["port_probes"] = {"listen": listen, "results": {"token": token, "results": results, "df": df, "notes": [], "seconds": 0.1}}
    return {"token": token, "hosts": hosts, "skipped": {}, "peers": 3}


def time_rules(sizes, repeat=3, probes=False):
    """[{hosts, seconds (min of repeat), us_per_host, findings}] for each fleet size (``probes``: with port probe reports)."""
    template = [node(i) for i in range(max(sizes))]
    rows = []
    for size in sizes:
        best, findings = None, 0
        for _attempt in range(repeat):
            fleet = {"node%d" % i: copy.deepcopy(template[i]) for i in range(size)}
            options = {"port_probes": with_probes(fleet)} if probes else {}
            start = time.perf_counter()
            result = rules.evaluate(fleet, options)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
            findings = len(result["fleet"]["findings"]) + sum(len(h["findings"]) for h in result["hosts"].values())
        rows.append({"hosts": size, "probes": probes, "seconds": round(best, 4), "us_per_host": round(best / size * 1e6, 1), "findings": findings})
    return rows


RENDER = {
    "json": lambda doc: json.dumps(doc, indent=2, sort_keys=True) + "\n",
    "markdown": report.render_markdown,
    "junit": report.render_junit,
    "html": report_html.render_html,
}


def time_reports(sizes, probes=False):
    """[{hosts, probes, four_seconds, write_seconds, host_vars, artifacts: {kind: {seconds, bytes, bytes_per_host}}}]
    per fleet size: each artifact of a synthetic fleet's report rendered and written on its own (as
    report.write_report does; four_seconds is their sum), and report.write_report itself (write_seconds: the
    four files and the host_vars file of each host whose node IP it says to pin, ``host_vars`` of them)."""
    rows = []
    for size in sizes:
        fleet = {"node%d" % i: node(i) for i in range(size)}
        options = {"port_probes": with_probes(fleet)} if probes else {}
        doc = report.build_report(rules.evaluate(fleet, options), "2026-01-01T00:00:00+00:00", "error", "0.2.0")
        out = tempfile.mkdtemp(prefix="hostnet-bench-report-")
        try:
            start = time.perf_counter()
            paths = report.write_report(doc, out)
            total = time.perf_counter() - start
            artifacts = {}
            for kind in ARTIFACTS:
                path = os.path.join(out, "again-%s" % kind)
                start = time.perf_counter()
                report.atomic_write(path, RENDER[kind](doc))
                seconds = time.perf_counter() - start
                size_bytes = os.path.getsize(paths[kind])
                artifacts[kind] = {"seconds": round(seconds, 3), "bytes": size_bytes, "bytes_per_host": round(size_bytes / size, 1)}
        finally:
            shutil.rmtree(out)
        four = sum(a["seconds"] for a in artifacts.values())
        row = {"hosts": size, "probes": probes, "four_seconds": round(four, 3), "write_seconds": round(total, 3), "host_vars": len(paths.get("host_vars", []))}
        rows.append(dict(row, artifacts=artifacts))
    return rows


def report_linearity(rows):
    """Per artifact and probes yes/no: the largest size's bytes per host over the smallest's (1.0 is linear)."""
    ratios = {}
    for probes in (False, True):
        mine = sorted((r for r in rows if r["probes"] == probes), key=lambda r: r["hosts"])
        if len(mine) > 1:
            ratios["with_probes" if probes else "without_probes"] = {
                kind: round(mine[-1]["artifacts"][kind]["bytes_per_host"] / mine[0]["artifacts"][kind]["bytes_per_host"], 3) for kind in ARTIFACTS
            }
    return ratios


def print_reports(rows):
    kinds = "  ".join("%-32s" % (kind + ": s, bytes, bytes/host") for kind in ARTIFACTS)
    print("%8s %8s %8s %18s  %s" % ("hosts", "probes", "4 files", "write_report (vars)", kinds))
    for row in rows:
        cells = ["%6.2f %11d %9.1f    " % (a["seconds"], a["bytes"], a["bytes_per_host"]) for a in (row["artifacts"][k] for k in ARTIFACTS)]
        print(
            "%8d %8s %8.2f %11.2f (%5d)  %s"
            % (row["hosts"], "yes" if row["probes"] else "no", row["four_seconds"], row["write_seconds"], row["host_vars"], "  ".join(cells))
        )
    for probes, ratios in report_linearity(rows).items():
        print("bytes per host, largest / smallest fleet, %s: %s (1.0 is linear)" % (probes.replace("_", " "), ratios))


def main(sizes):
    print("%8s %8s %10s %14s %10s" % ("hosts", "probes", "seconds", "us per host", "findings"))
    for probes in (False, True):
        for row in time_rules(sizes, probes=probes):
            print("%8d %8s %10.3f %14.1f %10d" % (row["hosts"], "yes" if probes else "no", row["seconds"], row["us_per_host"], row["findings"]))
    print("\nreport writing, seconds (4 files: the artifacts' sum; write_report: with the host_vars files, their count)")
    print_reports(time_reports(sizes) + time_reports(sizes, probes=True))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000, 10000])
