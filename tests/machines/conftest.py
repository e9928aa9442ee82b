"""Booted machines for the tests here, always torn down (the fixture lives in machinelib)."""

from machinelib import make_machines

__all__ = ["make_machines"]  # a pytest fixture, found by name
