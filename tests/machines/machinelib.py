"""Helpers for the booted-machine tests (tests/harness/machines.py): what only a boot can prove."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import importlib.util

import machines

# The integration tests' helpers (run_playbook, load_report with the report schema), one copy.
_spec = importlib.util.spec_from_file_location("integration_helpers", os.path.join(ROOT, "tests", "integration", "conftest.py"))
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)
SHARED_FILES = integration.SHARED_FILES
load_report = integration.load_report
run_playbook = integration.run_playbook

with open(os.path.join(SHARED_FILES, "probe.py")) as _handle:
    PROBE = _handle.read()
with open(os.path.join(SHARED_FILES, "listener.py")) as _handle:
    LISTENER = _handle.read()

# Started at every boot, as the incidents' servers were: kube-apiserver's [::]:6443
# (molecule/_shared/files/listener.py), and kube-proxy's DNAT of the kubernetes
# Service 10.96.0.1:443 to it.
BOOT_UNITS = {
    "usr/local/lib/kubeprep-test/listener.py": (LISTENER, 0o644),
    "usr/local/lib/kubeprep-test/probe.py": (PROBE, 0o644),
    "etc/systemd/system/kp-apiserver.service": (
        "[Unit]\nDescription=kube-apiserver stand-in on [::]:6443\n\n[Service]\nType=forking\n"
        "ExecStart=/usr/bin/python3 /usr/local/lib/kubeprep-test/listener.py\n\n[Install]\nWantedBy=multi-user.target\n",
        0o644,
    ),
    "etc/systemd/system/kp-proxy.service": (
        "[Unit]\nDescription=kube-proxy stand-in: DNAT 10.96.0.1:443 to the apiserver\nAfter=network.target\n\n"
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/sbin/nft -f /etc/kubeprep-test/kube-proxy.nft\n\n"
        "[Install]\nWantedBy=multi-user.target\n",
        0o644,
    ),
}
BOOT_ENABLE = ["kp-apiserver.service", "kp-proxy.service"]
KUBE_PROXY_NFT = (
    "table ip kubeproxy {{\n  chain output {{\n    type nat hook output priority -100; policy accept;\n"
    "    ip daddr 10.96.0.1 tcp dport 443 dnat to {address}:6443\n  }}\n}}\n"
)


def boot_services(host, extra=None):
    """Machine files: the boot-time apiserver and kube-proxy stand-ins, plus ``extra``."""
    files = dict(BOOT_UNITS)
    files["etc/kubeprep-test/kube-proxy.nft"] = (KUBE_PROXY_NFT.format(address=host["address"]), 0o644)
    files.update(extra or {})
    return files


@pytest.fixture(scope="session")
def make_machines(tmp_path_factory):
    """Factory: make_machines(specs) -> machines.Machines (see Machines.up); all torn down at session end."""
    if os.geteuid() != 0:
        pytest.skip("test machines need root")
    made = []

    def factory(specs):
        fleet = machines.Machines(str(tmp_path_factory.mktemp("machines")))
        made.append(fleet)
        fleet.up(specs)
        return fleet

    try:
        yield factory
    finally:
        for fleet in made:
            fleet.down()


def probe(fleet, name, host, port):
    """The incidents' client, run on the machine: resolve, connect; one line (probe.py)."""
    return fleet.ssh(name, "python3 /usr/local/lib/kubeprep-test/probe.py %s %d" % (host, port)).stdout.strip()
