"""Remediation you can trust, on stock test hosts (net.ipv4.ip_forward=0, as a
fresh machine boots): the README command run verbatim from a directory with no
report dir fixes one fault per host and proves each cure with the incident's
client; an unreachable host does not stop the others; a fix that cannot be
done whole changes nothing."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import CONNECT_PROBE, LISTENER, VENV_BIN, ansible_env, load_report, run_adhoc, run_module, run_playbook
from testhosts import run as harness_run

F1_HOSTS = "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n127.0.0.1   centos7.Localdomain\n"
DNS_FIRST = "hosts:          dns files\n"


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


def probe(fleet, host, name, port):
    return fleet.exec(host, ["python3", "-c", CONNECT_PROBE, name, str(port)]).stdout.strip()


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["f1", "f2", "f3", "clean"], stock=True)
    for name in ("f1", "f2"):
        fleet.exec(name, ["python3", "-c", LISTENER])
    return fleet


def inject(fleet):
    gateway = fleet.state["gateway"]
    sh(fleet, "f1", "cat > /etc/hosts && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6", input_text=F1_HOSTS)
    sh(
        fleet,
        "f2",
        "ip route del default; iptables -t nat -A OUTPUT -d 10.96.0.1 -p tcp --dport 443 -j DNAT --to-destination %s:6443" % fleet.host("f2")["address"],
    )
    # Silent nameservers, each tried once for 1 s: a DNS-first lookup of localhost waits 3 s.
    ns = "".join("nameserver %s\n" % a for a in fleet.state["silent_nameservers"]) + "options timeout:1 attempts:1\n"
    sh(fleet, "f3", "cat > /etc/resolv.conf", input_text=ns)
    sh(fleet, "f3", "cat > /etc/nsswitch.conf", input_text=DNS_FIRST)
    return gateway


def readme_remediate(fleet, cwd, inventory, *extra):
    """`ansible-playbook kubeprep.hostnet.remediate -i inventory.ini -e hostnet_service_route_gateway=...`, from cwd."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "kubeprep.hostnet.remediate", "-i", inventory] + list(extra)
    return subprocess.run(
        cmd, cwd=str(cwd), env=ansible_env(fleet), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False
    )


