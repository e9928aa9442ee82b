"""Rule resolv-conf-loopback-nameserver: a loopback nameserver (127.0.0.0/8, ::1) in the file kubelet hands to
pods, or that file missing, is an error naming the file and why it was chosen; the host's own stub in
/etc/resolv.conf is no finding once kubelet reads another file; an image root, an unreadable or disabled file
are not judged."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, kubeletdns
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs, remediation

from helpers import host_facts, judge

RULE = "resolv-conf-loopback-nameserver"
KUBEADM_CONFIG = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nresolvConf: %s\n"


def found(tmp_path, overrides, resolved=None, **options):
    facts = host_facts(tmp_path, "debian12", overrides=overrides)
    if resolved is not None:  # what the live module reads from /proc; a root directory cannot say
        facts["kubelet_resolv_conf"] = kubeletdns.choose(gather.Collector(root=facts["root"]), None, resolved)
    return [f for f in judge(facts, **options) if f["id"] == RULE], facts


@pytest.mark.parametrize("address", ["127.0.0.53", "127.0.1.1", "127.0.0.1", "::1"])
def test_a_loopback_nameserver_is_an_error(tmp_path, address):
    (finding,), _facts = found(tmp_path, {"etc/resolv.conf": "nameserver %s\nnameserver 192.0.2.1\nsearch lan\n" % address})
    assert finding["severity"] == "error"
    assert finding["message"] == "/etc/resolv.conf, the resolv.conf kubelet hands to pods, lists the loopback nameserver %s" % address
    assert finding["evidence"] == [
        "/etc/resolv.conf: no kubelet config yet (/var/lib/kubelet/config.yaml missing) and systemd-resolved unknown: kubelet's and kubeadm's default",
        "/etc/resolv.conf:1: nameserver %s (a loopback address)" % address,
        "its other nameservers: 192.0.2.1",
    ]
    assert "forward . /etc/resolv.conf" in finding["why"] and "coredns#2087" in finding["why"]
    assert "kubeadm `resolvConf: <file>`" in finding["fix"] and "kubespray `kube_resolv_conf: <file>`" in finding["fix"]
    assert "k3s/rke2 `resolv-conf: <file>`" in finding["fix"] and "upstream nameservers the local resolver forwards to" in finding["fix"]
    assert finding["data"] == {
        "path": "/etc/resolv.conf",
        "source": "default",
        "target": None,
        "loopback_nameservers": [address],
        "manual": "no kubelet config file yet (before kubeadm init or join): set resolvConf in the KubeletConfiguration you give the installer",
    }


def test_a_loopback_nameserver_with_a_comment_glued_to_it_is_found(tmp_path):
    """glibc and kubelet both read `nameserver 127.0.0.53#resolved` as 127.0.0.53: no all-clear for the comment."""
    (finding,), _facts = found(tmp_path, {"etc/resolv.conf": "nameserver 127.0.0.53#resolved\nsearch lan\n"})
    assert finding["data"]["loopback_nameservers"] == ["127.0.0.53"]
    assert "/etc/resolv.conf:1: nameserver 127.0.0.53 (a loopback address)" in finding["evidence"]


def test_resolved_running_points_at_its_upstream_file(tmp_path):
    """kubelet reads the stub file (a config that says so, as a user would write it) while resolved runs."""
    overrides = {
        "etc/resolv.conf": "nameserver 127.0.0.53\noptions edns0 trust-ad\n",
        "var/lib/kubelet/config.yaml": KUBEADM_CONFIG % "/etc/resolv.conf",
    }
    (finding,), _facts = found(tmp_path, overrides, resolved=True)
    assert finding["evidence"][0] == "/etc/resolv.conf: resolvConf in kubelet's config /var/lib/kubelet/config.yaml:3"
    assert any(e.startswith("systemd-resolved runs on this host") for e in finding["evidence"])
    assert "systemd-resolved's upstream file /run/systemd/resolve/resolv.conf" in finding["fix"]
    assert "kubeadm `resolvConf: /run/systemd/resolve/resolv.conf`" in finding["fix"]
    assert finding["data"]["target"] == "/run/systemd/resolve/resolv.conf"


def test_kubeadms_own_choice_is_clean_and_the_stub_in_etc_is_not_judged(tmp_path):
    """No kubelet config yet: where resolved runs kubeadm would use its upstream file (lists 10.0.0.2): clean; where it
    does not run, /etc/resolv.conf is kubelet's."""
    overrides = {"etc/resolv.conf": "nameserver 127.0.0.53\n", "run/systemd/resolve/resolv.conf": "nameserver 10.0.0.2\n"}
    findings, facts = found(tmp_path / "on", overrides, resolved=True)
    assert findings == [] and facts["kubelet_resolv_conf"]["path"] == "/run/systemd/resolve/resolv.conf"
    assert facts["kubelet_resolv_conf"]["source"] == "kubeadm-systemd-resolved"
    (finding,), facts = found(tmp_path / "off", overrides, resolved=False)
    assert finding["message"] == "/etc/resolv.conf, the resolv.conf kubelet hands to pods, lists the loopback nameserver 127.0.0.53"
    assert finding["evidence"][0].endswith("systemd-resolved does not run: kubelet's and kubeadm's default")


