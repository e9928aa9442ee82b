# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule dns-before-files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.module_utils import nsswitch
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import resolution_evidence
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: error, or warning.

Fault F3. A lookup of `localhost` can go to DNS before `/etc/hosts`.

## What is checked
- `/etc/nsswitch.conf`: present or not, and the order of `files` and `dns` on its `hosts:` line (other
  sources such as `myhostname`, `resolve`, `mdns4_minimal [NOTFOUND=return]` are ignored).
- Several `hosts:` lines: glibc uses the last one (checked with `getent` on glibc 2.31 and 2.36), Go's own
  resolver reads them all in order (checked with a go1.19 static binary: `hosts: dns files` then
  `hosts: files dns` asks DNS first). The rule fires when either consumer asks DNS first, and the evidence
  names every line and what each consumer makes of them. The fix leaves exactly one effective `hosts:` line
  (the others are commented out, saying why). Lines end at a newline only, as for glibc: a form feed inside a
  comment does not start a new line.
- When the file or its `hosts:` line is missing, what the C library then does: glibc before 2.35 uses
  `dns [!UNAVAIL=return] files` (DNS first), glibc 2.35 and later `files dns`; musl never reads the file and
  always reads `/etc/hosts` first.

Severity:
- error: the `hosts:` line puts `dns` before `files` (or lacks `files`), or the file is missing on glibc < 2.35;
- warning: the file is missing on a libc that reads files first. Statically linked Go programs do not use libc:
  before Go 1.16 they treated a missing `nsswitch.conf` as DNS first, which is exactly the incident
  (kube-apiserver in an Alpine-based image).

