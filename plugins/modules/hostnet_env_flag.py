#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_env_flag
short_description: Set one command-line flag inside a VAR="..." line of an environment file
version_added: 0.1.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Pins a node's interface (fault F4) where components read their arguments from an environment file,
    for example C(--node-ip) in C(KUBELET_EXTRA_ARGS) of C(/etc/default/kubelet) or C(/etc/sysconfig/kubelet),
    or C(-iface) in C(FLANNEL_OPTIONS) of C(/etc/sysconfig/flanneld).
  - Replaces another value of the same flag (C(--flag=x) or C(--flag x)), keeps every other argument in order
    and every other line byte for byte; adds the line when the variable is missing.
  - Edits only what the shell surely uses when it sources the file, the last assignment of O(variable), and only
    when that is a plain assignment on a line of its own outside any C(if), C(case), loop, function, subshell or
    C(&&)/C(||) list. Where it cannot keep the shell's meaning exact it refuses, names the construct and its line
    and the manual step, and changes nothing; for example the last assignment inside an C(if) branch (it may never
    run), a value with command substitution (dollar-parenthesis or backticks, whose output only running it would tell), an
    assignment before a command (it sets the variable for that command only), a here-document, an unterminated
    quote. The result is checked with C(sh -n) before it is written, when the host has C(sh).
  - The service must be restarted to use it; this module does not restart anything.
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
  - ansible.builtin.files
options:
  path:
    description: The environment file.
    type: path
    required: true
  variable:
    description: The variable holding the arguments, a shell name (letters, digits, C(_); not starting with a digit).
    type: str
    required: true
  flag:
    description: The flag, with its dashes (C(--node-ip), C(-iface)).
    type: str
    required: true
  value:
    description: The flag's value.
    type: str
    required: true
  create:
    description: Create the file when it does not exist (otherwise that is an error).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Pin kubelet's node IP
  kubeprep.hostnet.hostnet_env_flag:
    path: /etc/default/kubelet
    variable: KUBELET_EXTRA_ARGS
    flag: --node-ip
    value: 192.168.56.11
    create: true
"""

RETURN = r"""
actions:
  description: What was changed.
  returned: always
  type: list
  elements: str
  sample: ["KUBELET_EXTRA_ARGS: set --node-ip=192.168.56.11"]
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits, filewrite


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            variable=dict(type="str", required=True),
            flag=dict(type="str", required=True),
            value=dict(type="str", required=True),
            create=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params
    # fullmatch: "$" would also match before a trailing newline, and a name ending in one writes lines sh runs as commands.
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p["variable"]):
        module.fail_json(
            msg="invalid variable name %r: a shell variable name is letters, digits and _, not starting with a digit; nothing was changed" % p["variable"],
            changed=False,
        )
    if not re.fullmatch(r"--?[A-Za-z0-9][A-Za-z0-9_.-]*", p["flag"]) or not re.fullmatch(r"[A-Za-z0-9_.:/@%+,=-]+", p["value"]):
        module.fail_json(
            msg="invalid flag or value: %r %r (a value is one shell-safe word: letters, digits and _.:/@%%+,=-); nothing was changed" % (p["flag"], p["value"]),
            changed=False,
        )
    result = filewrite.apply_edit(module, p["path"], checked_edit(module, p), create=p["create"], backup=p["backup"])
    module.exit_json(**result)


def checked_edit(module, p):
    """The edit, with the result checked by the host's own sh (``sh -n``: parse only, nothing runs)."""
    sh = module.get_bin_path("sh", opt_dirs=["/bin", "/usr/bin"])

    def parses(data):
        rc, _out, err = module.run_command([sh, "-n"], data=data, binary_data=True, environ_update={"LC_ALL": "C"})
        return rc == 0, (err or "").strip()

    def edit(data):
        new, actions = edits.ensure_env_flag(data, p["variable"], p["flag"], p["value"])
        if sh and new != data:
            ok, err = parses(new)
            if not ok and (data is None or parses(data)[0]):
                raise ValueError(
                    "the edited file would not parse as shell (sh -n: %s); set %s=%s in %s by hand" % (err[:200], p["flag"], p["value"], p["variable"])
                )
        return new, actions

    return edit


if __name__ == "__main__":
    main()
