"""Make the collection importable as ansible_collections.kubeprep.hostnet for plain pytest."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV_TREE = os.path.join(ROOT, "build", "dev")
LINK = os.path.join(DEV_TREE, "ansible_collections", "kubeprep", "hostnet")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if DEV_TREE not in sys.path:
    sys.path.insert(0, DEV_TREE)
