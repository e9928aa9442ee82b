# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What several rules derive from one host's facts, derived once per judgement (controller side).

The node-IP recommendation, the overlap rules, shared-default-address and others each walked every host's
interfaces and routes again: at 10,000 hosts each walk costs 0.05-0.1 s. A function decorated with
``per_facts`` computes its value once per facts dict while ``judging()`` is active (rules.evaluate) and
on every call outside it (unit tests calling a rule directly). The values are shared: callers must not
change them (the decorated functions return tuples).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import functools

_CACHE = None  # while judging: (function, id(facts)) -> (facts, value); the facts kept so their id is not reused


@contextlib.contextmanager
def judging():
    """Remember derived values for the duration of one judgement (nested: the outer one's are kept)."""
    global _CACHE
    if _CACHE is not None:
        yield
        return
    _CACHE = {}
    try:
        yield
    finally:
        _CACHE = None


def per_facts(func):
    """Decorator: ``func(facts)`` computed once per facts dict (a host's, or the fleet's host -> facts) while judging."""

    @functools.wraps(func)
    def wrapper(facts):
        cache = _CACHE
        if cache is None:
            return func(facts)
        key = (func, id(facts))
        entry = cache.get(key)
        if entry is not None and entry[0] is facts:
            return entry[1]
        value = func(facts)
        cache[key] = (facts, value)
        return value

    return wrapper
