"""Rule kubelet-dns-limits: each of kubelet's resolv.conf limits fires with its severity and evidence; a file
exactly at the limits, a missing or unreadable file and an image root are not findings."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather

from helpers import host_facts, judge, make_root

RULE = "kubelet-dns-limits"


def domain(length, tag="x"):
    """A search domain of exactly ``length`` characters (labels of at most 63)."""
    name = tag + ".example"
    while len(name) < length:
        label = min(63, length - len(name) - 1)
        name = ("a" * label + "." + name) if label > 0 else "b" + name
    assert len(name) == length
    return name


def found(tmp_path, text):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": text})
    return [f for f in judge(facts) if f["id"] == RULE]


def resolv(servers=("10.0.0.2",), search=()):
    return "".join("nameserver %s\n" % s for s in servers) + ("search %s\n" % " ".join(search) if search else "")


def test_more_than_three_nameservers_warns_naming_the_omitted(tmp_path):
    (finding,) = found(tmp_path, resolv(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]))
    assert finding["severity"] == "warning"
    assert finding["message"] == "/etc/resolv.conf lists 5 nameservers (at most 3): kubelet omits 10.0.0.5, 10.0.0.6"
    assert "/etc/resolv.conf lists 5 nameservers (at most 3): 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6" in finding["evidence"]
    assert (
        "kubelet keeps the first 3 (10.0.0.2 10.0.0.3 10.0.0.4) and omits 10.0.0.5, 10.0.0.6: Nameserver limits were exceeded, "
        "some nameservers have been omitted, the applied nameserver line is: 10.0.0.2 10.0.0.3 10.0.0.4"
    ) in finding["evidence"]
    assert finding["data"] == {"limits": ["nameservers"], "omitted_nameservers": ["10.0.0.5", "10.0.0.6"], "omitted_search": []}
    assert "kubernetes#82756" in finding["why"] and "Nameserver limits were exceeded" in finding["why"]
    assert finding["fix"].startswith("List at most 3 reachable nameservers through whatever manages /etc/resolv.conf") and "resolvConf" in finding["fix"]


def test_no_nameserver_is_an_error(tmp_path):
    (finding,) = found(tmp_path, "search corp.example\noptions timeout:1\n")
    assert finding["severity"] == "error" and finding["message"] == "/etc/resolv.conf lists no nameserver"
    assert finding["evidence"] == [
        "/etc/resolv.conf lists no nameserver: pods with dnsPolicy Default and CoreDNS get none",
        "/etc/resolv.conf is kubelet's: no kubelet config yet (/var/lib/kubelet/config.yaml missing) and systemd-resolved unknown: "
        "kubelet's and kubeadm's default",
    ]
    assert finding["data"]["limits"] == ["no-nameserver"]


def test_more_than_32_search_domains(tmp_path):
    domains = ["d%02d.example" % i for i in range(33)]
    (finding,) = found(tmp_path, resolv(search=domains))
    assert finding["severity"] == "warning" and finding["message"] == "/etc/resolv.conf has 33 search domains (at most 32)"
    assert finding["evidence"][0].startswith("/etc/resolv.conf search line has 33 domains (at most 32): d00.example, d01.example")
    assert finding["evidence"][-1].startswith("/etc/resolv.conf is kubelet's: no kubelet config yet")
    assert finding["evidence"][-2] == "kubelet omits d32.example (Search Line limits were exceeded, some search paths have been omitted), keeping 32 domains"
    assert finding["data"] == {"limits": ["search-domains"], "omitted_nameservers": [], "omitted_search": ["d32.example"]}


def test_search_line_over_2048_characters(tmp_path):
    domains = [domain(200, "l%d" % i) for i in range(10)] + [domain(38, "last")]  # 2,000 + 38 + 10 spaces = 2,048
    assert len(" ".join(domains)) == 2048
    assert found(tmp_path / "at", resolv(search=domains)) == []
    domains[-1] = domain(39, "last")
    (finding,) = found(tmp_path / "over", resolv(search=domains))
    assert finding["severity"] == "warning" and finding["message"] == "/etc/resolv.conf has a search line of 2,049 characters (at most 2,048)"
    assert "/etc/resolv.conf search line is 2,049 characters long (at most 2,048)" in finding["evidence"]
    assert finding["data"]["limits"] == ["search-line-length"] and finding["data"]["omitted_search"] == [domains[-1]]


def test_search_domain_over_253_characters(tmp_path):
    long = domain(254)
    (finding,) = found(tmp_path, resolv(search=["corp.example", long]))
    assert finding["severity"] == "warning" and finding["message"] == "/etc/resolv.conf has a search domain over 253 characters"
    assert "/etc/resolv.conf search domain longer than 253 characters: %s... (254 characters)" % long[:60] in finding["evidence"]
    assert finding["data"] == {"limits": ["search-domain-length"], "omitted_nameservers": [], "omitted_search": [long]}


def test_several_limits_in_one_finding(tmp_path):
    (finding,) = found(tmp_path, "search %s\n" % " ".join("d%02d.example" % i for i in range(40)))
    assert finding["severity"] == "error" and finding["data"]["limits"] == ["no-nameserver", "search-domains"]
    assert finding["message"] == "/etc/resolv.conf lists no nameserver; has 40 search domains (at most 32)"


def test_exactly_at_every_limit_is_clean(tmp_path):
    # 3 nameservers; 32 domains, one of 253 characters, the line exactly 2,048 characters.
    domains = [domain(253, "long")] + [domain(57, "d%02d" % i) for i in range(30)] + [domain(54, "end")]
    assert len(domains) == 32 and len(" ".join(domains)) == 2048
    assert found(tmp_path, resolv(["10.0.0.2", "10.0.0.3", "10.0.0.4"], domains)) == []


def test_trailing_dots_and_a_lone_dot_count_as_kubelet_counts_them(tmp_path):
    # kubelet drops a lone "." and a trailing dot: 32 domains, not 33, and a 253-character one with its dot.
    domains = ["."] + ["d%02d.example." % i for i in range(31)] + [domain(253) + "."]
    assert found(tmp_path, resolv(search=domains)) == []


@pytest.mark.parametrize("state", ["missing", "directory"])
def test_missing_or_unreadable_resolv_conf_is_not_a_finding(tmp_path, state):
    facts = host_facts(tmp_path, "debian12", overrides={"etc/resolv.conf": None})
    if state == "directory":
        root = make_root(tmp_path / "dir", "debian12", overrides={"etc/resolv.conf": None})
        (tmp_path / "dir" / "root-debian12" / "etc" / "resolv.conf").mkdir()
        facts = host_facts(tmp_path / "again", "debian12")
        facts["resolv_conf"] = gather.gather(root=root)["resolv_conf"]
    assert facts["resolv_conf"]["status"] == ("missing" if state == "missing" else "not_a_file")
    assert [f for f in judge(facts) if f["id"] == RULE] == []


def test_an_image_root_is_not_judged(tmp_path):
    facts = gather.gather(root=make_root(tmp_path, "alpine318", libc=("musl", "1.2.4")))  # 4 nameservers, not live
    assert len(facts["resolv_conf"]["nameservers"]) == 4 and facts["live"] is False
    assert [f for f in judge(facts) if f["id"] == RULE] == []


def test_the_file_judged_is_kubelets_own(tmp_path):
    """kubelet's config points at another file: that file is judged, /etc/resolv.conf is not."""
    four = resolv(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"])
    facts = host_facts(
        tmp_path / "a",
        "debian12",
        overrides={"var/lib/kubelet/config.yaml": "kind: KubeletConfiguration\nresolvConf: /etc/kubernetes/resolv.conf\n", "etc/kubernetes/resolv.conf": four},
    )
    (finding,) = [f for f in judge(facts) if f["id"] == RULE]
    assert finding["message"] == "/etc/kubernetes/resolv.conf lists 4 nameservers (at most 3): kubelet omits 10.0.0.5"
    assert "/etc/kubernetes/resolv.conf is kubelet's: resolvConf in kubelet's config /var/lib/kubelet/config.yaml:2" in finding["evidence"]
    assert "through whatever manages /etc/kubernetes/resolv.conf" in finding["fix"]
    # Four nameservers in /etc/resolv.conf, which kubelet does not read: no finding.
    facts = host_facts(
        tmp_path / "b",
        "debian12",
        overrides={
            "var/lib/kubelet/config.yaml": "resolvConf: /etc/kubernetes/resolv.conf\n",
            "etc/kubernetes/resolv.conf": resolv(),
            "etc/resolv.conf": four,
        },
    )
    assert [f for f in judge(facts) if f["id"] == RULE] == []

    # Facts of an older module (no kubelet_resolv_conf): /etc/resolv.conf is judged, as before.
    del facts["kubelet_resolv_conf"]
    (finding,) = [f for f in judge(facts) if f["id"] == RULE]
    assert finding["message"].startswith("/etc/resolv.conf lists 4 nameservers") and not any("is kubelet's" in e for e in finding["evidence"])


def test_rke2_kubelet_arg_resolv_conf_is_the_file_judged(tmp_path):
    """rke2 hands its kubelet the file of a kubelet-arg resolv-conf= item in a config.yaml.d drop-in: that file is judged."""
    overrides = {
        "etc/resolv.conf": resolv(["10.0.0.2"]),
        "etc/rancher/rke2/config.yaml": "token: x\n",
        "etc/rancher/rke2/config.yaml.d/10-dns.yaml": "kubelet-arg:\n  - resolv-conf=/etc/rke2-resolv.conf\n",
        "etc/rke2-resolv.conf": resolv(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]),
    }
    facts = host_facts(tmp_path, "debian12", overrides=overrides)
    (finding,) = [f for f in judge(facts) if f["id"] == RULE]
    assert finding["message"] == "/etc/rke2-resolv.conf lists 4 nameservers (at most 3): kubelet omits 10.0.0.5"
    assert facts["kubelet_resolv_conf"]["source"] == "rke2-config"
