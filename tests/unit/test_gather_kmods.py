"""kernel_modules facts over built trees: loaded, built in, loadable (compressed files, - and _ alike), the kernel's
own signs, a missing /lib/modules/<release> (a container) and a kernel without module support; bounded reads."""

import os

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, kmods

RELEASE = "6.1.0-99-amd64"


def tree(tmp_path, proc_modules=None, builtin=None, dep=None, sys_module=(), files=(), filesystems="nodev\tproc\n", usr=False):
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc/filesystems").write_text(filesystems)
    if proc_modules is not None:
        (root / "proc/modules").write_text(proc_modules)
    moddir = root / ("usr/lib/modules" if usr else "lib/modules") / RELEASE
    if builtin is not None or dep is not None:
        moddir.mkdir(parents=True)
        if builtin is not None:
            (moddir / "modules.builtin").write_text(builtin)
        if dep is not None:
            (moddir / "modules.dep").write_bytes(dep.encode() if isinstance(dep, str) else dep)
    (root / "sys/module").mkdir(parents=True)
    for name in sys_module:
        (root / "sys/module" / name).mkdir()
    for path in files:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("1\n")
    return str(root)


PROC_MODULES = "overlay 151552 0 - Live 0x0000000000000000\nbr_netfilter 32768 0 - Live 0x0000000000000000\nbridge 311296 1 br_netfilter, Live 0x0\n"
BUILTIN = "kernel/net/netfilter/nf_conntrack.ko\nkernel/drivers/net/dummy.ko\n"
DEP = (
    "kernel/drivers/net/vxlan/vxlan.ko.zst: kernel/net/ipv6/ip6_udp_tunnel.ko.zst kernel/net/ipv4/udp_tunnel.ko.zst\n"
    "kernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz\n"
    "kernel/net/netfilter/ipvs/ip_vs_rr.ko.gz: kernel/net/netfilter/ipvs/ip_vs.ko.gz\n"
    "kernel/net/ipv4/ipip.ko:\n"
    "updates/dkms/ip-vs-sh.ko: \n"
)


def test_loaded_builtin_and_loadable_with_compressed_names(tmp_path):
    facts = kmods.kernel_modules(tree(tmp_path, PROC_MODULES, BUILTIN, DEP), release=RELEASE)
    assert facts["status"] == "ok" and facts["module_support"] is True and facts["module_dir_exists"] is True
    assert facts["loaded"] == {"status": "ok", "names": ["br_netfilter", "bridge", "overlay"], "truncated": False}
    assert facts["builtin"] == {"status": "ok", "path": "/lib/modules/%s/modules.builtin" % RELEASE, "count": 2, "truncated": False}
    assert facts["loadable"]["count"] == 5
    mods = facts["modules"]
    assert mods["overlay"]["loaded"] and mods["br_netfilter"]["loaded"]
    assert mods["nf_conntrack"]["builtin"] and mods["dummy"]["builtin"] and not mods["dummy"]["loaded"]
    assert mods["vxlan"]["loadable"] == "kernel/drivers/net/vxlan/vxlan.ko.zst"
    assert mods["ip_vs"]["loadable"] == "kernel/net/netfilter/ipvs/ip_vs.ko.xz"
    assert mods["ip_vs_rr"]["loadable"] == "kernel/net/netfilter/ipvs/ip_vs_rr.ko.gz"
    assert mods["ipip"]["loadable"] == "kernel/net/ipv4/ipip.ko"
    assert mods["ip_vs_sh"]["loadable"] == "updates/dkms/ip-vs-sh.ko"  # ip-vs-sh and ip_vs_sh are one module to modprobe
    assert mods["ip_vs_wrr"] == {"loaded": False, "builtin": False, "loadable": None, "sysfs": False, "sign": None}
    assert "errors" not in facts


def test_missing_module_dir_is_itself_evidence(tmp_path):
    # A container (or a kernel without its modules package): /proc/modules lists what the host loaded, nothing else.
    facts = kmods.kernel_modules(tree(tmp_path, PROC_MODULES), release=RELEASE)
    assert facts["module_dir_exists"] is False and facts["module_dir"] == "/lib/modules/" + RELEASE
    assert facts["builtin"]["status"] == facts["loadable"]["status"] == "missing"
    assert facts["modules"]["vxlan"]["loadable"] is None and facts["modules"]["overlay"]["loaded"] is True


