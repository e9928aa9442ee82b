"""The resolv.conf kubelet hands to pods and CoreDNS, found the way kubelet and kubeadm find it, over roots made
of the files kubeadm, kubespray and the packages write."""

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, kubeletdns

KUBEADM_DROPIN = """\
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)


def choose(root, override=None, resolved=None):
    return kubeletdns.choose(gather.Collector(root=str(root)), override, resolved)


def test_no_kubelet_yet_is_etc_resolv_conf(tmp_path):
    write(tmp_path, "/etc/resolv.conf", "nameserver 127.0.0.53\nsearch lan\n")
    fact = choose(tmp_path, resolved=False)
    assert fact["path"] == "/etc/resolv.conf" and fact["source"] == "default" and fact["status"] == "ok"
    assert [n["address"] for n in fact["nameservers"]] == ["127.0.0.53"] and fact["search"] == ["lan"]
    assert fact["config_status"] == "missing" and "systemd-resolved does not run" in fact["origin"]


def test_resolved_running_is_kubeadms_switch(tmp_path):
    """kubeadm's mutateResolverConfig: no resolvConf given and systemd-resolved active -> its upstream file."""
    write(tmp_path, "/etc/resolv.conf", "nameserver 127.0.0.53\n")
    write(tmp_path, "/run/systemd/resolve/resolv.conf", "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\nnameserver 10.0.0.2\n")
    fact = choose(tmp_path, resolved=True)
    assert fact["path"] == "/run/systemd/resolve/resolv.conf" and fact["source"] == "kubeadm-systemd-resolved"
    assert [n["address"] for n in fact["nameservers"]] == ["10.0.0.2"] and fact["generated_by"] == "systemd-resolved"


