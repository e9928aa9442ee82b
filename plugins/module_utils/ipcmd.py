# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's ``ip -json`` for the modules that change something (found once, run with the C locale), and the
address of the controller's SSH session they must never cut.
Runs on the managed host: standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os


class IpCommand:
    """``ip`` on this host; without it the module fails before anything is changed, saying why it needs it."""

    def __init__(self, module, purpose=""):
        self.module = module
        self.path = module.get_bin_path("ip", opt_dirs=["/sbin", "/usr/sbin"])
        if not self.path:
            module.fail_json(msg="the ip command (iproute2) is required%s; nothing was changed" % (" " + purpose if purpose else ""), changed=False)

    def json(self, *args):
        """(the parsed output, None), or (None, why not)."""
        rc, out, err = self.module.run_command([self.path, "-json"] + list(args), environ_update={"LC_ALL": "C"})
        if rc != 0:
            return None, (err or out).strip()
        try:
            # strict=False: an interface name with a control character is still a name, not broken JSON.
            return json.loads(out or "[]", strict=False), None
        except ValueError:
            return None, "unexpected output of ip -json %s" % " ".join(args)

    def objects(self, *args):
        """The objects ``ip -json`` lists; the module fails, changing nothing, when it cannot say."""
        data, error = self.json(*args)
        if error:
            self.module.fail_json(msg="ip -json %s failed: %s; nothing was changed" % (" ".join(args), error), changed=False)
        if not isinstance(data, list):
            self.module.fail_json(msg="unexpected output of ip -json %s; nothing was changed" % " ".join(args), changed=False)
        return [item for item in data if isinstance(item, dict)]


def ssh_client():
    """The controller's address from SSH_CONNECTION: ours, or (sudo and su strip it) the nearest ancestor's,
    up to the sshd session that started us. [] when not connected over SSH."""
    value = os.environ.get("SSH_CONNECTION")
    pid = os.getppid()
    for _hop in range(16):
        if value or pid <= 1:
            break
        try:
            with open("/proc/%d/environ" % pid, "rb") as handle:
                for item in handle.read(1 << 20).split(b"\0"):
                    if item.startswith(b"SSH_CONNECTION="):
                        value = item.split(b"=", 1)[1].decode("ascii", "replace")
            with open("/proc/%d/stat" % pid) as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (IOError, OSError, ValueError, IndexError):
            break
    return (value or "").split()[:1]
