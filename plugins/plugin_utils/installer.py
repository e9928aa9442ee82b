# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the installer already knows, read on the controller so users do not type it twice: kubespray's
inventory variables and a kubeadm configuration file (``hostnet_kubeadm_config``).

Each value maps onto a rule option by its variable name, from the tables below; a name no rule declares (an
option another change adds) is skipped. A value the user set as the ``hostnet_*`` variable wins; then the
kubeadm file (given explicitly); then kubespray's variables; then the declared default. ``sources`` says which,
for the report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import stat

import yaml

from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import inputs, safetext

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KUBEADM_VAR = "hostnet_kubeadm_config"
KUBEADM_MAX_BYTES = 1024 * 1024  # a kubeadm config is a few KiB; a larger file is not one
USER = "user"
DEFAULT = "default"

# kubespray's kube_network_plugin -> hostnet_cni (its other plugins: kube-ovn, kube-router, macvlan, cni, custom_cni,
# cloud, none -> other).
_KUBESPRAY_CNI = {"calico": "calico", "canal": "canal", "flannel": "flannel", "cilium": "cilium", "weave": "weave"}
# kubespray's defaults (roles/kubespray_defaults/defaults/main/main.yml), used when its IPv6 stack is switched on
# in the inventory and the IPv6 network left at its default.
KUBESPRAY_IPV6_DEFAULTS = {
    "kube_service_addresses_ipv6": "fd85:ee78:d8a6:8607::1000/116",
    "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0000/112",
}
# Every kubespray variable read here (the inputs action reads them from the inventory).
KUBESPRAY_VARS = (
    "kube_network_plugin",
    "kube_proxy_mode",
    "kube_apiserver_node_port_range",
    "kube_service_addresses",
    "kube_pods_subnet",
    "kube_service_addresses_ipv6",
    "kube_pods_subnet_ipv6",
    "ipv4_stack",
    "ipv6_stack",
    "enable_dual_stack_networks",
)
# The per-host node address: kubespray's ip (what kubelet's --node-ip becomes), else access_ip.
NODE_ADDRESS_VARS = ("ip", "access_ip")


def _truthy(value, default):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "on", "1", "y", "t")


def _stacks(kvars):
    """(ipv4, ipv6) as kubespray decides them: ipv4_stack (default true); ipv6_stack, else the deprecated
    enable_dual_stack_networks (default false)."""
    ipv6 = kvars.get("ipv6_stack")
    if ipv6 is None:
        ipv6 = kvars.get("enable_dual_stack_networks")
    return _truthy(kvars.get("ipv4_stack"), True), _truthy(ipv6, False)


def _stack_values(kvars, v4_name, v6_name):
    """[(value, kubespray variable)] of a network kubespray builds from its stacks (kube_service_subnets,
    kube_pods_subnets); only what the inventory sets, or turns on (the IPv6 network at kubespray's default)."""
    ipv4, ipv6 = _stacks(kvars)
    out = []
    if ipv4 and kvars.get(v4_name) is not None:
        out.append((kvars[v4_name], v4_name))
    if ipv6 and (kvars.get(v6_name) is not None or kvars.get("ipv6_stack") is not None or kvars.get("enable_dual_stack_networks") is not None):
        if kvars.get(v6_name) is not None:
            out.append((kvars[v6_name], v6_name))
        else:
            out.append((KUBESPRAY_IPV6_DEFAULTS[v6_name], "%s (kubespray's default, ipv6_stack on)" % v6_name))
    return out


def _ks_service(kvars):
    items = _stack_values(kvars, "kube_service_addresses", "kube_service_addresses_ipv6")
    return ([v for v, _n in items], " + ".join(n for _v, n in items)) if items else None


def _ks_pod(kvars):
    items = _stack_values(kvars, "kube_pods_subnet", "kube_pods_subnet_ipv6")
    return (items[0][0], items[0][1]) if items else None


def _ks_pods(kvars):
    items = _stack_values(kvars, "kube_pods_subnet", "kube_pods_subnet_ipv6")
    return ([v for v, _n in items], " + ".join(n for _v, n in items)) if items else None


def _ks_cni(kvars):
    plugin = kvars.get("kube_network_plugin")
    if plugin is None:
        return None
    return _KUBESPRAY_CNI.get(str(plugin).strip().lower(), "other"), "kube_network_plugin"


def _ks_plain(name):
    def read(kvars):
        return (kvars[name], name) if kvars.get(name) is not None else None

    return read


