"""Time the controller-side rules engine (per-host and fleet rules) on synthetic fleets.

Prints seconds and microseconds per host for each size, so linearity shows as a
flat per-host column. Not part of `make test`: speed is measured here, never asserted.

usage: bench/rules_engine.py [N ...]   (default 1000 5000 10000)
"""

import copy
import importlib
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "dev"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
conftest = importlib.import_module("conftest")  # creates the build/dev import tree the next import needs
rules = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules")
probeplan = importlib.import_module("ansible_collections.kubeprep.hostnet.plugins.plugin_utils.probeplan")


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


def main(sizes):
    print("%8s %8s %10s %14s %10s" % ("hosts", "probes", "seconds", "us per host", "findings"))
    for probes in (False, True):
        for row in time_rules(sizes, probes=probes):
            print("%8d %8s %10.3f %14.1f %10d" % (row["hosts"], "yes" if probes else "no", row["seconds"], row["us_per_host"], row["findings"]))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000, 10000])
