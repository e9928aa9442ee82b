# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every user input of the playbooks and roles, checked on the controller before any
host is contacted: an input the audit cannot use is an error that names the variable
and the value, never a check silently turned off.

Rule options (type, choices, format, range) come from their declarations on the rules
(rules.declared_options()); the other inputs' types, choices and defaults from the roles'
meta/argument_specs.yml; FORMATS adds what a type cannot say (an IP address, a CIDR, a rule id).
List variables accept what Ansible users pass: a list, a JSON list in a string
(``-e 'x=["a"]'`` arrives as a string on ansible-core 2.19), or a comma-separated
string.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import json
import math
import os
import re

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it: ~10x faster

from ansible_collections.kubeprep.hostnet.plugins.module_utils import netpersist
from ansible_collections.kubeprep.hostnet.plugins.plugin_utils import rules, siterules

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")

# Beyond the argument specs: what each value must be. The rule options' formats, ranges and non-empty lists come
# from their declarations (rules.declared_options()); these are the other roles' and playbooks' inputs.
_FORMATS = {
    "kube_pods_subnet": "cidrs",
    "hostnet_service_route_gateway": "ip",
    "hostnet_service_route_cidr": "cidr",
    "hostnet_service_route_interface": "interface",
    "hostnet_sysctl_accept_ra_interfaces": "interface",
    "hostnet_localhost_address": "loopback",
    "hostnet_datastore_endpoints": "endpoint",
    "kube_service_addresses": "cidrs",
    "hostnet_report_dir": "report_dir",
}
# kubespray's variables the audit reads (as defaults of hostnet_service_ips and hostnet_pod_cidr): checked too.
KUBESPRAY_INPUTS = ("kube_service_addresses", "kube_pods_subnet")
# The documented range of every other number (each also finite): a value outside it would fail every host or
# turn a check off. (minimum, maximum); None: no bound.
_RANGES = {
    "hostnet_resolver_timeout": (0.1, 60),
    "hostnet_rtt_samples": (1, 100),
    "hostnet_rtt_budget": (1, 3600),
    "hostnet_probe_peers": (1, 1000),
    "hostnet_name_service_resolver_timeout": (1, 30),
    "hostnet_name_service_resolver_attempts": (1, 5),
}


# The rule options by variable, and what their declarations add to the tables above: built once (the registry
# does not change while the controller runs; validate() looks a variable up for every host).
DECLARED = {option.var: option for option in rules.declared_options().values()}
FORMATS = dict(_FORMATS, **{var: option.format for var, option in DECLARED.items() if option.format})
RANGES = dict(_RANGES, **{var: (o.minimum, o.maximum) for var, o in DECLARED.items() if o.minimum is not None or o.maximum is not None})
NON_EMPTY = frozenset(var for var, option in DECLARED.items() if option.non_empty)


def spec_of(name, specs=None):
    """The argument spec of variable ``name``: a rule option's declaration, else the roles' argument specs."""
    declared = DECLARED.get(name)
    if declared is not None:
        return declared.spec()
    return (specs if specs is not None else role_specs()).get(name) or {"type": "str"}


# Variables naming an inventory group (checked against the inventory by the hostnet_inputs action).
GROUP_INPUTS = ("hostnet_etcd_group",)
# Variables of the playbooks (not of a role), and what the collection itself sets.
PLAYBOOK_VARS = {"hostnet_targets": {"type": "str"}, "hostnet_image_root": {"type": "path"}}
# What the collection sets (results, and facts, which Ansible also injects as variables): never inputs.
OUTPUTS = re.compile(r"^hostnet_(audit_result|fix_rules|fix_does|\w+_changes|probe_listen|probe_results)$")


class InputError(ValueError):
    pass


def role_specs(root=COLLECTION_ROOT):
    """variable -> its argument spec, across every role of the collection."""
    specs = dict(PLAYBOOK_VARS)
    for path in sorted(glob.glob(os.path.join(root, "roles", "*", "meta", "argument_specs.yml"))):
        with open(path) as handle:
            doc = yaml.load(handle, Loader=_LOADER) or {}
        for entry in (doc.get("argument_specs") or {}).values():
            for name, spec in (entry.get("options") or {}).items():
                specs.setdefault(name, spec)
    return specs