def test_readme_command_fixes_fresh_hosts_and_proves_each_cure(fleet, tmp_path):
    gateway = inject(fleet)
    # The symptoms first, with the incidents' clients.
    assert probe(fleet, "f1", "localhost", 6443).split()[0:2] == ["FAIL", "::1"]
    assert probe(fleet, "f2", "10.96.0.1", 443).split()[0:3] == ["FAIL", "10.96.0.1", "ENETUNREACH"]
    assert sh(fleet, "clean", "cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"  # stock
    shutil.copy(os.path.join(fleet.state_dir, "inventory.ini"), str(tmp_path / "inventory.ini"))

    result = readme_remediate(fleet, tmp_path, "inventory.ini", "-e", "hostnet_service_route_gateway=%s" % gateway)
    assert result.returncode == 0, result.stdout[-6000:]
    changes = json.loads((tmp_path / "hostnet-report" / "hostnet-changes.json").read_text())
    assert {h: o["outcome"] for h, o in changes["hosts"].items()} == {"f1": "fixed", "f2": "fixed", "f3": "fixed", "clean": "fixed"}
    after = load_report(str(tmp_path / "hostnet-report"))
    assert after["summary"]["errors"] == 0, after["summary"]
    assert os.path.exists(tmp_path / "hostnet-report" / "before" / "hostnet-report.json")
    # The cures, with the same clients.
    assert probe(fleet, "f1", "localhost", 6443).startswith("CONNECTED 127.0.0.1 ")
    assert probe(fleet, "f2", "10.96.0.1", 443).startswith("CONNECTED 10.96.0.1 ")
    lookup = probe(fleet, "f3", "localhost", 9)  # nothing listens on 9: only the lookup time matters
    assert float(lookup.split()[-1]) < 1.0, lookup
    # What the boot applies keeps ip_forward on (sysctl --system reads /etc/sysctl.conf last).
    for host in ("f1", "f2", "f3", "clean"):
        assert (
            sh(fleet, host, "echo 0 > /proc/sys/net/ipv4/ip_forward; sysctl -q --system >/dev/null 2>&1; cat /proc/sys/net/ipv4/ip_forward").stdout.strip()
            == "1"
        )
    # A second run changes nothing.
    again = readme_remediate(fleet, tmp_path, "inventory.ini", "-e", "hostnet_service_route_gateway=%s" % gateway)
    assert again.returncode == 0, again.stdout[-4000:]
    second = json.loads((tmp_path / "hostnet-report" / "hostnet-changes.json").read_text())
    assert {h: (o["outcome"], o["changes"]) for h, o in second["hosts"].items()} == {h: ("ok", []) for h in ("f1", "f2", "f3", "clean")}


def test_unreachable_host_does_not_stop_the_others(fleet, tmp_path):
    sh(fleet, "f1", "cat > /etc/hosts", input_text=F1_HOSTS)
    inventory = tmp_path / "inventory.ini"
    text = open(os.path.join(fleet.state_dir, "inventory.ini")).read()
    gone = fleet.state["gateway"].rsplit(".", 1)[0] + ".99"  # inside the test subnet, nothing answers there
    inventory.write_text(text.replace("[testhosts]\n", "[testhosts]\ngone ansible_host=%s ansible_ssh_timeout=3\n" % gone))
    result = readme_remediate(fleet, tmp_path, "inventory.ini", "-e", "hostnet_service_route_gateway=%s" % fleet.state["gateway"])
    assert result.returncode != 0
    changes = json.loads((tmp_path / "hostnet-report" / "hostnet-changes.json").read_text())["hosts"]
    assert changes["f1"]["outcome"] == "fixed" and changes["f1"]["changes"], changes["f1"]
    assert changes["gone"]["outcome"] == "failed" and "not remediated: no hostnet facts" in changes["gone"]["summary"]
    assert [m["rule"] for m in changes["gone"]["manual"]] == ["facts-missing"]
    assert probe(fleet, "f1", "localhost", 6443).startswith("CONNECTED 127.0.0.1 ")
    after = load_report(str(tmp_path / "hostnet-report"))
    assert [f["id"] for f in after["hosts"]["gone"]["findings"]] == ["facts-missing"]
    assert after["hosts"]["f1"]["findings"] == []


def test_missing_gateway_is_needs_input_and_names_the_variable(fleet, tmp_path):
    sh(fleet, "f2", "ip route del default")
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", "-l", "f2", "-e", "hostnet_report_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]  # nothing it was allowed to fix failed
    outcome = json.loads((tmp_path / "hostnet-changes.json").read_text())["hosts"]["f2"]
    assert outcome["outcome"] == "needs_input"
    assert {tuple(n["variables"]) for n in outcome["needs_input"]} == {("hostnet_service_route_gateway",)}
    assert "nothing was changed" in outcome["summary"]
    assert "f2: needs input" in result.stdout
    assert "default" not in sh(fleet, "f2", "ip route").stdout


@pytest.mark.parametrize("gateway", ["127.0.0.1", "127.0.0.5", "NETWORK", "OWN", "10.99.0.1", "SILENT"])
def test_black_hole_gateways_are_refused_before_any_change(fleet, tmp_path, gateway):
    sh(fleet, "f2", "ip route del default 2>/dev/null; true")
    net = fleet.state["gateway"].rsplit(".", 1)[0]
    # SILENT: on the subnet, but nothing there answers ARP (a gateway that is down, or a typo).
    gateway = {"NETWORK": net + ".0", "OWN": fleet.host("f2")["address"], "SILENT": net + ".77"}.get(gateway, gateway)
    before = sh(fleet, "f2", "ip route; ls /etc/network/if-up.d").stdout
    result = run_playbook(
        fleet, "kubeprep.hostnet.remediate", "-l", "f2", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_service_route_gateway=%s" % gateway
    )
    assert result.returncode != 0
    outcome = json.loads((tmp_path / "hostnet-changes.json").read_text())["hosts"]["f2"]
    assert outcome["outcome"] == "failed" and "refusing gateway %s" % gateway in outcome["summary"], outcome
    assert sh(fleet, "f2", "ip route; ls /etc/network/if-up.d").stdout == before
    assert probe(fleet, "f2", "10.96.0.1", 443).split()[2] == "ENETUNREACH"


