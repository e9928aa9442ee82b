"""Every module, filter and role renders with ansible-doc (documentation is part of the product)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import DEV_TREE, ROOT

MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))
ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")


def ansible_doc(kind, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=DEV_TREE)
    proc = subprocess.run(
        [ANSIBLE_DOC, "-t", kind, "--json"] + ["kubeprep.hostnet." + n for n in names],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        check=False,
    )
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_every_module_has_full_docs():
    docs = ansible_doc("module", MODULES)
    assert sorted(docs) == ["kubeprep.hostnet." + m for m in MODULES]
    for name, doc in docs.items():
        assert doc["doc"]["short_description"], name
        assert doc["examples"].strip(), name
        assert doc["return"], name
        assert "check_mode" in doc["doc"]["attributes"], name


@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_an_argument_spec(role):
    doc = ansible_doc("role", [role])["kubeprep.hostnet." + role]
    assert doc["entry_points"]["main"]["short_description"]
    assert os.path.isfile(os.path.join(ROOT, "roles", role, "README.md"))


def test_filter_docs():
    doc = ansible_doc("filter", ["change_summary"])["kubeprep.hostnet.change_summary"]
    assert doc["doc"]["short_description"]


def test_callback_docs():
    doc = ansible_doc("callback", ["hostnet_progress"])["kubeprep.hostnet.hostnet_progress"]
    assert doc["doc"]["type"] == "aggregate" and doc["doc"]["short_description"]
