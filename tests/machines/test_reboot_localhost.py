"""F1 and the sysctl fixes across a real reboot: each F1 method, cloud-init rewriting /etc/hosts at boot.

Every machine boots in the incident's state: ``localhost`` only on ``::1`` in
/etc/hosts, and the admin's /etc/sysctl.conf turning IPv6 off on lo (applied
by systemd-sysctl at every boot). The client is the incident's: resolve
``localhost`` and connect to port 6443, where the apiserver stand-in listens
from boot. It fails before the fix, connects after it, and after the reboot.

  f1-hosts   the default method: 127.0.0.1 localhost in /etc/hosts
  f1-ipv6    hostnet_localhost_method=ipv6: IPv6 back on lo, and the admin's
             later /etc/sysctl.conf line must not win at boot
  f1-cloud   cloud-init (NoCloud seed) with manage_etc_hosts: true renders
             /etc/hosts from hosts.debian.tmpl at every boot; the broken
             template is the one to fix. A line added to /etc/hosts by hand is
             gone after the reboot: cloud-init did rewrite the file.
  sysctl     localhost is fine; the admin's /etc/sysctl.conf sets
             net.ipv4.ip_forward = 0 and net.bridge.bridge-nf-call-iptables = 0,
             read last at every boot: the fixes must still hold after it.
"""

import json
import os

import pytest
from machinelib import BOOT_ENABLE, boot_services, load_report, probe, run_playbook

BROKEN_HOSTS = "::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n127.0.0.1\t{name}.localdomain {name}\n"
ADMIN_SYSCTL = "# the site's hardening baseline\nnet.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.lo.disable_ipv6 = 1\n"
BROKEN_TEMPLATE = (
    "## template:jinja\n{# the image's template, as the incident's image shipped it: no IPv4 localhost #}\n"
    "::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 {{fqdn}} {{hostname}}\nff02::1 ip6-allnodes\n"
)
CLOUD_CFG = "datasource_list: [ NoCloud ]\nnetwork: {config: disabled}\nssh_deletekeys: false\nssh_genkeytypes: []\n"
HAND_EDIT = "# added by hand before the reboot"


def _spec(name, files, **extra):
    def machine_files(host):
        return boot_services(host, dict({"etc/sysctl.conf": (ADMIN_SYSCTL, 0o644)}, **files))

    return dict({"name": name, "image": "bookworm", "gateway": True, "files": machine_files, "enable": BOOT_ENABLE}, **extra)


SPECS = [
    _spec("f1-hosts", {"etc/hosts": (BROKEN_HOSTS.format(name="f1-hosts"), 0o644)}),
    _spec("f1-ipv6", {"etc/hosts": (BROKEN_HOSTS.format(name="f1-ipv6"), 0o644)}),
    _spec(
        "f1-cloud",
        {
            "etc/cloud/templates/hosts.debian.tmpl": (BROKEN_TEMPLATE, 0o644),
            "etc/cloud/cloud.cfg.d/90-kubeprep-test.cfg": (CLOUD_CFG, 0o644),
            "var/lib/cloud/seed/nocloud/meta-data": ("instance-id: f1-cloud-1\nlocal-hostname: f1-cloud\n", 0o644),
            "var/lib/cloud/seed/nocloud/user-data": ("#cloud-config\nmanage_etc_hosts: true\n", 0o644),
            "etc/hosts": ("127.0.0.1 placeholder\n", 0o644),
        },
        remove=["etc/cloud/cloud-init.disabled"],
    ),
]
ADMIN_FORWARDING = "# the site's baseline\nnet.ipv4.ip_forward = 0\nnet.bridge.bridge-nf-call-iptables = 0\n"
SPECS.append({"name": "sysctl", "image": "bookworm", "gateway": True, "files": {"etc/sysctl.conf": (ADMIN_FORWARDING, 0o644)}, "enable": []})
NAMES = [spec["name"] for spec in SPECS]
F1_NAMES = NAMES[:3]
SYSCTLS = ("net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables")


