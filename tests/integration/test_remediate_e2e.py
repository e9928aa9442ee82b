"""Remediation edges on real test hosts: the IPv6 method persists through a
sysctl reload, the route module refuses what could cut the host off, and bad
input gets a clear message with nothing changed."""

import json

import pytest

from conftest import CONNECT_PROBE, LISTENER, load_report, run_adhoc, run_module, run_playbook

F1_HOSTS = "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n127.0.0.1   centos7.Localdomain\n"


def sh(fleet, host, script, **kw):
    return fleet.exec(host, ["sh", "-c", script], **kw)


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(["ipv6", "route", "bad"])
    fleet.exec("ipv6", ["python3", "-c", LISTENER])
    return fleet


def test_ipv6_method_reenables_lo_and_persists(fleet, tmp_path):
    sh(fleet, "ipv6", "cat > /etc/hosts && echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6", input_text=F1_HOSTS)
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", "-l", "ipv6", "-e", "hostnet_report_dir=%s" % tmp_path, "-e", "hostnet_localhost_method=ipv6")
    assert result.returncode == 0, result.stdout
    assert load_report(str(tmp_path))["hosts"]["ipv6"]["findings"] == []
    assert fleet.exec("ipv6", ["cat", "/etc/hosts"]).stdout == F1_HOSTS  # this method leaves /etc/hosts alone
    out = fleet.exec("ipv6", ["python3", "-c", CONNECT_PROBE, "localhost", "6443"]).stdout
    assert out.startswith("CONNECTED ::1"), out
    persisted = fleet.exec("ipv6", ["cat", "/etc/sysctl.d/90-kubeprep-hostnet.conf"]).stdout
    assert "net.ipv6.conf.lo.disable_ipv6 = 0" in persisted.splitlines()
    # A reboot brings back whatever disabled it; the persisted file is what the boot applies.
    sh(fleet, "ipv6", "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6")
    assert fleet.exec("ipv6", ["python3", "-c", CONNECT_PROBE, "localhost", "6443"]).stdout.startswith("FAIL ::1")
    sh(fleet, "ipv6", "sysctl -q -p /etc/sysctl.d/90-kubeprep-hostnet.conf")
    assert fleet.exec("ipv6", ["python3", "-c", CONNECT_PROBE, "localhost", "6443"]).stdout.startswith("CONNECTED ::1")


def routes(fleet):
    return sh(fleet, "route", "ip route; ls /etc/network/if-up.d").stdout


def test_gateway_not_on_link_is_refused(fleet):
    sh(fleet, "route", "ip route del default")
    before = routes(fleet)
    rc, result = run_module(fleet, "route", "kubeprep.hostnet.hostnet_route", {"dest": "10.96.0.0/12", "gateway": "10.99.0.1", "persist": "ifupdown"})
    assert rc != 0
    assert "is not on a directly connected network" in result["msg"] and "nothing was changed" in result["msg"]
    assert routes(fleet) == before


def test_route_that_would_capture_the_ssh_client_is_refused(fleet):
    before = routes(fleet)
    gateway = fleet.state["gateway"]
    rc, result = run_module(fleet, "route", "kubeprep.hostnet.hostnet_route", {"dest": "10.213.0.0/16", "gateway": gateway, "persist": "ifupdown"})
    assert rc != 0
    assert "the address Ansible connects from" in result["msg"]
    assert result["management_connection"]["client"] == fleet.state["controller"]
    assert routes(fleet) == before
    # The same module with a safe destination works, and twice is a no-op.
    rc, result = run_module(fleet, "route", "kubeprep.hostnet.hostnet_route", {"dest": "10.96.0.0/12", "gateway": gateway, "persist": "ifupdown"})
    assert rc == 0 and result["changed"] and result["manager"] == "ifupdown"
    rc, result = run_module(fleet, "route", "kubeprep.hostnet.hostnet_route", {"dest": "10.96.0.0/12", "gateway": gateway, "persist": "ifupdown"})
    assert rc == 0 and not result["changed"]


