#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_networkmanager
short_description: Check the interface patterns NetworkManager is to leave alone, before any change
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Run by role C(kubeprep.hostnet.hostnet_networkmanager) before it writes its drop-in (rule
    C(networkmanager-manages-cni)). Changes nothing; fails, naming the pattern and the reason, when a pattern of
    O(unmanaged) is unsafe, so the role stops before any change.
  - "Refused: an empty pattern, one with a control character (a newline would start a section of NetworkManager's
    configuration of its own, such as C([main] dns=none)), or with NetworkManager's list syntax (C(;) or C(,))
    not escaped with a backslash; and a pattern that matches an interface the node needs - the one the
    controller's session (C(SSH_CONNECTION)) comes in through, one a default route (IPv4 or IPv6) leaves
    through, or the one that holds O(node_address). Patterns match as NetworkManager's C(interface-name:) does:
    C(*) any run of characters, C(?) one character."
  - Returns the C(match-device) value to write and a regular expression of the same patterns (for the devices to
    release with C(nmcli device set IFACE managed no)).
  - Needs the C(ip) command (iproute2) to find those interfaces; without it the patterns cannot be checked and
    it fails.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  unmanaged:
    description: C(interface-name) patterns NetworkManager must not manage.
    type: list
    elements: str
    required: true
  node_address:
    description: The node's address (the audit's recommendation); the interface that holds it is never a match.
    type: str
seealso:
  - module: kubeprep.hostnet.hostnet_facts
"""

EXAMPLES = r"""
- name: Check the patterns before the drop-in is written
  kubeprep.hostnet.hostnet_networkmanager:
    unmanaged: [cali*, flannel*, cni0]
    node_address: 10.0.0.11
  register: patterns
"""

RETURN = r"""
match_device:
  description: The C(match-device) value, C(interface-name:PATTERN) joined with C(;).
  returned: success
  type: str
  sample: interface-name:cali*;interface-name:cni0
regex:
  description: The patterns as one anchored Python/Jinja regular expression.
  returned: success
  type: str
  sample: ^(cali.*|cni0)$
protected:
  description: The interfaces no pattern may match, each with why.
  returned: always
  type: dict
  sample: {eth1: [the controller's session (10.0.0.1) comes in through it, a default route leaves through it]}
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import ipcmd

MAX_PATTERN = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _tokens(pattern):
    """The pattern's characters, a backslash escape as one (escaped, char) token; ValueError on a trailing one."""
    tokens, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 >= len(pattern):
                raise ValueError("ends with a lone backslash")
            tokens.append((True, pattern[index + 1]))
            index += 2
            continue
        tokens.append((False, char))
        index += 1
    return tokens


def check_syntax(pattern):
    """Why ``pattern`` cannot be written into NetworkManager's configuration, or None."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "an empty pattern"
    if len(pattern) > MAX_PATTERN:
        return "longer than %d characters" % MAX_PATTERN
    if _CONTROL.search(pattern):
        return "a control character (a newline would inject NetworkManager configuration)"
    if pattern != pattern.strip():
        return "leading or trailing white space"
    try:
        tokens = _tokens(pattern)
    except ValueError as exc:
        return str(exc)
    for escaped, char in tokens:
        if char in ";," and not escaped:
            return "NetworkManager's list syntax (%r) not escaped with a backslash" % char
    return None


def to_regex(pattern):
    """NetworkManager's interface-name glob as a regular expression body: * any run, ? one character."""
    out = []
    for escaped, char in _tokens(pattern):
        if not escaped and char == "*":
            out.append(".*")
        elif not escaped and char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "".join(out)


def matches(pattern, name):
    return re.match("^(?:%s)$" % to_regex(pattern), name, re.S) is not None


def protected_interfaces(ip, client, node_address):
    """{interface: [why]} for the interfaces no pattern may match."""
    found = {}

    def add(name, why):
        if isinstance(name, str) and name:
            found.setdefault(name, []).append(why)

    if client:
        for route in ip.objects("route", "get", client):
            add(route.get("dev"), "the controller's session (%s) comes in through it" % client)
    for family in ("-4", "-6"):
        for route in ip.objects(family, "route", "show", "default"):
            add(route.get("dev"), "a default route leaves through it")
            for hop in route.get("nexthops") or []:
                if isinstance(hop, dict):
                    add(hop.get("dev"), "a default route leaves through it")
    if node_address:
        for link in ip.objects("address", "show"):
            for info in link.get("addr_info") or []:
                if isinstance(info, dict) and info.get("local") == node_address:
                    add(link.get("ifname"), "it holds the node address %s" % node_address)
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unmanaged=dict(type="list", elements="str", required=True),
            node_address=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    patterns = module.params["unmanaged"]
    if not patterns:
        module.fail_json(msg="hostnet_networkmanager_unmanaged is empty: no interface to leave alone; nothing was changed", changed=False)
    for pattern in patterns:
        why = check_syntax(pattern)
        if why:
            module.fail_json(msg="refusing the interface pattern %r: %s; nothing was changed" % (pattern, why), changed=False)
    ip = ipcmd.IpCommand(module, "to find the interfaces the node needs")
    client = ipcmd.ssh_client()
    protected = protected_interfaces(ip, client[0] if client else None, (module.params["node_address"] or "").strip() or None)
    for pattern in patterns:
        for name in sorted(protected):
            if matches(pattern, name):
                module.fail_json(
                    msg="refusing the interface pattern %r: it matches %s, which the node needs (%s); NetworkManager would let go of it "
                    "and cut the node. Nothing was changed" % (pattern, name, "; ".join(protected[name])),
                    changed=False,
                    protected=protected,
                )
    module.exit_json(
        changed=False,
        match_device=";".join("interface-name:" + p for p in patterns),
        regex="^(%s)$" % "|".join(to_regex(p) for p in patterns),
        protected=protected,
    )


if __name__ == "__main__":
    main()
