"""What the installer already knows becomes the audit's inputs: kubespray's inventory variables and a kubeadm
configuration file, where the user set no hostnet_* value, with where each value came from; a kubeadm file that
cannot be used is an input error naming the variable and the file."""

import os

import pytest

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import installer, report, report_html, rules

from helpers import fleet

KUBEADM = """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: 192.168.56.11}
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.31.2
controlPlaneEndpoint: api.example.test:6443
networking:
  serviceSubnet: 10.100.0.0/16,fd00:10:100::/112
  podSubnet: 10.200.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
resolvConf: /run/systemd/resolve/resolv.conf
"""


def apply(user=None, kvars=None, addresses=None, playbook_dir=None, also_user=()):
    normalised = {"n1": dict(user or {})}
    sources, nodes = {}, {}
    errors = installer.apply(normalised, {"n1": kvars or {}}, {"n1": addresses or {}}, sources, nodes, playbook_dir, also_user)
    return normalised["n1"], sources.get("n1", {}), nodes, errors


def test_a_kubespray_inventory_sets_the_cni_and_the_networks():
    values, sources, _nodes, errors = apply(
        kvars={"kube_network_plugin": "calico", "kube_service_addresses": "10.233.0.0/18", "kube_pods_subnet": "10.233.64.0/18"}
    )
    assert errors == []
    assert values == {"hostnet_cni": "calico", "hostnet_service_ips": ["10.233.0.0/18"], "hostnet_pod_cidr": "10.233.64.0/18"}
    assert sources["hostnet_cni"] == "kubespray kube_network_plugin"
    assert sources["hostnet_service_ips"] == "kubespray kube_service_addresses"
    assert sources["hostnet_pod_cidr"] == "kubespray kube_pods_subnet"
    assert sources["hostnet_node_cidr"] == "default"


@pytest.mark.parametrize("plugin, cni", [("flannel", "flannel"), ("cilium", "cilium"), ("kube-ovn", "other"), ("cni", "other"), ("Calico", "calico")])
def test_kubesprays_plugins_map_onto_hostnet_cni(plugin, cni):
    values, _sources, _nodes, errors = apply(kvars={"kube_network_plugin": plugin})
    assert errors == [] and values["hostnet_cni"] == cni


def test_a_value_the_user_set_wins_and_says_so():
    values, sources, _nodes, errors = apply(
        user={"hostnet_cni": "flannel", "hostnet_pod_cidr": "10.244.0.0/16"}, kvars={"kube_network_plugin": "calico", "kube_pods_subnet": "10.233.64.0/18"}
    )
    assert errors == [] and values == {"hostnet_cni": "flannel", "hostnet_pod_cidr": "10.244.0.0/16"}
    assert sources["hostnet_cni"] == sources["hostnet_pod_cidr"] == "user"
    # set as a play var (an embedding playbook): the user's too, never overwritten
    values, sources, _nodes, errors = apply(kvars={"kube_network_plugin": "calico"}, also_user=("hostnet_cni",))
    assert "hostnet_cni" not in values and sources["hostnet_cni"] == "user"


def test_a_mapping_onto_an_option_no_rule_declares_is_skipped(monkeypatch):
    # hostnet_kube_proxy_mode is declared by a rule another change adds: until then kube_proxy_mode is not read,
    # silently; hostnet_cni (declared) is read from the same inventory.
    monkeypatch.setattr(installer.inputs, "DECLARED", {k: v for k, v in installer.inputs.DECLARED.items() if k != "hostnet_kube_proxy_mode"})
    values, sources, _nodes, errors = apply(kvars={"kube_proxy_mode": "ipvs", "kube_network_plugin": "calico"})
    assert errors == [] and values == {"hostnet_cni": "calico"} and "hostnet_kube_proxy_mode" not in sources


def test_kubespray_proxy_mode_and_node_port_range_are_read():
    values, sources, _nodes, errors = apply(kvars={"kube_proxy_mode": "ipvs", "kube_apiserver_node_port_range": "30000-32000"})
    assert errors == []
    assert values == {"hostnet_kube_proxy_mode": "ipvs", "hostnet_service_node_port_range": "30000-32000"}
    assert sources["hostnet_kube_proxy_mode"] == "kubespray kube_proxy_mode"
    assert sources["hostnet_service_node_port_range"] == "kubespray kube_apiserver_node_port_range"


