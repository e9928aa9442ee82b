"""Rule proxy-not-excluded: NO_PROXY judged as Go's httpproxy judges it, against the fleet's CIDRs, node addresses
and control-plane endpoint; the NO_PROXY line the finding gives clears it; a proxy on one side only."""

import copy
import ipaddress
import os

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import proxyenv
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs, rules
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules import proxy_not_excluded as rule

from helpers import fleet

RULE = "proxy-not-excluded"
DROP_IN = "/etc/systemd/system/containerd.service.d/http-proxy.conf"
UNIT = "/lib/systemd/system/containerd.service"
NODES = "192.168.56.11,192.168.56.12,192.168.56.13"  # helpers.fleet: each node's eth1, the recommended address
FULL = "localhost,127.0.0.1,10.96.0.0/12,10.244.0.0/16," + NODES


def proxy_env(tmp_path, files, name="root"):
    root = tmp_path / name
    for path, text in files.items():
        full = os.path.join(str(root), path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)
    return proxyenv.gather(str(root))


def containerd(*assignments):
    return {UNIT: "[Service]\nExecStart=/usr/bin/containerd\n", DROP_IN: "[Service]\n" + "".join("Environment=%s\n" % a for a in assignments)}


def judged(tmp_path, files, **options):
    nodes = fleet(tmp_path)
    nodes["node1"]["proxy_env"] = proxy_env(tmp_path, files)
    result = rules.evaluate(nodes, options)
    found = {host: [f for f in data["findings"] if f["id"] == RULE] for host, data in result["hosts"].items()}
    assert not found["node2"] and not found["node3"], found
    return found["node1"]


def test_a_runtime_proxy_without_no_proxy_names_every_address_and_the_exact_line(tmp_path):
    (finding,) = judged(tmp_path, containerd('"HTTPS_PROXY=http://ops:pa55@10.0.0.3:3128"'))
    assert finding["severity"] == "error"
    assert finding["message"] == (
        "containerd sends requests for 10.96.0.0/12, 10.244.0.0/16, 192.168.56.11, 192.168.56.12 and 1 more to its proxy "
        "http://ops:REDACTED@10.0.0.3:3128: no NO_PROXY is set"
    )
    assert finding["evidence"] == [
        "containerd: HTTPS_PROXY=http://ops:REDACTED@10.0.0.3:3128 (%s:2) is used for https:// requests" % DROP_IN,
        "containerd: no NO_PROXY or no_proxy is set",
        "not excluded: 10.96.0.0/12 (Service CIDR)",
        "not excluded: 10.244.0.0/16 (Pod CIDR)",
        "not excluded: 192.168.56.11 (node node1's address)",
        "not excluded: 192.168.56.12 (node node2's address)",
        "not excluded: 192.168.56.13 (node node3's address)",
    ]
    assert finding["fix"] == (
        'In %s (line 2) set NO_PROXY to the cluster\'s addresses: `Environment="NO_PROXY=%s"`, then run '
        "`systemctl daemon-reload && systemctl restart containerd`." % (DROP_IN, FULL)
    )
    assert finding["data"]["no_proxy"] == FULL
    assert "pa55" not in str(finding)


def test_the_line_the_finding_gives_clears_it_and_keeps_the_sites_entries(tmp_path):
    (finding,) = judged(tmp_path, containerd("HTTPS_PROXY=http://10.0.0.3:3128", "NO_PROXY=.corp.example,10.96.0.0/12"))
    assert finding["data"]["uncovered"] == ["10.244.0.0/16", "192.168.56.11", "192.168.56.12", "192.168.56.13"]
    assert finding["data"]["no_proxy"] == FULL + ",.corp.example"
    assert judged(tmp_path / "after", containerd("HTTPS_PROXY=http://10.0.0.3:3128", "NO_PROXY=" + finding["data"]["no_proxy"])) == []


@pytest.mark.parametrize(
    "no_proxy, uncovered",
    [
        ("*", []),
        ("10.0.0.0/8, 192.168.0.0/16", []),  # trimmed; a wider CIDR covers
        ("10.96.0.0/12,10.244.0.0/16,192.168.56.0/24", []),
        ("10.96.0.0/13,10.104.0.0/13,10.244.0.0/16,192.168.56.0/24", ["10.96.0.0/12"]),  # two halves are not one entry
        ("10.96.0.1,10.244.0.0/16,192.168.56.0/24", ["10.96.0.0/12"]),  # the address, not the CIDR
        ("10.96.0.0/12:443,10.244.0.0/16,192.168.56.0/24", ["10.96.0.0/12"]),  # a CIDR with a port is a name to Go
        ("10.96.0.5/12,10.244.0.0/16,192.168.56.11,192.168.56.12:6443,192.168.56.13", ["192.168.56.12"]),  # a port: that port only
        ("10.96.0.0/12,10.244.0.0/16,.56.168.192.in-addr.arpa,192.168.56.0", ["192.168.56.11", "192.168.56.12", "192.168.56.13"]),
        ("::/0,10.96.0.0/12,10.244.0.0/16", ["192.168.56.11", "192.168.56.12", "192.168.56.13"]),  # another family
    ],
)
def test_no_proxy_judged_as_go_judges_it(tmp_path, no_proxy, uncovered):
    found = judged(tmp_path, containerd("HTTPS_PROXY=http://10.0.0.3:3128", '"NO_PROXY=%s"' % no_proxy))
    assert [f["data"]["uncovered"] for f in found] == ([uncovered] if uncovered else [])


