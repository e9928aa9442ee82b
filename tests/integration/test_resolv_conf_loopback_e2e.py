"""resolv-conf-loopback-nameserver on a real test host: the resolv.conf kubelet hands to pods lists 127.0.0.53.

A DNS forwarder standing in for CoreDNS (dnsmasq, configured from that file as CoreDNS's `forward .
/etc/resolv.conf` is from the copy kubelet gives its pod) runs in a "pod" network namespace behind the host
(a veth, routed by the host, as a CNI does). It forwards to 127.0.0.53, its own loopback, where nothing
listens: a real query from the pod namespace times out and glibc's getent there fails. The README's audit
command names the file and the nameserver. Then the fix the finding gives for kubeadm (kubelet's config
`resolvConf:` pointing at a file with the real upstream, found through `--config` in a kubeadm-style
drop-in): the forwarder restarted from that file answers, and the audit finds nothing. Given the old file
with `-e hostnet_kubelet_resolv_conf=/etc/resolv.conf` (an installer's value), the audit judges that file."""

import json
import os
import shutil
import subprocess
import time

import pytest

import testhosts
from conftest import COLLECTIONS, VENV_BIN, ansible_env, load_report, run_module

NAME = "api.upstream.example"
RULE = "resolv-conf-loopback-nameserver"
POD_NET = "10.244.77"
POD_IP = POD_NET + ".2"
DROPIN = (
    "[Service]\n"
    'Environment="KUBELET_CONFIG_ARGS=--config=/etc/kubernetes/kubelet-config.yaml"\n'
    "ExecStart=\n"
    "ExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_EXTRA_ARGS\n"
)
KUBELET_CONFIG = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDNS:\n- 10.96.0.10\nresolvConf: /etc/kubernetes/resolv.conf\n"
# The pod's own clients: glibc's getent with the pod's resolv.conf listing the forwarder (as kubelet lists
# CoreDNS's Service IP), in a private mount namespace; and one raw A query, which says whether it timed out.
GETENT = (
    'unshare --mount sh -c \'printf "nameserver %s\\noptions timeout:2 attempts:1\\n" "$1" > "$3"'
    ' && mount --bind "$3" /etc/resolv.conf && exec getent hosts "$2"\' sh "$1" "$2" "$3"'
)
QUERY = (
    "import json, sys\n"
    "from ansible_collections.kubeprep.hostnet.plugins.module_utils.dnsquery import query_a\n"
    "print(json.dumps(query_a(sys.argv[1], sys.argv[2], 4.0)))\n"
)


def audit(fleet, work, *extra):
    inventory = os.path.join(fleet.state_dir, "inventory.ini")
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "kubeprep.hostnet.audit", "-i", inventory, "-e", "hostnet_report_dir=report"] + list(extra),
        cwd=str(work),
        env=ansible_env(fleet),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=600,
        check=False,
    )
    return proc, load_report(str(work / "report"))


