# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule kernel-module-missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.module_utils.kmods import CONFIGS
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules._facts import kernel_facts
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, Option, rule

DOC = """\
Severity: error.

A kernel module the cluster will need is neither loaded (`/proc/modules`), built in (`modules.builtin`, `=y` in the
kernel's config `/proc/config.gz` or `/boot/config-$(uname -r)`, or seen in `/sys/module/<name>` or a file only the
module makes), nor loadable (`modules.dep` of `/lib/modules/$(uname -r)`,
plain or compressed `.ko` files, `-` and `_` alike): `modprobe` of it fails. Which modules:

- always: `br_netfilter` (kube-proxy and bridge CNIs; kubespray loads it), `overlay` (containerd's overlayfs
  snapshotter; kubeadm's SystemVerification lists `CONFIG_OVERLAY_FS`), `nf_conntrack` (kube-proxy; kubespray loads
  it in ipvs mode);
- `hostnet_cni`: `vxlan` for `flannel` and `canal` (flannel's VXLAN backend) and for `calico` when
  `hostnet_calico_encapsulation` is `vxlan` (kubespray's default `calico_vxlan_mode: Always`); `ipip` for `calico` with
  `ipip`; nothing for `none`;
- `hostnet_kube_proxy_mode`: `ip_vs`, `ip_vs_rr`, `ip_vs_wrr`, `ip_vs_sh` for `ipvs`; `nf_tables` for `nftables`;
- `hostnet_nodelocaldns: true`: `dummy` (NodeLocal DNSCache's `nodelocaldns` interface; kubespray checks it).

Sources: kubespray `roles/kubernetes/node/tasks/main.yml` (br_netfilter; `kube_proxy_ipvs_modules` for ipvs;
nf_conntrack; nf_tables for nftables), `roles/kubernetes/preinstall/tasks/0080-system-configurations.yml` (dummy
with `enable_nodelocaldns`), `roles/container-engine/containerd/templates/containerd.service.j2` (`modprobe overlay`);
kubeadm's SystemVerification (`k8s.io/system-validators`, `validators/types_unix.go`) checks the kernel's config
(`CONFIG_OVERLAY_FS` optional, netfilter options required) rather than modules. kubespray also lists `ip_vs_wlc` and
`ip_vs_lc`, which kube-proxy does not need for its default scheduler; this rule does not check them.

A kernel without `/proc/modules` has no loadable module support: only what is built in is there, and the rule
judges from the kernel's config, `/sys/module` and the modules' own files (systemd-nspawn does not mount
`/sys/module`; the config is what sees a built-in `vxlan` there). A failing `modprobe` alone is no finding: `modprobe`
of a built-in module fails too where `/lib/modules/<release>` is missing. A missing `/lib/modules/<release>` is named in the evidence:
in a container it is normal (the modules are the host's), on a host it means the kernel's modules are not installed.

## Why it breaks Kubernetes
The component that needs the module fails when it starts, after the install: flannel and calico cannot create
their VXLAN (`flannel.1`, `vxlan.calico`) or IPIP (`tunl0`) device and pods on different nodes cannot talk
(`Error: Unknown device type.` from `ip link add ... type vxlan`); kube-proxy in ipvs mode falls back or exits
(`can't use the IPVS proxier`); NodeLocal DNSCache cannot create its `nodelocaldns` dummy interface; containerd
cannot mount overlayfs. `modprobe` fails with `FATAL: Module vxlan not found in directory /lib/modules/<release>`.

## Evidence
The running kernel's release, whether `/lib/modules/<release>` and `/proc/modules` exist, and for each missing
module why the cluster needs it and where it was looked for.

## Fix
Manual: install the running kernel's modules package (Ubuntu `apt-get install linux-modules-extra-$(uname -r)`,
Debian `apt-get install --reinstall linux-image-$(uname -r)`, RHEL-like `dnf install kernel-modules-extra-$(uname -r)`)
or boot a kernel that has them, then `modprobe <module>` and list it in `/etc/modules-load.d/k8s.conf`. In a
container, load them on the host. A kernel without module support must have them built in (`CONFIG_VXLAN=y`, ...).
"""