def routes(fleet, host="clean"):
    return sh(fleet, host, "ip route; ip -6 route; ls -R /etc/systemd/network /etc/network 2>/dev/null").stdout


def route(fleet, args, *extra):
    return run_module(fleet, "clean", "kubeprep.hostnet.hostnet_route", args, *extra)


def test_persistence_is_decided_before_the_live_route(fleet):
    gateway = fleet.state["gateway"]
    before = routes(fleet)
    for extra in ((), ("--check",)):  # check mode predicts the same failure
        rc, result = route(fleet, {"dest": "10.97.0.0/16", "gateway": gateway, "persist": "systemd-networkd"}, *extra)
        assert rc != 0 and result["changed"] is False
        assert "no systemd-networkd .network file matches eth1" in result["msg"] and "nothing was changed" in result["msg"]
        assert routes(fleet) == before


def test_networkd_drop_in_directory_is_created(fleet):
    gateway = fleet.state["gateway"]
    sh(fleet, "clean", "mkdir -p /etc/systemd/network && printf '[Match]\\nName=eth1\\n[Network]\\nDHCP=no\\n' > /etc/systemd/network/10-eth1.network")
    try:
        rc, result = route(fleet, {"dest": "10.98.0.0/16", "gateway": gateway, "persist": "systemd-networkd"})
        assert rc == 0 and result["changed"], result
        dropin = "/etc/systemd/network/10-eth1.network.d/90-kubeprep-hostnet-route-10_98_0_0_16.conf"
        assert result["persisted_path"] == dropin
        assert "Destination=10.98.0.0/16" in sh(fleet, "clean", "cat %s" % dropin).stdout
        rc, result = route(fleet, {"dest": "10.98.0.0/16", "gateway": gateway, "persist": "systemd-networkd"})
        assert rc == 0 and not result["changed"]
    finally:
        sh(fleet, "clean", "rm -rf /etc/systemd/network/10-eth1.network*; ip route del 10.98.0.0/16 2>/dev/null; true")


def test_ifupdown_without_if_up_d(fleet):
    sh(fleet, "clean", "rm -rf /etc/network/if-up.d")
    rc, result = route(fleet, {"dest": "10.95.0.0/16", "gateway": fleet.state["gateway"], "persist": "ifupdown"})
    assert rc == 0 and result["changed"], result
    assert "created /etc/network/if-up.d" in result["actions"]
    assert sh(fleet, "clean", "stat -c %a /etc/network/if-up.d/kubeprep-hostnet-route-10_95_0_0_16").stdout.strip() == "755"


def test_live_route_is_rolled_back_when_persisting_fails(fleet):
    """A failure no check can foresee (a read-only /etc/network is refused before the live route, see
    test_trust_writes.py): if-up.d is a full file system, so writing the hook fails after the route was added."""
    fill = "mkdir -p /etc/network/if-up.d && mount -t tmpfs -o size=4k tmpfs /etc/network/if-up.d"
    sh(fleet, "clean", fill + " && (dd if=/dev/zero of=/etc/network/if-up.d/.fill bs=1k 2>/dev/null; true)")
    try:
        before = routes(fleet)
        rc, result = route(fleet, {"dest": "10.94.0.0/16", "gateway": fleet.state["gateway"], "persist": "ifupdown"})
        assert rc != 0 and result["changed"] is False, result
        assert "No space left on device" in result["msg"], result["msg"]
        assert "the live route 10.94.0.0/16 via %s dev eth1 was removed again, nothing was changed" % fleet.state["gateway"] in result["msg"]
        assert routes(fleet) == before
    finally:
        sh(fleet, "clean", "umount /etc/network/if-up.d")


