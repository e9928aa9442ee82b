# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule networkmanager-manages-cni."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubeprep.hostnet.plugins.module_utils import nmconf
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils.rules.engine import Finding, Fix, rule

DOC = """\
Severity: warning.

NetworkManager runs on the host and its configuration leaves the interfaces a CNI or kube-proxy creates
managed: no `[keyfile] unmanaged-devices` spec and no `[device*]` section with `managed=0` covers `cali*`,
`tunl0`, `vxlan.calico`, `vxlan-v6.calico`, `flannel.1`, `cni0`, `kube-ipvs0`, `nodelocaldns` (the dummy device
of kubespray's NodeLocal DNSCache), `cilium_host` or `weave`. The configuration is read
as NetworkManager merges it: `NetworkManager.conf`, then the `conf.d` files of `/usr/lib`, `/run` and `/etc`
by name (`unmanaged-devices=` replaces, `+=` appends, `-=` removes). kubespray's preinstall writes the same
exclusion (`calico.conf`: `cali*`, `tunl*`, `vxlan.calico`, `vxlan-v6.calico`; `k8s.conf`: `kube-ipvs0`,
`nodelocaldns`); users hit it in rke2#786.

## Why it breaks Kubernetes
NetworkManager takes the interfaces the CNI creates (it shows them `connected (externally)` and then acts on
them): it removes routes and addresses it did not configure, brings devices down on a reconnect, or runs DHCP on
them, and the pods on that node lose their network until the CNI pod restarts.

## Evidence
That NetworkManager runs, the configuration files read, the merged `unmanaged-devices` and every `managed=0`
section, and the CNI interfaces left managed.

## Fix
Role `kubeprep.hostnet.hostnet_networkmanager`: `/etc/NetworkManager/conf.d/90-kubeprep-hostnet-cni.conf` with a
section of its own (the site's `unmanaged-devices` stays as it is):

```ini
[device-kubeprep-hostnet-cni]
match-device=interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:flannel*;interface-name:cni0;interface-name:kube-ipvs0;...
managed=0
```

then `nmcli general reload conf`, so NetworkManager lets go of them at once. The patterns are
`hostnet_networkmanager_unmanaged`.
"""


@rule(
    "networkmanager-manages-cni",
    "NetworkManager would manage the CNI's interfaces",
    severities=("warning",),
    fix=Fix(
        role="hostnet_networkmanager",
        what=(
            "a `[device-kubeprep-hostnet-cni]` `managed=0` drop-in in `/etc/NetworkManager/conf.d/`, `nmcli general reload "
            "conf`, and `nmcli device set <dev> managed no` for the CNI devices it already holds (a reload does not release"
            " them). Before any change it refuses a pattern of `hostnet_networkmanager_unmanaged` that matches the "
            "interface of the controller's SSH session, of a default route or of the node address, or that carries a "
            "newline or NetworkManager's list syntax (`;`, `,`) unescaped "
            "(`tests/integration/test_networkmanager_patterns.py`). Proven on a booted machine, also after a reboot "
            "(`tests/machines/test_networkmanager_cni.py`)."
        ),
    ),
    reads=("networkmanager",),
    doc=DOC,
    fault="NetworkManager runs and no `unmanaged-devices` setting covers `cali*`, `flannel*`, `cni0`, `tunl0`, `kube-ipvs0`, ...",
    breaks="NetworkManager takes the CNI's interfaces; pods lose their network",
)
def check(host, facts, ctx):
    config = facts.get("networkmanager") or {}
    if not config.get("running"):
        return []
    managed = [name for name in nmconf.CNI_INTERFACES if not nmconf.covers(config, name)]
    if not managed:
        return []
    specs = config.get("unmanaged_devices") or []
    sections = ["[%s] managed=0 for %s (%s)" % (s["section"], ";".join(s["specs"]), s["path"]) for s in config.get("unmanaged_sections") or []]
    return [
        Finding(
            "networkmanager-manages-cni",
            "warning",
            host,
            "NetworkManager runs and no unmanaged-devices setting covers %s" % ", ".join(managed),
            ["NetworkManager is running", "configuration read: %s" % (", ".join(config.get("config_files") or []) or "none")]
            + ["[keyfile] unmanaged-devices=%s" % (";".join(specs) or "(none)")]
            + sections,
            "NetworkManager takes the interfaces the CNI and kube-proxy create (cali*, flannel.1, cni0, tunl0, kube-ipvs0, "
            "nodelocaldns): it removes their routes and addresses or brings them down, and pods on the node lose their network "
            "(rke2#786; kubespray's preinstall writes the same exclusion).",
            "Tell NetworkManager to leave them alone: a drop-in in /etc/NetworkManager/conf.d/ with a [device-...] section, "
            "`match-device=interface-name:cali*;interface-name:flannel*;...` and `managed=0`, then `nmcli general reload conf` "
            "(role kubeprep.hostnet.hostnet_networkmanager).",
            data={"managed": managed},
        )
    ]
