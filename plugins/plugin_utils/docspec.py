# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An action plugin's argument spec read from its module's DOCUMENTATION, so each
option (type, default, choices) is declared once, where ansible-doc shows it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it: ~10x faster

_KEYS = ("type", "default", "choices", "elements", "required")


def argument_spec(documentation):
    options = (yaml.load(documentation, Loader=_LOADER) or {}).get("options") or {}
    spec = {}
    for name, doc in options.items():
        spec[name] = {key: doc[key] for key in _KEYS if key in doc}
    return spec
