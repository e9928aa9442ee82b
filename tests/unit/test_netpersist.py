"""Rendering of persisted routes for each network manager (the files only; the
ifupdown hook is also exercised for real by the service-route scenario)."""

import os

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import netpersist


def apply(renderer, root, dest="10.96.0.0/12", gw="192.168.56.1", iface="enp0s8"):
    path, edit, mode = renderer(dest, gw, iface, root=str(root))
    old = open(path, "rb").read() if os.path.exists(path) else None
    new, actions = edit(old)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(new)
    again, more = edit(new)
    assert again == new and more == []  # idempotent
    return path, new.decode(), mode


def test_ifupdown_hook(tmp_path):
    path, text, mode = apply(netpersist.ifupdown, tmp_path)
    assert path.endswith("etc/network/if-up.d/kubeprep-hostnet-route-10_96_0_0_12") and mode == 0o755
    assert '[ "$IFACE" = enp0s8 ] || exit 0' in text
    # Add-only: a route the admin set later for the same destination is never overwritten at ifup.
    assert '[ -n "$(ip route show exact 10.96.0.0/12)" ] || ip route add 10.96.0.0/12 via 192.168.56.1 dev enp0s8' in text


@pytest.mark.parametrize("name", ["eth1;reboot", "a b", "$(id)", "x" * 16, ".."])
def test_interface_names_that_config_or_shell_could_misread_are_refused(name):
    with pytest.raises(ValueError, match="not an interface name"):
        netpersist.ifupdown("10.96.0.0/12", "192.168.56.1", name)


def test_network_scripts_keeps_existing_routes(tmp_path):
    route = tmp_path / "etc/sysconfig/network-scripts/route-enp0s8"
    route.parent.mkdir(parents=True)
    route.write_bytes(b"172.16.0.0/16 via 192.168.56.254 dev enp0s8")  # no trailing newline
    _path, text, _mode = apply(netpersist.network_scripts, tmp_path)
    assert text == "172.16.0.0/16 via 192.168.56.254 dev enp0s8\n10.96.0.0/12 via 192.168.56.1 dev enp0s8\n"


def test_netplan_file(tmp_path):
    path, text, mode = apply(netpersist.netplan, tmp_path, dest="default")
    assert mode == 0o600 and path.endswith("90-kubeprep-hostnet-route-default.yaml")
    assert text.splitlines()[1:] == [
        "network:",
        "  version: 2",
        "  ethernets:",
        "    enp0s8:",
        "      routes:",
        "        - to: default",
        "          via: 192.168.56.1",
    ]


def test_networkd_dropin_for_matching_unit(tmp_path):
    unit = tmp_path / "etc/systemd/network/10-cluster.network"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Match]\nName=enp0s*\n\n[Network]\nDHCP=yes\n")
    path, text, _mode = apply(netpersist.networkd, tmp_path)
    assert path.endswith("etc/systemd/network/10-cluster.network.d/90-kubeprep-hostnet-route-10_96_0_0_12.conf")
    assert "[Route]\nGateway=192.168.56.1\nDestination=10.96.0.0/12\n" in text
    assert netpersist.detect("enp0s8", root=str(tmp_path)) == "systemd-networkd"
    with pytest.raises(ValueError):
        netpersist.networkd("10.96.0.0/12", "192.168.56.1", "eth9", root=str(tmp_path))


def test_detect_order(tmp_path):
    assert netpersist.detect("eth0", root=str(tmp_path)) is None
    (tmp_path / "etc/network").mkdir(parents=True)
    (tmp_path / "etc/network/interfaces").write_text("auto lo\n")
    assert netpersist.detect("eth0", root=str(tmp_path)) == "ifupdown"
    (tmp_path / "etc/netplan").mkdir()
    (tmp_path / "etc/netplan/01-netcfg.yaml").write_text("network: {version: 2}\n")
    assert netpersist.detect("eth0", root=str(tmp_path)) == "netplan"
    # netplan regenerates NetworkManager's profiles at every boot: it is the source to persist in.
    assert netpersist.detect("eth0", root=str(tmp_path), nm_running=True) == "netplan"


def test_nmcli_fields_unescape_colons():
    assert netpersist.nmcli_fields("eth1:/run/NetworkManager/system-connections/netplan-eth1.nmconnection") == [
        "eth1",
        "/run/NetworkManager/system-connections/netplan-eth1.nmconnection",
    ]
    assert netpersist.nmcli_fields("uuid:802-3-ethernet:eth0:/etc/a\\:b.nmconnection") == ["uuid", "802-3-ethernet", "eth0", "/etc/a:b.nmconnection"]


@pytest.mark.parametrize("renderer", [netpersist.ifupdown, netpersist.netplan, netpersist.networkd])
def test_each_family_and_each_ipv6_prefix_has_its_own_file(tmp_path, renderer):
    """One file per route: the IPv4 and IPv6 default routes, and IPv6 prefixes that differ only in where
    the '::' is, each overwrote the other's file."""
    unit = tmp_path / "etc/systemd/network/10-cluster.network"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Match]\nName=enp0s8\n")
    routes = [("default", "192.168.56.1"), ("default", "fd00::1"), ("1:2::3:0/112", "fd00::1"), ("1::2:3:0/112", "fd00::1")]
    paths = [renderer(dest, gw, "enp0s8", root=str(tmp_path))[0] for dest, gw in routes]
    assert len(set(paths)) == len(paths), paths
    # The names an IPv4 route always had are kept (a re-run on a fixed host changes nothing).
    assert os.path.basename(paths[0]).startswith(("kubeprep-hostnet-route-default", "90-kubeprep-hostnet-route-default."))
    assert netpersist.slug("10.96.0.0/12") == "10_96_0_0_12"
