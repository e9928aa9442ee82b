"""The host checks beyond the five incidents, each made real on a test host and
its symptom shown with a real client before the audit names it."""

import pytest

from conftest import load_report, run_module, run_playbook

NAMES = ["good", "named-localhost", "next-boot", "long-name"]
# A valid DNS-1123 name of 64 characters (the most a kernel hostname holds): one more than a label value.
LONG_NAME = "k8s-worker-0001.rack-17.datacenter-frankfurt-2.internal.examples"


@pytest.fixture(scope="module")
def audited(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES)
    # A host left with the image's name: the kernel's hostname is localhost (its own UTS namespace).
    fleet.exec("named-localhost", ["hostname", "localhost"])
    # A host whose /etc/hostname the next boot would apply: an invalid node name.
    fleet.exec("next-boot", ["sh", "-c", "echo node_2 > /etc/hostname"])
    # A host named by its full name, longer than the kubernetes.io/hostname label kubelet would give the node.
    fleet.exec("long-name", ["sh", "-c", "hostname %s && echo '127.0.1.1 %s' >> /etc/hosts" % (LONG_NAME, LONG_NAME)])
    seen = {
        # What kubelet would register: the lowercased hostname, and what that name resolves to.
        "node_name": {
            n: fleet.exec(n, ["python3", "-c", "import socket; n = socket.gethostname().lower(); print(n, socket.gethostbyname(n))"]).stdout.split()
            for n in NAMES
        },
    }
    out = str(tmp_path_factory.mktemp("host-rules"))
    seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out)
    seen["report"] = load_report(out)
    seen["facts"] = run_module(fleet, "good", "kubeprep.hostnet.hostnet_facts", {})
    return seen


def findings(seen, host, rule):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == rule]


def test_hostname_localhost_symptom_and_finding(audited):
    # The symptom: the node would register as "localhost", a name that means loopback to every client.
    assert audited["node_name"]["named-localhost"] == ["localhost", "127.0.0.1"], audited["node_name"]
    (finding,) = findings(audited, "named-localhost", "hostname-invalid")
    assert finding["severity"] == "error" and "the kernel's hostname localhost is localhost" in finding["message"], finding
    assert "[ERROR hostname-invalid] named-localhost" in audited["proc"].stdout


def test_hostname_of_the_next_boot(audited):
    (finding,) = findings(audited, "next-boot", "hostname-invalid")
    assert "/etc/hostname (the name at the next boot) node_2 is not a DNS-1123 name" in finding["message"], finding
    assert "the kernel's hostname: next-boot" in finding["evidence"]


def test_hostname_longer_than_a_label_value(audited):
    # What kubelet would read: the whole 64-character name, which it would also put in the node's label.
    name, _address = audited["node_name"]["long-name"]
    assert (name, len(name)) == (LONG_NAME, 64), audited["node_name"]
    (finding,) = findings(audited, "long-name", "hostname-invalid")
    assert finding["message"] == "the kernel's hostname %s is 64 characters long: kubelet's kubernetes.io/hostname label holds at most 63" % LONG_NAME
    assert "[ERROR hostname-invalid] long-name" in audited["proc"].stdout


def test_valid_name_is_clean(audited):
    assert findings(audited, "good", "hostname-invalid") == []


# rp-filter-strict: a packet that arrives on one interface from a source routed through another (asymmetric,
# as calico's IP-in-IP and Service traffic is), sent raw from the NAT peer with the switch's address as source.
SPOOF = """
import socket, struct, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
payload = b"asymmetric"
udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
total = 20 + len(udp)
header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, socket.IPPROTO_UDP, 0, socket.inet_aton(src), socket.inet_aton(dst))
words = struct.unpack("!10H", header)
check = sum(words)
check = (check & 0xFFFF) + (check >> 16)
header = header[:10] + struct.pack("!H", ~check & 0xFFFF) + header[12:]
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sock.sendto(header + udp, (dst, 0))
"""
RECEIVE = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 9999))
sock.settimeout(2.0)
print("ready", flush=True)
try:
    data, peer = sock.recvfrom(100)
    print("RECEIVED", peer[0])
