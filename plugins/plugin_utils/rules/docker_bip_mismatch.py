# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule docker-bip-mismatch."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error.

Fault F4's second half. `/run/flannel/subnet.env` exists (flannel runs) but docker's bridge does not use
flannel's subnet or MTU: `bip` / `mtu` from `/etc/docker/daemon.json`, or `--bip` / `--mtu` in
`DOCKER_OPTS` / `OPTIONS` of `/etc/default/docker` or `/etc/sysconfig/docker`.

## Why it breaks Kubernetes
Containers on `docker0` get addresses outside the node's flannel subnet (default `172.17.0.1/16`), so replies
from other nodes are not routed back; a larger MTU than flannel's makes packets fragment or drop.

## Evidence
```
/run/flannel/subnet.env: FLANNEL_SUBNET=10.244.1.1/24 FLANNEL_MTU=1450
docker (/etc/docker/daemon.json): bip=None mtu=None
```

## Fix
`"bip": "<FLANNEL_SUBNET>"` and `"mtu": <FLANNEL_MTU>` in `/etc/docker/daemon.json` (or `--bip`/`--mtu`),
then restart docker.
"""


@rule(
    "docker-bip-mismatch",
    "docker's bridge does not match flannel's subnet",
    severities=("error",),
    fix=Fix(
        role="hostnet_docker_bip",
        opt_in="hostnet_docker_bip_enabled",
        what=(
            "sets `bip`/`mtu` in `/etc/docker/daemon.json` from `/run/flannel/subnet.env`, only those values changed; "
            "docker is restarted only with `hostnet_docker_bip_restart: true` (that stops its containers), right after the "
            "change and before the record is written (a failed restart fails the host, recorded), otherwise the change "
            "record says a restart is due."
        ),
    ),
    reads=("container_network",),
    doc=DOC,
    fault="docker's `bip`/`mtu` differ from flannel's `subnet.env`",
    breaks="cross-node container traffic lost",
)
def check(host, facts, ctx):
    net = facts.get("container_network") or {}
    env = (net.get("flannel_subnet_env") or {}).get("values")
    if not env or not env.get("FLANNEL_SUBNET"):
        return []
    docker = {}
    source = None
    for key in ("docker_daemon_json", "docker_options"):
        info = net.get(key) or {}
        if info.get("status") == "ok" and (info.get("bip") or info.get("mtu")):
            docker, source = info, info["path"]
            break
    subnet, mtu = env["FLANNEL_SUBNET"], env.get("FLANNEL_MTU")
    problems = []
    if docker.get("bip") != subnet:
        problems.append("bip is %s, FLANNEL_SUBNET is %s" % (docker.get("bip") or "unset (docker0 keeps 172.17.0.1/16)", subnet))
    if mtu and str(docker.get("mtu") or "") != str(mtu):
        problems.append("mtu is %s, FLANNEL_MTU is %s" % (docker.get("mtu") or "unset (1500)", mtu))
    if not problems:
        return []
    return [
        Finding(
            "docker-bip-mismatch",
            "error",
            host,
            "docker's bridge does not match flannel: " + "; ".join(problems),
            [
                "/run/flannel/subnet.env: FLANNEL_SUBNET=%s FLANNEL_MTU=%s" % (subnet, mtu),
                "docker (%s): bip=%s mtu=%s" % (source or "no setting", docker.get("bip"), docker.get("mtu")),
            ],
            "Containers on docker0 get addresses outside this node's flannel subnet (or a larger MTU), so traffic between "
            "nodes is not routed back or is fragmented and dropped.",
            'Set "bip": "%s" and "mtu": %s in /etc/docker/daemon.json (or --bip/--mtu), then restart docker.' % (subnet, mtu or 1500),
        )
    ]


# -- F5: liveness budget ----------------------------------------------------------------
