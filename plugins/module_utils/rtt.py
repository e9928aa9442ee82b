# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure round trips from this host to datastore / API endpoints (fault F5).

Standard library only (runs on managed hosts). Two measurements per
endpoint: the TCP connect time (fresh connections) and the time of one
request on a kept-alive connection (what calico-node's sequential etcd GETs
each cost). Every measurement is bounded by a per-request timeout and the
whole run by a total budget, so an unreachable endpoint cannot stall a play.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import time
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

DEFAULT_PATH = "/health"


def _median(values):
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def _summary(samples):
    return {
        "samples_ms": [round(v, 2) for v in samples],
        "median_ms": round(_median(samples), 2) if samples else None,
        "worst_ms": round(max(samples), 2) if samples else None,
    }


def normalise(endpoint):
    """'https://10.0.0.1:2379' or {url, ca, cert, key, insecure} -> dict with parsed parts."""
    spec = dict(endpoint) if isinstance(endpoint, dict) else {"url": str(endpoint)}
    parts = urlsplit(spec["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("endpoint %r is not an http(s) URL" % spec["url"])
    spec["scheme"] = parts.scheme
    spec["host"] = parts.hostname
    spec["port"] = parts.port or (443 if parts.scheme == "https" else 80)
    spec["path"] = parts.path if parts.path not in ("", "/") else DEFAULT_PATH
    return spec


def _context(spec):
    context = ssl.create_default_context(cafile=spec.get("ca"))
    if spec.get("cert"):
        context.load_cert_chain(spec["cert"], spec.get("key"))
    if spec.get("insecure"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def measure(endpoint, samples=5, timeout=2.0, deadline=None):
    """Connect and request samples for one endpoint; errors are recorded, never raised."""
    deadline = deadline if deadline is not None else time.monotonic() + samples * timeout * 2
    try:
        spec = normalise(endpoint)
    except (ValueError, KeyError, TypeError) as exc:
        return {"url": str(endpoint), "error": str(exc)}
    result = {"url": spec["url"], "path": spec["path"], "errors": []}
    connects = []
    for _sample in range(samples):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result["truncated"] = True
            break
        start = time.monotonic()
        try:
            sock = socket.create_connection((spec["host"], spec["port"]), timeout=min(timeout, remaining))
            connects.append((time.monotonic() - start) * 1000)
            sock.close()
        except (OSError, socket.timeout) as exc:
            result["errors"].append("connect: %s" % exc)
    result["connect"] = _summary(connects)
    requests = []
    status = None
    conn = None
    try:
        if spec["scheme"] == "https":
            conn = HTTPSConnection(spec["host"], spec["port"], timeout=timeout, context=_context(spec))
        else:
            conn = HTTPConnection(spec["host"], spec["port"], timeout=timeout)
        for index in range(samples + 1):
            if deadline - time.monotonic() <= 0:
                result["truncated"] = True
                break
            start = time.monotonic()
            conn.request("GET", spec["path"], headers={"Connection": "keep-alive"})
            response = conn.getresponse()
            response.read()
            status = response.status
            if index > 0:  # the first request also pays connect (and TLS); it is not a round trip
                requests.append((time.monotonic() - start) * 1000)
    except (OSError, socket.timeout, ssl.SSLError, ValueError, HTTPException) as exc:
        result["errors"].append("request: %s: %s" % (type(exc).__name__, exc))
    finally:
        if conn is not None:
            conn.close()
    result["request"] = _summary(requests)
    result["http_status"] = status
    return result


def measure_all(endpoints, samples=5, timeout=2.0, budget=20.0):
    """Measure every endpoint within ``budget`` seconds in total."""
    deadline = time.monotonic() + budget
    return [measure(endpoint, samples, timeout, deadline) for endpoint in endpoints]
