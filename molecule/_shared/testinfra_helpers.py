"""Shared by the scenarios' testinfra tests: the same client prepare used, and the reports."""

import base64
import json
import os

SHARED = os.path.dirname(os.path.abspath(__file__))
REPORT_DIR = os.environ["HOSTNET_REPORT_DIR"]


def run_script(host, name, *args):
    """Run molecule/_shared/files/NAME with python3 inside the test host."""
    with open(os.path.join(SHARED, "files", name), "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode()
    return host.check_output("echo %s | base64 -d | python3 - %s" % (encoded, " ".join(str(a) for a in args)))


def probe(host, target, port):
    """CONNECTED <addr> <s> | FAIL <addr> <ERRNO> <s> | RESOLVE-FAIL <error> <s>."""
    return run_script(host, "probe.py", target, port)


SCHEMA = os.path.join(SHARED, "..", "..", "docs", "schemas", "hostnet-report.schema.json")


def report(phase=""):
    """The report, checked against the collection's JSON Schema."""
    import jsonschema

    with open(os.path.join(REPORT_DIR, phase, "hostnet-report.json")) as handle:
        data = json.load(handle)
    with open(SCHEMA) as handle:
        jsonschema.validate(data, json.load(handle), format_checker=jsonschema.FormatChecker())
    return data


def changes():
    with open(os.path.join(REPORT_DIR, "hostnet-changes.json")) as handle:
        return json.load(handle)