def _as_list(name, value):
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                raise InputError("%s: %r looks like a JSON list but does not parse: %s" % (name, value, exc)) from exc
            if not isinstance(parsed, list):
                raise InputError("%s: %r is not a list" % (name, value))
            return parsed
        return [part for part in (p.strip() for p in text.split(",")) if part] if text else []
    raise InputError("%s: %r is not a list (pass a list, a JSON list or a comma-separated string)" % (name, value))


def _check_format(name, kind, value, extra_ids=()):
    text = value.strip() if isinstance(value, str) else value
    try:
        if kind == "ip":
            return str(ipaddress.ip_address(text))
        if kind == "loopback":
            if not ipaddress.ip_address(text).is_loopback:
                raise ValueError("not a loopback address")
            return text
        if kind == "cidr":
            return str(ipaddress.ip_network(text, strict=False))
        if kind in ("cidrs", "ip_or_cidr"):
            return _dual_stack(text, kind == "ip_or_cidr")
        if kind == "abs_path":
            if not text.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in text):
                raise ValueError("not an absolute path (one starting with /, without control characters)")
            return text
        if kind == "interface":
            return netpersist.check_interface(text)  # the rule hostnet_route applies on the host
        if kind in ("rule", "rule_or_all"):
            if text == "all" and kind == "rule_or_all":
                return text
            if text not in rules.RULES and text not in extra_ids:
                raise ValueError("not a rule id (known: %s%s)" % (", ".join(sorted(rules.RULES)), ", all" if kind == "rule_or_all" else ""))
            return text
        if kind == "k8s_version":
            if not re.match(r"^v?[0-9]{1,3}\.[0-9]{1,4}(\.[0-9]{1,6})?([-+][0-9A-Za-z.+-]{1,64})?$", text):
                raise ValueError("not a Kubernetes version (1.31, v1.31.2)")
            return text
        if kind == "host_port":
            return _check_host_port(text)
        if kind == "port_range":
            match = re.match(r"^([0-9]{1,5})-([0-9]{1,5})$", text)
            if not match or not 0 < int(match.group(1)) <= int(match.group(2)) <= 65535:
                raise ValueError("not a port range (low-high, 1-65535, low first: 30000-32767)")
            return text
        if kind == "report_dir":
            return _check_report_dir(text)
        if kind == "endpoint":
            url = value.get("url") if isinstance(value, dict) else value
            if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url.strip()):
                raise ValueError("not an http(s) URL or a dict with url")
            return value
    except (ValueError, TypeError, AttributeError) as exc:
        raise InputError("%s: %r is %s" % (name, value, _reason(kind, exc))) from exc
    return value


def _dual_stack(text, bare_ip):
    """'10.96.0.0/12' or kubeadm's dual-stack '10.96.0.0/12,fd00:10:96::/108': one network per IP family (a bare
    address too when ``bare_ip``), as kubeadm's serviceSubnet and podSubnet take them. Returns the text, stripped."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 2:
        raise ValueError("more than two networks (dual-stack is one IPv4 and one IPv6)")
    versions = []
    for part in parts:
        if "/" in part or not bare_ip:
            versions.append(ipaddress.ip_network(part, strict=False).version)
        else:
            versions.append(ipaddress.ip_address(part).version)
    if len(versions) == 2 and versions[0] == versions[1]:
        raise ValueError("two IPv%d networks (dual-stack is one IPv4 and one IPv6)" % versions[0])
    return ",".join(parts)


def _check_host_port(text):
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address (a port from 1 to 65535)."""
    host, port = text, None
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError("not [IPv6 address]:port")
        ipaddress.ip_address(host)
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif ":" in text:
        ipaddress.ip_address(text)
    if not host or re.search(r"[\s,/@\[\]]", host):
        raise ValueError("not a host name or address (no spaces, commas, slashes or @)")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError("its port is not 1 to 65535")
    return text