def test_kubeadm_config_resolv_conf(tmp_path):
    write(tmp_path, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", KUBEADM_DROPIN)
    write(
        tmp_path,
        "/var/lib/kubelet/config.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nclusterDNS:\n- 10.96.0.10\n"
        "resolvConf: /run/systemd/resolve/resolv.conf  # kubeadm\nrotateCertificates: true\n",
    )
    fact = choose(tmp_path, resolved=True)
    assert fact["path"] == "/run/systemd/resolve/resolv.conf" and fact["source"] == "config"
    assert fact["origin"] == "resolvConf in kubelet's config /var/lib/kubelet/config.yaml:5"
    assert fact["status"] == "missing" and "nameservers" not in fact
    assert fact["config_from"] == "--config in /etc/systemd/system/kubelet.service.d/10-kubeadm.conf:4"


def test_config_path_from_the_unit_and_quoted_or_json_values(tmp_path):
    """kubespray: --config=/etc/kubernetes/kubelet-config.yaml in kubelet.env; the key quoted, or JSON."""
    write(tmp_path, "/etc/kubernetes/kubelet.env", 'KUBELET_ARGS="--config=/etc/kubernetes/kubelet-config.yaml --v=2"\n')
    write(tmp_path, "/etc/kubernetes/kubelet-config.yaml", 'kind: KubeletConfiguration\nresolvConf: "/etc/k8s resolv.conf"\n')
    write(tmp_path, "/etc/k8s resolv.conf", "nameserver 10.1.1.1\n")
    fact = choose(tmp_path, resolved=False)
    assert fact["config_path"] == "/etc/kubernetes/kubelet-config.yaml" and fact["path"] == "/etc/k8s resolv.conf" and fact["status"] == "ok"
    write(tmp_path, "/etc/kubernetes/kubelet-config.yaml", '{"kind": "KubeletConfiguration", "resolvConf": "/etc/k8s resolv.conf"}')
    assert choose(tmp_path)["source"] == "config"
    # A nested or commented key is not kubelet's.
    write(tmp_path, "/etc/kubernetes/kubelet-config.yaml", "kind: KubeletConfiguration\n  resolvConf: /x\n#resolvConf: /y\n")
    fact = choose(tmp_path, resolved=True)
    assert fact["source"] == "kubelet-default" and fact["path"] == "/etc/resolv.conf"


def test_flag_wins_over_config_and_the_last_flag_wins(tmp_path):
    write(tmp_path, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", KUBEADM_DROPIN)
    write(tmp_path, "/var/lib/kubelet/config.yaml", "resolvConf: /etc/from-config\n")
    write(tmp_path, "/var/lib/kubelet/kubeadm-flags.env", 'KUBELET_KUBEADM_ARGS="--resolv-conf=/etc/from-kubeadm-flags"\n')
    extra = "# KUBELET_EXTRA_ARGS=--resolv-conf=/etc/commented\nKUBELET_EXTRA_ARGS='--node-ip=10.0.0.5 --resolv-conf /etc/from-extra'\n"
    write(tmp_path, "/etc/default/kubelet", extra)
    fact = choose(tmp_path)
    assert fact["source"] == "flag" and fact["path"] == "/etc/from-extra", fact
    assert fact["origin"] == "kubelet's --resolv-conf in /etc/default/kubelet:2" and fact["status"] == "missing"
    assert fact["flag_files"] == ["/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet"]


def test_the_option_wins_over_everything(tmp_path):
    write(tmp_path, "/etc/default/kubelet", "KUBELET_EXTRA_ARGS=--resolv-conf=/etc/from-extra\n")
    write(tmp_path, "/etc/given.conf", "nameserver ::1\n")
    fact = choose(tmp_path, override="/etc/given.conf")
    assert fact["source"] == "option" and fact["path"] == "/etc/given.conf" and fact["nameservers"][0]["address"] == "::1"


def test_empty_resolv_conf_disables_and_a_relative_path_is_not_read(tmp_path):
    write(tmp_path, "/var/lib/kubelet/config.yaml", 'resolvConf: ""\n')
    assert choose(tmp_path)["status"] == "disabled"
    write(tmp_path, "/var/lib/kubelet/config.yaml", "resolvConf: etc/resolv.conf\n")
    fact = choose(tmp_path)
    assert fact["status"] == "unreadable" and fact["error"] == "not an absolute path"


def test_dropins_override_by_name_in_systemds_order(tmp_path):
    write(tmp_path, "/usr/lib/systemd/system/kubelet.service", "[Service]\nExecStart=/usr/bin/kubelet\n")
    write(tmp_path, "/usr/lib/systemd/system/kubelet.service.d/20-dns.conf", "[Service]\nEnvironment=A=--resolv-conf=/etc/vendor\n")
    write(tmp_path, "/etc/systemd/system/kubelet.service.d/20-dns.conf", "[Service]\nEnvironment=A=--resolv-conf=/etc/admin\n")
    write(tmp_path, "/usr/lib/systemd/system/kubelet.service.d/10-other.conf", "[Service]\nEnvironment=B=--resolv-conf=/etc/early\n")
    fact = choose(tmp_path)
    assert fact["path"] == "/etc/admin" and fact["flag_files"][1:] == [
        "/usr/lib/systemd/system/kubelet.service.d/10-other.conf",
        "/etc/systemd/system/kubelet.service.d/20-dns.conf",
    ]


def test_hostile_text_is_bounded_and_decoded_with_replacement(tmp_path):
    big = "x" * (kubeletdns.MAX_PATH_CHARS + 100)
    write(tmp_path, "/etc/default/kubelet", ("# filler\n" * (kubeletdns.MAX_LINES + 5)) + "A=--resolv-conf=/etc/late\n")
    write(tmp_path, "/var/lib/kubelet/config.yaml", "resolvConf: /" + big + "\n")
    fact = choose(tmp_path)
    assert fact["source"] == "config" and len(fact["path"]) == kubeletdns.MAX_PATH_CHARS  # the flag past MAX_LINES is not read
    full = os.path.join(str(tmp_path), "var/lib/kubelet/config.yaml")
    with open(full, "wb") as handle:
        handle.write(b"resolvConf: /etc/\xff\xfe.conf\n")
    assert choose(tmp_path)["path"] == "/etc/\ufffd\ufffd.conf"


def test_resolved_running_reads_the_callers_network_namespace(tmp_path):
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    os.symlink("net:[1]", str(proc / "self" / "ns" / "net"))
    (proc / "7" / "ns").mkdir(parents=True)
    (proc / "7" / "comm").write_text("systemd-resolve\n")
    os.symlink("net:[2]", str(proc / "7" / "ns" / "net"))  # another netns: the machine's, not this host's
    assert kubeletdns.resolved_running(str(proc)) is False
    os.remove(str(proc / "7" / "ns" / "net"))
    os.symlink("net:[1]", str(proc / "7" / "ns" / "net"))
    assert kubeletdns.resolved_running(str(proc)) is True


def test_gather_publishes_it_and_passes_the_option(tmp_path):
    write(tmp_path, "/etc/resolv.conf", "nameserver 127.0.1.1\n")
    write(tmp_path, "/etc/upstream.conf", "nameserver 10.0.0.2\n")
    facts = gather.gather(root=str(tmp_path))
    assert facts["kubelet_resolv_conf"]["path"] == "/etc/resolv.conf" and facts["kubelet_resolv_conf"]["resolved_active"] is None
    facts = gather.gather(root=str(tmp_path), kubelet_resolv_conf="/etc/upstream.conf")
    assert facts["kubelet_resolv_conf"]["nameservers"][0]["address"] == "10.0.0.2"