except socket.timeout:
    print("DROPPED")
"""


def receive_one(fleet, host, send):
    """Start a UDP receiver on host:9999 (it waits 2 s), run ``send()``; RECEIVED <peer> or DROPPED."""
    import subprocess

    receiver = subprocess.Popen(
        ["nsenter", "--target", str(fleet.sshd_pid(fleet.host(host))), "--net", "--mount", "--uts", "--", "python3", "-c", RECEIVE],
        stdout=subprocess.PIPE,
        universal_newlines=True,
    )
    assert receiver.stdout.readline().strip() == "ready"
    send()
    return receiver.communicate(timeout=10)[0].strip()


def asymmetric_packet(fleet, host):
    """Whether host accepts a packet on nat0 whose source (the switch, 10.213.S.1) it routes through eth1."""
    import subprocess

    nat_ns = fleet.host(host)["nat_ns"]
    spoof = ["ip", "netns", "exec", nat_ns, "python3", "-c", SPOOF, fleet.state["gateway"], "10.0.2.15", "9999"]
    return receive_one(fleet, host, lambda: subprocess.run(spoof, check=True))


@pytest.fixture(scope="module")
def strict(make_fleet, tmp_path_factory):
    fleet = make_fleet(["rp", "loose"], nat_hosts=["rp", "loose"])
    for host in ("rp", "loose"):
        value = "1" if host == "rp" else "2"
        fleet.exec(host, ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=" + value, "net.ipv4.conf.default.rp_filter=" + value])
    seen = {"fleet": fleet, "before": {h: asymmetric_packet(fleet, h) for h in ("rp", "loose")}}
    audit_dir = str(tmp_path_factory.mktemp("rp-audit"))
    seen["audit"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_cni=calico", "-e", "hostnet_report_dir=" + audit_dir)
    seen["report"] = load_report(audit_dir)
    fix_dir = str(tmp_path_factory.mktemp("rp-fix"))
    seen["remediate"] = run_playbook(fleet, "kubeprep.hostnet.remediate", "-e", "hostnet_cni=calico", "-e", "hostnet_report_dir=" + fix_dir)
    seen["after"] = asymmetric_packet(fleet, "rp")
    seen["values"] = fleet.exec("rp", ["sh", "-c", "sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter"]).stdout.split()
    return seen


def test_rp_filter_strict_symptom_finding_and_fix(strict):
    # The symptom: strict filtering drops the asymmetric packet; loose filtering lets it in.
    assert strict["before"] == {"rp": "DROPPED", "loose": "RECEIVED " + strict["fleet"].state["gateway"]}, strict["before"]
    (finding,) = [f for f in strict["report"]["hosts"]["rp"]["findings"] if f["id"] == "rp-filter-strict"]
    assert finding["severity"] == "error" and "net.ipv4.conf.all.rp_filter = 1" in finding["evidence"], finding
    assert not [f for f in strict["report"]["hosts"]["loose"]["findings"] if f["id"] == "rp-filter-strict"]
    assert strict["remediate"].returncode == 0, strict["remediate"].stdout[-3000:]
    assert strict["values"] == ["2", "2"], strict["values"]
    assert strict["after"].startswith("RECEIVED"), strict["after"]


SOURCE_FOR = "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((sys.argv[1], 443)); print(s.getsockname()[0])"


@pytest.fixture(scope="module")
def overlapping(make_fleet, tmp_path_factory):
    fleet = make_fleet(["wrongway", "inside", "apart"], nat_hosts=["wrongway"])
    # A host route into half the Service network, through the NAT NIC (a VPN or lab route left behind).
    fleet.exec("wrongway", ["ip", "route", "add", "10.96.0.0/16", "via", "10.0.2.2", "dev", "nat0"])
    # An address of the host inside the Pod network.
    fleet.exec("inside", ["ip", "addr", "add", "10.244.3.3/24", "dev", "eth1"])
    seen = {
        # The kernel's choice for a packet to the Service IP: the source address it would leave with.
        "source": {h: fleet.exec(h, ["python3", "-c", SOURCE_FOR, "10.96.0.1"]).stdout.strip() for h in ("wrongway", "apart")},
        "addresses": {h: fleet.host(h)["address"] for h in ("wrongway", "apart")},
    }
    out = str(tmp_path_factory.mktemp("overlap"))
    seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out)
    seen["report"] = load_report(out)
    return seen


def test_service_route_overlap_symptom_and_finding(overlapping):
    # The symptom: traffic to the Service IP leaves from the NAT NIC's address, not the cluster NIC's.
    assert overlapping["source"] == {"wrongway": "10.0.2.15", "apart": overlapping["addresses"]["apart"]}, overlapping["source"]
    (finding,) = findings(overlapping, "wrongway", "service-cidr-overlap")
    assert finding["severity"] == "warning", finding
    assert "Service CIDR 10.96.0.0/12: route 10.96.0.0/16 (dev nat0 via 10.0.2.2, table main)" in finding["evidence"], finding
    assert findings(overlapping, "apart", "service-cidr-overlap") == []


def test_pod_cidr_address_inside(overlapping):
    (finding,) = findings(overlapping, "inside", "pod-cidr-overlap")
    assert finding["severity"] == "error" and "address 10.244.3.3/24 (on eth1)" in finding["message"], finding
    assert "[ERROR pod-cidr-overlap] inside" in overlapping["proc"].stdout
    assert findings(overlapping, "apart", "pod-cidr-overlap") == []


def test_clock_offset_is_measured_against_the_controller(audited):
    """The facts of a real host over SSH: its clock bracketed by the controller's (one kernel clock here, so ~0)."""
    rc, result = audited["facts"]
    clock = result["ansible_facts"]["hostnet"]["clock"]
    assert rc == 0 and clock["controller_before"] <= clock["controller_after"], clock
    assert abs(clock["offset_s"]) <= clock["uncertainty_s"] + 0.05 and clock["uncertainty_s"] < 5, clock
    assert all(findings(audited, h, "clock-skew") == [] for h in NAMES)


