# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Shared attributes blocks, so every module states check/diff support the same way.

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    # Modules that change the host: full check and diff support.
    WRITER = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Shows the exact lines that change (or would change in check mode).
    support: full
"""

    # Modules that rewrite a file.
    BACKUP = r"""
options:
  backup:
    description: Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
"""

    FACTS = r"""
options: {}
attributes:
  facts:
    description: Action returns an C(ansible_facts) dictionary that will update existing host facts.
    support: full
  check_mode:
    description: Can run in check_mode; a facts module only reads, so it behaves the same.
    support: full
  diff_mode:
    description: A facts module changes nothing, so there is no diff.
    support: N/A
"""

    CONTROLLER = r"""
options: {}
attributes:
  action:
    description: Runs as an action plugin on the controller.
    support: full
  check_mode:
    description: Reads facts and writes report files on the controller only; behaves the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing on managed hosts, so there is no diff.
    support: N/A
"""
