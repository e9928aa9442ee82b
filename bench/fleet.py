"""Fleet-scale benchmark on real test hosts (``make bench``; never part of ``make test``).

For each fleet size N it builds N test hosts (network namespaces with their own
sshd, tests/harness/testhosts.py) and times, side by side and interleaved, R
times each:

  ping       ansible all -m ping
  setup      ansible all -m setup                 (what gather_facts runs)
  facts      ansible all -m kubeprep.hostnet.hostnet_facts
  audit      ansible-playbook kubeprep.hostnet.audit
  probes     the same with -e hostnet_probe_ports=true (listeners, each host probed from 3 peers)
  remediate  ansible-playbook kubeprep.hostnet.remediate on clean hosts (a no-op run)

and, on one host, the on-host time of the two fact modules: the AnsiballZ
payload Ansible really sends (kept with ANSIBLE_KEEP_REMOTE_FILES) run P times
(--payload-repeat, default 15), interleaved, by the host's python3, plus
hostnet_facts' own duration_ms. It also times the
controller-side rules engine on synthetic fleets of 1,000 and 10,000 hosts, and the
report writing (seconds and bytes of each artifact: JSON, Markdown, JUnit, HTML) on
synthetic fleets of 1,000, 5,000 and 10,000 hosts, with and without port probe reports
(--report-sizes; bench/rules_engine.py N ... prints the same without root or test hosts).

Then the per-host cost of the audit as the fleet grows: one fleet of max(--scale-sizes)
test hosts (default 190, the most one fleet holds) audited whole and limited to its first N (default 50), interleaved,
with --scale-forks (default 50); per host = median wall / N (issue 22's target: 200 at most 1.15x 50).

Prints min and median per measure and the ratios the targets are about
(audit / ping <= 1.2, audit with port probes / audit <= 1.5, facts on-host /
setup on-host <= 0.1, rules on 10,000 hosts < 2 s and linear, with and
without port probe reports; report files linear in hosts, all four written in
under 10 s at 5,000 hosts), writes build/bench/fleet.json and, when matplotlib is
installed, build/bench/fleet.png (wall time against N).

usage (root): bench/fleet.py [--sizes 5 20 50] [--repeat 3] [--payload-repeat 15] [--report-sizes 1000 5000 10000]
                    [--scale-sizes 50 190] [--scale-forks 50] [--out build/bench]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import testhosts

BIN = os.path.dirname(sys.executable)
MEASURES = ("ping", "setup", "facts", "audit", "probes", "remediate")
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(ROOT, "build", "collections")


def command(fleet, measure, report_dir):
    inventory = os.path.join(fleet.state_dir, "inventory.ini")
    adhoc = [os.path.join(BIN, "ansible"), "-i", inventory, "all", "-o", "-m"]
    playbook = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-e", "hostnet_report_dir=%s" % report_dir, "-e", "hostnet_fail_on=never"]
    return {
        "ping": adhoc + ["ansible.builtin.ping"],
        "setup": adhoc + ["ansible.builtin.setup"],
        "facts": adhoc + ["kubeprep.hostnet.hostnet_facts"],
        "audit": playbook + ["kubeprep.hostnet.audit"],
        "probes": playbook + ["-e", "hostnet_probe_ports=true", "kubeprep.hostnet.audit"],
        "remediate": playbook + ["kubeprep.hostnet.remediate"],
    }[measure]


def timed(cmd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[:6]), proc.returncode, proc.stdout[-3000:]))
    return elapsed, proc.stdout


ON_HOST_SCRIPT = """
import glob, json, os, statistics, subprocess, sys, time
paths = {}
for measure, name in json.loads(sys.argv[1]).items():
    paths[measure] = sorted(glob.glob('/root/.ansible/tmp/*/AnsiballZ_%s.py' % name), key=os.path.getmtime)[-1]