def _check_report_dir(text):
    """A directory the controller can write the reports into (relative: to the directory ansible-playbook runs in):
    an existing writable directory, or one that can be made under the nearest existing, writable directory."""
    path = os.path.abspath(os.path.expanduser(text))
    probe = path
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if os.path.islink(probe) and not os.path.exists(probe):
        raise ValueError("a dangling symlink (%s -> %s)" % (probe, os.readlink(probe)))
    if not os.path.isdir(probe):
        raise ValueError("not a directory: %s is a file" % probe if probe == path else "not creatable: %s is not a directory" % probe)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError("not writable: %s (%s)" % (probe, "a read-only filesystem" if _read_only(probe) else "permission denied"))
    return text


def _read_only(path):
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _reason(kind, exc):
    plain = {
        "ip": "not an IP address",
        "cidr": "not a CIDR (address/prefix)",
        "cidrs": "not a CIDR, or an IPv4 and an IPv6 CIDR separated by a comma",
        "ip_or_cidr": "not an IP address or CIDR (dual-stack: an IPv4 and an IPv6 one separated by a comma)",
        "interface": "not an interface name",
    }
    if kind in ("cidrs", "ip_or_cidr"):
        return "%s: %s" % (plain[kind], exc)
    return plain.get(kind) or str(exc)


def normalise(name, value, spec, extra_ids=()):
    """The value as the roles use it, or InputError naming the variable and the value.
    ``extra_ids``: rule ids of the site rules, valid in hostnet_skip_rules / hostnet_warn_rules."""
    kind = spec.get("type", "str")
    if value is None:
        return None
    if kind == "list":
        items = _as_list(name, value)
        if not items and name in NON_EMPTY:
            raise InputError("%s: %r is empty, so nothing would be checked" % (name, value))
        if name == "hostnet_site_rules":
            try:
                siterules.compile_rules(items, set(rules.RULES), rules.SEVERITIES)
            except siterules.SiteRuleError as exc:
                raise InputError(str(exc)) from exc
            return items
        fmt = FORMATS.get(name)
        return [_check_format(name, fmt, item, extra_ids) if fmt else item for item in items]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InputError("%s: %r is not a boolean (true or false)" % (name, value))
    if kind in ("int", "float"):
        try:
            number = int(str(value).strip()) if kind == "int" else float(str(value).strip())
        except ValueError as exc:
            raise InputError("%s: %r is not a%s number" % (name, value, "n integer" if kind == "int" else "")) from exc
        if isinstance(value, bool) or not math.isfinite(number):
            raise InputError("%s: %r is not a finite number" % (name, value))
        low, high = RANGES.get(name, (0, None))
        if low is not None and number < low:
            raise InputError("%s: %r is less than %s" % (name, value, low))
        if high is not None and number > high:
            raise InputError("%s: %r is more than %s" % (name, value, high))
        return number
    if kind in ("str", "path"):
        if isinstance(value, (dict, list)):
            raise InputError("%s: %r is not a string" % (name, value))
        text = str(value)
        if not text.strip() and kind == "path":
            raise InputError("%s: an empty path" % name)
        choices = spec.get("choices")
        if choices and text.strip() not in [str(c) for c in choices]:
            raise InputError("%s: %r is not one of %s" % (name, value, ", ".join(str(c) for c in choices)))
        fmt = FORMATS.get(name)
        return _check_format(name, fmt, text) if fmt and text.strip() else (text.strip() if choices else text)
    return value


def close_names(name, known):
    """Known names that a mistyped one probably meant (same words, or one edit away)."""
    words = set(name.split("_"))
    scored = sorted(known, key=lambda k: -len(words & set(k.split("_"))))
    return [k for k in scored[:3] if len(words & set(k.split("_"))) >= 2]


