# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a pure edit to a file: check mode, diff, backup, atomic write.

The module object is passed in (this file does not import AnsibleModule).
A write goes to a temporary file in the target's directory and is renamed
over the target by ``module.atomic_move``, which keeps owner, mode and
SELinux context and, with ``unsafe_writes``, falls back to an in-place write
where a rename cannot work (a bind-mounted /etc/hosts in a container). A
failure before the rename leaves the old file untouched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None

LOCK_DIR = "/run/lock"


def _text(data):
    return "" if data is None else data.decode("utf-8", "replace")


class _Lock:
    """Serialise concurrent runs editing the same file (two playbooks at once)."""

    def __init__(self, path):
        self.handle = None
        if fcntl is None:
            return
        directory = LOCK_DIR if os.path.isdir(LOCK_DIR) else tempfile.gettempdir()
        name = "kubeprep-hostnet-%s.lock" % path.strip("/").replace("/", "_")
        try:
            self.handle = open(os.path.join(directory, name), "a")
        except (IOError, OSError):
            self.handle = None

    def __enter__(self):
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


def _temp_prefix(real):
    return ".kubeprep-hostnet.%s." % os.path.basename(real)


def _remove_stale_temps(real):
    """Temporary files a killed run left beside ``real``. Only a writer holding this
    file's lock has one open, and we hold it now, so every one found is stale."""
    directory, prefix = os.path.dirname(real), _temp_prefix(real)
    removed = []
    try:
        names = [name for name in os.listdir(directory) if name.startswith(prefix)]
    except (IOError, OSError):
        return removed
    for name in names:
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(os.path.join(directory, name))
        except (IOError, OSError):
            pass
    return removed


def apply_edit(module, path, edit, create=False, mode=0o644, backup=False):
    """Run ``edit(bytes_or_None) -> (new_bytes, actions)`` on ``path`` and write the result.

    Returns a result dict (changed, path, actions, diff, backup_file). Calls
    ``module.fail_json`` with a clear message when the file cannot be read or
    written; nothing is changed in that case.
    """
    real = os.path.realpath(path)
    result = {"changed": False, "path": path, "actions": []}
    if real != os.path.abspath(path):
        result["followed_symlink"] = real
    with _Lock(real) as lock:
        data = None
        if os.path.lexists(real):
            if not os.path.isfile(real):
                module.fail_json(msg="%s is not a regular file; nothing was changed" % real, **result)
            try:
                with open(real, "rb") as handle:
                    data = handle.read()
            except (IOError, OSError) as exc:
                module.fail_json(msg="cannot read %s: %s; nothing was changed" % (real, exc.strerror or exc), **result)
        elif not create:
            module.fail_json(msg="%s does not exist; nothing was changed" % real, **result)
        try:
            new, actions = edit(data)
        except ValueError as exc:
            module.fail_json(msg="cannot edit %s: %s; nothing was changed" % (real, exc), **result)
        if lock.handle is not None and not module.check_mode:
            stale = _remove_stale_temps(real)
            if stale:
                result["removed_stale_temp_files"] = stale
        if data is not None and new == data:
            return result
        result.update(changed=True, actions=actions)
        if module._diff:
            result["diff"] = {"before": _text(data), "after": _text(new), "before_header": real, "after_header": real}
        if module.check_mode:
            return result
        directory = os.path.dirname(real)
        if not os.path.isdir(directory):
            module.fail_json(msg="directory %s does not exist; nothing was changed" % directory, **result)
        if backup and data is not None:
            result["backup_file"] = module.backup_local(real)
        try:
            fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(real), dir=directory)
        except (IOError, OSError) as exc:
            reason = "read-only file system" if getattr(exc, "errno", None) == errno.EROFS else (exc.strerror or str(exc))
            module.fail_json(msg="cannot write in %s (%s); nothing was changed" % (directory, reason), **result)
        module.add_cleanup_file(tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new)
                handle.flush()
                os.fsync(handle.fileno())
            if data is None:
                os.chmod(tmp, mode)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write %s: %s; nothing was changed" % (tmp, exc.strerror or exc), **result)
        module.atomic_move(tmp, real, unsafe_writes=module.params.get("unsafe_writes", False))
        if data is None:
            # atomic_move gives a new file the umask's default mode; ours may need another (0755 hooks, 0600 netplan).
            os.chmod(real, mode)
    return result