def test_a_missing_file_is_an_error(tmp_path):
    (finding,), _facts = found(tmp_path, {"var/lib/kubelet/config.yaml": KUBEADM_CONFIG % "/run/systemd/resolve/resolv.conf"})
    assert finding["severity"] == "error"
    assert finding["message"] == "/run/systemd/resolve/resolv.conf, the resolv.conf kubelet hands to pods, does not exist"
    assert finding["evidence"] == [
        "/run/systemd/resolve/resolv.conf: resolvConf in kubelet's config /var/lib/kubelet/config.yaml:3",
        "/run/systemd/resolve/resolv.conf does not exist",
    ]
    assert "no such file or directory" in finding["why"]


def test_the_option_names_the_file_judged(tmp_path):
    """The user's (or an installer's) file wins over discovery: the facts module reads it."""
    facts = host_facts(tmp_path / "s", "debian12", overrides={"etc/kubernetes/resolv.conf": "nameserver 127.0.0.1\n"})
    given = gather.gather(root=facts["root"], kubelet_resolv_conf="/etc/kubernetes/resolv.conf")["kubelet_resolv_conf"]
    facts["kubelet_resolv_conf"] = given
    (finding,) = [f for f in judge(facts, kubelet_resolv_conf="/etc/kubernetes/resolv.conf") if f["id"] == RULE]
    assert finding["evidence"][0] == "/etc/kubernetes/resolv.conf: given to the audit (hostnet_kubelet_resolv_conf)"
    assert finding["data"]["source"] == "option"


CONFIG_POINTS_ELSEWHERE = {"var/lib/kubelet/config.yaml": KUBEADM_CONFIG % "/etc/k8s-resolv.conf", "etc/resolv.conf": "nameserver 127.0.0.53\n"}
FLAG_POINTS_ELSEWHERE = {"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--resolv-conf=/etc/k8s-resolv.conf\n", "etc/resolv.conf": "nameserver 127.0.0.53\n"}
ODD = "nameserver 128.0.0.1\nnameserver ::2\nnameserver fe80::1%eth0\nnameserver not-an-ip\n"


@pytest.mark.parametrize(
    "clean, faulty",
    [
        ({}, {"etc/resolv.conf": "nameserver 127.0.0.1\n"}),  # debian12: nameserver 192.0.2.53
        # The host's stub in /etc/resolv.conf, while kubelet reads another file (config, or flag).
        (
            dict(CONFIG_POINTS_ELSEWHERE, **{"etc/k8s-resolv.conf": "nameserver 10.0.0.2\n"}),
            dict(CONFIG_POINTS_ELSEWHERE, **{"etc/k8s-resolv.conf": "nameserver 127.0.0.1\n"}),
        ),
        (
            dict(FLAG_POINTS_ELSEWHERE, **{"etc/k8s-resolv.conf": "nameserver 10.0.0.2\n"}),
            dict(FLAG_POINTS_ELSEWHERE, **{"etc/k8s-resolv.conf": "nameserver ::1\n"}),
        ),
        ({"etc/resolv.conf": ODD}, {"etc/resolv.conf": ODD + "nameserver 127.255.255.254\n"}),  # near-loopback addresses
        # resolvConf "" hands pods no host DNS: not judged.
        ({"var/lib/kubelet/config.yaml": 'resolvConf: ""\n', "etc/resolv.conf": "nameserver 127.0.0.53\n"}, {"etc/resolv.conf": "nameserver 127.0.0.53\n"}),
    ],
)
def test_near_misses_are_clean(tmp_path, clean, faulty):
    findings, _facts = found(tmp_path / "clean", clean)
    assert findings == []
    findings, _facts = found(tmp_path / "faulty", faulty)  # its faulty twin does fire
    assert [f["severity"] for f in findings] == ["error"]


