# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule probe-budget-exceeded."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: error; warning when only the worst samples exceed.

Fault F5. On a node far from the datastore, calico-node's startup reads take longer than its liveness budget,
so kubelet kills it first: it restarts in a loop with no error in its log, while nodes near the datastore are
fine (seed 004: 53 nodes, cross-region, calico v2.6 with the etcd datastore).

## What is measured (opt-in)
Set `hostnet_datastore_endpoints` (etcd or API server URLs; a dict with `url`, `ca`, `cert`, `key`,
`insecure` for TLS). From every host, `hostnet_facts` takes `rtt_samples` fresh TCP connects and as many
requests on one kept-alive connection (etcd `/health` by default, or the URL's path such as `/healthz`), each
bounded by `rtt_timeout`, all by `rtt_budget`: median and worst.

## The model
predicted startup = nodes x requests per node x request round trip

- nodes: `hostnet_cluster_nodes`, default the number of audited hosts;
- requests per node: `hostnet_calico_requests_per_node`, default 6 (calico v2 reads `ip_addr_v4`, `network_v4`,
  `ip_addr_v6`, `network_v6`, `as_num`, `orchestrator_refs` of every node, one round trip each);
- budget: `initialDelaySeconds + failureThreshold x periodSeconds`, default 10 + 6 x 10 = 70 s (the calico
  v2.6 manifest), set with `hostnet_liveness_initial_delay`, `_failure_threshold`, `_period`.

It fires as an error when the median predicts a startup over the budget, a warning when only the worst sample
does. Example from the incident's numbers: 53 x 6 x 250 ms = 79.5 s > 70 s.

## Fix
The finding recommends probe values with a margin (`hostnet_probe_margin`, default 1.5) and a
`kubectl patch` for the calico-node DaemonSet; `data.recommended` in the JSON report has them
machine-readable. Better: a `startupProbe` (values given) so liveness stays strict once running; or reduce
per-node reads (Typha, Kubernetes datastore). The incident raised initialDelaySeconds to 60 and
failureThreshold to 10.
"""


def startup_model(rtt_ms, nodes, requests_per_node):
    """Predicted seconds of calico-node's startup reads: nodes x requests x one round trip."""
    return nodes * requests_per_node * rtt_ms / 1000.0


def recommend_probe(predicted_s, ctx):
    """Probe values that fit ``predicted_s`` with the margin, keeping the period."""
    needed = predicted_s * ctx["probe_margin"]
    period = ctx["liveness_period"]
    initial = max(ctx["liveness_initial_delay"], 10)
    threshold = max(ctx["liveness_failure_threshold"], int(math.ceil((needed - initial) / float(period))))
    return {
        "initialDelaySeconds": initial,
        "periodSeconds": period,
        "failureThreshold": threshold,
        "budget_s": initial + threshold * period,
        "needed_s": round(needed, 1),
        "startupProbe": {"periodSeconds": period, "failureThreshold": int(math.ceil(needed / float(period)))},
    }


@rule(
    "probe-budget-exceeded",
    "calico-node's startup reads outlast its liveness budget",
    severities=("error", "warning"),
    fix=Fix(manual="the liveness probe belongs to calico-node's DaemonSet in the cluster, not to the host"),
    reads=("datastore_rtt",),
    options=(
        Option(
            "cluster_nodes",
            "hostnet_cluster_nodes",
            "int",
            "Nodes in the cluster for the startup model; unset: the number of audited hosts.",
            None,
            minimum=1,
            maximum=100000,
        ),
        Option(
            "requests_per_node",
            "hostnet_calico_requests_per_node",
            "int",
            "Datastore round trips calico-node makes per node at startup.",
            6,
            minimum=1,
            maximum=1000,
        ),
        Option(
            "liveness_initial_delay",
            "hostnet_liveness_initial_delay",
            "int",
            "calico-node livenessProbe initialDelaySeconds in use.",
            10,
            minimum=0,
            maximum=3600,
        ),
        Option("liveness_period", "hostnet_liveness_period", "int", "calico-node livenessProbe periodSeconds in use.", 10, minimum=1, maximum=3600),
        Option(
            "liveness_failure_threshold",
            "hostnet_liveness_failure_threshold",
            "int",
            "calico-node livenessProbe failureThreshold in use.",
            6,
            minimum=1,
            maximum=1000,
        ),
        Option("probe_margin", "hostnet_probe_margin", "float", "Safety factor for the recommended probe values.", 1.5, minimum=1, maximum=10),
    ),
    doc=DOC,
    fault="opt-in RTT measurement: nodes x 6 GETs x RTT outlives calico-node's liveness budget",
    breaks="calico-node restarts in a loop on far nodes",
)
def check(host, facts, ctx):
    measured = [m for m in facts.get("datastore_rtt") or [] if (m.get("request") or {}).get("median_ms") is not None]
    if not measured:
        return []
    nodes = ctx.get("cluster_nodes") or ctx.fleet_size
    per_node = ctx["requests_per_node"]
    budget = ctx["liveness_initial_delay"] + ctx["liveness_failure_threshold"] * ctx["liveness_period"]
    slowest = max(measured, key=lambda m: m["request"]["median_ms"])
    median_ms, worst_ms = slowest["request"]["median_ms"], slowest["request"]["worst_ms"]
    predicted = startup_model(median_ms, nodes, per_node)
    predicted_worst = startup_model(worst_ms, nodes, per_node)
    if predicted_worst <= budget:
        return []
    rec = recommend_probe(predicted_worst if predicted <= budget else predicted, ctx)
    evidence = [
        "%s: request round trip median %.1f ms, worst %.1f ms (%s samples); connect median %s ms"
        % (m["url"], m["request"]["median_ms"], m["request"]["worst_ms"], len(m["request"]["samples_ms"]), (m.get("connect") or {}).get("median_ms"))
        for m in measured
    ]
    evidence += [
        "predicted startup = %d nodes x %d requests x %.1f ms = %.1f s (worst samples: %.1f s)" % (nodes, per_node, median_ms, predicted, predicted_worst),
        "liveness budget = initialDelaySeconds %d + failureThreshold %d x periodSeconds %d = %d s"
        % (ctx["liveness_initial_delay"], ctx["liveness_failure_threshold"], ctx["liveness_period"], budget),
    ]
    patch = (
        '{"spec":{"template":{"spec":{"containers":[{"name":"calico-node","livenessProbe":'
        '{"initialDelaySeconds":%d,"periodSeconds":%d,"failureThreshold":%d}}]}}}}'
        % (rec["initialDelaySeconds"], rec["periodSeconds"], rec["failureThreshold"])
    )
    return [
        Finding(
            "probe-budget-exceeded",
            "error" if predicted > budget else "warning",
            host,
            "calico-node startup predicted at %.0f s, liveness budget %d s" % (predicted if predicted > budget else predicted_worst, budget),
            evidence,
            "kubelet kills calico-node before its startup reads finish, so it restarts in a loop without any error in its "
            "log; nodes near the datastore are fine.",
            "Give calico-node a budget of at least %.0f s: livenessProbe initialDelaySeconds %d, failureThreshold %d, "
            "periodSeconds %d (kubectl -n kube-system patch ds calico-node -p '%s'); better, add a startupProbe "
            "(periodSeconds %d, failureThreshold %d) so liveness stays strict after startup; or run the node closer to "
            "the datastore (Typha / Kubernetes datastore mode avoids per-node etcd reads)."
            % (
                rec["needed_s"],
                rec["initialDelaySeconds"],
                rec["failureThreshold"],
                rec["periodSeconds"],
                patch,
                rec["startupProbe"]["periodSeconds"],
                rec["startupProbe"]["failureThreshold"],
            ),
            data={"predicted_s": round(predicted, 1), "predicted_worst_s": round(predicted_worst, 1), "budget_s": budget, "nodes": nodes, "recommended": rec},
        )
    ]


# -- the engine ---------------------------------------------------------------------
