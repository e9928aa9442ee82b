"""Write a Sphinx (intersphinx v2) inventory of the Ansible docs labels that
antsibull-docs' plugin pages link to, so the site builds with no network.
The links in the built pages still point at docs.ansible.com.

usage: python ansible_inventory.py OUT.inv
"""

import sys
import zlib

# label, page (relative to the Ansible devel docs), title
LABELS = [
    ("ansible_configuration_settings", "reference_appendices/config.html#ansible-configuration-settings", "Ansible Configuration Settings"),
    ("action_plugins", "plugins/action.html#action-plugins", "Action plugins"),
    ("callback_plugins", "plugins/callback.html#callback-plugins", "Callback plugins"),
    ("filter_plugins", "plugins/filter.html#filter-plugins", "Filter plugins"),
    ("module_plugins", "plugins/module.html#module-plugins", "Modules"),
    ("common_return_values", "reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    ("playbooks_filters", "playbook_guide/playbooks_filters.html#playbooks-filters", "Using filters to manipulate data"),
    ("playbooks_reuse_roles", "playbook_guide/playbooks_reuse_roles.html#playbooks-reuse-roles", "Roles"),
]


def main(path):
    body = "".join("%s std:label -1 %s %s\n" % (name, uri, title) for name, uri, title in LABELS)
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n"
    with open(path, "wb") as handle:
        handle.write(header.encode() + zlib.compress(body.encode()))


if __name__ == "__main__":
    main(sys.argv[1])
