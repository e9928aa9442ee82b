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
import stat
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None

# Only root can create it and it is refused unless it is ours and closed to others: a lock in the
# world-writable /run/lock could be held by any local user, stalling every run.
LOCK_DIR = "/run/kubeprep-hostnet"
LOCK_WAIT_S = 30.0


def _text(data):
    return "" if data is None else data.decode("utf-8", "replace")


def _private_lock_dir():
    """The lock directory, made 0700 when missing; None when it is not safe to use."""
    try:
        os.mkdir(LOCK_DIR, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            return None
    try:
        info = os.lstat(LOCK_DIR)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return LOCK_DIR


class _Lock:
    """Serialise concurrent runs editing the same file (two playbooks at once), waiting at most LOCK_WAIT_S."""

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.handle = None
        if fcntl is None:
            return
        directory = _private_lock_dir()
        if directory is None:
            return
        self.name = os.path.join(directory, "%s.lock" % path.strip("/").replace("/", "_"))
        try:
            fd = os.open(self.name, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            self.handle = os.fdopen(fd, "r+")
        except (IOError, OSError):
            self.handle = None

    def __enter__(self):
        if self.handle is None:
            return self
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                self.handle.seek(0)
                holder = self.handle.read().strip() or "unknown"
                self.handle.close()
                self.handle = None
                self.module.fail_json(
                    msg="another run is editing %s (lock %s held by pid %s); waited %d s. Nothing was changed" % (self.path, self.name, holder, LOCK_WAIT_S),
                    changed=False,
                )
            time.sleep(0.1)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


def _mount_points():
    """Mount points of this mount namespace (/proc/self/mountinfo field 5, octal escapes decoded)."""
    points = set()
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) > 4:
                    points.add(fields[4].encode().decode("unicode_escape"))
    except (IOError, OSError):
        pass
    return points


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


def apply_edit(module, path, edit, create=False, mode=0o644, backup=False, create_dir=False):
    """Run ``edit(bytes_or_None) -> (new_bytes, actions)`` on ``path`` and write the result.

    Returns a result dict (changed, path, actions, diff, backup_file). Calls
    ``module.fail_json`` with a clear message when the file cannot be read or
    written; nothing is changed in that case.
    """
    real = os.path.realpath(path)
    result = {"changed": False, "path": path, "actions": []}
    if real != os.path.abspath(path):
        result["followed_symlink"] = real
    with _Lock(module, real) as lock:
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
        unsafe = module.params.get("unsafe_writes", False)
        if data is not None and not unsafe and real in _mount_points():
            module.fail_json(
                msg="%s is a mount point (bind-mounted, as container runtimes do with /etc/hosts): a rename cannot "
                "replace it. Set unsafe_writes: true to write it in place; nothing was changed" % real,
                **result,
            )
        directory = os.path.dirname(real)
        make_dir = False
        if not os.path.isdir(directory):
            # create_dir: a drop-in directory of our own (systemd-networkd's <unit>.network.d, if-up.d).
            if not (create_dir and os.path.isdir(os.path.dirname(directory))):
                module.fail_json(msg="directory %s does not exist; nothing was changed" % directory, **result)
            make_dir = True
            actions = ["created %s" % directory] + list(actions)
        if module._diff:
            result["diff"] = {"before": _text(data), "after": _text(new), "before_header": real, "after_header": real}
        result["actions"] = actions
        if module.check_mode:
            result["changed"] = True
            return result
        if make_dir:
            try:
                os.mkdir(directory, 0o755)
            except OSError as exc:
                module.fail_json(msg="cannot create %s: %s; nothing was changed" % (directory, exc.strerror or exc), **result)
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
        module.atomic_move(tmp, real, unsafe_writes=unsafe)
        result["changed"] = True
        if data is None:
            # atomic_move gives a new file the umask's default mode; ours may need another (0755 hooks, 0600 netplan).
            os.chmod(real, mode)
    return result
