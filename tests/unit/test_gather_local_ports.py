"""The local_ports fact (rule nodeport-range-reserved): the kernel's local port range and reserved ports, parsed
from the files' exact text; a value that does not parse is an error naming the file, never a guess."""

import pytest

from ansible_collections.kubeprep.hostnet.plugins.module_utils import gather, localports


def files(tmp_path, port_range, reserved):
    paths = []
    for name, text in (("ip_local_port_range", port_range), ("ip_local_reserved_ports", reserved)):
        path = tmp_path / name
        if text is not None:
            path.write_bytes(text)
        paths.append(str(path))
    return paths


def test_the_kernels_text_is_parsed_and_reserved_ranges_merged(tmp_path):
    fact, problems = localports.gather(*files(tmp_path, b"1024\t65535\n", b"8080,30000-31000,31001-32767,9000-9001\n"))
    assert problems == []
    assert fact == {
        "status": "ok",
        "port_range": [1024, 65535],
        "reserved": [[8080, 8080], [9000, 9001], [30000, 32767]],
        "raw": {"port_range": "1024\t65535", "reserved": "8080,30000-31000,31001-32767,9000-9001"},
    }
    fact, _problems = localports.gather(*files(tmp_path, b"32768\t60999\n", b"\n"))
    assert fact["reserved"] == [] and fact["port_range"] == [32768, 60999] and fact["status"] == "ok"


@pytest.mark.parametrize(
    "port_range, reserved, error",
    [
        (b"60999 32768\n", b"", "ip_local_port_range: unexpected value: not a range of ports 1-65535, low first"),
        (b"1024\n", b"", "ip_local_port_range: unexpected value: not two port numbers"),
        (b"1024\t65535\n", b"30000-x\n", "ip_local_reserved_ports: unexpected value: '30000-x' is not a port or a range of ports"),
        (b"1024\t65535\n", b"70000\n", "ip_local_reserved_ports: unexpected value: '70000' is not a range of ports 0-65535"),
        (b"1024\t65535\n", b"\xff\xfe30000\n", "ip_local_reserved_ports: unexpected value: '\ufffd\ufffd30000' is not a port"),
        (b"1024\t65535\n", None, "ip_local_reserved_ports: absent"),
        (b"1024\t65535\n", b"1," * 40000, "ip_local_reserved_ports: longer than 65536 bytes"),
    ],
)
def test_a_value_that_does_not_parse_is_an_error_naming_the_file(tmp_path, port_range, reserved, error):
    fact, problems = localports.gather(*files(tmp_path, port_range, reserved))
    assert fact["status"] == "partial" and len(fact["errors"]) == 1 and error in fact["errors"][0], fact
    key = "port_range" if "ip_local_port_range" in error else "reserved"
    assert fact[key] is None and len(problems) == 1


def test_the_live_gather_reads_this_hosts_values(tmp_path):
    facts = gather.gather()
    with open(localports.RANGE_FILE) as handle:
        expected = [int(part) for part in handle.read().split()]
    assert facts["local_ports"]["status"] == "ok" and facts["local_ports"]["port_range"] == expected
    assert gather.gather(root=str(tmp_path))["local_ports"]["status"] == "not_applicable"
