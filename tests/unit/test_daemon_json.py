"""hostnet_docker_bip's edit of daemon.json: an empty or whitespace-only file is an empty config."""

import json

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import cniconf

VALUES = {"bip": "10.244.3.1/24", "mtu": 1450}


@pytest.mark.parametrize("data", [b"", b" ", b"\n", b"  \n\t\n", b"\r\n"])
def test_whitespace_only_daemon_json_is_an_empty_config(data):
    assert cniconf.docker_daemon_json(data.decode()) == cniconf.docker_daemon_json("{}")  # how the audit reads it
    new, actions = cniconf.set_daemon_json_keys(data, VALUES)
    assert json.loads(new) == VALUES and actions
    assert cniconf.set_daemon_json_keys(new, VALUES) == (new, [])


@pytest.mark.parametrize("data", [b"[]\n", b"  null  ", b'"x"'])
def test_daemon_json_that_is_not_an_object_is_refused(data):
    with pytest.raises(ValueError, match="not a JSON object"):
        cniconf.set_daemon_json_keys(data, VALUES)
