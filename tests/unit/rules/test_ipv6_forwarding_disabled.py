"""Rule ipv6-forwarding-disabled: kubeadm's FileContent--proc-sys-net-ipv6-conf-default-forwarding (and `all`), only
on a cluster with IPv6 (an IPv6 Service or Pod CIDR; kubeadm's dual-stack "IPv4,IPv6" included)."""

from helpers import healthy_kernel, host_facts, judge

DUAL = {"service_cidrs": ["10.96.0.0/12,fd00:10:96::/108"]}


def forwarding(all_value="1", default_value="1", status="ok"):
    kernel = healthy_kernel()
    kernel["ipv6"] = {
        "status": status,
        "forwarding": {
            "all": {"status": "ok" if all_value is not None else "absent", "value": all_value},
            "default": {"status": "ok" if default_value is not None else "absent", "value": default_value},
        },
        "interfaces": [],
    }
    return kernel


def found(tmp_path, kernel, **options):
    return [f for f in judge(host_facts(tmp_path, "debian12", kernel=kernel), **options) if f["id"] == "ipv6-forwarding-disabled"]


def test_off_on_a_dual_stack_cluster_is_an_error_with_kubeadms_words(tmp_path):
    [finding] = found(tmp_path, forwarding("0", "0"), **DUAL)
    assert finding["severity"] == "error"
    assert finding["message"] == "net.ipv6.conf.{all,default}.forwarding is 0 on a cluster with IPv6 (fd00:10:96::/108)"
    assert finding["evidence"] == ["/proc/sys/net/ipv6/conf/all/forwarding = 0", "/proc/sys/net/ipv6/conf/default/forwarding = 0"]
    assert "/proc/sys/net/ipv6/conf/default/forwarding contents are not set to 1" in finding["why"]
    assert "net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1" in finding["fix"]
    # near misses
    assert found(tmp_path / "nm-a", forwarding("0", "0")) == []  # the default, IPv4-only cluster: unchanged
    assert found(tmp_path / "nm-b", forwarding("0", "0"), service_cidrs=["10.96.0.0/12,10.97.0.0/16"], pod_cidr="10.244.0.0/16") == []
    assert found(tmp_path / "nm-c", forwarding("1", "1"), **DUAL) == []
    kernel = forwarding(None, None)
    kernel["ipv6"]["forwarding"]["all"] = {"status": "unreadable", "value": None, "error": "EACCES"}
    assert found(tmp_path / "nm-d", kernel, **DUAL) == []  # facts-incomplete's, never a guess of 0
    kernel = healthy_kernel()  # an image root: no kernel facts
    assert found(tmp_path / "nm-e", kernel, **DUAL) == []


def test_either_file_off_is_enough_and_the_pod_cidr_counts(tmp_path):
    [finding] = found(tmp_path / "a", forwarding("1", "0"), pod_cidr="10.244.0.0/16,fd00:10:244::/56")
    assert finding["evidence"] == ["/proc/sys/net/ipv6/conf/default/forwarding = 0"]
    assert "(fd00:10:244::/56)" in finding["message"]
    [finding] = found(tmp_path / "b", forwarding("0", "1"), service_cidrs=["fd00:10:96::1"])
    assert finding["evidence"] == ["/proc/sys/net/ipv6/conf/all/forwarding = 0"]


def test_ipv6_disabled_in_the_kernel_is_a_manual_error(tmp_path):
    [finding] = found(tmp_path, forwarding(None, None, status="absent"), **DUAL)
    assert finding["message"].startswith("IPv6 is disabled in the kernel")
    assert finding["data"]["manual"].startswith("IPv6 is disabled on the kernel command line")