def test_host_routes_and_ipv6_routes_are_idempotent(fleet):
    sh(fleet, "clean", "ip -6 addr add fd00:213::11/64 dev eth1 nodad")
    harness_run(["ip", "-n", fleet.state["switch_ns"], "addr", "add", "fd00:213::1/64", "dev", "br0", "nodad"])
    cases = [
        {"dest": "10.96.0.1/32", "gateway": fleet.state["gateway"], "persist": "none"},
        {"dest": "fd00:96::/108", "gateway": "fd00:213::1", "persist": "none"},
        {"dest": "default", "gateway": "fd00:213::1", "persist": "none"},
    ]
    for args in cases:
        rc, result = route(fleet, args)
        assert rc == 0 and result["changed"], (args, result)
        rc, result = route(fleet, args)
        assert rc == 0 and not result["changed"], (args, result)
    sh(fleet, "clean", "ip route del 10.96.0.1/32; ip -6 route del fd00:96::/108; ip -6 route del default; ip -6 addr del fd00:213::11/64 dev eth1")
    harness_run(["ip", "-n", fleet.state["switch_ns"], "addr", "del", "fd00:213::1/64", "dev", "br0"])


def test_ifupdown_hook_quotes_and_never_overwrites_a_later_route(fleet):
    gateway = fleet.state["gateway"]
    rc, result = route(fleet, {"dest": "10.93.0.0/16", "gateway": gateway, "persist": "ifupdown"})
    assert rc == 0, result
    hook = "/etc/network/if-up.d/kubeprep-hostnet-route-10_93_0_0_16"
    # The admin changes the route later; the next ifup must keep it.
    sh(fleet, "clean", "ip route del 10.93.0.0/16; ip route add 10.93.0.0/16 dev eth1")
    sh(fleet, "clean", "IFACE=eth1 %s" % hook)
    assert sh(fleet, "clean", "ip route show 10.93.0.0/16").stdout.strip().startswith("10.93.0.0/16 dev eth1")
    rc, result = route(fleet, {"dest": "10.92.0.0/16", "gateway": gateway, "interface": "eth1;reboot", "persist": "ifupdown"})
    assert rc != 0 and "not an interface name" in result["msg"] and result["changed"] is False
    sh(fleet, "clean", "ip route del 10.93.0.0/16")


