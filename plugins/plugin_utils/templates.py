# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report templates (roles/audit/templates/*.j2) rendered with the Jinja2 that ansible-core ships,
autoescaped: every value that came from a host is text, never markup."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles", "audit", "templates")
_CODE = re.compile(r"`([^`]+)`")


def md_code(text):
    """Escape, then show Markdown `code` spans as <code> (the fix texts use them)."""
    return Markup(_CODE.sub(lambda m: "<code>%s</code>" % m.group(1), str(escape(text or ""))))


def detail(finding):
    lines = ["seen: %s" % item for item in finding.get("evidence") or []]
    lines += ["why: %s" % finding.get("why", ""), "fix: %s" % finding.get("fix", ""), "docs: %s" % finding.get("docs", "")]
    return "\n".join(lines)


# What XML 1.0 allows in no document (C0 controls but tab, LF, CR; lone surrogates; U+FFFE, U+FFFF). A host
# can put them in what a finding quotes (an interface named "odd\x01if"); one made the JUnit report unparseable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _shown(match):
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def shown_text(value):
    """Every value a template outputs: characters XML cannot carry written as ``\\x01`` (HTML gets the
    same, which also makes them visible)."""
    if isinstance(value, str) and _NOT_XML.search(value):
        text = _NOT_XML.sub(_shown, value)
        return Markup(text) if isinstance(value, Markup) else text
    return value


_ENV = None


def environment():
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html", "xml", "j2"]),
            keep_trailing_newline=True,
            finalize=shown_text,
        )
        _ENV.filters["md_code"] = md_code
        _ENV.globals["detail"] = detail
    return _ENV


def render(name, **context):
    return environment().get_template(name).render(**context)
