"""Rule kernel-module-missing over captured facts: the modules the options ask for, each found loaded, built in,
loadable (compressed) or by the kernel's own signs is no finding; one found nowhere is an error naming why it is
needed; a missing /lib/modules/<release> and a kernel without module support are named; older facts judge nothing."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import kmods

from helpers import host_facts, judge

RELEASE = "6.1.0-99-amd64"


def tree(tmp_path, proc_modules="", builtin="", dep="", sys_module=(), no_module_dir=False):
    """Real kernel_modules facts, gathered from a built tree."""
    root = tmp_path / "kroot"
    (root / "proc").mkdir(parents=True)
    (root / "proc/filesystems").write_text("nodev\tproc\n")
    if proc_modules is not None:
        (root / "proc/modules").write_text("".join("%s 16384 0 - Live 0x0\n" % name for name in proc_modules.split()))
    if not no_module_dir:
        moddir = root / "lib/modules" / RELEASE
        moddir.mkdir(parents=True)
        (moddir / "modules.builtin").write_text("".join("kernel/x/%s.ko\n" % name for name in builtin.split()))
        (moddir / "modules.dep").write_text("".join("kernel/x/%s:\n" % name for name in dep.split()))
    (root / "sys/module").mkdir(parents=True)
    for name in sys_module:
        (root / "sys/module" / name).mkdir()
    return kmods.kernel_modules(str(root), release=RELEASE)


BASE = dict(proc_modules="br_netfilter overlay", builtin="nf_conntrack")


def found(tmp_path, kernel_modules, **options):
    facts = host_facts(tmp_path, "debian12")
    facts["kernel_modules"] = kernel_modules
    return [f for f in judge(facts, **options) if f["id"] == "kernel-module-missing"]


def test_vxlan_for_flannel_nowhere_is_an_error_with_why_and_fix(tmp_path):
    (finding,) = found(tmp_path, tree(tmp_path, **BASE), cni="flannel")
    assert finding["severity"] == "error"
    assert finding["message"] == "kernel module vxlan cannot be loaded (kernel %s)" % RELEASE
    assert finding["evidence"] == [
        "running kernel: " + RELEASE,
        "vxlan: not in /proc/modules, modules.builtin, modules.dep or /sys/module"
        " (needed for flannel's VXLAN device (pods on different nodes talk through it))",
    ]
    assert "`modprobe vxlan` fails (`FATAL: Module vxlan not found in directory /lib/modules/%s`)" % RELEASE in finding["why"]
    assert finding["fix"].startswith("Install the running kernel's extra modules (`apt-get install linux-modules-extra-%s` on Ubuntu" % RELEASE)
    assert "`modprobe vxlan` and list it in /etc/modules-load.d/k8s.conf" in finding["fix"]
    assert finding["data"] == {"missing": ["vxlan"], "release": RELEASE}


@pytest.mark.parametrize(
    "where",
    [
        dict(proc_modules="br_netfilter overlay vxlan", builtin="nf_conntrack"),  # loaded
        dict(proc_modules="br_netfilter overlay", builtin="nf_conntrack vxlan"),  # built in
        dict(BASE, dep="vxlan.ko.zst"),  # loadable, compressed
        dict(BASE, dep="vxlan.ko.xz"),
        dict(BASE, sys_module=("vxlan",)),  # built in, seen in /sys/module
    ],
)
def test_vxlan_loaded_builtin_or_loadable_is_no_finding(tmp_path, where):
    kernel = tree(tmp_path, **where)
    assert found(tmp_path / "a", kernel, cni="flannel") == []
    kernel["modules"]["vxlan"] = dict.fromkeys(kernel["modules"]["vxlan"])  # the same kernel without it: the rule runs
    assert found(tmp_path / "b", kernel, cni="flannel")[0]["data"]["missing"] == ["vxlan"]


def test_which_modules_each_option_needs(tmp_path):
    kernel = tree(tmp_path, **BASE)
    assert found(tmp_path / "a", kernel) == []  # cni unknown, iptables mode, no nodelocaldns: only the three always needed
    assert found(tmp_path / "b", kernel, cni="cilium") == []
    assert found(tmp_path / "c", kernel, cni="canal")[0]["data"]["missing"] == ["vxlan"]
    assert found(tmp_path / "d", kernel, cni="calico")[0]["data"]["missing"] == ["vxlan"]  # kubespray's default encapsulation
    assert found(tmp_path / "e", kernel, cni="calico", calico_encapsulation="ipip")[0]["data"]["missing"] == ["ipip"]
    assert found(tmp_path / "f", kernel, cni="calico", calico_encapsulation="none") == []
    ipvs = found(tmp_path / "g", kernel, kube_proxy_mode="ipvs")[0]
    assert ipvs["data"]["missing"] == ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"]
    assert "kube-proxy in ipvs mode (hostnet_kube_proxy_mode=ipvs)" in ipvs["evidence"][1]
    assert found(tmp_path / "h", kernel, kube_proxy_mode="nftables")[0]["data"]["missing"] == ["nf_tables"]
    assert found(tmp_path / "i", kernel, nodelocaldns=True)[0]["data"]["missing"] == ["dummy"]
    both = found(tmp_path / "j", kernel, cni="flannel", nodelocaldns=True)[0]
    assert both["message"] == "kernel modules vxlan, dummy cannot be loaded (kernel %s)" % RELEASE


def test_the_always_needed_modules(tmp_path):
    (finding,) = found(tmp_path, tree(tmp_path, proc_modules="", builtin=""))
    assert finding["data"]["missing"] == ["br_netfilter", "overlay", "nf_conntrack"]
    assert "containerd's default overlayfs snapshotter" in finding["why"]


def test_a_container_without_lib_modules_is_named(tmp_path):
    (finding,) = found(tmp_path, tree(tmp_path, no_module_dir=True, proc_modules="br_netfilter overlay nf_conntrack"), cni="flannel")
    assert finding["evidence"][1] == "/lib/modules/%s does not exist: no module of the running kernel can be loaded (normal in a container)" % RELEASE
    assert finding["evidence"][2].startswith("vxlan: not loaded, not in /sys/module")
    assert finding["fix"].startswith("/lib/modules/%s does not exist. In a container, load vxlan on the host (`modprobe vxlan` there)." % RELEASE)


def test_a_kernel_without_module_support_judges_from_its_own_signs(tmp_path):
    # No /proc/modules: vxlan built in (in /sys/module), br_netfilter and nf_conntrack by their /proc files, overlay in
    # /proc/filesystems; dummy is nowhere.
    kernel = tree(tmp_path, proc_modules=None, no_module_dir=True, sys_module=("vxlan",))
    for name, sign in (("br_netfilter", "/proc/sys/net/bridge/bridge-nf-call-iptables"), ("nf_conntrack", "/proc/sys/net/netfilter/nf_conntrack_max")):
        kernel["modules"][name]["sign"] = sign
    kernel["modules"]["overlay"]["sign"] = "/proc/filesystems"
    (finding,) = found(tmp_path, kernel, cni="flannel", nodelocaldns=True)
    assert finding["data"]["missing"] == ["dummy"]
    assert "/proc/modules does not exist: the kernel has no loadable module support, only built-in modules are there" in finding["evidence"]
    assert finding["fix"].startswith("This kernel (%s) has no loadable module support" % RELEASE)


def test_cut_lists_are_said_and_older_or_image_facts_judge_nothing(tmp_path):
    kernel = tree(tmp_path, **BASE)
    kernel["loadable"]["truncated"] = True
    finding = found(tmp_path / "a", kernel, cni="flannel")[0]
    assert finding["evidence"][-1] == "/lib/modules/%s/modules.dep was cut at its read limit: a module listed beyond it was not seen" % RELEASE
    assert found(tmp_path / "b", {"status": "not_applicable", "reason": "root is /x"}, cni="flannel") == []
    assert found(tmp_path / "c", {"status": "ok", "release": RELEASE}, cni="flannel") == []
    facts = host_facts(tmp_path / "d", "debian12")
    facts.pop("kernel_modules", None)
    assert [f for f in judge(facts, cni="flannel") if f["id"] == "kernel-module-missing"] == []


def test_the_kernels_config_sees_a_builtin_module_and_one_it_was_built_without(tmp_path):
    # systemd-nspawn: no /sys/module, no /lib/modules; /proc/config.gz says vxlan is built in and dummy is not set.
    kernel = tree(tmp_path, proc_modules=None, no_module_dir=True)
    kernel["config"] = {"source": "/proc/config.gz", "status": "ok"}
    for name in ("br_netfilter", "overlay", "nf_conntrack", "vxlan"):
        kernel["modules"][name]["config"] = "y"
    kernel["modules"]["dummy"]["config"] = None
    (finding,) = found(tmp_path, kernel, cni="flannel", nodelocaldns=True)
    assert finding["data"]["missing"] == ["dummy"]
    assert finding["evidence"][-1] == (
        "dummy: not loaded, not in /sys/module; CONFIG_DUMMY is not set in /proc/config.gz: this kernel was built without it"
        " (needed for NodeLocal DNSCache's nodelocaldns interface (hostnet_nodelocaldns=true))"
    )
    assert finding["fix"].startswith("This kernel (%s) was built without dummy (CONFIG_DUMMY): boot a kernel built with it" % RELEASE)
    kernel["modules"]["dummy"]["config"] = "m"  # a module of this kernel, not installed: the modules package fix
    (finding,) = found(tmp_path / "m", kernel, cni="flannel", nodelocaldns=True)
    assert "; CONFIG_DUMMY=m in /proc/config.gz (needed for" in finding["evidence"][-1]
    assert finding["fix"].startswith("This kernel (%s) has no loadable module support" % RELEASE)