def test_ipv6_method_survives_an_admins_sysctl_conf(fleet, tmp_path):
    """Debian links /etc/sysctl.conf as 99-sysctl.conf and sysctl --system reads it last: its
    disable_ipv6 = 1 would undo the fix at every boot unless the remediation deals with it."""
    sh(fleet, "f1", "cat > /etc/hosts && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6", input_text=F1_HOSTS)
    sh(fleet, "f1", "printf '# admin\\nnet.ipv6.conf.lo.disable_ipv6 = 1\\nvm.swappiness = 10\\n' > /etc/sysctl.conf")
    result = run_playbook(
        fleet, "kubeprep.hostnet.remediate", "-l", "f1", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_localhost_method=ipv6", "--diff"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "-net.ipv6.conf.lo.disable_ipv6 = 1" in result.stdout  # the diff shows the admin's line going
    assert sh(fleet, "f1", "cat /etc/sysctl.conf").stdout.splitlines()[2] == "vm.swappiness = 10"
    # What the boot does, then the client.
    sh(fleet, "f1", "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6; sysctl -q --system >/dev/null 2>&1; true")
    assert probe(fleet, "f1", "localhost", 6443).startswith("CONNECTED ::1 ")
    sh(fleet, "f1", "rm -f /etc/sysctl.conf")


def test_sysctl_conflict_outside_etc_is_refused_with_nothing_changed(fleet):
    sh(fleet, "clean", "mkdir -p /run/sysctl.d && echo 'net.ipv4.ip_forward = 0' > /run/sysctl.d/95-site.conf; echo 0 > /proc/sys/net/ipv4/ip_forward")
    before = sh(fleet, "clean", "cat /etc/sysctl.d/90-kubeprep-hostnet.conf").stdout
    try:
        rc, result = run_module(fleet, "clean", "kubeprep.hostnet.hostnet_sysctl", {"name": "net.ipv4.ip_forward", "value": "1"})
        assert rc != 0 and result["changed"] is False
        assert "/run/sysctl.d/95-site.conf:1 sets 'net.ipv4.ip_forward = 0'" in result["msg"] and "nothing was changed" in result["msg"]
        assert sh(fleet, "clean", "cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
        assert sh(fleet, "clean", "cat /etc/sysctl.d/90-kubeprep-hostnet.conf").stdout == before
    finally:
        sh(fleet, "clean", "rm -f /run/sysctl.d/95-site.conf; echo 1 > /proc/sys/net/ipv4/ip_forward")


def test_sysctl_value_with_a_newline_is_refused(fleet):
    proc = run_adhoc(fleet, "clean", "kubeprep.hostnet.hostnet_sysctl", {"name": "net.ipv4.ip_forward", "value": "1\nkernel.panic = 1"}, "-o")
    assert proc.returncode != 0 and "one line of printable characters" in proc.stdout
    assert "kernel.panic" not in sh(fleet, "clean", "cat /etc/sysctl.d/90-kubeprep-hostnet.conf").stdout


def changes_of(directory):
    return json.loads((directory / "hostnet-changes.json").read_text())["hosts"]


def test_cloned_machine_id_is_manual_until_opted_in_then_regenerated(fleet, tmp_path):
    cloned = "4c4c4544004d4810804eb8c04f4e3232"
    for host in ("f1", "clean"):
        sh(fleet, host, "echo %s > /etc/machine-id" % cloned)
    args = ["-l", "f1,clean", "-e", "hostnet_report_dir=%s" % tmp_path]
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert result.returncode == 0, result.stdout[-3000:]
    outcome = changes_of(tmp_path)
    assert outcome["f1"]["outcome"] == "manual" and "hostnet_machine_id_regenerate=true" in outcome["f1"]["summary"]
    assert sh(fleet, "f1", "cat /etc/machine-id").stdout.strip() == cloned
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *(args + ["-e", "hostnet_machine_id_regenerate=true"]))
    assert result.returncode == 0, result.stdout[-3000:]
    outcome = changes_of(tmp_path)
    assert outcome["clean"]["changes"] == [] and outcome["f1"]["outcome"] == "fixed", outcome
    assert sh(fleet, "clean", "cat /etc/machine-id").stdout.strip() == cloned  # the first host of the group keeps it
    new = sh(fleet, "f1", "cat /etc/machine-id").stdout.strip()
    assert new != cloned and len(new) == 32
    assert "duplicate-node-identity" not in json.dumps(load_report(str(tmp_path))["fleet"])
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *(args + ["-e", "hostnet_machine_id_regenerate=true"]))
    assert [o["changes"] for o in changes_of(tmp_path).values()] == [[], []]


def test_docker_bip_is_set_from_flannel_only_when_opted_in(fleet, tmp_path):
    daemon = '{\n  "log-driver": "json-file",\n  "bip": "172.17.0.1/16",\n  "log-opts": {"max-size": "10m"}\n}\n'
    subnet_env = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\n"
    sh(fleet, "f3", "mkdir -p /run/flannel /etc/docker && cat > /run/flannel/subnet.env", input_text=subnet_env)
    sh(fleet, "f3", "cat > /etc/docker/daemon.json", input_text=daemon)
    args = ["-l", "f3", "-e", "hostnet_report_dir=%s" % tmp_path]
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert result.returncode == 0 and changes_of(tmp_path)["f3"]["outcome"] == "manual", result.stdout[-3000:]
    assert sh(fleet, "f3", "cat /etc/docker/daemon.json").stdout == daemon
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *(args + ["-e", "hostnet_docker_bip_enabled=true", "--diff"]))
    assert result.returncode == 0, result.stdout[-3000:]
    outcome = changes_of(tmp_path)["f3"]
    assert outcome["outcome"] == "fixed"
    assert "docker must be restarted to apply it (systemctl restart docker)" in outcome["changes"][0]["actions"]
    assert sh(fleet, "f3", "cat /etc/docker/daemon.json").stdout == daemon.replace('"172.17.0.1/16"', '"10.244.3.1/24"').replace(
        "{\n", '{\n  "mtu": 1450,\n', 1
    )
    sh(fleet, "f3", "rm -rf /etc/docker /run/flannel")


