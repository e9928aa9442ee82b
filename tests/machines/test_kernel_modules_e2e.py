"""kernel-module-missing on a booted Debian 12 machine (systemd-nspawn, the host's kernel): the image has no
/lib/modules for that kernel, so `modprobe` of any module fails there, as in a container or on a host whose kernel's
modules package is missing. Which modules the kernel really lacks is shown with the client that needs each: NodeLocal
DNSCache's `ip link add nodelocaldns type dummy`, calico IPIP's `ip link add ... type ipip`, flannel's VXLAN device.

Then the audit, as a user runs it (`-e hostnet_cni=... -e hostnet_nodelocaldns=true`), names exactly the modules the
kernel cannot give: where the kernel has one built in (the test asserts it with a device the kernel really creates),
a failing `modprobe` alone is no finding. The fix is manual (the kernel's modules package): nothing to show after."""

import os

import pytest
from machinelib import load_report, run_playbook

NAME = "kmods"
SPECS = [{"name": NAME, "image": "bookworm", "files": {}, "enable": []}]


def device(fleet, kind, extra=""):
    """What the kernel answers when a CNI creates its device of ``kind`` (then removed again)."""
    proc = fleet.ssh(NAME, "ip link add kp-%s type %s %s 2>&1 && ip link del kp-%s && echo created" % (kind, kind, extra, kind), check=False)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def seen(make_machines, tmp_path_factory):
    fleet = make_machines(SPECS)
    release = fleet.ssh(NAME, "uname -r").stdout.strip()
    found = {
        "release": release,
        "lib_modules": fleet.ssh(NAME, "ls -d /lib/modules/%s 2>&1" % release, check=False).stdout.strip(),
        "modprobe": {m: fleet.ssh(NAME, "modprobe %s 2>&1; echo rc=$?" % m, check=False).stdout.strip() for m in ("dummy", "ipip", "vxlan")},
        "dummy": device(fleet, "dummy"),
        "ipip": device(fleet, "ipip", "local 127.0.0.1 remote 127.0.0.2"),
        "vxlan": device(fleet, "vxlan", "id 42 dstport 4789 local 127.0.0.1"),
    }
    runs = {
        "flannel": ("-e", "hostnet_cni=flannel", "-e", "hostnet_nodelocaldns=true"),
        "calico": ("-e", "hostnet_cni=calico", "-e", "hostnet_calico_encapsulation=ipip"),
    }
    for label, extra in runs.items():
        out = str(tmp_path_factory.mktemp("kmods-" + label))
        found[label] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out, "-e", "hostnet_fail_on=never", *extra)
        found[label + "_report"] = load_report(out) if os.path.exists(os.path.join(out, "hostnet-report.json")) else None
    return found


def finding(seen, label):
    found = [f for f in seen[label + "_report"]["hosts"][NAME]["findings"] if f["id"] == "kernel-module-missing"]
    assert len(found) <= 1, found
    return found[0] if found else None


def symptom(seen, module):
    """Before the audit: modprobe of the module fails (no /lib/modules for this kernel); what the kernel answers to the
    device the CNI creates, when asked."""
    release = seen["release"]
    assert seen["lib_modules"] == "ls: cannot access '/lib/modules/%s': No such file or directory" % release, seen["lib_modules"]
    text = seen["modprobe"][module]
    assert text.startswith("modprobe: FATAL: Module %s not found in directory /lib/modules/%s" % (module, release)) and text.endswith("rc=1"), text
    return seen[module]


def test_flannel_with_nodelocaldns_names_dummy(seen):
    # NodeLocal DNSCache cannot make its nodelocaldns interface: the kernel has no dummy device type.
    assert symptom(seen, "dummy") == "Error: Unknown device type.", seen["dummy"]
    assert seen["flannel"].returncode == 0, seen["flannel"].stdout[-3000:]
    found = finding(seen, "flannel")
    assert found is not None, seen["flannel"].stdout[-3000:]
    assert found["severity"] == "error"
    assert found["data"]["missing"][-1] == "dummy", found
    assert "/lib/modules/%s does not exist: no module of the running kernel can be loaded (normal in a container)" % seen["release"] in found["evidence"]
    assert "[ERROR kernel-module-missing] %s: kernel module" % NAME in seen["flannel"].stdout


def test_vxlan_is_named_exactly_when_the_kernel_cannot_make_the_device(seen):
    # modprobe vxlan fails on every kernel here (no /lib/modules); whether flannel can work depends on the kernel:
    # built in, the device is created and the audit must not name it.
    created = symptom(seen, "vxlan") == "created"
    names = finding(seen, "flannel")["data"]["missing"]
    assert ("vxlan" in names) is not created, (names, seen["vxlan"])


def test_calico_ipip_names_ipip(seen):
    # calico IPIP cannot make tunl0: the kernel has no ipip device type.
    assert symptom(seen, "ipip") == "Error: Unknown device type.", seen["ipip"]
    assert seen["calico"].returncode == 0, seen["calico"].stdout[-3000:]
    found = finding(seen, "calico")
    assert found is not None and "ipip" in found["data"]["missing"] and "dummy" not in found["data"]["missing"], found
    assert "calico's IPIP device tunl0" in " ".join(found["evidence"])
    # The fix depends on the kernel (built without it, no module support, or its modules not installed): each names it.
    assert seen["release"] in found["fix"] and "`modprobe ipip` and list it in /etc/modules-load.d/k8s.conf" in found["fix"], found["fix"]
