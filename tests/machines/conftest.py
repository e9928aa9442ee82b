"""Booted machines for the tests here, always torn down (the fixture lives in machinelib)."""

from machinelib import make_machines  # noqa: F401  (a pytest fixture)