KUBELET_DEFAULTS = (
    "# kubelet flags\nKUBELET_EXTRA_ARGS=\"--v=2\"\nKUBELET_EXTRA_ARGS='--root-dir=$HOME/kubelet --node-ip=10.0.2.15' # the one in effect\nOTHER=--foo='a b'\n"
)


def test_env_flag_edits_the_assignment_the_shell_uses(fleet):
    """Two assignments: the shell uses the last. $HOME stays unexpanded in its single quotes, the comment stays."""
    sh(fleet, "clean", "mkdir -p /etc/default && cat > /etc/default/kubelet", input_text=KUBELET_DEFAULTS)
    args = {"path": "/etc/default/kubelet", "variable": "KUBELET_EXTRA_ARGS", "flag": "--node-ip", "value": "10.213.0.5"}
    rc, result = run_module(fleet, "clean", "kubeprep.hostnet.hostnet_env_flag", args)
    assert rc == 0 and result["changed"], result
    text = sh(fleet, "clean", "cat /etc/default/kubelet").stdout
    assert text == KUBELET_DEFAULTS.replace("--node-ip=10.0.2.15'", "--node-ip=10.213.0.5'")
    seen = sh(fleet, "clean", 'HOME=/home/x; . /etc/default/kubelet; printf "%s|%s" "$KUBELET_EXTRA_ARGS" "$OTHER"').stdout
    assert seen == "--root-dir=$HOME/kubelet --node-ip=10.213.0.5|--foo=a b"
    rc, result = run_module(fleet, "clean", "kubeprep.hostnet.hostnet_env_flag", args)
    assert rc == 0 and not result["changed"]
    rc, result = run_module(fleet, "clean", "kubeprep.hostnet.hostnet_env_flag", dict(args, value="1.2.3.4 --v=9"))
    assert rc != 0 and result["changed"] is False and "one shell-safe word" in result["msg"]
    sh(fleet, "clean", "rm -f /etc/default/kubelet")


GO_LOOKUP = """package main

import (
    "context"
    "fmt"
    "net"
    "os"
    "time"
)

func main() {
    r := &net.Resolver{PreferGo: true}
    ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
    defer cancel()
    start := time.Now()
    _, err := r.LookupHost(ctx, os.Args[1])
    fmt.Printf("%.3f %v\\n", time.Since(start).Seconds(), err)
}
"""


@pytest.fixture(scope="module")
def go_lookup(fleet, tmp_path_factory):
    """A static Go program resolving a name with Go's own resolver (as Kubernetes components do), in host f3's /root."""
    import subprocess as sp

    work = tmp_path_factory.mktemp("golookup")
    (work / "main.go").write_text(GO_LOOKUP)
    env = dict(os.environ, HOME=str(work), GOCACHE=str(work / "cache"), CGO_ENABLED="0", GOPROXY="off", GO111MODULE="off")
    target = os.path.join(fleet.host("f3")["dir"], "root", "golookup")
    sp.run(["go", "build", "-o", target, str(work / "main.go")], cwd=str(work), env=env, check=True, timeout=300)
    return "/root/golookup"


