"""Release and execution environment, on a copy of the tree as `make release`
and `make ee` would run them: changelog from the fragments, galaxy build,
install from the tarball, ansible-doc and a smoke audit of this machine from the
installed copy, and an ansible-builder build context whose introspection finds
the collection's Python and system dependencies."""

import json
import os
import subprocess

import pytest
import yaml

from conftest import ROOT, VENV_BIN, copy_tree


def run(args, cwd, env=None, check=True):
    env = dict(env or os.environ)
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")  # antsibull-changelog runs ansible-doc
    proc = subprocess.run(args, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert not check or proc.returncode == 0, "%s: %s" % (" ".join(map(str, args)), proc.stdout[-3000:])
    return proc


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A copy of the tracked (and new, unignored) files, released and installed."""
    work = tmp_path_factory.mktemp("release")
    tree = copy_tree(work / "src")
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = yaml.safe_load(handle)["version"]
    run([os.path.join(VENV_BIN, "antsibull-changelog"), "lint"], tree)
    run([os.path.join(VENV_BIN, "antsibull-changelog"), "release", "--version", version], tree)
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work / "dist"), "."], tree)
    tarball = work / "dist" / ("kubeprep-hostnet-%s.tar.gz" % version)
    run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "--force", "-p", str(work / "collections"), str(tarball)], work)
    return {"work": work, "tree": tree, "version": version, "tarball": tarball, "collections": work / "collections"}


def test_tarball_leaves_out_development_files(release):
    import tarfile

    with tarfile.open(str(release["tarball"])) as tar:
        names = tar.getnames()
    for unwanted in ("bench/", ".config/", "ruff.toml", "requirements-test.txt", "requirements-bench.txt"):
        assert not [n for n in names if n == unwanted.rstrip("/") or n.startswith(unwanted)], unwanted
    assert "roles/audit/templates/hostnet-report.html.j2" in names and "docs/schemas/hostnet-report.schema.json" in names
    assert "CHANGELOG.rst" in names and "requirements.txt" in names


def test_the_earlier_release_is_in_the_changelog(release):
    data = yaml.safe_load((release["tree"] / "changelogs" / "changelog.yaml").read_text())
    assert "0.1.0" in data["releases"] and release["version"] in data["releases"] and release["version"] != "0.1.0"


def test_changelog_has_every_fragment(release):
    changelog = (release["tree"] / "CHANGELOG.rst").read_text()
    assert "v%s" % release["version"] in changelog
    fragments = os.listdir(os.path.join(ROOT, "changelogs", "fragments"))
    assert fragments and not os.listdir(str(release["tree"] / "changelogs" / "fragments"))  # consumed
    for name in fragments:
        with open(os.path.join(ROOT, "changelogs", "fragments", name)) as handle:
            for entries in yaml.safe_load(handle).values():
                for entry in entries:
                    assert entry.split(" - ", 1)[0].strip("`") in changelog, entry
    data = yaml.safe_load((release["tree"] / "changelogs" / "changelog.yaml").read_text())
    assert release["version"] in data["releases"]


def test_installed_collection_documents_and_audits(release, tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(release["collections"]), ANSIBLE_NOCOLOR="1")
    manifest = json.loads((release["collections"] / "ansible_collections/kubeprep/hostnet/MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == release["version"]
    doc = run([os.path.join(VENV_BIN, "ansible-doc"), "kubeprep.hostnet.hostnet_facts"], tmp_path, env)
    assert "go_binaries" in doc.stdout
    # The main job, from the installed copy: no inventory, so it audits this machine.
    proc = run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "kubeprep.hostnet.audit", "-e", "hostnet_fail_on=never", "-e", "hostnet_report_dir=%s" % (tmp_path / "r")],
        tmp_path,
        env,
    )
    assert "hostnet audit: 1 host(s)" in proc.stdout, proc.stdout[-2000:]
    report = json.loads((tmp_path / "r" / "hostnet-report.json").read_text())
    assert list(report["hosts"]) == ["localhost"] and report["tool"]["version"] == release["version"]


def test_execution_environment_context(release):
    tarball_dir = release["tree"] / "build" / "ee-src"
    tarball_dir.mkdir(parents=True)
    (tarball_dir / "kubeprep-hostnet.tar.gz").write_bytes(release["tarball"].read_bytes())
    context = release["work"] / "ee"
    run(
        [os.path.join(VENV_BIN, "ansible-builder"), "create", "-f", "ee/execution-environment.yml", "-c", str(context), "--output-filename", "Containerfile"],
        release["tree"],
    )
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==' in containerfile
    assert "COPY _build/collections/ /build/collections/" in containerfile and "ansible-galaxy collection install" in containerfile
    assert (context / "_build/collections/kubeprep-hostnet.tar.gz").read_bytes() == release["tarball"].read_bytes()
    requirements = yaml.safe_load((context / "_build/requirements.yml").read_text())
    assert requirements["collections"] == [{"name": "/build/collections/kubeprep-hostnet.tar.gz", "type": "file"}]
    # What the image build's introspection step will find in the installed collection.
    found = yaml.safe_load(
        run([os.path.join(VENV_BIN, "ansible-builder"), "introspect", str(release["collections"])], release["work"]).stdout.split("\n", 1)[1]
    )
    assert sorted(line.split("==")[0] for line in found["python"]) == ["jmespath", "netaddr"]  # ansible-core is the EE's choice
    assert any(line.startswith("openssh-client [platform:dpkg]") for line in found["system"]), found["system"]
