# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's real AnsiballZ payload on a test host, with a PEP 578 audit
hook that watches its file operations under one directory.

  python3 payload_driver.py PAYLOAD_DIR WATCH_DIR MODE [N_OR_SECONDS] < args.json

PAYLOAD_DIR holds AnsiballZ_<module>.py as Ansible sent it (kept with
ANSIBLE_KEEP_REMOTE_FILES) and exploded; args.json replaces its module
arguments. MODE:
  trace     print each watched operation (event and path) to stderr, one a line
  kill N    SIGKILL the process at the Nth watched operation, before it happens
  pause S   sleep S seconds before the first file it opens for writing, which is
            after it read the file it edits (widens a read-modify-write race
            for the concurrency test)
"""

import glob
import json
import os
import runpy
import signal
import sys
import time

WATCHED = {"open", "os.rename", "os.replace", "os.chmod", "os.chown", "os.remove", "os.unlink", "os.link", "os.truncate", "shutil.copyfile", "os.utime"}


def main():
    payload_dir, watch_dir, mode = sys.argv[1:4]
    arg = sys.argv[4] if len(sys.argv) > 4 else "0"
    payload = glob.glob(os.path.join(payload_dir, "AnsiballZ_*.py"))[0]
    args_path = os.path.join(payload_dir, "debug_dir", "args")
    with open(args_path) as handle:
        params = json.load(handle)
    params["ANSIBLE_MODULE_ARGS"] = dict(
        {k: v for k, v in params["ANSIBLE_MODULE_ARGS"].items() if k.startswith("_ansible_")}, _ansible_check_mode=False, **json.load(sys.stdin)
    )
    with open(args_path, "w") as handle:
        json.dump(params, handle)
    seen = []
    paused = []

    def hook(event, args):
        if event not in WATCHED or not args or not isinstance(args[0], (str, bytes)):
            return
        path = os.fsdecode(args[0])
        if not path.startswith(watch_dir):
            return
        seen.append(event)
        if mode == "trace":
            sys.stderr.write("%s %s\n" % (event, path))
        elif mode == "kill" and len(seen) == int(arg):
            sys.stderr.write("killed at %s %s\n" % (event, path))
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "pause" and event == "open" and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR) and not paused:
            paused.append(path)
            time.sleep(float(arg))

    sys.addaudithook(hook)
    sys.argv = [payload, "execute"]
    runpy.run_path(payload, run_name="__main__")


main()