def test_kubespray_ipv6_stack_adds_the_ipv6_networks():
    values, sources, _nodes, errors = apply(
        kvars={
            "kube_service_addresses": "10.233.0.0/18",
            "kube_service_addresses_ipv6": "fd00:1::/112",
            "kube_pods_subnet": "10.233.64.0/18",
            "ipv6_stack": True,
        }
    )
    assert errors == [] and values["hostnet_service_ips"] == ["10.233.0.0/18", "fd00:1::/112"]
    assert sources["hostnet_service_ips"] == "kubespray kube_service_addresses + kube_service_addresses_ipv6"
    # the deprecated switch, the IPv6 network at kubespray's default
    values, sources, _nodes, errors = apply(kvars={"kube_service_addresses": "10.233.0.0/18", "enable_dual_stack_networks": "true"})
    assert errors == [] and values["hostnet_service_ips"] == ["10.233.0.0/18", "fd85:ee78:d8a6:8607::1000/116"]
    assert "kubespray's default" in sources["hostnet_service_ips"]
    # IPv6 only: the Pod network is the IPv6 one
    values, _sources, _nodes, errors = apply(kvars={"ipv4_stack": False, "ipv6_stack": True, "kube_pods_subnet_ipv6": "fd00:2::/104"})
    assert errors == [] and values["hostnet_pod_cidr"] == "fd00:2::/104"
    # IPv6 off (kubespray's default): its IPv6 variables are not read
    values, _sources, _nodes, errors = apply(kvars={"kube_service_addresses": "10.233.0.0/18", "kube_service_addresses_ipv6": "fd00:1::/112"})
    assert errors == [] and values["hostnet_service_ips"] == ["10.233.0.0/18"]


def test_a_kubespray_value_that_is_no_cidr_names_the_kubespray_variable():
    _values, _sources, _nodes, errors = apply(kvars={"kube_pods_subnet_ipv6": "fd00::/200", "ipv6_stack": True, "ipv4_stack": False})
    assert errors == [
        (
            "hostnet_pod_cidr: 'fd00::/200' is not a CIDR, or an IPv4 and an IPv6 CIDR separated by a comma: "
            "'fd00::/200' does not appear to be an IPv4 or IPv6 network (read from kubespray kube_pods_subnet_ipv6) (host n1)"
        )
    ]


def test_kubesprays_ip_is_the_node_address_unless_the_user_set_the_node_network():
    _values, sources, nodes, errors = apply(addresses={"ip": "192.168.56.11", "access_ip": "203.0.113.5"})
    assert errors == [] and nodes == {"n1": "192.168.56.11"} and sources["node address"] == "kubespray ip"
    _values, sources, nodes, errors = apply(addresses={"access_ip": "203.0.113.5"})
    assert nodes == {"n1": "203.0.113.5"} and sources["node address"] == "kubespray access_ip"
    _values, sources, nodes, errors = apply(user={"hostnet_node_cidr": "192.168.56.0/24"}, addresses={"ip": "10.0.0.1"})
    assert errors == [] and nodes == {} and "node address" not in sources
    _values, _sources, nodes, errors = apply(addresses={"ip": "node-1"})
    assert errors == ["ip: 'node-1' is not an IP address (kubespray's node address) (host n1)"] and nodes == {}


