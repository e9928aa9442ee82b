#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostnet_kernel_module
short_description: Load a kernel module now and at every boot (/etc/modules-load.d)
version_added: 0.2.0
author: kubeprep.hostnet contributors (@kubeprep)
description:
  - Loads O(name) with C(modprobe) unless the kernel already has it (loaded or built in, C(/sys/module/<name>)),
    and lists it in O(modules_file) so systemd-modules-load loads it at boot, before systemd-sysctl applies
    the settings that need it (C(net.bridge.*) need C(br_netfilter)).
  - All or nothing, decided first. When the module is not in the kernel and cannot be loaded (no C(modprobe),
    no such module, module loading disabled) it fails with the reason and writes nothing.
  - Fixes part of rule C(bridge-nf-call-iptables), through role C(kubeprep.hostnet.hostnet_sysctl).
extends_documentation_fragment:
  - kubeprep.hostnet.attributes.WRITER
  - kubeprep.hostnet.attributes.BACKUP
  - ansible.builtin.files
options:
  name:
    description: The kernel module (letters, digits, C(_) and C(-), not starting with C(-), at most 64 characters).
    type: str
    required: true
  present_if:
    description:
      - A path that exists only when the kernel has the module (for C(br_netfilter),
        C(/proc/sys/net/bridge/bridge-nf-call-iptables)); a module built into the kernel has no C(/sys/module) entry
        unless it has parameters.
    type: path
  modules_file:
    description: The modules-load.d file that persists it.
    type: path
    default: /etc/modules-load.d/kubeprep-hostnet.conf
"""

EXAMPLES = r"""
- name: br_netfilter now and at boot
  kubeprep.hostnet.hostnet_kernel_module:
    name: br_netfilter
"""

RETURN = r"""
loaded_before:
  description: Whether the kernel had the module before (loaded or built in).
  returned: always
  type: bool
live_changed:
  description: Whether the module was (or would be) loaded.
  returned: always
  type: bool
actions:
  description: What was changed.
  returned: always
  type: list
  elements: str
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeprep.hostnet.plugins.module_utils import edits, filewrite

# Not starting with "-": modprobe would take "--remove" or "-r" as an option, not as a module.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}")


def ensure_listed(name):
    """An edit that lists ``name`` on a line of its own in a modules-load.d file."""

    def edit(data):
        lines = edits.split_lines(data)
        if any(line.split(b"#")[0].strip() == name.encode() for line in lines):
            return data, []
        nl = edits.newline_of(lines)
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            lines[-1] += nl
        if not lines:
            lines.append(b"# Managed by kubeprep.hostnet: kernel modules Kubernetes needs at boot." + nl)
        lines.append(name.encode() + nl)
        return b"".join(lines), ["listed %s in the boot's modules-load.d" % name]

    return edit


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            present_if=dict(type="path"),
            modules_file=dict(type="path", default="/etc/modules-load.d/kubeprep-hostnet.conf"),
            backup=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    name = module.params["name"]
    if not _NAME.fullmatch(name):
        module.fail_json(
            msg="invalid kernel module name %r: letters, digits, _ and -, not starting with - (modprobe would read it as an option), "
            "at most 64 characters; nothing was changed" % name,
            changed=False,
        )
    sys_name = name.replace("-", "_")
    loaded_before = os.path.isdir("/sys/module/%s" % sys_name) or bool(module.params["present_if"] and os.path.exists(module.params["present_if"]))
    if not loaded_before:
        try:
            with open("/lib/modules/%s/modules.builtin" % os.uname()[2]) as handle:
                loaded_before = any(line.strip().rsplit("/", 1)[-1] in (name + ".ko", sys_name + ".ko") for line in handle)
        except (IOError, OSError):
            pass
    modprobe = None
    if not loaded_before:
        modprobe = module.get_bin_path("modprobe", opt_dirs=["/sbin", "/usr/sbin"])
        if not modprobe:
            module.fail_json(
                msg="%s is not in the kernel and there is no modprobe (kmod) to load it; nothing was changed" % name, changed=False, loaded_before=False
            )
        rc, out, err = module.run_command([modprobe, "--dry-run", name])
        if rc != 0:
            module.fail_json(
                msg="%s cannot be loaded on this kernel (modprobe --dry-run: %s); nothing was changed" % (name, (err or out).strip() or "rc %d" % rc),
                changed=False,
                loaded_before=False,
            )
    result = filewrite.apply_edit(module, module.params["modules_file"], ensure_listed(name), create=True, mode=0o644, backup=module.params["backup"])
    live_changed = not loaded_before
    if live_changed and not module.check_mode:
        rc, out, err = module.run_command([modprobe, name])
        if rc != 0:
            module.fail_json(
                msg="modprobe %s failed: %s (%s lists it for the next boot)" % (name, (err or out).strip(), module.params["modules_file"]), **result
            )
    actions = list(result.get("actions") or []) + (["loaded %s" % name] if live_changed else [])
    result.update(changed=result["changed"] or live_changed, loaded_before=loaded_before, live_changed=live_changed, actions=actions)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
