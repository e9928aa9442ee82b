# Sphinx configuration of the kubeprep.hostnet docs site (make docs).
# Made with `antsibull-docs sphinx-init`, then changed to build offline: the
# one intersphinx inventory it needs (labels of the Ansible docs that plugin
# pages link to) is written by ansible_inventory.py, not downloaded.

import os

project = "kubeprep.hostnet"
copyright = "kubeprep.hostnet contributors"
title = "kubeprep.hostnet Documentation"
html_short_title = "kubeprep.hostnet"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "sphinx_antsibull_ext"]
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

intersphinx_mapping = {
    "ansible_devel": ("https://docs.ansible.com/projects/ansible/devel/", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ansible_devel.inv")),
}
default_role = "any"
nitpicky = True
