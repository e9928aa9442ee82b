"""proxy-not-excluded on real test hosts: containerd's drop-in sets HTTPS_PROXY to a proxy the test runs on the switch.
A Go client using http.ProxyFromEnvironment, run inside the host with the drop-in's environment, sends its request
for https://10.96.0.1 to the proxy (the proxy logs CONNECT 10.96.0.1:443); the audit names the rule with the file
and the Service CIDR; with the NO_PROXY line the finding gives written into the drop-in, the same client connects
directly (the proxy logs nothing) and the audit is clean."""

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from conftest import VENV_BIN, ansible_env, load_report

RULE = "proxy-not-excluded"
DROP_IN = "/etc/systemd/system/containerd.service.d/http-proxy.conf"
UNIT = "/etc/systemd/system/containerd.service"
# A proxy that logs each request line (CONNECT or GET) and answers 502: nothing leaves the switch.
PROXY = r"""
import socket, sys, threading
log = open(sys.argv[2], "a", buffering=1)
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 3128)); srv.listen(16)
print("up", flush=True)
def serve(conn):
    with conn:
        data = b""
        while b"\r\n" not in data and len(data) < 4096:
            chunk = conn.recv(1024)
            if not chunk:
                return
            data += chunk
        log.write(data.split(b"\r\n", 1)[0].decode("latin-1") + "\n")
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
while True:
    conn, _addr = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""
# The Go client: the proxy ProxyFromEnvironment picks for the URL, then the request through a Transport using it.
MAIN_GO = """package main

import (
    "crypto/tls"
    "fmt"
    "net/http"
    "os"
    "time"
)