def test_usr_lib_modules_and_a_kernel_without_module_support(tmp_path):
    root = tree(
        tmp_path,
        None,
        builtin="kernel/net/ipv4/ipip.ko\n",
        dep="",
        usr=True,
        sys_module=("vxlan",),
        files=("/proc/sys/net/bridge/bridge-nf-call-iptables", "/proc/sys/net/netfilter/nf_conntrack_max"),
        filesystems="nodev\tsysfs\nnodev\toverlay\n",
    )
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["module_support"] is False and facts["loaded"]["status"] == "missing"
    assert facts["module_dir"] == "/usr/lib/modules/" + RELEASE
    mods = facts["modules"]
    assert mods["ipip"]["builtin"] and mods["vxlan"]["sysfs"]
    assert mods["br_netfilter"]["sign"] == "/proc/sys/net/bridge/bridge-nf-call-iptables"
    assert mods["nf_conntrack"]["sign"] == "/proc/sys/net/netfilter/nf_conntrack_max"
    assert mods["overlay"]["sign"] == "/proc/filesystems"
    assert mods["ip_vs"]["sign"] is None and mods["dummy"] == {"loaded": False, "builtin": False, "loadable": None, "sysfs": False, "sign": None}


def test_bounded_and_odd_bytes(tmp_path, monkeypatch):
    dep = b"".join(b"kernel/x/m%d.ko: \n" % i for i in range(50)) + b"kernel/\xff\xfe/vxlan.ko:\n"
    root = tree(tmp_path, PROC_MODULES, "", dep)
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["modules"]["vxlan"]["loadable"] == "kernel/\ufffd\ufffd/vxlan.ko" and facts["loadable"]["count"] == 51
    monkeypatch.setattr(kmods, "MAX_LINES", 10)
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["loadable"] == {"status": "ok", "path": "/lib/modules/%s/modules.dep" % RELEASE, "count": 10, "truncated": True}
    assert facts["modules"]["vxlan"]["loadable"] is None


def test_unreadable_source_is_an_error_not_an_exception(tmp_path):
    root = tree(tmp_path, PROC_MODULES, BUILTIN, DEP)
    os.unlink(os.path.join(root, "lib/modules", RELEASE, "modules.dep"))
    os.mkdir(os.path.join(root, "lib/modules", RELEASE, "modules.dep"))  # a directory where the file should be
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["loadable"]["status"] == "error" and facts["errors"][0].startswith(root)


def test_live_gather_has_kernel_modules_and_an_image_root_does_not(tmp_path):
    facts = gather.gather()
    assert facts["kernel_modules"]["release"] == os.uname()[2]
    assert facts["kernel_modules"]["module_support"] is os.path.exists("/proc/modules")
    exists = any(os.path.isdir(base + os.uname()[2]) for base in ("/lib/modules/", "/usr/lib/modules/"))
    assert facts["kernel_modules"]["module_dir_exists"] is exists
    image = tmp_path / "image"
    image.mkdir()
    assert gather.gather(root=str(image))["kernel_modules"]["status"] == "not_applicable"


def test_kernel_config_from_proc_config_gz_or_boot(tmp_path):
    import gzip

    config = "CONFIG_VXLAN=y\nCONFIG_DUMMY=m\n# CONFIG_NET_IPIP is not set\nCONFIG_IP_VS=m\n"
    root = tree(tmp_path / "a", None)
    with gzip.open(os.path.join(root, "proc/config.gz"), "wb") as handle:
        handle.write(config.encode())
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["config"] == {"source": "/proc/config.gz", "status": "ok"}
    mods = facts["modules"]
    assert (mods["vxlan"]["config"], mods["dummy"]["config"], mods["ipip"]["config"], mods["ip_vs"]["config"]) == ("y", "m", None, "m")
    # No /proc/config.gz: the distribution's /boot/config-<release>.
    root = tree(tmp_path / "b", PROC_MODULES, files=("/boot/config-%s" % RELEASE,))
    with open(os.path.join(root, "boot/config-" + RELEASE), "w") as handle:
        handle.write(config)
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["config"]["source"] == "/boot/config-" + RELEASE and facts["modules"]["vxlan"]["config"] == "y"
    # Neither: the key is absent (unknown), never null (not set).
    facts = kmods.kernel_modules(tree(tmp_path / "c", PROC_MODULES), release=RELEASE)
    assert facts["config"] == {"source": None, "status": "missing"} and "config" not in facts["modules"]["vxlan"]


def test_a_corrupt_config_gz_is_an_error_not_an_exception(tmp_path):
    root = tree(tmp_path, PROC_MODULES)
    with open(os.path.join(root, "proc/config.gz"), "wb") as handle:
        handle.write(b"\x1f\x8b\x08\x00garbage-not-deflate")
    facts = kmods.kernel_modules(root, release=RELEASE)
    assert facts["config"] == {"source": "/proc/config.gz", "status": "error"}
    assert facts["errors"][0].startswith("/proc/config.gz: ") and "config" not in facts["modules"]["vxlan"]