def _networks(items):
    """Each network of usable, normalised values (a bare Service IP as itself, a dual-stack pair as both)."""
    found = []
    for item in items:
        for part in str(item).split(","):
            try:
                found.append((part.strip(), ipaddress.ip_network(part.strip(), strict=False)))
            except ValueError:
                continue
    return found


def _pod_service_overlap(mine):
    """The error when the Pod network overlaps a Service CIDR (either family), naming both variables and values;
    kubeadm and kubespray refuse such a cluster. The audit's variables when set (the audit role's defaults are
    kubespray's), else kubespray's; a value that failed its own check is not judged again."""
    pod_var = "hostnet_pod_cidr" if mine.get("hostnet_pod_cidr") else "kube_pods_subnet"
    service_var = "hostnet_service_ips" if mine.get("hostnet_service_ips") else "kube_service_addresses"
    pod, service = mine.get(pod_var), mine.get(service_var)
    if not pod or not service:
        return None
    # The audit role's defaults are kubespray's values: name where the value came from.
    pod_name = pod_var + (" (kube_pods_subnet)" if pod_var != "kube_pods_subnet" and mine.get("kube_pods_subnet") == pod else "")
    kube_service = mine.get("kube_service_addresses")
    from_kube = service_var != "kube_service_addresses" and kube_service and service == [kube_service]
    service_name = service_var + (" (kube_service_addresses)" if from_kube else "")
    for pod_text, pod_net in _networks([pod]):
        for service_text, service_net in _networks(service if isinstance(service, list) else [service]):
            if pod_net.version == service_net.version and pod_net.overlaps(service_net):
                return (
                    "%s: %r (the Pod network) overlaps %s: %r (the Service network) at %s: kubeadm and kubespray refuse it "
                    "(an address in both would be a pod's and a Service's); choose a Pod CIDR and a Service CIDR that do not overlap"
                    % (pod_name, pod, service_name, service, service_text if pod_net.supernet_of(service_net) else pod_text)
                )
    return None


def validate(values_by_host, specs=None, groups=None):
    """values_by_host: host -> {variable: value} (the hostnet_* variables set for it, and
    KUBESPRAY_INPUTS); groups: the inventory's groups (GROUP_INPUTS must name one). Returns
    (normalised values by host, errors)."""
    specs = specs if specs is not None else role_specs()
    known = set(specs) | set(FORMATS) | set(DECLARED)
    normalised, found = {}, {}
    for host in sorted(values_by_host):
        mine = {}
        try:
            site = values_by_host[host].get("hostnet_site_rules")
            extra_ids = {e.get("id") for e in _as_list("hostnet_site_rules", site) if isinstance(e, dict)} if site else set()
        except InputError:
            extra_ids = set()  # reported below, with the variable
        for name, value in sorted(values_by_host[host].items()):
            if name not in known:
                if name.startswith("hostnet_") and not name.startswith("hostnet__") and not OUTPUTS.match(name):
                    hint = close_names(name, [k for k in known if k.startswith("hostnet_")])
                    found.setdefault("%s: unknown variable%s" % (name, " - did you mean %s?" % " or ".join(hint) if hint else ""), []).append(host)
                continue
            try:
                mine[name] = normalise(name, value, spec_of(name, specs), extra_ids)
                if name in GROUP_INPUTS and mine[name] and groups is not None and mine[name] not in groups:
                    raise InputError("%s: %r is not a group of the inventory" % (name, value))
            except InputError as exc:
                found.setdefault(str(exc), []).append(host)
        overlap = _pod_service_overlap(mine)
        if overlap:
            found.setdefault(overlap, []).append(host)
        normalised[host] = mine
    total = len(values_by_host)
    errors = [
        "%s (%s)"
        % (
            message,
            "every host"
            if len(hosts) == total and total > 1
            else "host%s %s" % ("s" if len(hosts) > 1 else "", ", ".join(hosts[:5]) + (" and %d more" % (len(hosts) - 5) if len(hosts) > 5 else "")),
        )
        for message, hosts in sorted(found.items())
    ]
    return normalised, errors