ALWAYS = (
    ("br_netfilter", "kube-proxy's iptables rules on bridged pod traffic"),
    ("overlay", "containerd's default overlayfs snapshotter, every container's root"),
    ("nf_conntrack", "kube-proxy's Service NAT and the CNIs' masquerading, connection tracking"),
)
WHY_VXLAN = "%s's VXLAN device (pods on different nodes talk through it)"
IPVS = ("ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh")


def needed(ctx):
    """(module, why the cluster needs it) for the cluster the options describe."""
    cni = ctx.get("cni") or "unknown"
    found = list(ALWAYS)
    if cni in ("flannel", "canal"):
        found.append(("vxlan", WHY_VXLAN % cni))
    elif cni == "calico":
        encapsulation = ctx.get("calico_encapsulation") or "vxlan"
        if encapsulation == "vxlan":
            found.append(("vxlan", WHY_VXLAN % "calico"))
        elif encapsulation == "ipip":
            found.append(("ipip", "calico's IPIP device tunl0 (pods on different nodes talk through it)"))
    mode = ctx.get("kube_proxy_mode") or "iptables"
    if mode == "ipvs":
        found.extend((name, "kube-proxy in ipvs mode (hostnet_kube_proxy_mode=ipvs)") for name in IPVS)
    elif mode == "nftables":
        found.append(("nf_tables", "kube-proxy in nftables mode (hostnet_kube_proxy_mode=nftables)"))
    if ctx.get("nodelocaldns"):
        found.append(("dummy", "NodeLocal DNSCache's nodelocaldns interface (hostnet_nodelocaldns=true)"))
    return found


def present(entry):
    """Where the kernel has the module, or None."""
    if entry.get("loaded"):
        return "loaded"
    if entry.get("builtin") or entry.get("config") == "y":
        return "built in"
    if entry.get("sysfs"):
        return "in /sys/module"
    if entry.get("sign"):
        return "its %s exists" % entry["sign"]
    if entry.get("loadable"):
        return "loadable"
    return None


def _config_text(kmods, name):
    """What the kernel's build options say of a module: '' when no config was read."""
    entry = kmods["modules"].get(name) or {}
    source = (kmods.get("config") or {}).get("source")
    if not source or "config" not in entry:
        return ""
    option = CONFIGS.get(name, name)
    if entry["config"] is None:
        return "; %s is not set in %s: this kernel was built without it" % (option, source)
    return "; %s=%s in %s" % (option, entry["config"], source)


def _fix(kmods, names):
    release = kmods.get("release") or "$(uname -r)"
    load = "`modprobe %s` and list %s in /etc/modules-load.d/k8s.conf" % (" ".join(names), "it" if len(names) == 1 else "them")
    unbuilt = [name for name in names if (kmods["modules"].get(name) or {}).get("config", "unknown") is None and (kmods.get("config") or {}).get("source")]
    if unbuilt and len(unbuilt) == len(names):
        return "This kernel (%s) was built without %s (%s): boot a kernel built with %s (=y, or =m with its modules installed), then %s." % (
            release,
            ", ".join(names),
            ", ".join(CONFIGS.get(name, name) for name in names),
            "them" if len(names) > 1 else "it",
            load,
        )
    if kmods.get("module_support") is False:
        return (
            "This kernel (%s) has no loadable module support: boot a kernel with %s built in (CONFIG_...=y), "
            "or one with module support and its modules package, then %s." % (release, ", ".join(names), load)
        )
    if not kmods.get("module_dir_exists"):
        return (
            "%s does not exist. In a container, load %s on the host (`modprobe %s` there). On a host, install the running kernel's "
            "modules (`apt-get install --reinstall linux-image-%s` on Debian, `apt-get install linux-modules-%s linux-modules-extra-%s` "
            "on Ubuntu, `dnf reinstall kernel-core-%s kernel-modules kernel-modules-extra` on RHEL-like), then %s."
            % (kmods.get("module_dir"), ", ".join(names), " ".join(names), release, release, release, release, load)
        )
    return (
        "Install the running kernel's extra modules (`apt-get install linux-modules-extra-%s` on Ubuntu, `dnf install "
        "kernel-modules-extra-%s` on RHEL-like; Debian's linux-image package has them) or boot a kernel that has %s, then %s."
        % (release, release, ", ".join(names), load)
    )


