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


# Locks this process holds, by lock file: a caller that took a file's lock (hostnet_route, before it adds the
# live route) can call apply_edit on that file, which then must not wait for itself.
_HELD = {}
_LOCKS_READ_LIMIT = 1 << 20


def _lock_holders(handle):
    """The pids holding a flock on ``handle``'s file, from /proc/locks (bounded read); [] when unknown."""
    try:
        info = os.fstat(handle.fileno())
        with open("/proc/locks", "rb") as locks:
            data = locks.read(_LOCKS_READ_LIMIT)
    except (IOError, OSError):
        return []
    wanted = "%02x:%02x:%d" % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    pids = []
    for line in data.decode("ascii", "replace").splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" (a blocked waiter's line has "->" after the number)
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue
        if fields[5] == wanted and fields[4].isdigit() and fields[4] not in pids:
            pids.append(fields[4])
    return pids


def _alive(pid):
    return pid.isdigit() and os.path.exists("/proc/%s" % pid)


class _Lock:
    """Serialise concurrent runs editing the same file (two playbooks at once), waiting at most LOCK_WAIT_S.

    Never in check mode (it writes nothing, so it makes no lock file either). Re-entrant within a process."""

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.handle = None
        self.name = None
        self.nested = False
        if fcntl is None or getattr(module, "check_mode", False):
            return
        directory = _private_lock_dir()
        if directory is None:
            return
        self.name = os.path.join(directory, "%s.lock" % path.strip("/").replace("/", "_"))
        if self.name in _HELD:
            self.nested = True
            self.handle = _HELD[self.name]
            return
        try:
            fd = os.open(self.name, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            self.handle = os.fdopen(fd, "r+")
        except (IOError, OSError):
            self.handle = None

    def __enter__(self):
        if self.handle is None or self.nested:
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
                # The kernel knows who holds it; the pid in the file may be a run that died long ago.
                holders = _lock_holders(self.handle)
                if not holders:
                    self.handle.seek(0)
                    written = self.handle.read(32).strip()
                    holders = [written] if _alive(written) else []
                self.handle.close()
                self.handle = None
                self.module.fail_json(
                    msg="another run is editing %s (lock %s held by %s); waited %d s. Nothing was changed"
                    % (self.path, self.name, "pid %s" % ", ".join(holders) if holders else "an unknown process", LOCK_WAIT_S),
                    changed=False,
                )
            time.sleep(0.1)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        _HELD[self.name] = self.handle
        return self

    def __exit__(self, *exc):
        if self.handle is not None and not self.nested:
            _HELD.pop(self.name, None)
            try:
                # Released: the file no longer names us.
                self.handle.seek(0)
                self.handle.truncate()
                self.handle.flush()
            except (IOError, OSError):
                pass
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def lock(module, path):
    """The lock apply_edit takes for ``path`` (its real path), to hold across several steps:
    ``with filewrite.lock(module, path):`` ... ``apply_edit(module, path, ...)`` does not wait for it again."""
    return _Lock(module, os.path.realpath(path))


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


def _read(real, create):
    """(bytes or None, problem or None) of the file at ``real``."""
    if os.path.lexists(real):
        if not os.path.isfile(real):
            return None, "%s is not a regular file" % real
        try:
            with open(real, "rb") as handle:
                return handle.read(), None
        except (IOError, OSError) as exc:
            return None, "cannot read %s: %s" % (real, exc.strerror or exc)
    if not create:
        return None, "%s does not exist" % real
    return None, None


def _write_problem(path):
    """Why this process cannot create or replace files in (or write) ``path``; None when it can."""
    try:
        if os.statvfs(path).f_flag & getattr(os, "ST_RDONLY", 1):
            return "read-only file system"
    except (IOError, OSError) as exc:
        return exc.strerror or str(exc)
    effective = {"effective_ids": True} if os.access in getattr(os, "supports_effective_ids", ()) else {}
    if not os.access(path, os.W_OK, **effective):
        return os.strerror(errno.EACCES)  # "Permission denied", as the write would say
    return None


def _target_problem(module, real, data, create_dir):
    """Why writing ``real`` (whose bytes are ``data``, None when new) would fail; None when it would work.

    Returns (problem, make_dir)."""
    mounted = data is not None and real in _mount_points()
    if mounted and not module.params.get("unsafe_writes", False):
        return (
            "%s is a mount point (bind-mounted, as container runtimes do with /etc/hosts): a rename cannot "
            "replace it. Set unsafe_writes: true (hostnet_unsafe_writes: true for the remediation roles) to write it in place" % real
        ), False
    directory = os.path.dirname(real)
    make_dir = False
    if not os.path.isdir(directory):
        # create_dir: a drop-in directory of our own (systemd-networkd's <unit>.network.d, if-up.d).
        if os.path.lexists(directory):
            return "%s is not a directory" % directory, False
        if not (create_dir and os.path.isdir(os.path.dirname(directory))):
            return "directory %s does not exist" % directory, False
        make_dir = True
    where = os.path.dirname(directory) if make_dir else directory
    problem = _write_problem(where)  # the temporary file is made there
    if not problem and mounted:
        problem = _write_problem(real)  # unsafe_writes: then written in place, on its own mount
        where = real
    if problem:
        return "cannot write in %s (%s)" % (where, problem), make_dir
    return None, make_dir


def preflight(module, path, edit, create=False, create_dir=False):
    """Whether ``apply_edit`` with these arguments would work, without changing anything (and without the lock).

    Returns (problem, changes): the reason it would fail ending in "; nothing was changed", or None; and whether
    the file would change. For a caller that must decide every file before writing any (and check mode)."""
    real = os.path.realpath(path)
    data, problem = _read(real, create)
    if problem:
        return problem + "; nothing was changed", False
    try:
        new, _actions = edit(data)
    except ValueError as exc:
        return "cannot edit %s: %s; nothing was changed" % (real, exc), False
    if data is not None and new == data:
        return None, False
    problem, _make_dir = _target_problem(module, real, data, create_dir)
    return (problem + "; nothing was changed" if problem else None), True


def apply_edit(module, path, edit, create=False, mode=0o644, backup=False, create_dir=False):
    """Run ``edit(bytes_or_None) -> (new_bytes, actions)`` on ``path`` and write the result.

    Returns a result dict (changed, path, actions, diff, backup_file). Calls
    ``module.fail_json`` with a clear message when the file cannot be read or
    written; nothing is changed in that case (and ``actions`` lists nothing).
    Check mode runs the same checks (see preflight), so it predicts a failure too.
    """
    real = os.path.realpath(path)
    result = {"changed": False, "path": path, "actions": []}
    if real != os.path.abspath(path):
        result["followed_symlink"] = real
    with _Lock(module, real) as lock:
        data, problem = _read(real, create)
        if problem:
            module.fail_json(msg=problem + "; nothing was changed", **result)
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
        problem, make_dir = _target_problem(module, real, data, create_dir)
        if problem:
            module.fail_json(msg=problem + "; nothing was changed", **result)
        directory = os.path.dirname(real)
        if make_dir:
            actions = ["created %s" % directory] + list(actions)
        if module._diff:
            result["diff"] = {"before": _text(data), "after": _text(new), "before_header": real, "after_header": real}
        if module.check_mode:
            result["changed"] = True
            result["actions"] = actions
            return result

        def fail(msg):
            # Nothing was changed: a directory made for the file goes again, and no action is claimed.
            if make_dir:
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
            module.fail_json(msg=msg, **result)

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
            fail("cannot write in %s (%s); nothing was changed" % (directory, reason))
        module.add_cleanup_file(tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new)
                handle.flush()
                os.fsync(handle.fileno())
            if data is None:
                os.chmod(tmp, mode)
        except (IOError, OSError) as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            fail("cannot write %s: %s; nothing was changed" % (tmp, exc.strerror or exc))
        module.atomic_move(tmp, real, unsafe_writes=module.params.get("unsafe_writes", False))
        result["changed"] = True
        result["actions"] = actions
        if data is None:
            # atomic_move gives a new file the umask's default mode; ours may need another (0755 hooks, 0600 netplan).
            os.chmod(real, mode)
    return result
