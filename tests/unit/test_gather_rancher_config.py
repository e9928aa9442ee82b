"""k3s and rke2's own config files: the minimal reader (its forms, hostile input, bounds), the drop-in merge order,
and the resolv-conf they hand their kubelet feeding kubelet_resolv_conf."""

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, kubeletdns, rancherconfig

K3S = "/etc/rancher/k3s/config.yaml"
RKE2 = "/etc/rancher/rke2/config.yaml"


def write(root, path, data):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def facts(root):
    collector = gather.Collector(root=str(root))
    return rancherconfig.gather(collector), collector.problems


def values(fact):
    return {key: entry["value"] for key, entry in fact["values"].items()}


def test_no_file_no_fact(tmp_path):
    assert facts(tmp_path) == (None, [])


def test_the_forms_k3s_files_use(tmp_path):
    write(
        tmp_path,
        K3S,
        "# written by the installer\n"
        'write-kubeconfig-mode: "0644"\n'
        "cluster-cidr: 10.42.0.0/16,fd00:42::/56   # dual-stack\n"
        "service-cidr: '10.43.0.0/16'\n"
        'resolv-conf: "/etc/k3s resolv.conf"\n'
        "node-label:\n  - a=b\n  - resolv-conf=/not/this\n"
        'kubelet-arg:\n- max-pods=200\n- "resolv-conf=/etc/rancher/k3s/resolv.conf"\n'
        "tls-san: [a, b]\n",
    )
    fact, problems = facts(tmp_path)
    assert fact["distribution"] == "k3s" and fact["files"] == [K3S] and fact["errors"] == [] and problems == []
    assert values(fact) == {
        "cluster-cidr": "10.42.0.0/16,fd00:42::/56",
        "service-cidr": "10.43.0.0/16",
        "resolv-conf": "/etc/k3s resolv.conf",
        "kubelet-arg": ["max-pods=200", "resolv-conf=/etc/rancher/k3s/resolv.conf"],
    }
    assert fact["values"]["service-cidr"]["line"] == 4 and fact["values"]["kubelet-arg"]["line"] == 9
    # A kubelet-arg resolv-conf= item is passed after k3s's own flag: it wins.
    assert rancherconfig.resolv_conf(fact) == ("/etc/rancher/k3s/resolv.conf", K3S, 9, "kubelet-arg resolv-conf=")


def test_flow_list_and_dropins_in_alphabetical_order_last_wins_plus_appends(tmp_path):
    write(tmp_path, RKE2, "service-cidr: 10.43.0.0/16\nkubelet-arg: [max-pods=100]\n")
    write(tmp_path, RKE2 + ".d/20-late.yaml", "service-cidr: 10.96.0.0/12\n")
    write(tmp_path, RKE2 + ".d/10-early.yaml", 'service-cidr: 10.99.0.0/16\nkubelet-arg+: ["resolv-conf=/etc/r.conf"]\n')
    write(tmp_path, RKE2 + ".d/ignored.yml", "service-cidr: 1.2.3.0/24\n")
    fact, _problems = facts(tmp_path)
    assert fact["distribution"] == "rke2"
    assert fact["files"] == [RKE2, RKE2 + ".d/10-early.yaml", RKE2 + ".d/20-late.yaml"]
    assert fact["values"]["service-cidr"] == {"value": "10.96.0.0/12", "file": RKE2 + ".d/20-late.yaml", "line": 1}
    assert fact["values"]["kubelet-arg"]["value"] == ["max-pods=100", "resolv-conf=/etc/r.conf"]
    assert rancherconfig.resolv_conf(fact)[:2] == ("/etc/r.conf", RKE2 + ".d/10-early.yaml")


def test_forms_the_reader_does_not_read_are_errors_with_the_line_and_the_key_is_not_used(tmp_path):
    write(tmp_path, K3S, "resolv-conf: /etc/good.conf\nservice-cidr: 10.43.0.0/16\n")
    write(
        tmp_path,
        K3S + ".d/50.yaml",
        "resolv-conf: |\n  /etc/bad.conf\ncluster-cidr: &a 10.42.0.0/16\nservice-cidr: [10.1.0.0/16,\n  10.2.0.0/16]\nkubelet-arg:\n  - {a: b}\n",
    )
    fact, problems = facts(tmp_path)
    where = [(e["file"], e["line"]) for e in fact["errors"]]
    assert where == [(K3S + ".d/50.yaml", n) for n in (1, 3, 4, 7)], fact["errors"]
    assert all(fact["values"][key].get("unparsed") for key in ("resolv-conf", "cluster-cidr", "service-cidr", "kubelet-arg"))
    assert rancherconfig.resolv_conf(fact) is None  # k3s reads the drop-in's value: the earlier one is not used
    assert [p["source"] for p in problems] == ["%s.d/50.yaml:%d" % (K3S, n) for n in (1, 3, 4, 7)]
    assert all("k3s's config not read" in p["message"] for p in problems)


