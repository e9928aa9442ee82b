"""The opt-in fix of resolv-conf-loopback-nameserver on a real test host: hostnet_kubelet_resolv_conf.

kubelet's config (found through `--config` in a kubeadm-style drop-in) says `resolvConf: /etc/resolv.conf`,
and that file is systemd-resolved's stub, 127.0.0.53. A DNS forwarder standing in for CoreDNS (dnsmasq in a
"pod" network namespace behind the host, configured from the file kubelet's config names, as the e2e of the
rule shows) forwards to its own loopback: a real query from the pod times out. The audit names the file.
`kubeprep.hostnet.remediate --check --diff` with the opt-in shows the one line and changes nothing; the real
run with `hostnet_kubelet_resolv_conf_target` (a file listing the real upstream) changes that value only, says
kubelet is not running (it would read the file at start) and that CoreDNS must be restarted; the forwarder
configured from the file the config now names answers, the after-audit is clean, and a second run changes
nothing. A target that itself lists a loopback nameserver is refused with nothing changed."""

import json
import os
import re
import shutil
import subprocess

import pytest
from test_resolv_conf_loopback_e2e import DROPIN, NAME, RULE, Pod

from conftest import load_report, run_module, run_playbook

CONFIG = "/etc/kubernetes/kubelet-config.yaml"
# As kubeadm writes it, plus what an admin adds: comments, a nested key of the same name, odd text.
KUBELET_CONFIG = (
    "apiVersion: kubelet.config.k8s.io/v1beta1\n"
    "authentication:\n"
    "  anonymous:\n"
    "    enabled: false\n"
    "clusterDNS:\n"
    "- 10.96.0.10\n"
    "kind: KubeletConfiguration\n"
    "# the stub: set by hand \u00e9t\u00e9 $(reboot) `id`\n"
    "resolvConf: /etc/resolv.conf   # see ticket 42\n"
    "staticPodPath: /etc/kubernetes/manifests\n"
    "tlsCipherSuites: ['a', \"b\"]\n"
    "x-notes:\n"
    "  resolvConf: /etc/resolv.conf\n"
)
TARGET = "/etc/kubernetes/resolv.conf"


def sh(fleet, script, **kw):
    return fleet.exec("node", ["sh", "-c", script], **kw)


def fingerprint(fleet):
    return sh(fleet, "stat -c '%%i %%s %%Y %%a' %s && sha256sum %s" % (CONFIG, CONFIG)).stdout


def remediate(fleet, directory, *extra):
    proc = run_playbook(
        fleet,
        "kubeprep.hostnet.remediate",
        "-e",
        "hostnet_report_dir=%s" % directory,
        "-e",
        "hostnet_kubelet_resolv_conf_enabled=true",
        "-e",
        "hostnet_kubelet_resolv_conf_target=%s" % TARGET,
        # The pod's veth (10.244.77.1/24 on the host) lies in the default Pod CIDR: that finding is not this test's.
        "-e",
        '{"hostnet_skip_rules": ["pod-cidr-overlap"]}',
        "--diff",
        *extra,
    )
    changes = json.loads((directory / "hostnet-changes.json").read_text())["hosts"]["node"]
    return proc, changes


def findings(report):
    return [f for f in report["hosts"]["node"]["findings"] if f["id"] == RULE]