@pytest.fixture(scope="module")
def f1(make_machines, tmp_path_factory):
    fleet = make_machines(SPECS)
    host_vars = os.path.join(fleet.state_dir, "host_vars")
    os.makedirs(host_vars, exist_ok=True)
    with open(os.path.join(host_vars, "f1-ipv6.yml"), "w") as handle:
        handle.write("hostnet_localhost_method: ipv6\n")
    seen = {"fleet": fleet}

    def look(phase):
        seen[phase] = {
            name: {
                "probe": probe(fleet, name, "localhost", 6443),
                "hosts": fleet.ssh(name, "cat /etc/hosts").stdout,
                "lo_ipv6": fleet.ssh(name, "cat /proc/sys/net/ipv6/conf/lo/disable_ipv6").stdout.strip(),
                "boot_id": fleet.ssh(name, "cat /proc/sys/kernel/random/boot_id").stdout.strip(),
            }
            for name in F1_NAMES
        }

    def sysctls(phase):
        seen[phase + "_sysctl"] = fleet.ssh("sysctl", "cat %s" % " ".join("/proc/sys/" + key for key in SYSCTLS)).stdout.split()

    look("before")
    sysctls("before")
    fleet.ssh("f1-cloud", "echo '%s' >> /etc/hosts" % HAND_EDIT)
    seen["reports"] = str(tmp_path_factory.mktemp("f1-reports"))
    seen["remediate"] = run_playbook(fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_report_dir=" + seen["reports"])
    look("fixed")
    sysctls("fixed")
    fleet.reboot(NAMES)
    look("rebooted")
    sysctls("rebooted")
    seen["modules"] = fleet.ssh("sysctl", "cat /etc/modules-load.d/*.conf; systemctl show -p ActiveState,ConditionResult systemd-modules-load.service").stdout
    seen["sysctl_conf"] = fleet.ssh("f1-ipv6", "cat /etc/sysctl.conf; ls /etc/sysctl.d").stdout
    seen["audit"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + str(tmp_path_factory.mktemp("f1-audit")))
    return seen


def test_symptom_before_the_fix(f1):
    """localhost resolves to ::1 only, and lo has no IPv6: the connect fails (the incident's error)."""
    wrong = {n: m for n, m in f1["before"].items() if not (m["probe"].startswith("FAIL ::1") and m["lo_ipv6"] == "1")}
    assert not wrong, wrong
    assert "127.0.0.1 localhost" not in f1["before"]["f1-cloud"]["hosts"], "cloud-init did not render the broken template"


def test_remediation_fixes_each_method(f1):
    proc = f1["remediate"]
    assert proc.returncode == 0, proc.stdout[-4000:]
    report = load_report(f1["reports"])["hosts"]
    assert all(report[n]["status"] == "ok" for n in NAMES), {n: report[n]["findings"] for n in NAMES}
    with open(os.path.join(f1["reports"], "hostnet-changes.json")) as handle:
        outcomes = {n: h["outcome"] for n, h in json.load(handle)["hosts"].items()}
    assert outcomes == dict.fromkeys(NAMES, "fixed"), outcomes


def test_cure_after_the_fix(f1):
    fixed = f1["fixed"]
    assert fixed["f1-hosts"]["probe"].startswith("CONNECTED 127.0.0.1"), fixed["f1-hosts"]
    assert fixed["f1-ipv6"]["probe"].startswith("CONNECTED ::1") and fixed["f1-ipv6"]["lo_ipv6"] == "0", fixed["f1-ipv6"]
    assert fixed["f1-cloud"]["probe"].startswith("CONNECTED 127.0.0.1"), fixed["f1-cloud"]
    assert HAND_EDIT in fixed["f1-cloud"]["hosts"], "the hosts-file fix kept the other lines"


def test_cure_survives_the_reboot(f1):
    after = f1["rebooted"]
    assert all(after[n]["boot_id"] != f1["fixed"][n]["boot_id"] for n in F1_NAMES)
    assert after["f1-hosts"]["probe"].startswith("CONNECTED 127.0.0.1"), after["f1-hosts"]
    assert after["f1-ipv6"]["probe"].startswith("CONNECTED ::1") and after["f1-ipv6"]["lo_ipv6"] == "0", (after["f1-ipv6"], f1["sysctl_conf"])
    assert after["f1-cloud"]["probe"].startswith("CONNECTED 127.0.0.1"), after["f1-cloud"]


def test_cloud_init_really_rewrote_hosts_at_boot(f1):
    """The hand-made line is gone: the file was rendered again, from the fixed template."""
    hosts = f1["rebooted"]["f1-cloud"]["hosts"]
    assert HAND_EDIT not in hosts, hosts
    assert any(line.split()[:2] == ["127.0.0.1", "localhost"] for line in hosts.splitlines()), hosts


def test_audit_passes_after_the_reboot(f1):
    assert f1["audit"].returncode == 0, f1["audit"].stdout[-3000:]


def test_sysctl_fixes_survive_the_admins_sysctl_conf(f1):
    """0 at boot before, 1 after the fix, still 1 after a boot that read /etc/sysctl.conf last."""
    assert f1["before_sysctl"] == ["0", "0"], f1["before_sysctl"]
    assert f1["fixed_sysctl"] == ["1", "1"], f1["fixed_sysctl"]
    assert f1["rebooted_sysctl"] == ["1", "1"], (f1["rebooted_sysctl"], f1["modules"])
    assert "br_netfilter" in f1["modules"], f1["modules"]