def test_hostile_bytes_and_bounds(tmp_path):
    long_path = "/" + "a" * 10000
    body = b"\xff\xfe\x00resolv-conf: " + long_path.encode() + b"\n" + b"x: y\n" * (rancherconfig.MAX_LINES + 5)
    write(tmp_path, K3S, body)
    fact, problems = facts(tmp_path)
    assert "resolv-conf" not in fact["values"]  # the key follows garbage on its line: not a top-level key
    assert fact["errors"][-1]["error"].startswith("more than %d lines" % rancherconfig.MAX_LINES) and problems
    write(tmp_path, K3S, "resolv-conf: " + long_path + "\nkubelet-arg:\n" + "- x=\u202e\n" * 1000)
    fact, _problems = facts(tmp_path)
    assert len(fact["values"]["resolv-conf"]["value"]) == rancherconfig.MAX_VALUE_CHARS
    assert len(fact["values"]["kubelet-arg"]["value"]) == rancherconfig.MAX_ITEMS
    for number in range(rancherconfig.MAX_DROPINS + 10):
        write(tmp_path, K3S + ".d/%03d.yaml" % number, "resolv-conf: |\n")
    fact, problems = facts(tmp_path)
    assert len(fact["files"]) == 1 + rancherconfig.MAX_DROPINS and len(fact["errors"]) == rancherconfig.MAX_ERRORS


def test_unreadable_file_is_an_error_not_a_crash(tmp_path):
    os.makedirs(os.path.join(str(tmp_path), K3S.lstrip("/")))  # a directory where the file should be
    fact, problems = facts(tmp_path)
    assert fact["errors"] == [{"file": K3S, "line": 0, "error": "not_a_file: exists but is not a regular file"}]
    assert problems[0]["source"] == K3S


def test_k3s_resolv_conf_feeds_kubelet_resolv_conf(tmp_path):
    write(tmp_path, "/etc/resolv.conf", "nameserver 10.0.0.2\n")
    write(tmp_path, K3S, "resolv-conf: /etc/k3s-resolv.conf\n")
    write(tmp_path, "/etc/k3s-resolv.conf", "nameserver 127.0.0.53\n")
    collector = gather.Collector(root=str(tmp_path))
    fact = kubeletdns.choose(collector, None, False, rancherconfig.gather(collector))
    assert fact["path"] == "/etc/k3s-resolv.conf" and fact["source"] == "k3s-config" and fact["status"] == "ok"
    assert fact["origin"] == "resolv-conf in k3s's config /etc/rancher/k3s/config.yaml:1 (its kubelet's --resolv-conf)"
    assert [n["address"] for n in fact["nameservers"]] == ["127.0.0.53"]
    # The audit's own option still wins; without k3s's file, kubelet's default.
    assert kubeletdns.choose(collector, "/etc/resolv.conf", False, rancherconfig.gather(collector))["source"] == "option"
    assert kubeletdns.choose(collector, None, False, None)["path"] == "/etc/resolv.conf"


def test_gather_publishes_rancher_config(tmp_path):
    write(tmp_path, "/etc/resolv.conf", "nameserver 10.0.0.2\n")
    write(tmp_path, RKE2, "kubelet-arg:\n  - resolv-conf=/etc/rke2.conf\nservice-cidr: 10.43.0.0/16\n")
    result = gather.gather(root=str(tmp_path), go_binaries="never")
    assert result["rancher_config"]["distribution"] == "rke2"
    assert result["kubelet_resolv_conf"]["source"] == "rke2-config" and result["kubelet_resolv_conf"]["status"] == "missing"


def test_an_empty_or_null_resolv_conf_is_not_set_but_an_empty_kubelet_flag_is_kubelets(tmp_path):
    for text in ("resolv-conf:\n", "resolv-conf: ~\n", "resolv-conf: null # k3s picks\n", "resolv-conf: ''\n", "resolv-conf:\n- /a/list\n"):
        write(tmp_path, K3S, text)
        fact, problems = facts(tmp_path)
        assert rancherconfig.resolv_conf(fact) is None and problems == [], text
    write(tmp_path, K3S, "kubelet-arg: ['resolv-conf=']\n")  # kubelet's own --resolv-conf= : no host nameservers
    assert rancherconfig.resolv_conf(facts(tmp_path)[0])[0] == ""