DF_SEND = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: the DF bit, never fragmented
sock.sendto(b"x" * (int(sys.argv[3]) - 28), (sys.argv[1], int(sys.argv[2])))
"""


NAMES_MTU = ["m1", "m2", "small"]


def df_datagram(fleet, source, destination, size):
    """A UDP datagram of ``size`` bytes (IP) with DF set from source to destination: RECEIVED or DROPPED."""
    address = fleet.host(destination)["address"]
    return receive_one(fleet, destination, lambda: fleet.exec(source, ["python3", "-c", DF_SEND, address, "9999", str(size)])).split()[0]


@pytest.fixture(scope="module")
def mtus(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES_MTU)
    fleet.exec("small", ["ip", "link", "set", "eth1", "mtu", "1400"])
    seen = {"to_small": df_datagram(fleet, "m1", "small", 1500), "to_m2": df_datagram(fleet, "m1", "m2", 1500)}
    out = str(tmp_path_factory.mktemp("mtu"))
    seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out)
    seen["report"] = load_report(out)
    probed = str(tmp_path_factory.mktemp("mtu-probed"))
    seen["probed_proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + probed, "-e", "hostnet_probe_ports=true")
    seen["probed"] = load_report(probed)
    return seen


def test_mtu_sized_df_probe_finds_the_smaller_path(mtus):
    # With the port probes on, each peer sends the host a DF datagram of its own MTU: from m1 and m2 (1500) it
    # never arrives at small (1400); small's own 1400-byte ones reach both.
    found = {
        h: [f for f in mtus["probed"]["hosts"][h]["findings"] if f["id"] == "mtu-mismatch" and (f.get("data") or {}).get("probe") == "df"] for h in NAMES_MTU
    }
    (finding,) = found["small"]
    assert finding["data"] == {"probe": "df", "sources": ["m1", "m2"], "size": 1500}, finding
    assert any(
        line.startswith("m1 (") and "eth1 mtu 1500) -> small" in line and "gets no answer; a small one is answered" in line for line in finding["evidence"]
    )
    assert found["m1"] == found["m2"] == []
    cells = {(c["source"], c["destination"]): c["df"] for c in mtus["probed"]["overview"]["probes"]["matrix"]}
    assert cells == {
        ("m1", "m2"): "passed",
        ("m1", "small"): "lost",
        ("m2", "m1"): "passed",
        ("m2", "small"): "lost",
        ("small", "m1"): "passed",
        ("small", "m2"): "passed",
    }
    assert mtus["probed"]["overview"]["mtu"]["small"] == {"interface": "eth1", "mtu": 1400, "common": 1500, "odd": True}


def test_mtu_mismatch_symptom_and_finding(mtus):
    # The symptom: a full-size packet with DF set reaches m2 but never reaches the host with the smaller MTU.
    assert (mtus["to_m2"], mtus["to_small"]) == ("RECEIVED", "DROPPED"), mtus
    (finding,) = findings(mtus, "small", "mtu-mismatch")
    assert "eth1 has mtu 1400, most node interfaces of the fleet 1500" in finding["message"], finding
    assert finding["evidence"] == ["m1: eth1 mtu 1500", "m2: eth1 mtu 1500", "small: eth1 mtu 1400"]
    assert findings(mtus, "m1", "mtu-mismatch") == []


@pytest.fixture(scope="module")
def wildcard_dns(make_fleet, tmp_path_factory):
    import shutil
    import subprocess

    assert shutil.which("dnsmasq"), "Debian's dnsmasq-base is required (make test installs it)"
    fleet = make_fleet(["corp", "dnsfirst"])
    st = fleet.state
    wildcard = st["subnet"].rsplit(".", 1)[0] + ".250"
    # A site DNS server on the switch that answers every name under corp.example (a wildcard record).
    subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            st["switch_ns"],
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=" + st["gateway"],
            "--address=/corp.example/" + wildcard,
            "--pid-file=",
            "--log-facility=-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # killed with the switch namespace when the fleet goes down
    for host in ("corp", "dnsfirst"):
        fleet.exec(host, ["sh", "-c", "cat > /etc/resolv.conf"], input_text="nameserver %s\nsearch corp.example\noptions timeout:1\n" % st["gateway"])
    fleet.exec("dnsfirst", ["sed", "-i", "s/^hosts:.*/hosts: dns files/", "/etc/nsswitch.conf"])
    import time

    deadline = time.monotonic() + 10
    while fleet.exec("corp", ["getent", "ahostsv4", "x.corp.example"], check=False).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    seen = {
        "wildcard": wildcard,
        "qualified": fleet.exec("corp", ["getent", "ahostsv4", "localhost.corp.example"]).stdout.split()[:1],
        "localhost": {h: fleet.exec(h, ["getent", "ahostsv4", "localhost"]).stdout.split()[:1] for h in ("corp", "dnsfirst")},
    }
    out = str(tmp_path_factory.mktemp("wildcard"))
    seen["proc"] = run_playbook(fleet, "kubeprep.hostnet.audit", "-e", "hostnet_report_dir=" + out)
    seen["report"] = load_report(out)
    return seen


def test_search_domain_wildcard_symptom_and_finding(wildcard_dns):
    w = wildcard_dns["wildcard"]
    # The symptom: the wildcard answers localhost.corp.example, and where DNS comes first, localhost itself.
    assert wildcard_dns["qualified"] == [w], wildcard_dns
    assert wildcard_dns["localhost"] == {"corp": ["127.0.0.1"], "dnsfirst": [w]}, wildcard_dns
    (corp,) = findings(wildcard_dns, "corp", "search-domain-answers-localhost")
    assert corp["severity"] == "warning" and corp["message"] == "localhost.corp.example resolves to %s in DNS (a wildcard record)" % w, corp
    (first,) = findings(wildcard_dns, "dnsfirst", "search-domain-answers-localhost")
    assert first["severity"] == "error", first