times = {m: [] for m in paths}
self_ms = []
for _ in range(int(sys.argv[2])):
    for measure, path in paths.items():  # interleaved, so a noisy second hits all three alike
        start = time.perf_counter()
        out = subprocess.run(['python3', path], stdout=subprocess.PIPE, check=True).stdout
        times[measure].append(time.perf_counter() - start)
        if measure == 'facts':
            self_ms.append(json.loads(out)['ansible_facts']['hostnet']['duration_ms'])
print(json.dumps({'times': times, 'facts_self_ms': statistics.median(self_ms)}))
"""


def on_host_times(fleet, env, repeat):
    """Seconds per run of each payload on the first host, and hostnet_facts' own duration_ms (median)."""
    host = fleet.hosts[0]["name"]
    inventory = os.path.join(fleet.state_dir, "inventory.ini")
    keep = dict(env, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_PIPELINING="False")
    names = {}
    for measure, module in (("ping", "ansible.builtin.ping"), ("setup", "ansible.builtin.setup"), ("facts", "kubeprep.hostnet.hostnet_facts")):
        timed([os.path.join(BIN, "ansible"), "-i", inventory, host, "-m", module], keep)
        names[measure] = module.rsplit(".", 1)[1]
    out = fleet.exec(host, ["python3", "-c", ON_HOST_SCRIPT, json.dumps(names), str(repeat)], timeout=900).stdout
    data = json.loads(out)
    return dict(data["times"], facts_self_ms=data["facts_self_ms"])


def summary(values):
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "runs": [round(v, 3) for v in values]}


def bench_size(size, repeat, payload_repeat, workdir):
    fleet = testhosts.Fleet(os.path.join(workdir, "fleet-%d" % size))
    try:
        started = time.perf_counter()
        fleet.up(count=size)
        up_seconds = time.perf_counter() - started
        env = fleet.ansible_env(COLLECTIONS, forks=max(size, 5))
        report_dir = os.path.join(fleet.state_dir, "report")
        timed(command(fleet, "ping", report_dir), env)  # warm-up: SSH control masters, as a real run reuses them
        walls = {m: [] for m in MEASURES}
        for _attempt in range(repeat):
            for measure in MEASURES:
                walls[measure].append(timed(command(fleet, measure, report_dir), env)[0])
        on_host = on_host_times(fleet, env, payload_repeat)
        row = {"hosts": size, "fleet_up_seconds": round(up_seconds, 1), "wall": {m: summary(v) for m, v in walls.items()}}
        row["on_host"] = {m: summary(on_host[m]) for m in ("ping", "setup", "facts")}
        row["on_host"]["facts_self_reported_ms"] = on_host["facts_self_ms"]
        # What each module does beyond what every Ansible module pays (python3, AnsiballZ, AnsibleModule):
        # payload - ping's payload, by min (the least disturbed run) and by median.
        oh = row["on_host"]
        for stat in ("min", "median"):
            oh["work_over_ping_" + stat] = {m: round(max(oh[m][stat] - oh["ping"][stat], 0.0), 3) for m in ("setup", "facts")}
        med = {m: row["wall"][m]["median"] for m in MEASURES}
        row["ratios"] = {
            "audit_over_ping": round(med["audit"] / med["ping"], 2),
            "facts_over_setup_wall": round(med["facts"] / med["setup"], 2),
            "facts_over_setup_on_host": round(oh["facts"]["median"] / oh["setup"]["median"], 3),
            "facts_over_setup_work_min": round(oh["work_over_ping_min"]["facts"] / max(oh["work_over_ping_min"]["setup"], 1e-3), 3),
            "facts_over_setup_work_median": round(oh["work_over_ping_median"]["facts"] / max(oh["work_over_ping_median"]["setup"], 1e-3), 3),
            "remediate_noop_over_ping": round(med["remediate"] / med["ping"], 2),
            "remediate_noop_over_audit": round(med["remediate"] / med["audit"], 2),
            "probes_over_audit": round(med["probes"] / med["audit"], 2),
        }
        return row
    finally:
        fleet.down()