def test_existing_route_is_never_replaced(fleet):
    sh(fleet, "route", "ip route add 10.100.0.0/16 dev eth1")
    rc, result = run_module(fleet, "route", "kubeprep.hostnet.hostnet_route", {"dest": "10.100.0.0/16", "gateway": fleet.state["gateway"], "persist": "none"})
    assert rc != 0 and "is not replaced" in result["msg"]
    assert "10.100.0.0/16 dev eth1" in routes(fleet)


def test_directory_instead_of_hosts_file(fleet):
    sh(fleet, "bad", "mkdir -p /tmp/hostsdir")
    rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {"path": "/tmp/hostsdir"})
    assert rc != 0
    assert result["msg"] == "/tmp/hostsdir is not a regular file; nothing was changed"


def test_read_only_bind_mounted_hosts_file(fleet):
    sh(fleet, "bad", "cat > /etc/hosts", input_text=F1_HOSTS)
    sh(fleet, "bad", "mount --bind /etc/hosts /etc/hosts && mount -o remount,bind,ro /etc/hosts")
    try:
        rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {"backup": False})
        assert rc != 0
        assert "Traceback" not in result.get("module_stderr", "")
        assert result["msg"]
        assert fleet.exec("bad", ["cat", "/etc/hosts"]).stdout == F1_HOSTS
        assert sh(fleet, "bad", "ls -a /etc | grep -c kubeprep-hostnet || true").stdout.strip() == "0"  # no temp file left
    finally:
        sh(fleet, "bad", "umount /etc/hosts")


def test_bind_mounted_hosts_file_names_unsafe_writes(fleet):
    """Without unsafe_writes a rename cannot replace a bind-mounted file: say so, before any write."""
    sh(fleet, "bad", "cat > /etc/hosts", input_text=F1_HOSTS)
    sh(fleet, "bad", "mount --bind /etc/hosts /etc/hosts")
    try:
        for extra in ((), ("--check",)):
            rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {}, *extra)
            assert rc != 0 and result["changed"] is False, result
            assert "is a mount point" in result["msg"] and "unsafe_writes: true" in result["msg"] and "nothing was changed" in result["msg"]
            assert "failed final rename" not in result["msg"]
        assert fleet.exec("bad", ["cat", "/etc/hosts"]).stdout == F1_HOSTS
    finally:
        sh(fleet, "bad", "umount /etc/hosts")


def test_resolv_conf_through_a_chain_of_links_is_left_to_its_owner(fleet):
    """/etc/resolv.conf -> ../run/resolv.conf -> /run/systemd/resolve/stub-resolv.conf: the owner is the last hop."""
    sh(fleet, "bad", "mkdir -p /run/systemd/resolve && echo 'nameserver 127.0.0.53' > /run/systemd/resolve/stub-resolv.conf")
    sh(fleet, "bad", "cp /etc/resolv.conf /root/resolv.saved; ln -sfn /run/systemd/resolve/stub-resolv.conf /run/resolv.conf")
    sh(fleet, "bad", "rm -f /etc/resolv.conf; ln -s ../run/resolv.conf /etc/resolv.conf")
    try:
        rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_resolv_conf", {"timeout": 1})
        assert rc != 0 and result["owner"] == "systemd-resolved" and result["changed"] is False, result
        assert fleet.exec("bad", ["cat", "/run/systemd/resolve/stub-resolv.conf"]).stdout == "nameserver 127.0.0.53\n"
    finally:
        sh(fleet, "bad", "rm -f /etc/resolv.conf; cp /root/resolv.saved /etc/resolv.conf")


def test_bind_mounted_hosts_file_with_unsafe_writes(fleet):
    """Containers bind-mount /etc/hosts: a rename cannot replace it, unsafe_writes writes in place."""
    sh(fleet, "bad", "cat > /etc/hosts", input_text=F1_HOSTS)
    sh(fleet, "bad", "mount --bind /etc/hosts /etc/hosts")
    try:
        rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {"unsafe_writes": True})
        assert rc == 0 and result["changed"], result
        assert fleet.exec("bad", ["cat", "/etc/hosts"]).stdout == "127.0.0.1\tlocalhost\n" + F1_HOSTS
    finally:
        sh(fleet, "bad", "umount /etc/hosts")