@pytest.mark.parametrize(
    "nsswitch, glibc_slow, go_slow, message",
    [
        ("hosts: files dns\nhosts: dns files\n", True, False, "nsswitch.conf asks DNS before /etc/hosts (hosts: dns files)"),
        ("hosts: dns files\nhosts: files dns\n", False, True, "(hosts: files dns for glibc, but dns files files dns for Go programs)"),
    ],
    ids=["glibc-asks-dns-first", "go-asks-dns-first"],
)
def test_several_hosts_lines_are_judged_by_each_consumer(fleet, tmp_path, go_lookup, nsswitch, glibc_slow, go_slow, message):
    """glibc uses the last hosts: line; Go's resolver reads every line in order. With three silent
    nameservers a DNS-first lookup of a name that is in /etc/hosts waits 3 s: each client shows which."""
    ns = "".join("nameserver %s\n" % a for a in fleet.state["silent_nameservers"]) + "options timeout:1 attempts:1\n"
    sh(fleet, "f3", "cat > /etc/resolv.conf", input_text=ns)
    sh(fleet, "f3", "cat > /etc/nsswitch.conf", input_text="passwd: files\n" + nsswitch)

    def getent_seconds():
        timer = (
            "import subprocess, time; s = time.monotonic(); "
            "subprocess.run(['getent', 'ahosts', 'localhost'], stdout=subprocess.DEVNULL); print(time.monotonic() - s)"
        )
        return float(fleet.exec("f3", ["python3", "-c", timer]).stdout)

    def go_seconds():
        return float(fleet.exec("f3", [go_lookup, "localhost"]).stdout.split()[0])

    assert (getent_seconds() > 2.5) is glibc_slow and (go_seconds() > 2.5) is go_slow  # the symptom, per client
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", "-l", "f3", "-e", "hostnet_report_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    before = load_report(str(tmp_path / "before"))["hosts"]["f3"]["findings"]
    [dns_first] = [f for f in before if f["id"] == "dns-before-files"]
    assert message in dns_first["message"], dns_first["message"]
    assert "glibc uses the last one (line 3" in " ".join(dns_first["evidence"]) and "Go's resolver reads them all in order" in " ".join(dns_first["evidence"])
    text = sh(fleet, "f3", "cat /etc/nsswitch.conf").stdout
    assert [line for line in text.splitlines() if line.startswith("hosts:")] == ["hosts: files dns"]
    assert getent_seconds() < 1.0 and go_seconds() < 1.0  # the cure, for both
    assert load_report(str(tmp_path))["hosts"]["f3"]["findings"] == []


@pytest.mark.parametrize("state", ["missing", "dangling"])
def test_missing_hosts_file_is_found_and_fixed(fleet, tmp_path, state):
    sh(fleet, "clean", "rm -f /etc/hosts" + ("; ln -s /run/hosts.gone /etc/hosts" if state == "dangling" else ""))
    assert fleet.exec("clean", ["getent", "ahosts", "localhost"], check=False).returncode != 0  # the symptom
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", "-l", "clean", "-e", "hostnet_report_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    [finding] = [f for f in load_report(str(tmp_path / "before"))["hosts"]["clean"]["findings"] if f["id"] == "localhost-unreachable"]
    assert finding["severity"] == "error" and finding["message"].startswith("/etc/hosts is missing")
    assert "127.0.0.1" in fleet.exec("clean", ["getent", "ahosts", "localhost"]).stdout
    assert load_report(str(tmp_path))["hosts"]["clean"]["findings"] == []
    sh(fleet, "clean", "rm -f /etc/hosts /run/hosts.gone; printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost\\n' > /etc/hosts")


