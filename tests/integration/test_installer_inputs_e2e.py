"""What the installer already knows drives the audit, with no hostnet_* variable set: a kubespray-shaped inventory
(group_vars with kube_network_plugin: calico, kube_service_addresses, kube_pods_subnet; ip per host) and a kubeadm
configuration file given as -e hostnet_kubeadm_config=<relative path>. Each fault below is made real on the test
hosts and its symptom shown with a real client first; each finding is one only the installer's value produces (the
same hosts audited with the other source, or none, do not get it); the report says where each value came from. A
kubeadm file that cannot be used fails before any host is contacted, naming the variable and the file."""

import os
import subprocess

import pytest

from conftest import VENV_BIN, ansible_env, load_report

# A process that is not calico's holds BGP's TCP 179 (a routing daemon left on the host).
BGP_HOLDER = (
    "import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('0.0.0.0', 179)); s.listen(8); print('up', flush=True); time.sleep(600)"
)
# What calico's BIRD does at its start: bind TCP 179 on every address.
BIND_179 = (
    "import errno, socket\nsock = socket.socket()\ntry:\n    sock.bind(('0.0.0.0', 179))\n    print('bound')\n"
    "except OSError as exc:\n    print(errno.errorcode[exc.errno])\n"
)
# The kernel's choice for a packet to a pod IP: the source address it would leave with (a UDP connect sends nothing).
SOURCE_FOR = "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((sys.argv[1], 443)); print(s.getsockname()[0])"
# A peer reaching a node at its node address (kubelet, the API server and the CNI use it): sshd listens on every address.
CONNECT = (
    "import errno, socket, sys\ntry:\n    socket.create_connection((sys.argv[1], 22), timeout=10).close()\n    print('connected')\n"
    "except socket.timeout:\n    print('timeout')\nexcept OSError as exc:\n    print(errno.errorcode.get(exc.errno, exc))\n"
)
KUBEADM = """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.31.2
networking:
  serviceSubnet: 10.60.0.0/16
  podSubnet: 10.50.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
resolvConf: /run/systemd/resolve/resolv.conf
"""


def audit(fleet, inventory, cwd, *args, playbook="kubeprep.hostnet.audit"):
    """ansible-playbook kubeprep.hostnet.audit as a user runs it from ``cwd``: the report in ./hostnet-report."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, playbook] + list(args)
    return subprocess.run(
        cmd, cwd=cwd, env=ansible_env(fleet), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False
    )


def connection_lines(fleet):
    """The test inventory's connection settings (no hostnet_* and no kubespray variable in them)."""
    with open(os.path.join(fleet.state_dir, "inventory.ini")) as handle:
        return handle.read().split("[testhosts:vars]\n", 1)[1]


def kubespray_inventory(fleet, directory, node_ip):
    """A kubespray-shaped inventory: kube_control_plane / kube_node under k8s_cluster, group_vars/k8s_cluster, ip per host."""
    (directory / "group_vars").mkdir(parents=True)
    (directory / "host_vars").mkdir()
    hosts = {h["name"]: h["address"] for h in fleet.hosts}
    (directory / "hosts.ini").write_text(
        "[kube_control_plane]\nks1 ansible_host=%s\n\n[kube_node]\nks2 ansible_host=%s\n\n"
        "[k8s_cluster:children]\nkube_control_plane\nkube_node\n\n[all:vars]\n%s" % (hosts["ks1"], hosts["ks2"], connection_lines(fleet))
    )
    (directory / "group_vars" / "k8s_cluster.yml").write_text(
        "---\nkube_network_plugin: calico\nkube_service_addresses: 10.233.0.0/18\nkube_pods_subnet: 10.233.64.0/18\n"
    )
    (directory / "host_vars" / "ks1.yml").write_text("---\nip: %s\n" % hosts["ks1"])
    (directory / "host_vars" / "ks2.yml").write_text("---\nip: %s\n" % node_ip)
    return str(directory / "hosts.ini")


def findings(report, host, rule):
    return [f for f in report["hosts"][host]["findings"] if f["id"] == rule]