def test_symlinked_hosts_file_is_edited_at_its_target(fleet):
    sh(fleet, "bad", "cat > /etc/hosts.real && rm -f /etc/hosts && ln -s hosts.real /etc/hosts", input_text=F1_HOSTS)
    rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {})
    assert rc == 0 and result["followed_symlink"] == "/etc/hosts.real", result
    assert sh(fleet, "bad", "readlink /etc/hosts").stdout.strip() == "hosts.real"
    assert fleet.exec("bad", ["cat", "/etc/hosts.real"]).stdout == "127.0.0.1\tlocalhost\n" + F1_HOSTS


def test_check_and_diff_show_the_exact_lines(fleet):
    sh(fleet, "bad", "rm -f /etc/hosts && cat > /etc/hosts", input_text=F1_HOSTS)
    proc = run_adhoc(fleet, "bad", "kubeprep.hostnet.hostnet_hosts", {}, "--check", "--diff")
    assert proc.returncode == 0 and "CHANGED" in proc.stdout, proc.stdout
    diff = [line for line in proc.stdout.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert diff == ["+127.0.0.1\tlocalhost"], proc.stdout
    assert fleet.exec("bad", ["cat", "/etc/hosts"]).stdout == F1_HOSTS


def test_cloud_init_template_is_fixed_too_and_mode_is_kept(fleet, tmp_path):
    """cloud-init with manage_etc_hosts rewrites /etc/hosts at boot: the role fixes its template as well."""
    sh(fleet, "bad", "rm -f /etc/hosts && cat > /etc/hosts && chmod 0640 /etc/hosts", input_text=F1_HOSTS)
    sh(fleet, "bad", "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6")
    sh(fleet, "bad", "mkdir -p /etc/cloud/cloud.cfg.d /etc/cloud/templates && echo 'manage_etc_hosts: true' > /etc/cloud/cloud.cfg.d/99-hosts.cfg")
    template = "## template:jinja\n::1 {{fqdn}} {{hostname}} localhost\n127.0.0.1 {{fqdn}} {{hostname}}\n"
    sh(fleet, "bad", "cat > /etc/cloud/templates/hosts.debian.tmpl", input_text=template)
    result = run_playbook(fleet, "kubeprep.hostnet.remediate", "-l", "bad", "-e", "hostnet_report_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout
    assert fleet.exec("bad", ["cat", "/etc/cloud/templates/hosts.debian.tmpl"]).stdout == template.replace("::1 {{fqdn}}", "127.0.0.1\tlocalhost\n::1 {{fqdn}}")
    assert sh(fleet, "bad", "stat -c %a /etc/hosts").stdout.strip() == "640"
    with open(tmp_path / "hostnet-changes.json") as handle:
        paths = [c["path"] for c in json.load(handle)["hosts"]["bad"]["changes"]]
    assert paths == ["/etc/hosts", "/etc/cloud/templates/hosts.debian.tmpl"]


def test_resolv_conf_owned_by_networkmanager_is_not_edited(fleet):
    """Without nmcli the options cannot go where NetworkManager keeps them: refused, the file untouched
    (with nmcli they go into ipv4.dns-options: tests/machines/test_reboot_resolver_owner.py)."""
    text = "# Generated by NetworkManager\nnameserver 10.213.0.201\n"
    sh(fleet, "bad", "rm -f /etc/resolv.conf && cat > /etc/resolv.conf", input_text=text)
    rc, result = run_module(fleet, "bad", "kubeprep.hostnet.hostnet_resolv_conf", {"timeout": 1, "attempts": 2})
    assert rc != 0
    assert result["owner"] == "NetworkManager"
    assert "ipv4.dns-options" in result["msg"] and "Nothing was changed" in result["msg"]
    assert fleet.exec("bad", ["cat", "/etc/resolv.conf"]).stdout == text