## Why it breaks Kubernetes
kube-apiserver's loopback client looks up `localhost`. When DNS is asked first and the nameservers are slow or
unreachable, the lookup outlives the client's timeout: `Get "https://localhost:6443/api/v1/services": dial
tcp: i/o timeout`, then `Unable to perform initial IP allocation check`. Disabling IPv6
(`net.ipv6.conf.all.disable_ipv6=1`) makes the apiserver fall back to the *name* `localhost`, so the sysctl
changes whether it happens.

## Evidence
```
/etc/nsswitch.conf:4: hosts:          dns files
getaddrinfo("localhost") had not returned after 2000.0 ms (timed out)
```

## Fix
`hosts: files dns` in `/etc/nsswitch.conf` (create the file when missing), keeping other sources.
"""


@rule(
    "dns-before-files",
    "localhost can be looked up in DNS before /etc/hosts",
    severities=("error", "warning"),
    fix=Fix(
        role="hostnet_name_service",
        does="nsswitch",
        what="moves `files` before `dns` on the `hosts:` line (other sources stay), creates the file when missing.",
    ),
    reads=(
        "nsswitch",
        "libc",
        "go_binaries",
        "localhost_resolution",
    ),
    doc=DOC,
    fault="`hosts: dns files`, or no `nsswitch.conf` on glibc < 2.35 / Go < 1.16",
    breaks="`dial tcp: i/o timeout` on `localhost`",
)
def check(host, facts, ctx):
    ns = facts.get("nsswitch") or {}
    libc = facts.get("libc") or {}
    libc_text = "%s %s" % (libc.get("family"), libc.get("version") or "(version unknown)")
    why = (
        "A lookup of localhost goes to the nameservers first; when they are slow or unreachable it outlives "
        "the client's timeout and kube-apiserver dies with `dial tcp: i/o timeout` / `Unable to perform "
        "initial IP allocation check`."
    )
    fix = "Write `hosts: files dns` in /etc/nsswitch.conf (files before dns, other sources kept)."
    if ns.get("status") == "ok" and ns.get("hosts_sources") is not None:
        if not ns.get("dns_before_files"):
            return []
        return [
            Finding(
                "dns-before-files",
                "error",
                host,
                "nsswitch.conf asks DNS before /etc/hosts (hosts: %s)"
                % (
                    " ".join(ns["hosts_sources"])
                    if nsswitch.dns_before_files(ns["hosts_sources"])
                    else "%s for glibc, but %s for Go programs" % (" ".join(ns["hosts_sources"]), " ".join(ns.get("go_hosts_sources") or []))
                ),
                ["/etc/nsswitch.conf:%s: %s" % (ns.get("hosts_line"), (ns.get("hosts_raw") or "").strip())]
                + (
                    [
                        "hosts: is defined on lines %s: glibc uses the last one (line %s: %s), Go's resolver reads them all in order (%s)"
                        % (
                            ", ".join(str(n) for n in ns["hosts_lines"]),
                            ns.get("hosts_line"),
                            " ".join(ns["hosts_sources"]),
                            " ".join(ns.get("go_hosts_sources") or []),
                        )
                    ]
                    if len(ns.get("hosts_lines") or []) > 1
                    else []
                )
                + resolution_evidence(facts),
                why,
                fix,
            )
        ]
    if ns.get("status") not in ("ok", "missing"):
        return []  # unreadable: facts-incomplete says so
    state = "missing" if ns.get("status") == "missing" else "present without a hosts: line"
    evidence = ["/etc/nsswitch.conf: %s" % state, "libc: %s" % libc_text]
    go = facts.get("go_binaries") if isinstance(facts.get("go_binaries"), dict) else {}
    go_list = [b for b in go.get("list") or [] if isinstance(b, dict)]
    old_go = [b for b in go_list if b.get("files_first_without_nsswitch") is False]
    go_evidence = [
        "%s: built with %s (%s)" % (b.get("path"), b.get("go_version"), "DNS before /etc/hosts" if b in old_go else "/etc/hosts first")
        for b in (old_go + [b for b in go_list if b not in old_go])[:10]
    ]
    if len(go_list) > 10:
        go_evidence.append("... and %d more Go programs" % (len(go_list) - 10))
    evidence += go_evidence
    if old_go and not ns.get("dns_before_files"):
        return [
            Finding(
                "dns-before-files",
                "error",
                host,
                "/etc/nsswitch.conf is %s and %d Go program(s) built before Go 1.16 then ask DNS first: %s"
                % (state, len(old_go), ", ".join("%s (%s)" % (b.get("path"), b.get("go_version")) for b in old_go[:3])),
                evidence + resolution_evidence(facts),
                "Go's own resolver (used by statically linked Kubernetes components, etcd and CNI plugins) read a "
                "missing nsswitch.conf as `hosts: dns files` before Go 1.16: `localhost` goes to the nameservers "
                "first, the cause of kube-apiserver's `dial tcp: i/o timeout` on localhost.",
                "Create /etc/nsswitch.conf with `hosts: files dns` (in the image, or on the host), or rebuild the programs with Go 1.16 or later.",
            )
        ]
    if ns.get("dns_before_files"):
        return [
            Finding(
                "dns-before-files",
                "error",
                host,
                "/etc/nsswitch.conf is %s and %s then asks DNS first" % (state, libc_text),
                evidence + ["glibc < 2.35 default: hosts: dns [!UNAVAIL=return] files"] + resolution_evidence(facts),
                why,
                "Create /etc/nsswitch.conf with `hosts: files dns`.",
            )
        ]
    return [
        Finding(
            "dns-before-files",
            "warning",
            host,
            "/etc/nsswitch.conf is %s: Go programs built before Go 1.16 ask DNS before /etc/hosts" % state,
            evidence + ["libc default order: %s" % " ".join(ns.get("libc_default_sources") or ["unknown"])],
            "Statically linked Go binaries (Kubernetes components, etcd, CNI plugins) do not use libc; before "
            "Go 1.16 they treated a missing nsswitch.conf as DNS first, the cause of kube-apiserver's "
            "`dial tcp: i/o timeout` on localhost.",
            "Create /etc/nsswitch.conf with `hosts: files dns` so every resolver agrees.",
        )
    ]