@pytest.fixture(scope="module")
def fixed(make_fleet, tmp_path_factory):
    assert shutil.which("dnsmasq"), "Debian's dnsmasq-base is required (make test installs it)"
    fleet = make_fleet(["node"])
    st = fleet.state
    answer = st["subnet"].rsplit(".", 1)[0] + ".250"
    tmp = str(tmp_path_factory.mktemp("kubelet-resolv-fix"))
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
        sh(fleet, "cat > /etc/resolv.conf", input_text="nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n")
        sh(fleet, "mkdir -p /etc/kubernetes /etc/systemd/system/kubelet.service.d")
        sh(fleet, "cat > %s" % CONFIG, input_text=KUBELET_CONFIG)
        sh(fleet, "cat > /etc/systemd/system/kubelet.service.d/10-kubeadm.conf", input_text=DROPIN)
        seen = {"answer": answer, "original": sh(fleet, "cat %s" % CONFIG).stdout}

        def pod_lookups(tag):
            """The forwarder configured from the file kubelet's config names now, as kubelet would hand it."""
            rc, facts = run_module(fleet, "node", "kubeprep.hostnet.hostnet_facts", {})
            chosen = facts["ansible_facts"]["hostnet"]["kubelet_resolv_conf"]
            pod.start_forwarder(sh(fleet, "cat %s" % chosen["path"]).stdout, tag)
            lookups = pod.lookups()
            pod.stop_forwarder()
            return dict(lookups, rc=rc, chosen=chosen)

        seen["before"] = pod_lookups("before")
        seen["fingerprint_before"] = fingerprint(fleet)
        # A target listing a loopback nameserver: refused, nothing changed.
        sh(fleet, "printf 'nameserver 127.0.1.1\\n' > /etc/kubernetes/loopback-resolv.conf")
        refused_dir = tmp_path_factory.mktemp("refused")
        seen["refused"] = remediate(fleet, refused_dir, "-e", "hostnet_kubelet_resolv_conf_target=/etc/kubernetes/loopback-resolv.conf")
        seen["after_refused"] = fingerprint(fleet)
        # The real upstream, in the file the fix points kubelet at.
        sh(fleet, "cat > %s" % TARGET, input_text="nameserver %s\n" % st["gateway"])
        check_dir = tmp_path_factory.mktemp("check")
        seen["check"] = remediate(fleet, check_dir, "--check")
        seen["check_report"] = load_report(str(check_dir / "before"))
        seen["after_check"] = fingerprint(fleet)
        fix_dir = tmp_path_factory.mktemp("fix")
        seen["fix"] = remediate(fleet, fix_dir)
        seen["fix_report"] = load_report(str(fix_dir))
        seen["fixed_config"] = sh(fleet, "cat %s" % CONFIG).stdout
        seen["after"] = pod_lookups("after")
        seen["fingerprint_fixed"] = fingerprint(fleet)
        again_dir = tmp_path_factory.mktemp("again")
        seen["again"] = remediate(fleet, again_dir)
        seen["fingerprint_again"] = fingerprint(fleet)
        seen["fleet"] = fleet
        yield seen
    finally:
        if pod is not None:
            pod.close()
        upstream.terminate()
        upstream.wait(timeout=10)


def test_before_the_forwarder_in_the_pod_never_answers_and_the_audit_names_the_file(fixed):
    before = fixed["before"]
    assert before["chosen"]["path"] == "/etc/resolv.conf" and before["chosen"]["source"] == "config", before["chosen"]
    assert before["query"]["status"] == "timeout", before["query"]
    assert before["getent"].returncode == 2 and before["getent"].stdout == "", before["getent"]
    (finding,) = findings(fixed["check_report"])
    assert finding["evidence"][0] == "/etc/resolv.conf: resolvConf in kubelet's config %s:9" % CONFIG, finding["evidence"]
    assert "manual" not in (finding.get("data") or {})


def test_a_target_listing_a_loopback_nameserver_is_refused_and_nothing_changes(fixed):
    proc, outcome = fixed["refused"]
    assert outcome["outcome"] == "failed", outcome
    assert "the target /etc/kubernetes/loopback-resolv.conf lists the loopback nameserver 127.0.1.1" in outcome["summary"], outcome
    assert "nothing was changed" in outcome["summary"] and "By hand:" in outcome["summary"], outcome
    assert outcome["changes"] == [], outcome
    assert fixed["after_refused"] == fixed["fingerprint_before"]
    assert proc.returncode != 0