class Pod:
    """A network namespace behind the host (veth pod0 on the host, eth0 here) and a forwarder in it."""

    def __init__(self, fleet, host, tmp):
        st = fleet.state
        self.ns = "%s%dn9" % (testhosts.PREFIX, st["slot"])  # testhosts.py down --all removes it too
        self.host = fleet.host(host)
        self.switch = st["switch_ns"]
        self.tmp = tmp
        self.forwarder = None
        testhosts.run(["ip", "netns", "add", self.ns])
        testhosts.run(["ip", "-n", self.host["ns"], "link", "add", "pod0", "type", "veth", "peer", "name", "eth0", "netns", self.ns])
        testhosts.ns_sh(self.host["ns"], "ip addr add {n}.1/24 dev pod0; ip link set pod0 up; echo 1 > /proc/sys/net/ipv4/ip_forward".format(n=POD_NET))
        testhosts.ns_sh(
            self.ns, "ip link set lo up; ip addr add {ip}/24 dev eth0; ip link set eth0 up; ip route add default via {n}.1".format(ip=POD_IP, n=POD_NET)
        )
        # The switch routes the pod network back through the node, as a CNI's routes do.
        testhosts.run(["ip", "-n", self.switch, "route", "add", POD_NET + ".0/24", "via", self.host["address"]])

    def start_forwarder(self, resolv_text, tag):
        """dnsmasq as CoreDNS: its upstreams are the nameservers of the file kubelet hands its pod."""
        self.stop_forwarder()
        path = os.path.join(self.tmp, "pod-resolv-%s.conf" % tag)
        with open(path, "w") as handle:
            handle.write(resolv_text)
        self.forwarder = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.ns,
                "dnsmasq",
                "--user=root",  # the file is in pytest's private (0700) directory; dnsmasq's own user could not read it
                "--keep-in-foreground",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=" + POD_IP,
                "--resolv-file=" + path,
                "--pid-file=",
                "--log-facility=-",
                "--log-queries",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )
        deadline = time.monotonic() + 10
        while POD_IP + ":53 " not in self.run(["ss", "-Hlun", "sport", "=", "53"]).stdout and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop_forwarder(self):
        if self.forwarder is not None:
            self.forwarder.terminate()
            _out, err = self.forwarder.communicate(timeout=10)
            self.forwarder = None
            return err
        return ""

    def run(self, args, timeout=60):
        return subprocess.run(
            ["ip", "netns", "exec", self.ns] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, check=False
        )

    def lookups(self):
        """What the pod's clients get for NAME from the forwarder."""
        getent = self.run(["sh", "-c", GETENT, "sh", POD_IP, NAME, os.path.join(self.tmp, "client-resolv.conf")])
        query = self.run(["env", "PYTHONPATH=" + COLLECTIONS, testhosts.PYTHON, "-c", QUERY, NAME, POD_IP])
        return {"getent": getent, "query": json.loads(query.stdout) if query.returncode == 0 else {"status": "client failed", "error": query.stderr}}

    def close(self):
        err = self.stop_forwarder()
        testhosts.run(["ip", "-n", self.switch, "route", "del", POD_NET + ".0/24"], check=False)
        testhosts.kill_namespaces([self.ns])
        testhosts.run(["ip", "-n", self.host["ns"], "link", "del", "pod0"], check=False)
        return err


@pytest.fixture(scope="module")
def loopback(make_fleet, tmp_path_factory):
    assert shutil.which("dnsmasq"), "Debian's dnsmasq-base is required (make test installs it)"
    fleet = make_fleet(["node"])
    st = fleet.state
    answer = st["subnet"].rsplit(".", 1)[0] + ".250"
    tmp = str(tmp_path_factory.mktemp("resolv-loopback"))
    # The real upstream: a dnsmasq on the switch, at the gateway's address, that knows NAME.
    upstream = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            st["switch_ns"],
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=" + st["gateway"],
            "--host-record=%s,%s" % (NAME, answer),
            "--pid-file=",
            "--log-facility=-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pod = None
    try:
        pod = Pod(fleet, "node", tmp)
        # The host as Ubuntu leaves it: /etc/resolv.conf is systemd-resolved's stub, 127.0.0.53.
        fleet.exec("node", ["sh", "-c", "cat > /etc/resolv.conf"], input_text="nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n")
        seen = {"answer": answer, "upstream": st["gateway"]}
        seen["before_file"] = fleet.exec("node", ["cat", "/etc/resolv.conf"]).stdout  # no kubelet config: kubelet's default
        pod.start_forwarder(seen["before_file"], "before")
        seen["before"] = pod.lookups()
        seen["before"]["forwarder_log"] = pod.stop_forwarder()
        work = tmp_path_factory.mktemp("audit-before")
        seen["audit_before"] = audit(fleet, work)
        # The fix the finding gives for kubeadm: resolvConf in kubelet's config, a file listing the real upstream.
        fleet.exec("node", ["mkdir", "-p", "/etc/kubernetes", "/etc/systemd/system/kubelet.service.d"])
        fleet.exec("node", ["sh", "-c", "cat > /etc/kubernetes/resolv.conf"], input_text="nameserver %s\n" % st["gateway"])
        fleet.exec("node", ["sh", "-c", "cat > /etc/kubernetes/kubelet-config.yaml"], input_text=KUBELET_CONFIG)
        fleet.exec("node", ["sh", "-c", "cat > /etc/systemd/system/kubelet.service.d/10-kubeadm.conf"], input_text=DROPIN)
        seen["after_file"] = fleet.exec("node", ["cat", "/etc/kubernetes/resolv.conf"]).stdout
        pod.start_forwarder(seen["after_file"], "after")
        seen["after"] = pod.lookups()
        pod.stop_forwarder()
        seen["audit_after"] = audit(fleet, tmp_path_factory.mktemp("audit-after"))
        seen["facts_after"] = run_module(fleet, "node", "kubeprep.hostnet.hostnet_facts", {})
        # An installer's value wins over discovery: the old file, given with -e.
        seen["audit_given"] = audit(fleet, tmp_path_factory.mktemp("audit-given"), "-e", "hostnet_kubelet_resolv_conf=/etc/resolv.conf")
        yield seen
    finally:
        if pod is not None:
            pod.close()
        upstream.terminate()
        upstream.wait(timeout=10)