func main() {
    req, _ := http.NewRequest("GET", os.Args[1], nil)
    proxy, err := http.ProxyFromEnvironment(req)
    fmt.Printf("proxy=%v err=%v\\n", proxy, err)
    client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
        Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
    resp, err := client.Do(req)
    if err != nil {
        fmt.Printf("error=%v\\n", err)
        return
    }
    fmt.Printf("status=%d\\n", resp.StatusCode)
}
"""


def build_client(tmp):
    """main.go built offline (standard library only), its caches in a temporary directory."""
    go = shutil.which("go")
    assert go, "golang-go is required (make test installs it)"
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    with open(os.path.join(src, "main.go"), "w") as handle:
        handle.write(MAIN_GO)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tmp,
        "GOCACHE": os.path.join(tmp, "cache"),
        "GOPATH": os.path.join(tmp, "gopath"),
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "GO111MODULE": "off",
        "CGO_ENABLED": "0",
    }
    binary = os.path.join(tmp, "proxyclient")
    subprocess.run([go, "build", "-o", binary, "main.go"], cwd=src, env=env, check=True, timeout=300)
    return binary


def unit_environment(fleet, host):
    """The Environment= assignments of the drop-in, as systemd would hand them to containerd."""
    env = {}
    for line in fleet.exec(host, ["cat", DROP_IN]).stdout.splitlines():
        if line.startswith("Environment="):
            for word in shlex.split(line[len("Environment=") :]):
                name, _sep, value = word.partition("=")
                env[name] = value
    return env


def run_client(fleet, host, env):
    """The client inside the host (its network namespace, its /root) with exactly ``env`` (and PATH)."""
    args = ["env", "-i", "PATH=/usr/bin:/bin"] + ["%s=%s" % item for item in sorted(env.items())] + ["/root/proxyclient", "https://10.96.0.1"]
    return fleet.exec(host, args, timeout=60).stdout


def audit(fleet, work):
    inventory = os.path.join(fleet.state_dir, "inventory.ini")
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "kubeprep.hostnet.audit", "-i", inventory, "-e", "hostnet_report_dir=report"],
        cwd=str(work),
        env=ansible_env(fleet),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=600,
        check=False,
    )
    return proc, load_report(os.path.join(str(work), "report"))


def wait_for_lines(path, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as handle:
            lines = handle.read().splitlines()
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    with open(path) as handle:
        return handle.read().splitlines()


def findings(report, host):
    return [f for f in report["hosts"][host]["findings"] if f["id"] == RULE]


@pytest.fixture(scope="module")
def proxied(make_fleet, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("proxy"))
    binary = build_client(tmp)
    fleet = make_fleet(["proxied", "direct"])
    st = fleet.state
    proxy_url = "http://%s:3128" % st["gateway"]
    log = os.path.join(tmp, "proxy.log")
    open(log, "w").close()
    proxy = subprocess.Popen(
        ["ip", "netns", "exec", st["switch_ns"], sys.executable, "-c", PROXY, st["gateway"], log], stdout=subprocess.PIPE, universal_newlines=True
    )
    try:
        assert proxy.stdout.readline().strip() == "up"
        shutil.copy(binary, os.path.join(fleet.host("proxied")["dir"], "root", "proxyclient"))  # the host's private /root
        fleet.exec("proxied", ["sh", "-c", "mkdir -p %s.d && cat > %s" % (UNIT, UNIT)], input_text="[Service]\nExecStart=/usr/bin/containerd\n")
        fleet.exec("proxied", ["sh", "-c", "cat > %s" % DROP_IN], input_text='[Service]\nEnvironment="HTTPS_PROXY=%s"\n' % proxy_url)
        seen = {"proxy_url": proxy_url, "nodes": [h["address"] for h in fleet.hosts]}
        # The symptom: the Go client with containerd's environment asks the proxy for the Service IP.
        seen["env_before"] = unit_environment(fleet, "proxied")
        seen["client_before"] = run_client(fleet, "proxied", seen["env_before"])
        seen["log_before"] = wait_for_lines(log, 1)
        # The audit, as the README runs it.
        seen["proc"], seen["report"] = audit(fleet, tmp_path_factory.mktemp("audit-before"))
        (finding,) = findings(seen["report"], "proxied")
        seen["finding"] = finding
        # The fix the finding gives: its NO_PROXY line in the file it names.
        assert finding["data"]["file"] == DROP_IN
        line = finding["fix"].split("`")[1]
        fleet.exec("proxied", ["sh", "-c", "cat >> %s" % DROP_IN], input_text=line + "\n")
        open(log, "w").close()
        seen["env_after"] = unit_environment(fleet, "proxied")
        seen["client_after"] = run_client(fleet, "proxied", seen["env_after"])
        seen["log_after"] = wait_for_lines(log, 1, timeout=2.0)
        seen["proc_after"], seen["report_after"] = audit(fleet, tmp_path_factory.mktemp("audit-after"))
    finally:
        proxy.kill()
        proxy.wait()
    return seen


def test_the_go_client_goes_to_the_proxy_then_the_audit_names_it(proxied):
    assert proxied["env_before"] == {"HTTPS_PROXY": proxied["proxy_url"]}
    assert "proxy=%s err=<nil>" % proxied["proxy_url"] in proxied["client_before"], proxied["client_before"]
    assert proxied["log_before"] == ["CONNECT 10.96.0.1:443 HTTP/1.1"], proxied["log_before"]
    assert proxied["proc"].returncode != 0  # an error fails the audit by default
    finding = proxied["finding"]
    assert finding["severity"] == "error"
    assert "containerd: HTTPS_PROXY=%s (%s:2) is used for https:// requests" % (proxied["proxy_url"], DROP_IN) in finding["evidence"]
    assert "not excluded: 10.96.0.0/12 (Service CIDR)" in finding["evidence"]
    for address in proxied["nodes"]:
        assert any(e.startswith("not excluded: %s (node " % address) for e in finding["evidence"]), finding["evidence"]
    assert "[ERROR %s] proxied: containerd sends requests for 10.96.0.0/12" % RULE in proxied["proc"].stdout
    assert not findings(proxied["report"], "direct")


def test_with_the_findings_no_proxy_line_the_client_connects_directly(proxied):
    expected = ",".join(["localhost", "127.0.0.1", "10.96.0.0/12", "10.244.0.0/16"] + sorted(proxied["nodes"]))
    assert proxied["finding"]["data"]["no_proxy"] == expected
    assert proxied["env_after"] == {"HTTPS_PROXY": proxied["proxy_url"], "NO_PROXY": expected}
    assert "proxy=<nil> err=<nil>" in proxied["client_after"], proxied["client_after"]
    assert proxied["log_after"] == [], proxied["log_after"]  # the proxy saw nothing
    assert not findings(proxied["report_after"], "proxied") and not findings(proxied["report_after"], "direct")