def test_check_mode_shows_the_one_line_and_changes_nothing(fixed):
    proc, outcome = fixed["check"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert outcome["outcome"] == "would_fix", outcome
    assert "-resolvConf: /etc/resolv.conf   # see ticket 42" in proc.stdout and "+resolvConf: %s   # see ticket 42" % TARGET in proc.stdout, proc.stdout[-3000:]
    assert fixed["after_check"] == fixed["fingerprint_before"]


def test_the_fix_changes_that_value_only_and_says_what_kubelet_needs(fixed):
    proc, outcome = fixed["fix"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert outcome["outcome"] == "fixed", outcome
    (change,) = outcome["changes"]
    assert change["rule"] == RULE and change["path"] == CONFIG, change
    assert change["actions"][0] == "resolvConf: %s (line 9, was '/etc/resolv.conf')" % TARGET, change
    assert "kubelet is not running: it reads the new resolvConf when it starts" in change["actions"], change
    assert any(a.startswith("follow-up: running pods keep their resolv.conf; restart CoreDNS") for a in change["actions"]), change
    expected = fixed["original"].replace("resolvConf: /etc/resolv.conf   #", "resolvConf: %s   #" % TARGET, 1)
    assert fixed["fixed_config"] == expected


def test_after_the_fix_the_pods_forwarder_answers_and_the_audit_is_clean(fixed):
    after = fixed["after"]
    assert after["chosen"]["path"] == TARGET and after["chosen"]["source"] == "config", after["chosen"]
    assert after["query"]["status"] == "answered" and after["query"]["addresses"] == [fixed["answer"]], after["query"]
    assert after["getent"].returncode == 0 and after["getent"].stdout.split()[:2] == [fixed["answer"], NAME], after["getent"]
    assert findings(fixed["fix_report"]) == []


def test_a_second_run_changes_nothing(fixed):
    proc, outcome = fixed["again"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert outcome["outcome"] == "ok" and outcome["changes"] == [], outcome
    assert fixed["fingerprint_again"] == fixed["fingerprint_fixed"]
    assert os.path.basename(CONFIG) in fixed["fingerprint_again"]


REFUSALS = [
    # (setup, module args, what the message must say); each setup is undone after its case.
    (
        "printf 'KUBELET_EXTRA_ARGS=\"--resolv-conf=/etc/resolv.conf\"\\n' > /etc/default/kubelet",
        {"target": TARGET},
        "kubelet's --resolv-conf=/etc/resolv.conf in /etc/default/kubelet:1 wins over resolvConf in its config file",
    ),
    ("true", {}, "no file to point kubelet at: systemd-resolved does not run here and hostnet_kubelet_resolv_conf_target is not set"),
    (
        "true",
        {"target": "/etc/kubernetes/absent-resolv.conf"},
        "the target /etc/kubernetes/absent-resolv.conf (given) cannot be read: No such file or directory",
    ),
    (
        "true",
        {"target": TARGET, "config": "/etc/kubernetes/absent.yaml"},
        "/etc/kubernetes/absent.yaml (kubelet's config, given) does not exist: no kubelet config to edit",
    ),
    (
        'printf \'{"kind": "KubeletConfiguration", "resolvConf": "/etc/resolv.conf"}\\n\' > /tmp/json-config.json',
        {"target": TARGET, "config": "/tmp/json-config.json"},
        "it is in JSON or flow form (line 1 starts with '{')",
    ),
]


@pytest.mark.parametrize("setup, args, says", REFUSALS)
def test_on_the_host_what_cannot_be_done_safely_is_refused_with_the_manual_step(fixed, setup, args, says):
    fleet = fixed["fleet"]
    sh(fleet, setup)
    try:
        before = sh(fleet, "sha256sum %s /tmp/json-config.json 2>/dev/null; true" % CONFIG).stdout
        rc, result = run_module(fleet, "node", "kubeprep.hostnet.hostnet_kubelet_resolv_conf", args)
        assert rc != 0 and result.get("changed") is False, result
        assert says in result["msg"], result["msg"]
        assert "nothing was changed" in result["msg"] and re.search(r"By hand: \S", result["msg"]), result["msg"]
        assert sh(fleet, "sha256sum %s /tmp/json-config.json 2>/dev/null; true" % CONFIG).stdout == before
    finally:
        sh(fleet, "rm -f /etc/default/kubelet /tmp/json-config.json")
