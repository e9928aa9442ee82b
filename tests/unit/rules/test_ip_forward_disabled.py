"""Rule ip-forward-disabled: kubeadm's FileContent--proc-sys-net-ipv4-ip_forward, on the host's value."""

from helpers import healthy_kernel, host_facts, judge


def forward(tmp_path, value):
    kernel = healthy_kernel()
    if value is None:
        kernel["sysctl"]["net.ipv4.ip_forward"] = {"status": "absent", "value": None}
    else:
        kernel["sysctl"]["net.ipv4.ip_forward"]["value"] = value
    return [f for f in judge(host_facts(tmp_path, "debian12", kernel=kernel)) if f["id"] == "ip-forward-disabled"]


def test_zero_is_an_error_with_kubeadms_words(tmp_path):
    [finding] = forward(tmp_path, "0")
    assert finding["severity"] == "error" and finding["message"] == "net.ipv4.ip_forward is 0"
    assert "/proc/sys/net/ipv4/ip_forward contents are not set to 1" in finding["why"]


def test_one_and_unreadable_are_not_findings(tmp_path):
    assert forward(tmp_path / "a", "1") == []
    assert forward(tmp_path / "b", None) == []  # an unreadable value is facts-incomplete's, never a guess of 0