def test_ipv4_mapped_localhost_is_left_alone(fleet, tmp_path):
    text = "::ffff:127.0.0.1 localhost\n127.0.0.1 localhost\n"
    sh(fleet, "clean", "cat > /etc/hosts", input_text=text)
    result = run_playbook(fleet, "kubeprep.hostnet.audit", "-l", "clean", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_fail_on=never")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "localhost-unreachable" not in [f["id"] for f in load_report(str(tmp_path))["hosts"]["clean"]["findings"]]
    assert sh(fleet, "clean", "cat /etc/hosts").stdout == text


def test_audit_and_every_fix_as_a_sudo_user(fleet, tmp_path):
    """Real inventories log in as a user and become root: the same faults, fixed as deploy with --become."""
    fleet.add_user("f1", "deploy")
    fleet.add_user("f2", "deploy")
    gateway = fleet.state["gateway"]
    sh(fleet, "f1", "cat > /etc/hosts && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6 && echo 0 > /proc/sys/net/ipv4/ip_forward", input_text=F1_HOSTS)
    sh(fleet, "f1", "cat > /etc/nsswitch.conf", input_text=DNS_FIRST)
    dnat = "OUTPUT -d 10.96.0.1 -p tcp --dport 443 -j DNAT --to-destination %s:6443" % fleet.host("f2")["address"]
    sh(fleet, "f2", "ip route del default; echo 0 > /proc/sys/net/ipv4/ip_forward; iptables -t nat -C %s 2>/dev/null || iptables -t nat -A %s" % (dnat, dnat))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(open(os.path.join(fleet.state_dir, "inventory.ini")).read().replace("ansible_user=root", "ansible_user=deploy"))
    result = readme_remediate(fleet, tmp_path, "inventory.ini", "-l", "f1,f2", "-b", "-e", "hostnet_service_route_gateway=%s" % gateway)
    assert result.returncode == 0, result.stdout[-4000:]
    outcomes = json.loads((tmp_path / "hostnet-report" / "hostnet-changes.json").read_text())["hosts"]
    assert {h: outcomes[h]["outcome"] for h in ("f1", "f2")} == {"f1": "fixed", "f2": "fixed"}
    assert probe(fleet, "f1", "localhost", 6443).startswith("CONNECTED 127.0.0.1 ")
    assert probe(fleet, "f2", "10.96.0.1", 443).startswith("CONNECTED 10.96.0.1 ")
    assert load_report(str(tmp_path / "hostnet-report"))["summary"]["errors"] == 0


def test_bridge_nf_call_iptables_fixed_now_and_at_boot(fleet, tmp_path):
    """br_netfilter is built into this kernel (its sysctls exist): the role lists it for the boot and sets the
    sysctls now and in /etc/sysctl.d, and sysctl --system keeps them."""
    sh(fleet, "clean", "echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables")
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", "-l", "clean", "-e", "hostnet_report_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "bridge-nf-call-iptables" in [f["id"] for f in load_report(str(tmp_path / "before"))["hosts"]["clean"]["findings"]]
    outcome = json.loads((tmp_path / "hostnet-changes.json").read_text())["hosts"]["clean"]
    assert outcome["outcome"] == "fixed", outcome
    assert "br_netfilter" in sh(fleet, "clean", "cat /etc/modules-load.d/kubeprep-hostnet.conf").stdout.splitlines()
    persisted = sh(fleet, "clean", "cat /etc/sysctl.d/90-kubeprep-hostnet.conf").stdout.splitlines()
    assert "net.bridge.bridge-nf-call-iptables = 1" in persisted and "net.bridge.bridge-nf-call-ip6tables = 1" in persisted
    value = sh(
        fleet,
        "clean",
        "echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables; sysctl -q --system >/dev/null 2>&1; cat /proc/sys/net/bridge/bridge-nf-call-iptables",
    )
    assert value.stdout.strip() == "1"


def test_the_route_role_routes_the_cidr_the_audit_checked(fleet, tmp_path):
    """Only hostnet_service_ips set (kubespray's 10.233.0.0/18): audited and routed on the same network."""
    gateway = fleet.state["gateway"]
    sh(fleet, "f2", "ip route del default 2>/dev/null; ip route del 10.233.0.0/18 2>/dev/null; rm -f /etc/network/if-up.d/kubeprep-hostnet-route-*; true")
    args = ["-l", "f2", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_service_ips=10.233.0.0/18"]
    args += ["-e", "hostnet_service_route_gateway=%s" % gateway, "-e", "hostnet_service_route_mode=cidr"]
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", *args)
    assert "10.233.0.0/18 via %s dev eth1" % gateway in sh(fleet, "f2", "ip route").stdout, result.stdout[-3000:]
    assert "10.96.0.0/12" not in sh(fleet, "f2", "ip route").stdout
    messages = [f["message"] for f in load_report(str(tmp_path / "before"))["hosts"]["f2"]["findings"]]
    assert "no route to Service IP 10.233.0.1" in messages
    assert "service-network-unroutable" not in [f["id"] for f in load_report(str(tmp_path))["hosts"]["f2"]["findings"]]
    sh(fleet, "f2", "ip route del 10.233.0.0/18; ip route add default via %s; rm -f /etc/network/if-up.d/kubeprep-hostnet-route-10_233_0_0_18" % gateway)