def test_a_kubeadm_file_sets_the_networks_with_its_path_and_key(tmp_path):
    path = tmp_path / "kubeadm.yaml"
    path.write_text(KUBEADM)
    values, sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": str(path)}, kvars={"kube_pods_subnet": "10.233.64.0/18"})
    assert errors == []
    assert values["hostnet_service_ips"] == ["10.100.0.0/16", "fd00:10:100::/112"]
    assert values["hostnet_pod_cidr"] == "10.200.0.0/16"  # the kubeadm file, given explicitly, over kubespray's variable
    assert sources["hostnet_pod_cidr"] == "kubeadm %s ClusterConfiguration.networking.podSubnet" % path
    assert sources["hostnet_kubeadm_config"] == "user"
    documents = installer.read_kubeadm(str(path))
    every = installer.kubeadm_values(documents, {var for var, _k, _p, _c in installer.KUBEADM_MAP})
    assert every["hostnet_control_plane_endpoint"] == ("api.example.test:6443", "ClusterConfiguration.controlPlaneEndpoint")
    assert every["hostnet_kubernetes_version"] == ("v1.31.2", "ClusterConfiguration.kubernetesVersion")
    assert every["hostnet_kubelet_resolv_conf"] == ("/run/systemd/resolve/resolv.conf", "KubeletConfiguration.resolvConf")


def test_a_relative_kubeadm_path_is_read_from_the_working_directory_else_the_playbooks(tmp_path, monkeypatch):
    (tmp_path / "cwd").mkdir()
    (tmp_path / "play").mkdir()
    (tmp_path / "play" / "kubeadm.yaml").write_text(KUBEADM)
    monkeypatch.chdir(tmp_path / "cwd")
    values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": "kubeadm.yaml"}, playbook_dir=str(tmp_path / "play"))
    assert errors == [] and values["hostnet_pod_cidr"] == "10.200.0.0/16"
    (tmp_path / "cwd" / "kubeadm.yaml").write_text(KUBEADM.replace("10.200.0.0/16", "10.201.0.0/16"))
    values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": "kubeadm.yaml"}, playbook_dir=str(tmp_path / "play"))
    assert errors == [] and values["hostnet_pod_cidr"] == "10.201.0.0/16"


@pytest.mark.parametrize(
    "content, reason",
    [
        (None, "cannot be read: No such file or directory"),
        ("kind: ClusterConfiguration\nnetworking: {podSubnet: [\n", "is not valid YAML"),
        ("- just\n- a list\n", "holds a document that is not a mapping (list)"),
        ("apiVersion: v1\nkind: ConfigMap\n", "holds no ClusterConfiguration nor KubeletConfiguration document"),
        ("kind: ClusterConfiguration\n#" + "x" * installer.KUBEADM_MAX_BYTES, "is over 1048576 bytes"),
        (b"\xff\xfekind: ClusterConfiguration\n\x00\x01", "is not valid YAML"),
    ],
    ids=["missing", "garbled", "a-list", "no-kubeadm-kind", "huge", "binary"],
)
def test_a_kubeadm_file_that_cannot_be_used_names_the_variable_and_the_file(tmp_path, content, reason):
    path = tmp_path / "kubeadm.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": str(path)})
    assert len(errors) == 1 and errors[0].startswith("hostnet_kubeadm_config: the kubeadm configuration %s %s" % (path, reason)), errors
    assert errors[0].endswith("(host n1)") and "hostnet_pod_cidr" not in values


def test_an_unreadable_kubeadm_file_is_an_error():
    # A regular file not even root can read (this suite runs as root, so a chmod 0 file would be read).
    _values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": "/proc/self/mem"})
    assert errors == ["hostnet_kubeadm_config: the kubeadm configuration /proc/self/mem cannot be read: Input/output error (host n1)"]


def test_a_kubeadm_path_to_a_pipe_is_an_error_not_a_hang(tmp_path):
    path = tmp_path / "kubeadm.fifo"
    os.mkfifo(path)
    _values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": str(path)})
    assert errors == ["hostnet_kubeadm_config: the kubeadm configuration %s is not a regular file (host n1)" % path]


def test_a_kubeadm_value_that_is_no_cidr_names_the_file_and_key(tmp_path):
    path = tmp_path / "kubeadm.yaml"
    path.write_text("kind: ClusterConfiguration\nnetworking: {podSubnet: 10.200.0.0/33}\n")
    _values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": str(path)})
    assert errors == [
        "hostnet_pod_cidr: '10.200.0.0/33' is not a CIDR, or an IPv4 and an IPv6 CIDR separated by a comma: '10.200.0.0/33' does not "
        "appear to be an IPv4 or IPv6 network (read from kubeadm %s ClusterConfiguration.networking.podSubnet) (host n1)" % path
    ]