@rule(
    "kernel-module-missing",
    "a kernel module the CNI, kube-proxy or the runtime needs is neither loaded, built in, nor loadable",
    severities=("error",),
    fix=Fix(manual="the kernel and its modules package are the host's owner's choice: install them or boot another kernel by hand"),
    reads=("kernel_modules",),
    options=(
        Option(
            "kube_proxy_mode",
            "hostnet_kube_proxy_mode",
            "str",
            "kube-proxy's mode (kubespray's kube_proxy_mode): ipvs needs ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh; nftables needs nf_tables.",
            "iptables",
            choices=("iptables", "ipvs", "nftables"),
        ),
        Option(
            "calico_encapsulation",
            "hostnet_calico_encapsulation",
            "str",
            "Calico's encapsulation when hostnet_cni is calico: vxlan (kubespray's default) needs vxlan, ipip needs ipip.",
            "vxlan",
            choices=("vxlan", "ipip", "none"),
        ),
        Option("nodelocaldns", "hostnet_nodelocaldns", "bool", "The cluster runs NodeLocal DNSCache (needs the dummy module).", False),
    ),
    doc=DOC,
    fault="a module the CNI, kube-proxy or containerd needs (`br_netfilter`, `overlay`, `nf_conntrack`, `vxlan`, `ipip`, `ip_vs*`, `dummy`) cannot be loaded",
    breaks="the CNI's tunnel device, kube-proxy's ipvs mode or NodeLocal DNSCache fail to start",
)
def check(host, facts, ctx):
    kmods = kernel_facts(facts, "kernel_modules")
    if not isinstance(kmods, dict) or not isinstance(kmods.get("modules"), dict):
        return []  # an image root, or an older facts module: nothing to judge
    modules = kmods["modules"]
    missing = []
    for name, why in needed(ctx):
        entry = modules.get(name)
        if isinstance(entry, dict) and not present(entry):
            missing.append((name, why))
    if not missing:
        return []
    names = [name for name, _why in missing]
    release = kmods.get("release")
    evidence = ["running kernel: %s" % release]
    if kmods.get("module_support") is False:
        evidence.append("/proc/modules does not exist: the kernel has no loadable module support, only built-in modules are there")
    if not kmods.get("module_dir_exists"):
        evidence.append("%s does not exist: no module of the running kernel can be loaded (normal in a container)" % kmods.get("module_dir"))
    for name, why in missing:
        where = "not in /proc/modules, modules.builtin, modules.dep or /sys/module" if kmods.get("module_dir_exists") else "not loaded, not in /sys/module"
        evidence.append("%s: %s%s (needed for %s)" % (name, where, _config_text(kmods, name), why))
    for key in ("loaded", "builtin", "loadable"):
        if (kmods.get(key) or {}).get("truncated"):
            evidence.append("%s was cut at its read limit: a module listed beyond it was not seen" % ((kmods.get(key) or {}).get("path") or "/proc/modules"))
    return [
        Finding(
            "kernel-module-missing",
            "error",
            host,
            "kernel module%s %s cannot be loaded (kernel %s)" % ("" if len(names) == 1 else "s", ", ".join(names), release),
            evidence,
            "`modprobe %s` fails (`FATAL: Module %s not found in directory %s`), so what needs it fails after the install: %s."
            % (names[0], names[0], kmods.get("module_dir"), "; ".join(why for _name, why in missing)),
            _fix(kmods, names),
            data={"missing": names, "release": release},
        )
    ]