# hostnet_* variable -> how to read it from kubespray's variables: (value, the kubespray variable(s)) or None.
KUBESPRAY_MAP = (
    ("hostnet_cni", _ks_cni),
    ("hostnet_kube_proxy_mode", _ks_plain("kube_proxy_mode")),
    ("hostnet_service_node_port_range", _ks_plain("kube_apiserver_node_port_range")),
    ("hostnet_service_ips", _ks_service),
    ("hostnet_pod_cidr", _ks_pod),
    ("hostnet_pod_cidrs", _ks_pods),
)


def _split(value):
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


# hostnet_* variable -> (kubeadm kind, path of keys, how the value is used): serviceSubnet and podSubnet are
# comma-separated (dual-stack: "10.96.0.0/12,fd00:10:96::/112").
KUBEADM_MAP = (
    ("hostnet_service_ips", "ClusterConfiguration", ("networking", "serviceSubnet"), _split),
    ("hostnet_pod_cidr", "ClusterConfiguration", ("networking", "podSubnet"), lambda v: _split(v)[0] if _split(v) else None),
    ("hostnet_pod_cidrs", "ClusterConfiguration", ("networking", "podSubnet"), _split),
    ("hostnet_control_plane_endpoint", "ClusterConfiguration", ("controlPlaneEndpoint",), str),
    ("hostnet_kubernetes_version", "ClusterConfiguration", ("kubernetesVersion",), str),
    ("hostnet_kubelet_resolv_conf", "KubeletConfiguration", ("resolvConf",), str),
)


class KubeadmConfigError(ValueError):
    pass


def resolve_path(path, playbook_dir=None, cwd=None):
    """An absolute path as given (``~`` expanded); a relative one from the directory ansible-playbook runs in,
    else from the playbook's directory (where users keep files next to their playbook)."""
    path = os.path.expanduser(str(path).strip())
    if os.path.isabs(path):
        return path
    first = os.path.join(cwd or os.getcwd(), path)
    if os.path.exists(first) or not playbook_dir:
        return os.path.abspath(first)
    second = os.path.join(playbook_dir, path)
    return os.path.abspath(second) if os.path.exists(second) else os.path.abspath(first)


def read_kubeadm(path):
    """{kind: document} of a kubeadm configuration file (multi-document YAML), or KubeadmConfigError saying why
    it cannot be used: unreadable, over 1 MiB, not YAML, or holding no ClusterConfiguration nor
    KubeletConfiguration."""
    try:
        # A pipe, a socket or a device (a mistyped /dev/stdin) would block or never end: only a regular file.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise KubeadmConfigError("is not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(KUBEADM_MAX_BYTES + 1)
    except OSError as exc:
        raise KubeadmConfigError("cannot be read: %s" % (exc.strerror or exc)) from exc
    if len(data) > KUBEADM_MAX_BYTES:
        raise KubeadmConfigError("is over %d bytes, not a kubeadm configuration" % KUBEADM_MAX_BYTES)
    text = data.decode("utf-8", errors="replace")
    try:
        documents = list(yaml.load_all(text, Loader=_LOADER))
    except yaml.YAMLError as exc:
        # PyYAML quotes the offending line: file text, shown one line, control characters escaped.
        raise KubeadmConfigError("is not valid YAML: %s" % safetext.visible(" ".join(str(exc).split())[:300])) from exc
    found = {}
    for doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubeadmConfigError("holds a document that is not a mapping (%s)" % type(doc).__name__)
        kind = doc.get("kind")
        if kind in ("ClusterConfiguration", "KubeletConfiguration") and kind not in found:
            found[kind] = doc
    if not found:
        raise KubeadmConfigError("holds no ClusterConfiguration nor KubeletConfiguration document")
    return found


def kubeadm_values(documents, known):
    """{hostnet_* variable: (value, 'kubeadm <kind>.<key path>')} of the variables in ``known``; a value that is
    not a scalar (kubeadm's are strings) is KubeadmConfigError naming its key (and is never turned into text: YAML
    aliases can nest a list exponentially)."""
    out = {}
    for var, kind, keys, convert in KUBEADM_MAP:
        if var not in known or kind not in documents:
            continue
        value = documents[kind]
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise KubeadmConfigError("has %s.%s that is not a string (%s)" % (kind, ".".join(keys), type(value).__name__))
        converted = convert(value)
        if converted not in (None, "", []):
            out[var] = (converted, "%s.%s" % (kind, ".".join(keys)))
    return out


