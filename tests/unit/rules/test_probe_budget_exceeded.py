"""F5: the RTT measurement against real local servers, and the startup model."""

import http.server
import socket
import threading
import time

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import rtt
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules

from helpers import host_facts


class Health(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as calico's client uses

    def do_GET(self):
        body = b'{"health":"true"}'
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()


def test_measure_a_real_endpoint(server):
    [result] = rtt.measure_all([server], samples=4, timeout=1.0, budget=5.0)
    assert result["http_status"] == 200 and result["path"] == "/health"
    assert len(result["connect"]["samples_ms"]) == 4 and len(result["request"]["samples_ms"]) == 4
    assert 0 < result["request"]["median_ms"] <= result["request"]["worst_ms"]
    assert result["errors"] == []


def test_unreachable_endpoint_is_bounded_and_reported():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    start = time.monotonic()
    [result] = rtt.measure_all(["http://127.0.0.1:%d" % port, "ftp://x"], samples=3, timeout=0.5, budget=2.0)[:1]
    assert time.monotonic() - start < 3
    assert result["request"]["median_ms"] is None
    assert any("Connection refused" in e for e in result["errors"])
    assert rtt.measure("ftp://x")["error"] == "endpoint 'ftp://x' is not an http(s) URL"


def with_rtt(facts, median, worst):
    facts["datastore_rtt"] = [
        {"url": "http://10.0.0.1:2379", "connect": {"median_ms": median / 2}, "request": {"median_ms": median, "worst_ms": worst, "samples_ms": [median] * 5}}
    ]
    return facts


def test_far_node_exceeds_the_incident_budget(tmp_path):
    far = with_rtt(host_facts(tmp_path / "far", "debian12"), 250.0, 260.0)
    near = with_rtt(host_facts(tmp_path / "near", "debian12"), 1.0, 2.0)
    result = rules.evaluate({"far": far, "near": near}, {"cluster_nodes": 53})
    [finding] = result["hosts"]["far"]["findings"]
    assert finding["id"] == "probe-budget-exceeded" and finding["severity"] == "error"
    assert "predicted startup = 53 nodes x 6 requests x 250.0 ms = 79.5 s (worst samples: 82.7 s)" in finding["evidence"]
    assert "liveness budget = initialDelaySeconds 10 + failureThreshold 6 x periodSeconds 10 = 70 s" in finding["evidence"]
    rec = finding["data"]["recommended"]
    assert rec["needed_s"] == 119.2 and rec["failureThreshold"] == 11 and rec["budget_s"] == 120
    assert rec["budget_s"] >= finding["data"]["predicted_s"] * 1.5
    assert "startupProbe" in finding["fix"] and "kubectl -n kube-system patch ds calico-node" in finding["fix"]
    assert result["hosts"]["near"]["findings"] == []


def test_only_worst_samples_over_budget_is_a_warning(tmp_path):
    facts = with_rtt(host_facts(tmp_path, "debian12"), 200.0, 300.0)
    [finding] = rules.evaluate({"h": facts}, {"cluster_nodes": 53})["hosts"]["h"]["findings"]
    assert finding["severity"] == "warning"


def test_fleet_size_is_the_default_node_count(tmp_path):
    facts = with_rtt(host_facts(tmp_path, "debian12"), 250.0, 260.0)
    assert rules.evaluate({"h": facts})["hosts"]["h"]["findings"] == []  # 1 node x 6 x 0.25 s