def test_go_matchers_for_names_ports_and_loopback():
    empty = rule.NoProxy("")
    assert empty.excludes_ip(ipaddress.ip_address("127.0.0.1")) and empty.excludes_ip(ipaddress.ip_address("::1"))
    assert empty.excludes_name("LOCALHOST", "6443") and not empty.excludes_ip(ipaddress.ip_address("10.96.0.1"))
    for entry, port, covered in [
        ("example.com", "6443", True),
        (".example.com", "6443", True),
        ("*.example.com", "6443", True),
        ("api.example.com:6443", "6443", True),
        ("api.example.com:443", "6443", False),
        (".api.example.com", "6443", False),  # a leading dot: subdomains only
        ("EXAMPLE.COM", "6443", True),
        ("ample.com", "6443", False),
        ("[::1]:80,example.org", "6443", False),
    ]:
        assert bool(rule.NoProxy(entry).excludes_name("api.example.com", port)) is covered, entry
    assert not rule.NoProxy("10.0.0.0/8").excludes_name("api.example.com", "6443")
    assert not rule.NoProxy("example.com").excludes_ip(ipaddress.ip_address("10.96.0.1"))  # names never match IPs
    assert rule.NoProxy("[fd00::1]:6443").excludes_ip(ipaddress.ip_address("fd00::1"), "6443")
    assert rule.split_host_port("a:b:c") is None and rule.split_host_port("[::1]:6443") == ("::1", "6443")


def test_upper_case_wins_and_the_hidden_lower_case_is_named(tmp_path):
    (finding,) = judged(tmp_path, containerd("HTTPS_PROXY=http://10.0.0.3:3128", "NO_PROXY=.svc", "no_proxy=" + FULL))
    assert finding["data"]["variable"] == "NO_PROXY"
    assert "no_proxy=%s (%s:4) is ignored: Go reads NO_PROXY first" % (FULL, DROP_IN) in finding["evidence"]
    # An empty upper-case variable is unset to Go: the lower-case one is used.
    assert judged(tmp_path / "empty", containerd("https_proxy=http://10.0.0.3:3128", "NO_PROXY=", "no_proxy=" + FULL)) == []


def test_http_proxy_counts_for_http_requests_and_request_method_refuses_them(tmp_path):
    (finding,) = judged(tmp_path, containerd("HTTP_PROXY=http://10.0.0.3:3128"))
    assert finding["evidence"][0] == "containerd: HTTP_PROXY=http://10.0.0.3:3128 (%s:2) is used for http:// requests" % DROP_IN
    (cgi,) = judged(tmp_path / "cgi", containerd("HTTP_PROXY=http://10.0.0.3:3128", "NO_PROXY=" + FULL, "REQUEST_METHOD=GET"))
    assert cgi["message"] == "containerd's environment sets REQUEST_METHOD: Go refuses its http:// requests while HTTP_PROXY is set"
    assert cgi["fix"].endswith("Remove REQUEST_METHOD from containerd (%s:4)." % DROP_IN)
    # With HTTPS_PROXY only, REQUEST_METHOD changes nothing.
    assert judged(tmp_path / "https", containerd("HTTPS_PROXY=http://10.0.0.3:3128", "NO_PROXY=" + FULL, "REQUEST_METHOD=GET")) == []


def test_control_plane_endpoint_option(tmp_path):
    files = containerd("HTTPS_PROXY=http://10.0.0.3:3128", "NO_PROXY=%s,.example.com:443" % FULL)
    (finding,) = judged(tmp_path, files, control_plane_endpoint="lb.example.com:8443")
    assert finding["data"]["uncovered"] == ["lb.example.com:8443"]
    assert "not excluded: lb.example.com:8443 (the control-plane endpoint (port 8443))" in finding["evidence"]
    assert finding["message"].endswith("to its proxy http://10.0.0.3:3128: NO_PROXY does not exclude them")
    assert finding["data"]["no_proxy"] == FULL + ",lb.example.com,.example.com:443"
    assert judged(tmp_path / "ok", files, control_plane_endpoint="lb.example.com:443") == []
    assert judged(tmp_path / "ip", files, control_plane_endpoint="192.168.56.11") == []