def kubespray_values(kvars, known):
    """{hostnet_* variable: (value, 'kubespray <variable>')} of the variables in ``known``, from one host's
    kubespray variables (``kvars``: name -> value, only those set)."""
    out = {}
    for var, read in KUBESPRAY_MAP:
        if var not in known:
            continue
        got = read(kvars)
        if got is not None:
            out[var] = got
    return out


def node_address(hvars):
    """(address, variable) of kubespray's node address for one host (ip, else access_ip), or None."""
    for name in NODE_ADDRESS_VARS:
        value = hvars.get(name)
        if value is not None and str(value).strip():
            return str(value).strip(), name
    return None


def check_node_address(name, value):
    """The node address as text, or InputError naming the variable."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError as exc:
        raise inputs.InputError("%s: %r is not an IP address" % (name, value)) from exc


def _shown(path, where):
    """The path as the user gave it, and where it was looked for when that differs."""
    return safetext.visible(path if where == path else "%s (%s)" % (path, where))


def audit_defaults():
    """The audit role's defaults as written (raw: templates untemplated)."""
    with open(os.path.join(inputs.COLLECTION_ROOT, "roles", "audit", "defaults", "main.yml")) as handle:
        return yaml.load(handle, Loader=_LOADER) or {}


def apply(normalised, kvars_by_host, address_vars_by_host, sources, node_addresses, playbook_dir=None, also_user=()):
    """Fill ``normalised`` (host -> the user's normalised hostnet_* values) with what the installer already knows
    (the kubeadm file of ``hostnet_kubeadm_config``, then kubespray's variables ``kvars_by_host``) where the user
    set no value, ``sources`` (host -> variable -> where its value comes from: user, kubeadm <file> <key>,
    kubespray <variable>, default) and ``node_addresses`` (host -> kubespray's ip / access_ip, unless the user set
    hostnet_node_cidr). ``also_user``: variables the user set elsewhere (play vars), never filled.
    Only variables a rule declares are filled. Returns the errors, each naming the variable and
    the file or the kubespray variable."""
    errors, kubeadm = {}, {}
    known = set(inputs.DECLARED)
    for host in sorted(normalised):
        mine = normalised[host]
        derived = {}
        for var, (value, names) in kubespray_values(kvars_by_host.get(host) or {}, known).items():
            derived[var] = (value, "kubespray %s" % names)
        path = mine.get(KUBEADM_VAR)
        if path:
            where = resolve_path(path, playbook_dir)
            if where not in kubeadm:
                try:
                    kubeadm[where] = read_kubeadm(where)
                except KubeadmConfigError as exc:
                    kubeadm[where] = None
                    errors.setdefault("%s: the kubeadm configuration %s %s" % (KUBEADM_VAR, _shown(path, where), exc), []).append(host)
            if kubeadm[where] is not None:
                try:
                    found = kubeadm_values(kubeadm[where], known)
                except KubeadmConfigError as exc:
                    found = {}
                    errors.setdefault("%s: the kubeadm configuration %s %s" % (KUBEADM_VAR, _shown(path, where), exc), []).append(host)
                for var, (value, key) in found.items():
                    derived[var] = (value, "kubeadm %s %s" % (where, key))
        user = set(mine) | set(also_user)
        mine_sources = {var: USER for var in user if var in inputs.DECLARED or var == KUBEADM_VAR}
        for var, (value, source) in sorted(derived.items()):
            if var in user:
                continue
            try:
                mine[var] = inputs.normalise(var, value, inputs.spec_of(var))
            except inputs.InputError as exc:
                errors.setdefault("%s (read from %s)" % (exc, source), []).append(host)
                continue
            mine_sources[var] = source
        for option in inputs.DECLARED.values():
            mine_sources.setdefault(option.var, DEFAULT)
        address = node_address(address_vars_by_host.get(host) or {})
        if address and "hostnet_node_cidr" not in user:
            try:
                node_addresses[host] = check_node_address(address[1], address[0])
                mine_sources["node address"] = "kubespray %s" % address[1]
            except inputs.InputError as exc:
                errors.setdefault("%s (kubespray's node address)" % exc, []).append(host)
        sources[host] = mine_sources
    return ["%s (host%s %s)" % (message, "s" if len(hosts) > 1 else "", ", ".join(hosts)) for message, hosts in sorted(errors.items())]