def bench_scale(sizes, forks, repeat, workdir):
    """The per-host cost of the audit as the fleet grows: one fleet of max(sizes) test hosts, audited whole and
    limited to its first N hosts (--limit @file), interleaved, with the same forks; per-host = wall / N."""
    largest = max(sizes)
    fleet = testhosts.Fleet(os.path.join(workdir, "scale-%d" % largest))
    try:
        started = time.perf_counter()
        fleet.up(count=largest)
        up_seconds = time.perf_counter() - started
        env = fleet.ansible_env(COLLECTIONS, forks=forks)
        report_dir = os.path.join(fleet.state_dir, "report")
        names = [host["name"] for host in fleet.hosts]
        limits = {}
        for size in sizes:
            limits[size] = os.path.join(fleet.state_dir, "limit-%d.txt" % size)
            with open(limits[size], "w") as handle:
                handle.write("\n".join(names[:size]) + "\n")
        audit = command(fleet, "audit", report_dir)
        for size in sizes:  # warm-up: every host's SSH control master, as a real run reuses them
            timed(command(fleet, "ping", report_dir) + ["--limit", "@" + limits[size]], env)
        walls = {size: [] for size in sizes}
        for _attempt in range(repeat):
            for size in sizes:
                walls[size].append(timed(audit[:1] + ["--limit", "@" + limits[size]] + audit[1:], env)[0])
        rows = []
        for size in sizes:
            median = statistics.median(walls[size])
            rows.append({"hosts": size, "forks": forks, "wall": summary(walls[size]), "per_host_ms": round(1000 * median / size, 1)})
        smallest = min(sizes)
        base = [row for row in rows if row["hosts"] == smallest][0]["per_host_ms"]
        for row in rows:
            row["per_host_over_smallest"] = round(row["per_host_ms"] / base, 2)
        return {"fleet_up_seconds": round(up_seconds, 1), "rows": rows}
    finally:
        fleet.down()


def print_scale(scale):
    print(
        "\n== audit per host as the fleet grows (one fleet of test hosts, --limit to the first N, forks %d; up in %.1f s)"
        % (scale["rows"][0]["forks"], scale["fleet_up_seconds"])
    )
    for row in scale["rows"]:
        print(
            "  %4d hosts: median %6.2f s, %6.1f ms per host, per host / smallest fleet's %.2f (target <= 1.15)"
            % (row["hosts"], row["wall"]["median"], row["per_host_ms"], row["per_host_over_smallest"])
        )


def print_row(row):
    print("\n== %d hosts (fleet up in %.1f s)" % (row["hosts"], row["fleet_up_seconds"]))
    print("  %-10s %8s %8s   (seconds, wall)" % ("measure", "min", "median"))
    for measure in MEASURES:
        print("  %-10s %8.2f %8.2f" % (measure, row["wall"][measure]["min"], row["wall"][measure]["median"]))
    oh = row["on_host"]
    print("  on host (payload run by python3; min / median of %d interleaved runs):" % len(oh["ping"]["runs"]))
    payload = tuple(oh[m][stat] for m in ("ping", "setup", "facts") for stat in ("min", "median"))
    print("    payload         ping %.3f / %.3f   setup %.3f / %.3f   hostnet_facts %.3f / %.3f" % payload)
    beyond = tuple(oh["work_over_ping_" + stat][m] for m in ("setup", "facts") for stat in ("min", "median"))
    print("    beyond ping's   setup %.3f / %.3f   hostnet_facts %.3f / %.3f" % beyond, "  (its own duration_ms %.1f)" % oh["facts_self_reported_ms"])
    r = row["ratios"]
    print(
        "  ratios:    audit/ping %.2f (target <= 1.2)   remediate (no-op)/audit %.2f (target <= 1.3)" % (r["audit_over_ping"], r["remediate_noop_over_audit"])
    )
    print(
        "             facts/setup on host: whole payload %.3f, beyond ping %.3f by min / %.3f by median (target <= 0.1)"
        % (r["facts_over_setup_on_host"], r["facts_over_setup_work_min"], r["facts_over_setup_work_median"])
    )
    print("             facts/setup wall %.2f   remediate (no-op)/ping %.2f" % (r["facts_over_setup_wall"], r["remediate_noop_over_ping"]))
    print("             audit with port probes / audit %.2f (target <= 1.5)" % r["probes_over_audit"])