def test_login_environment_lines_as_their_files_take_them(tmp_path):
    (finding,) = judged(tmp_path, {"/etc/profile.d/proxy.sh": "export https_proxy=http://10.0.0.3:3128\n"})
    assert finding["message"].startswith("root's login environment sends requests for 10.96.0.0/12, 10.244.0.0/16")
    assert finding["message"].endswith("to its proxy http://10.0.0.3:3128: no NO_PROXY is set")
    assert "`export NO_PROXY=%s`, then log in again" % FULL in finding["fix"]
    (env,) = judged(tmp_path / "env", {"/etc/environment": "https_proxy=http://10.0.0.3:3128\nno_proxy=localhost\n"})
    assert "In /etc/environment (line 2) set no_proxy to the cluster's addresses: `no_proxy=%s`" % FULL in env["fix"]


def test_a_proxy_on_one_side_only(tmp_path):
    kubelet = {
        "/lib/systemd/system/kubelet.service": "[Service]\nEnvironmentFile=-/etc/default/kubelet\n",
        "/etc/default/kubelet": "HTTPS_PROXY=http://p:3128\nNO_PROXY=%s\n" % FULL,
    }
    (finding,) = judged(tmp_path, dict(kubelet, **{UNIT: "[Service]\n"}))
    assert finding["message"] == "kubelet has an HTTP(S) proxy and containerd has none"
    assert finding["evidence"] == [
        "kubelet: HTTPS_PROXY=http://p:3128 (/etc/default/kubelet:1)",
        "containerd: no HTTP_PROXY or HTTPS_PROXY in its unit, drop-ins or environment files",
    ]
    assert "/etc/systemd/system/containerd.service.d/http-proxy.conf" in finding["fix"]
    (reverse,) = judged(
        tmp_path / "reverse", dict(containerd("HTTPS_PROXY=http://p:3128", "NO_PROXY=" + FULL), **{"/lib/systemd/system/kubelet.service": "[Service]\n"})
    )
    assert reverse["message"] == "containerd has an HTTP(S) proxy and kubelet has none"
    # Both with the proxy, or kubelet not installed yet: nothing to compare.
    assert judged(tmp_path / "both", dict(kubelet, **containerd("HTTPS_PROXY=http://p:3128", "NO_PROXY=" + FULL))) == []
    assert judged(tmp_path / "no-kubelet", containerd("HTTPS_PROXY=http://p:3128", "NO_PROXY=" + FULL)) == []


def test_no_proxy_anywhere_and_old_facts_are_clean(tmp_path):
    assert judged(tmp_path, {UNIT: "[Service]\nEnvironment=GOGC=50\n", "/etc/profile": "export PATH=/usr/bin\n"}) == []
    nodes = fleet(tmp_path / "old")
    assert not [f for d in rules.evaluate(nodes)["hosts"].values() for f in d["findings"] if f["id"] == RULE]


@pytest.mark.parametrize("value", ["lb.example.com", "lb.example.com:8443", "10.0.0.5", "[fd00::5]:6443", "fd00::5", ""])
def test_endpoint_input_accepted(value):
    assert inputs.normalise("hostnet_control_plane_endpoint", value, inputs.spec_of("hostnet_control_plane_endpoint")) == value


@pytest.mark.parametrize("value", ["lb.example.com:0", "lb example.com", "lb.example.com:http", "https://lb.example.com", "[fd00::5]", "a,b"])
def test_endpoint_input_refused_with_the_variable_named(value):
    with pytest.raises(inputs.InputError, match="hostnet_control_plane_endpoint"):
        inputs.normalise("hostnet_control_plane_endpoint", value, inputs.spec_of("hostnet_control_plane_endpoint"))


def test_a_large_fleet_names_32_node_addresses_and_gives_the_nodes_subnets(tmp_path):
    nodes = {}
    base = fleet(tmp_path, count=1)["node1"]
    for index in range(1, 41):  # 40 nodes on 192.168.56.0/24 (eth1, the recommended interface; eth0 the shared NAT address)
        facts = copy.deepcopy(base)
        for iface in facts["interfaces"]["list"]:
            if iface["name"] == "eth1":
                iface["addresses"][0]["address"] = "192.168.56.%d" % (100 + index)
        facts["identity"] = dict(facts["identity"], hostname="n%02d" % index, machine_id="%032x" % index)
        nodes["n%02d" % index] = facts
    nodes["n01"]["proxy_env"] = proxy_env(tmp_path, containerd("HTTPS_PROXY=http://10.0.0.3:3128", "NO_PROXY=10.96.0.0/12,10.244.0.0/16,192.168.56.101"))
    (finding,) = [f for f in rules.evaluate(nodes)["hosts"]["n01"]["findings"] if f["id"] == RULE]
    assert finding["data"]["uncovered"] == ["192.168.56.%d" % i for i in range(102, 134)]  # the first 32 left to the proxy
    assert finding["data"]["uncovered_more"] == 7
    assert "not excluded: 7 more node addresses (40 nodes in all)" in finding["evidence"]
    assert finding["message"].startswith("containerd sends requests for 192.168.56.102, 192.168.56.103, 192.168.56.104, 192.168.56.105 and 35 more")
    assert finding["data"]["no_proxy"] == "localhost,127.0.0.1,10.96.0.0/12,10.244.0.0/16,192.168.56.0/24,192.168.56.101"
