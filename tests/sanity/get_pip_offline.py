"""Stand-in for the get-pip script ansible-test downloads (unreachable offline).

ansible-test runs it as `python get_pip.py [pip args]` to bootstrap pip in its
venvs. Install pip from the interpreter's own ensurepip, then pip-install what
was asked (the machine's pip configuration points at the reachable index).
"""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip sets PIP_CONFIG_FILE=/dev/null, which would hide this machine's pip configuration.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if args:
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