def plot(result, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install -r requirements-bench.txt)")
        return None
    sizes = [row["hosts"] for row in result["fleet"]]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for measure in MEASURES:
        ax.plot(sizes, [row["wall"][measure]["median"] for row in result["fleet"]], marker="o", label=measure)
    ax.set_xlabel("test hosts (N)")
    ax.set_ylabel("wall time, median (s)")
    ax.set_title("kubeprep.hostnet on %d cores: wall time against fleet size" % result["machine"]["cores"])
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--payload-repeat", type=int, default=15, help="runs of each payload on one host (cheap: no SSH)")
    parser.add_argument("--rules-sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--report-sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    # A fleet's hosts are 10.213.S.10-200 (.201-.203 are the switch's silent nameservers): 190 at most.
    parser.add_argument("--scale-sizes", type=int, nargs="*", default=[50, 190], help="audit per host, one fleet limited to N (none: skip)")
    parser.add_argument("--scale-forks", type=int, default=50)
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("test hosts need root")
    os.makedirs(args.out, exist_ok=True)
    result = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
        "repeat": args.repeat,
        "payload_repeat": args.payload_repeat,
        "settings": {"forks": "max(N, 5)", "pipelining": True, "ssh": "ControlPersist=60s, warmed up before timing"},
        "fleet": [],
    }
    print("kubeprep.hostnet benchmark: %d cores, sizes %s, %d runs each" % (result["machine"]["cores"], args.sizes, args.repeat))
    with tempfile.TemporaryDirectory(prefix="kubeprep-bench-") as workdir:
        for size in args.sizes:
            row = bench_size(size, args.repeat, args.payload_repeat, workdir)
            result["fleet"].append(row)
            print_row(row)
        if args.scale_sizes:
            result["scale"] = bench_scale(args.scale_sizes, args.scale_forks, args.repeat, workdir)
            print_scale(result["scale"])

    import rules_engine

    result["rules_engine"] = rules_engine.time_rules(args.rules_sizes) + rules_engine.time_rules(args.rules_sizes, probes=True)
    print("\n== rules engine (synthetic facts, host and fleet rules; with probes: 3 peers per host, 1 port in 100 dropped)")
    for row in result["rules_engine"]:
        print(
            "  %6d hosts%s: %.3f s (%.1f us per host, %d findings)"
            % (row["hosts"], " with probes" if row["probes"] else "", row["seconds"], row["us_per_host"], row["findings"])
        )
    result["rules_engine_linearity"] = {}
    for probes in (False, True):
        per_host = [row["us_per_host"] for row in result["rules_engine"] if row["probes"] == probes]
        result["rules_engine_linearity"]["with_probes" if probes else "without_probes"] = round(max(per_host) / min(per_host), 2)
    print("  per-host cost, largest / smallest: %s (1.0 is linear)" % result["rules_engine_linearity"])

    result["report_writing"] = rules_engine.time_reports(args.report_sizes) + rules_engine.time_reports(args.report_sizes, probes=True)
    result["report_linearity"] = rules_engine.report_linearity(result["report_writing"])
    print("\n== report writing, seconds (synthetic facts; 4 files: the artifacts' sum; write_report: with the host_vars files, their count)")
    rules_engine.print_reports(result["report_writing"])

    json_path = os.path.join(args.out, "fleet.json")
    with open(json_path, "w") as handle:
        json.dump(result, handle, indent=2)
    print("\nwrote %s" % json_path)
    png = plot(result, os.path.join(args.out, "fleet.png"))
    if png:
        print("wrote %s" % png)


if __name__ == "__main__":
    main()