@pytest.fixture(scope="module")
def seen(make_fleet, tmp_path_factory):
    fleet = make_fleet(["ks1", "ks2"])
    subnet = fleet.state["gateway"].rsplit(".", 1)[0]
    # (TEST-NET-1: a peer's packet for it goes to the switch, which forwards nothing.)
    node_ip = "192.0.2.77"
    # ks1: an address inside kubespray's Pod network (a lab network that took the same range).
    fleet.exec("ks1", ["ip", "addr", "add", "10.233.70.5/24", "dev", "eth1"])
    # ks2: the ip the inventory gives it sits on an interface no peer reaches (a veth whose peer end stays in ks2),
    # not on its default-route NIC.
    fleet.exec("ks2", ["ip", "link", "add", "node0", "type", "veth", "peer", "name", "node0p"])
    fleet.exec("ks2", ["ip", "addr", "add", node_ip + "/32", "dev", "node0"])
    fleet.exec("ks2", ["ip", "link", "set", "node0", "up"])
    # ks2: an address inside the kubeadm file's Pod network.
    fleet.exec("ks2", ["ip", "addr", "add", "10.50.1.5/24", "dev", "eth1"])
    args = ["nsenter", "--target", str(fleet.sshd_pid(fleet.host("ks1"))), "--net", "--mount", "--uts", "--"]
    holder = subprocess.Popen(args + ["python3", "-c", BGP_HOLDER, "old-bgpd"], stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        out = {
            "holder": holder.pid,
            "node_ip": node_ip,
            "bind_179": fleet.exec("ks1", ["python3", "-c", BIND_179]).stdout.strip(),
            "pod_source": fleet.exec("ks1", ["python3", "-c", SOURCE_FOR, "10.233.70.9"]).stdout.strip(),
            "kubeadm_pod_source": fleet.exec("ks2", ["python3", "-c", SOURCE_FOR, "10.50.1.9"]).stdout.strip(),
            "reach": {
                address: fleet.exec("ks1", ["python3", "-c", CONNECT, address], timeout=60).stdout.strip()
                for address in (node_ip, fleet.host("ks2")["address"])
            },
        }
        work = tmp_path_factory.mktemp("installer")
        inventory = kubespray_inventory(fleet, work / "kubespray", node_ip)
        (work / "kubespray-run").mkdir()
        out["kubespray"] = audit(fleet, inventory, str(work / "kubespray-run"))
        out["kubespray_report"] = load_report(str(work / "kubespray-run" / "hostnet-report"))
        with open(work / "kubespray-run" / "hostnet-report" / "hostnet-report.md") as handle:
            out["kubespray_md"] = handle.read()
        # The same hosts, the test inventory (no installer variable), a kubeadm file beside where the user runs.
        (work / "kubeadm-run" / "cluster").mkdir(parents=True)
        (work / "kubeadm-run" / "cluster" / "kubeadm.yaml").write_text(KUBEADM)
        plain = os.path.join(fleet.state_dir, "inventory.ini")
        out["kubeadm"] = audit(fleet, plain, str(work / "kubeadm-run"), "-e", "hostnet_kubeadm_config=cluster/kubeadm.yaml")
        out["kubeadm_report"] = load_report(str(work / "kubeadm-run" / "hostnet-report"))
        out["kubeadm_path"] = str(work / "kubeadm-run" / "cluster" / "kubeadm.yaml")
        # An embedding playbook names the file in its play vars, next to the playbook; run from elsewhere.
        (work / "embed").mkdir()
        (work / "embed" / "kubeadm.yaml").write_text(KUBEADM)
        (work / "embed" / "site.yml").write_text(
            "- hosts: all\n  gather_facts: false\n  vars:\n    hostnet_kubeadm_config: kubeadm.yaml\n  roles:\n    - role: kubeprep.hostnet.audit\n"
        )
        (work / "embed-run").mkdir()
        out["embed"] = audit(fleet, plain, str(work / "embed-run"), playbook=str(work / "embed" / "site.yml"))
        out["embed_report"] = load_report(str(work / "embed-run" / "hostnet-report"))
        out["embed_path"] = str(work / "embed" / "kubeadm.yaml")
        # Unusable kubeadm files, with a host in the inventory that would be UNREACHABLE if anything contacted it.
        (work / "bad-run").mkdir()
        (work / "bad-run" / "garbled.yaml").write_text("kind: ClusterConfiguration\nnetworking: {podSubnet: [10.50.0.0/16\n")
        (work / "bad-run" / "a-directory.yaml").mkdir()
        with open(plain) as handle:
            ghost = handle.read().replace("[testhosts]\n", "[testhosts]\nghost ansible_host=%s.99 ansible_ssh_timeout=2\n" % subnet)
        (work / "bad-run" / "inventory.ini").write_text(ghost)
        out["bad"] = {
            name: audit(fleet, str(work / "bad-run" / "inventory.ini"), str(work / "bad-run"), "-e", "hostnet_kubeadm_config=" + name)
            for name in ("garbled.yaml", "a-directory.yaml", "missing.yaml")
        }
        out["bad_dir"] = str(work / "bad-run")
    finally:
        holder.kill()
        holder.wait()
    return out


def test_kubespray_inventory_drives_the_audit(seen):
    # The symptoms, with real clients: calico's BGP bind fails; a pod IP's packets leave on the LAN; a peer cannot
    # reach ks2 at the node address the inventory gives it, only at its NIC's address.
    assert seen["bind_179"] == "EADDRINUSE", seen["bind_179"]
    assert seen["pod_source"] == "10.233.70.5", seen["pod_source"]
    reach = dict(seen["reach"])
    assert reach.pop(seen["node_ip"]) in ("EHOSTUNREACH", "timeout"), seen["reach"]
    assert list(reach.values()) == ["connected"], seen["reach"]
    proc, report = seen["kubespray"], seen["kubespray_report"]
    assert proc.returncode != 0, proc.stdout[-3000:]  # errors found, fail_on=error
    # kube_network_plugin: calico -> calico's TCP 179 is watched.
    (bgp,) = [f for f in findings(report, "ks1", "port-in-use") if "TCP port 179" in f["message"]]
    assert "is held by pid %d" % seen["holder"] in bgp["message"], bgp
    # kube_pods_subnet -> the Pod CIDR.
    (pod,) = findings(report, "ks1", "pod-cidr-overlap")
    assert "10.233.70.5/24" in pod["message"], pod
    # ip -> the node address: ks2's is on node0, not on the default route's eth1.
    (node,) = findings(report, "ks2", "default-interface-not-cluster")
    assert node["message"] == "default route is on eth1, but node0 (%s) holds the node address the inventory gives (ip)" % seen["node_ip"], node
    assert report["options"]["cni"] == "calico" and report["options"]["service_cidrs"] == ["10.233.0.0/18"], report["options"]
    assert report["options"]["pod_cidr"] == "10.233.64.0/18", report["options"]
    sources = report["input_sources"]
    assert sources["hostnet_cni"] == "kubespray kube_network_plugin", sources
    assert sources["hostnet_service_ips"] == "kubespray kube_service_addresses", sources
    assert sources["hostnet_pod_cidr"] == "kubespray kube_pods_subnet", sources
    assert sources["node address"] == "kubespray ip" and sources["hostnet_node_cidr"] == "default", sources
    assert "[INPUTS] hostnet_cni from kubespray kube_network_plugin, " in proc.stdout, proc.stdout[-3000:]
    assert "Inputs: hostnet\\_cni from kubespray kube\\_network\\_plugin; " in seen["kubespray_md"]


def test_kubeadm_file_drives_the_audit(seen):
    assert seen["kubeadm_pod_source"] == "10.50.1.5", seen["kubeadm_pod_source"]
    proc, report = seen["kubeadm"], seen["kubeadm_report"]
    assert proc.returncode != 0, proc.stdout[-3000:]
    (pod,) = findings(report, "ks2", "pod-cidr-overlap")
    assert "10.50.1.5/24" in pod["message"], pod
    assert report["options"]["pod_cidr"] == "10.50.0.0/16" and report["options"]["service_cidrs"] == ["10.60.0.0/16"], report["options"]
    sources = report["input_sources"]
    assert sources["hostnet_pod_cidr"] == "kubeadm %s ClusterConfiguration.networking.podSubnet" % seen["kubeadm_path"], sources
    assert sources["hostnet_service_ips"] == "kubeadm %s ClusterConfiguration.networking.serviceSubnet" % seen["kubeadm_path"], sources
    assert sources["hostnet_cni"] == "default" and "node address" not in sources, sources
    # Without the kubespray inventory, the same hosts get none of its findings: those were its values'.
    assert not findings(report, "ks1", "pod-cidr-overlap") and not findings(report, "ks2", "default-interface-not-cluster")
    assert not [f for f in findings(report, "ks1", "port-in-use") if "TCP port 179" in f["message"]]
    # ...and the kubespray run did not get the kubeadm file's.
    assert not findings(seen["kubespray_report"], "ks2", "pod-cidr-overlap")


def test_a_kubeadm_file_named_in_an_embedding_playbooks_vars_is_read_next_to_the_playbook(seen):
    proc, report = seen["embed"], seen["embed_report"]
    assert proc.returncode != 0, proc.stdout[-3000:]
    (pod,) = findings(report, "ks2", "pod-cidr-overlap")
    assert "10.50.1.5/24" in pod["message"], pod
    assert report["input_sources"]["hostnet_pod_cidr"] == "kubeadm %s ClusterConfiguration.networking.podSubnet" % seen["embed_path"]
    assert report["input_sources"]["hostnet_kubeadm_config"] == "user"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("garbled.yaml", "is not valid YAML"),
        ("a-directory.yaml", "is not a regular file"),
        ("missing.yaml", "cannot be read: No such file or directory"),
    ],
)
def test_an_unusable_kubeadm_file_fails_before_any_host_is_contacted(seen, name, reason):
    proc = seen["bad"][name]
    assert proc.returncode != 0
    expected = "hostnet_kubeadm_config: the kubeadm configuration %s (%s) %s" % (name, os.path.join(seen["bad_dir"], name), reason)
    assert expected in proc.stdout, proc.stdout[-3000:]
    assert "UNREACHABLE" not in proc.stdout and "Gather hostnet facts" not in proc.stdout
    assert not os.path.exists(os.path.join(seen["bad_dir"], "hostnet-report"))