def findings(report):
    return [f for f in report["hosts"]["node"]["findings"] if f["id"] == RULE]


def test_the_forwarder_in_the_pod_never_answers(loopback):
    before = loopback["before"]
    assert before["query"]["status"] == "timeout", before["query"]
    assert before["getent"].returncode == 2 and before["getent"].stdout == "", (before["getent"].returncode, before["getent"].stdout, before["getent"].stderr)
    # Configured from the file, it did get the query and sent it to its own loopback.
    assert "using nameserver 127.0.0.53#53" in before["forwarder_log"], before["forwarder_log"]
    assert "query[A] %s from" % NAME in before["forwarder_log"] and "forwarded %s to 127.0.0.53" % NAME in before["forwarder_log"], before["forwarder_log"]


def test_the_audit_names_the_file_and_the_nameserver(loopback):
    proc, report = loopback["audit_before"]
    (finding,) = findings(report)
    assert finding["severity"] == "error"
    assert finding["message"] == "/etc/resolv.conf, the resolv.conf kubelet hands to pods, lists the loopback nameserver 127.0.0.53"
    assert finding["evidence"][0].startswith("/etc/resolv.conf: no kubelet config yet (/var/lib/kubelet/config.yaml missing) and systemd-resolved does not run")
    assert "/etc/resolv.conf:1: nameserver 127.0.0.53 (a loopback address)" in finding["evidence"]
    assert "kubeadm `resolvConf: <file>`" in finding["fix"] and "kube_resolv_conf" in finding["fix"]
    assert "%s] node" % RULE in proc.stdout, proc.stdout[-3000:]


def test_after_the_fix_the_forwarder_answers_and_the_finding_is_gone(loopback):
    after = loopback["after"]
    assert after["query"]["status"] == "answered" and after["query"]["addresses"] == [loopback["answer"]], after["query"]
    assert after["getent"].returncode == 0 and after["getent"].stdout.split()[:2] == [loopback["answer"], NAME], after["getent"]
    proc, report = loopback["audit_after"]
    assert findings(report) == [], findings(report)
    assert "%s] node" % RULE not in proc.stdout
    # The file judged is the one kubelet's config names, found through --config in the drop-in.
    rc, result = loopback["facts_after"]
    chosen = result["ansible_facts"]["hostnet"]["kubelet_resolv_conf"]
    assert rc == 0 and chosen["path"] == "/etc/kubernetes/resolv.conf" and chosen["source"] == "config", chosen
    assert chosen["config_from"] == "--config in /etc/systemd/system/kubelet.service.d/10-kubeadm.conf:2", chosen
    assert [n["address"] for n in chosen["nameservers"]] == [loopback["upstream"]], chosen


def test_an_installers_value_wins_over_discovery(loopback):
    _proc, report = loopback["audit_given"]
    (finding,) = findings(report)
    assert finding["evidence"][0] == "/etc/resolv.conf: given to the audit (hostnet_kubelet_resolv_conf)"
    assert finding["data"]["source"] == "option"