def test_a_kubeadm_value_that_is_no_string_is_an_error_and_never_expanded(tmp_path):
    # Six levels of aliases: 9**6 items once turned into text (each level more: 9 times that).
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]" % ((i, i) + (i - 1,) * 9) for i in range(1, 7)
    ]
    path = tmp_path / "kubeadm.yaml"
    path.write_text("kind: ClusterConfiguration\n" + "\n".join(levels) + "\nnetworking: {podSubnet: *a6}\n")
    _values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": str(path)})
    assert errors == [
        "hostnet_kubeadm_config: the kubeadm configuration %s has ClusterConfiguration.networking.podSubnet that is not a string (list) (host n1)" % path
    ]


def test_a_yaml_error_shows_the_files_text_escaped(tmp_path, monkeypatch):
    # PyYAML's pure-Python parser quotes the offending line (the C one does not): a bidi override there would
    # reorder the console's line.
    monkeypatch.setattr(installer, "_LOADER", installer.yaml.SafeLoader)
    path = tmp_path / "kubeadm.yaml"
    path.write_text("kind: ClusterConfiguration\nnetworking: {podSubnet: [10.50.0.0/16 \u202e\n")
    _values, _sources, _nodes, errors = apply(user={"hostnet_kubeadm_config": str(path)})
    assert len(errors) == 1 and "is not valid YAML" in errors[0] and "10.50.0.0/16 \\u202e" in errors[0], errors
    assert "\u202e" not in errors[0]


def _default_on_eth1(tmp_path):
    nodes = fleet(tmp_path)
    for index, facts in enumerate(nodes.values(), 1):
        for iface in facts["interfaces"]["list"]:
            if iface["name"] == "eth0":
                iface["addresses"][0]["address"] = "10.0.%d.15" % index
        for route in facts["routes"]["default_ipv4"] + facts["routes"]["ipv4"]:
            route["dev"], route["gateway"] = "eth1", "192.168.56.1"
    return nodes


def test_the_node_address_picks_the_interface_to_check(tmp_path):
    nodes = _default_on_eth1(tmp_path)
    plain = rules.evaluate(nodes)
    assert not [f for d in plain["hosts"].values() for f in d["findings"] if f["id"] == "default-interface-not-cluster"]
    addresses = {"node%d" % i: "10.0.%d.15" % i for i in (1, 2, 3)}
    result = rules.evaluate(nodes, {"node_addresses": addresses})
    found = [f for f in result["hosts"]["node2"]["findings"] if f["id"] == "default-interface-not-cluster"]
    assert [f["message"] for f in found] == ["default route is on eth1, but eth0 (10.0.2.15) holds the node address the inventory gives (ip)"]
    assert result["recommendations"]["node2"]["node_address"] is True
    # an address on no interface of the host: the choice is made as without it
    assert rules.evaluate(nodes, {"node_addresses": {"node2": "10.9.9.9"}})["recommendations"]["node2"]["interface"] == "eth1"


def test_the_reports_say_where_each_value_came_from():
    result = rules.evaluate({})
    result["input_sources"] = {
        "hostnet_cni": "kubespray kube_network_plugin",
        "hostnet_pod_cidr": "kubeadm /k/a.yaml ClusterConfiguration.networking.podSubnet",
        "hostnet_node_cidr": "default",
    }
    document = report.build_report(result, "now")
    assert document["input_sources"]["hostnet_cni"] == "kubespray kube_network_plugin"
    lines = [text for text, _color in report.console_lines(document)]
    assert (
        "[INPUTS] hostnet_cni from kubespray kube_network_plugin, hostnet_pod_cidr from kubeadm /k/a.yaml "
        "ClusterConfiguration.networking.podSubnet; the rest are defaults" in lines
    )
    markdown = report.render_markdown(document)
    assert "Inputs: hostnet\\_cni from kubespray kube\\_network\\_plugin; " in markdown and "hostnet_node_cidr" not in markdown
    html = report_html.render_html(document)
    assert "<code>hostnet_cni</code> kubespray kube_network_plugin; " in html and "<code>hostnet_node_cidr</code>" not in html
