# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule clock-skew."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.factmemo import per_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import fleet_evidence
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: error.

A host's clock differs from the controller's by more than `hostnet_max_clock_skew` seconds (default 30,
k0sctl's limit). The facts module reads the host's clock as it ends; its action plugin on the controller
brackets that moment with the controller's clock before and after the call, so each host's offset is known
to within half the round trip, and only an offset beyond the limit by more than that counts. The evidence
lists every host's offset, so a fleet drifting apart is seen at a glance (k0sctl#848).

## Why it breaks Kubernetes
Certificates kubeadm issues carry a validity window: on a host whose clock is behind they are not yet valid,
ahead they look expired (`x509: certificate has expired or is not yet valid`); etcd's leases and raft
timeouts, bootstrap token expiry and log correlation all assume clocks that agree.

## Evidence
`node1: +0.0 s (+/- 0.1 s) from the controller`, `node2: -95.3 s (+/- 0.1 s) from the controller`, one line per host.

## Fix
Manual: the audit never changes a clock. Point the host at the site's time source (chrony or
systemd-timesyncd), check `timedatectl` shows `System clock synchronized: yes`, and audit again.

## Testing
Test hosts share this machine's kernel clock (network namespaces cannot have clocks of their own), so the rule
is tested on facts (`tests/unit/test_fleet.py`), and its facts, the offset of a real host, end to end.
"""


@rule(
    "clock-skew",
    "a host's clock differs from the controller's",
    severities=("error",),
    fix=Fix(manual="set the clock from the site's time source (chrony or systemd-timesyncd) and keep it running; the audit never changes a clock"),
    scope="fleet",
    reads=("clock",),
    options=(
        Option(
            "max_clock_skew",
            "hostnet_max_clock_skew",
            "float",
            "Seconds a host's clock may differ from the controller's (k0sctl's limit is 30).",
            30,
            minimum=0,
            maximum=86400,
        ),
    ),
    doc=DOC,
    fault="a host's clock differs from the controller's by more than `hostnet_max_clock_skew` (30 s)",
    breaks="certificates not yet valid or expired; etcd timeouts",
)
def check(facts_by_host, ctx):
    limit = float(ctx["max_clock_skew"])
    offsets = clock_offsets(facts_by_host)

    def line(name):
        return "%s: %+.1f s (+/- %.1f s) from the controller" % ((name,) + offsets[name])

    odd = {host for host, (off, unc) in offsets.items() if skewed(off, unc, limit)}
    findings = []
    for host, (offset, uncertainty) in sorted(offsets.items()):
        if host not in odd:
            continue
        evidence = fleet_evidence(line, offsets, host, odd)
        findings.append(
            Finding(
                "clock-skew",
                "error",
                host,
                "the clock is %.1f s %s the controller's (limit %.0f s, hostnet_max_clock_skew)" % (abs(offset), "ahead of" if offset > 0 else "behind", limit),
                evidence,
                "Certificates kubeadm issues are not yet valid (or already expired) on a host whose clock is off: `x509: certificate "
                "has expired or is not yet valid`; etcd's leases and raft timeouts and token expiry misbehave. k0sctl refuses "
                "hosts more than 30 s apart.",
                "Point the host at the site's time source (chrony or systemd-timesyncd), check `timedatectl` shows `System clock "
                "synchronized: yes`, then audit again.",
                data={"offset_s": offset, "uncertainty_s": uncertainty},
            )
        )
    return findings


@per_facts
def clock_offsets(facts_by_host):
    """host -> (offset from the controller, uncertainty) in seconds, where measured (once per judgement: the check
    and the overview read it; callers do not change it)."""
    offsets = {}
    for host in sorted(facts_by_host):
        clock = facts_by_host[host].get("clock") or {}
        if isinstance(clock.get("offset_s"), (int, float)) and not isinstance(clock.get("offset_s"), bool):
            offsets[host] = (float(clock["offset_s"]), float(clock.get("uncertainty_s") or 0.0))
    return offsets


def skewed(offset, uncertainty, limit):
    """Only what is certain: the offset less the time the round trip leaves open, beyond the limit."""
    return abs(offset) - uncertainty > limit


@check.report("clock")
def clock_overview(facts_by_host, ctx):
    """host -> its offset, the limit, and whether it is skewed (exactly the hosts with a finding)."""
    limit = float(ctx["max_clock_skew"])
    return {
        host: {"offset_s": offset, "uncertainty_s": uncertainty, "limit_s": limit, "skewed": skewed(offset, uncertainty, limit)}
        for host, (offset, uncertainty) in clock_offsets(facts_by_host).items()
    }