def test_image_root_and_unreadable_are_not_judged(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": "nameserver 127.0.0.53\n"})
    assert [f["id"] for f in judge(facts)].count(RULE) == 1
    facts["live"] = False
    assert RULE not in [f["id"] for f in judge(facts)]
    facts["live"] = True
    facts["kubelet_resolv_conf"]["status"] = "unreadable"
    assert RULE not in [f["id"] for f in judge(facts)]


@pytest.mark.parametrize("value", ["etc/resolv.conf", "/etc/res\x01olv.conf", "/etc/a\nb", "~/resolv.conf"])
def test_a_bad_option_is_an_input_error(value):
    with pytest.raises(inputs.InputError, match="hostnet_kubelet_resolv_conf: .* is not an absolute path"):
        inputs.normalise("hostnet_kubelet_resolv_conf", value, {"type": "str"})
    assert inputs.normalise("hostnet_kubelet_resolv_conf", "", {"type": "str"}) == ""
    assert inputs.normalise("hostnet_kubelet_resolv_conf", "/etc/k.conf", {"type": "str"}) == "/etc/k.conf"


def plan_of(finding, enabled=True):
    settings = {"n1": {"hostnet_kubelet_resolv_conf_enabled": "true"}} if enabled else {"n1": {}}
    return remediation.plan([dict(finding, host="n1")], ["n1"], settings)["n1"]


@pytest.mark.parametrize(
    "overrides, manual",
    [
        # kubelet's config file exists and chose the file (or left kubelet's default): the opt-in role's.
        ({"var/lib/kubelet/config.yaml": KUBEADM_CONFIG % "/etc/resolv.conf", "etc/resolv.conf": "nameserver 127.0.0.53\n"}, None),
        ({"var/lib/kubelet/config.yaml": "kind: KubeletConfiguration\n", "etc/resolv.conf": "nameserver 127.0.0.53\n"}, None),
        # The flag wins over the config file (the role edits no unit or flag file); no config file yet.
        (dict(FLAG_POINTS_ELSEWHERE, **{"etc/k8s-resolv.conf": "nameserver ::1\n"}), "kubelet's --resolv-conf flag chose the file"),
        ({"etc/resolv.conf": "nameserver 127.0.0.53\n"}, "no kubelet config file yet"),
    ],
)
def test_the_opt_in_role_fixes_what_a_kubelet_config_chose_the_rest_is_manual(tmp_path, overrides, manual):
    (finding,), _facts = found(tmp_path, overrides)
    plan = plan_of(finding)
    if manual is None:
        assert [r["role"] for r in plan["roles"]] == ["kubeprep.hostnet.hostnet_kubelet_resolv_conf"] and plan["manual"] == []
        assert "manual" not in finding["data"]
        off = plan_of(finding, enabled=False)  # not opted in: manual, naming the opt-in
        assert off["roles"] == [] and "hostnet_kubelet_resolv_conf_enabled=true" in off["manual"][0]["reason"], off
    else:
        assert plan["roles"] == [] and [m["rule"] for m in plan["manual"]] == [RULE], plan
        assert finding["data"]["manual"].startswith(manual) and plan["manual"][0]["step"] == finding["fix"]


def test_a_file_given_to_the_audit_is_the_installers_setting_so_manual(tmp_path):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/kubernetes/resolv.conf": "nameserver 127.0.0.1\n"})
    facts["kubelet_resolv_conf"] = gather.gather(root=facts["root"], kubelet_resolv_conf="/etc/kubernetes/resolv.conf")["kubelet_resolv_conf"]
    (finding,) = [f for f in judge(facts, kubelet_resolv_conf="/etc/kubernetes/resolv.conf") if f["id"] == RULE]
    assert finding["data"]["manual"].startswith("the file was given to the audit (hostnet_kubelet_resolv_conf)")
    assert plan_of(finding)["roles"] == []


def test_k3s_config_resolv_conf_is_judged_and_the_fix_is_manual_in_that_file(tmp_path):
    """k3s runs kubelet in its own process with the resolv-conf of /etc/rancher/k3s/config.yaml: that file is judged."""
    overrides = {
        "etc/resolv.conf": "nameserver 192.0.2.1\n",
        "etc/rancher/k3s/config.yaml": "write-kubeconfig-mode: '0644'\nresolv-conf: /etc/k3s-resolv.conf\n",
        "etc/k3s-resolv.conf": "nameserver 127.0.1.1\n",
    }
    (finding,), _facts = found(tmp_path, overrides)
    assert finding["message"] == "/etc/k3s-resolv.conf, the resolv.conf kubelet hands to pods, lists the loopback nameserver 127.0.1.1"
    assert finding["evidence"][0] == "/etc/k3s-resolv.conf: resolv-conf in k3s's config /etc/rancher/k3s/config.yaml:2 (its kubelet's --resolv-conf)"
    assert finding["data"]["source"] == "k3s-config"
    assert finding["data"]["manual"].startswith("k3s runs kubelet itself with the resolv-conf of its own config file")
    assert plan_of(finding)["roles"] == []
