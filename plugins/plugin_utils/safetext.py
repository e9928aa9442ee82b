# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from hosts made safe for each output the operator reads (controller side).

Everything a host sends is untrusted: a hosts-file comment, a hostname, a machine-id, a search domain or an
nsswitch.conf line can hold escape sequences (clear the screen, set the window title, write the clipboard
with OSC 52), carriage returns and newlines (a fake ``[OK]`` line, a Markdown fence closed early), bidi
overrides, NUL or bytes that XML 1.0 forbids. The renderers pass every string through this module:

- ``visible``: control and format characters shown escaped (``\\x1b``, ``\\n``, ``\\u202e``); what the console
  prints, and the base of every other output (it also leaves only characters XML 1.0 allows);
- ``md_inline``, ``md_code``, ``md_rich``, ``md_fence``: Markdown that renders as the text, never as markup;
- ``deep``: a copy of a report with every string (keys too) mapped, for the HTML and JUnit templates.

The JSON report is data and keeps host text as it is (JSON-escaped).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Unicode categories Cc (C0, DEL, C1), Cf (format: soft hyphen, zero-width and bidi controls, BOM, tags),
# Cs (lone surrogates), Zl and Zp (line and paragraph separators), and the noncharacters (U+FDD0-U+FDEF,
# U+xFFFE, U+xFFFF; XML 1.0 forbids U+FFFE and U+FFFF), as of Unicode 15 (U+13439-U+1343F are format
# characters from 15 on). Written out because computing it from unicodedata costs half a second;
# tests/unit/test_safetext.py checks it against the running Python's Unicode database.
_RANGES = (
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xD800, 0xDFFF),
    (0xFDD0, 0xFDEF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0xFFFE, 0xFFFF),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
) + tuple((plane + 0xFFFE, plane + 0xFFFF) for plane in range(0x10000, 0x110000, 0x10000))


def _char_class(ranges):
    parts = []
    for low, high in ranges:
        parts.append("\\U%08x" % low if low == high else "\\U%08x-\\U%08x" % (low, high))
    return re.compile("[%s]" % "".join(parts))


UNSAFE = _char_class(_RANGES)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return "\\x%02x" % code
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def text(value):
    """Any value as text: bytes decoded as UTF-8 with replacement (as the gather decodes), None as ''."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def visible(value):
    """One line of printable text: every control or format character (newlines, ESC, NUL, C1, bidi
    overrides, separators) shown as a Python-style escape. Safe on a terminal and in XML 1.0."""
    return UNSAFE.sub(_escape, text(value))


def deep(value, function=visible):
    """A copy of a JSON-like structure with ``function`` applied to every string, dictionary keys included."""
    if isinstance(value, (str, bytes)):
        return function(value)
    if isinstance(value, dict):
        return {deep(k, function) if isinstance(k, (str, bytes)) else k: deep(v, function) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [deep(item, function) for item in value]
    return value


# -- Markdown (CommonMark, plus GFM tables) -------------------------------------------------

# What can start markup anywhere in a line (CommonMark inlines, raw HTML, entities, GFM tables and
# strikethrough, and what common extensions use: math, superscript, attributes); the other ASCII punctuation
# only means something at the start of a line (``_LINE_START``). Fewer escapes keep the file readable raw.
_SPECIAL = re.compile(r"""([\\`*_\[\]<>!&|~#$^{}])""")
# A list item, setext underline or thematic break (- + =), an ordered list (1. or 1)).
_LINE_START = re.compile(r"^([-+=])|^(\d+)([.)])")
_EDGE_SPACES = re.compile(r"^[^\S\n]+|[^\S\n]+$")  # any Unicode space: a Markdown parser strips them all (markdown-it does)
_BACKTICKS = re.compile(r"`+")
_CODE = re.compile(r"`([^`]+)`")


def _md_escape(line):
    return _SPECIAL.sub(r"\\\1", line)


def _no_block_start(line):
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), line)


def _keep_spaces(line):
    """Leading spaces as entities (4 would start a code block, and a paragraph or cell drops them), and
    trailing ones (dropped too); other Unicode spaces (U+2008, ...) at either end as well, as parsers strip them."""
    return _EDGE_SPACES.sub(lambda m: "".join("&#%d;" % ord(c) for c in m.group(0)), line)


def md_inline(value):
    """Text that renders as itself inside a paragraph, heading or table cell: one line (``visible``), the
    characters that can start markup backslash-escaped (no emphasis, link, image, raw HTML, entity, code span,
    table cell break, heading, list or thematic break can start), spaces at either end as entities (kept, and
    no code block)."""
    return _keep_spaces(_no_block_start(_md_escape(visible(value))))


def md_code(value):
    """A code span that holds the text literally, whatever backticks it contains ('' for no text)."""
    line = visible(value)
    if not line:
        return ""
    longest = max((len(run) for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end of a span that starts and ends with one, and a backtick
    # next to the fence would lengthen it: pad with a space in both cases.
    pad = " " if line[0] == "`" or line[-1] == "`" or (line[0] == " " and line[-1] == " " and line.strip()) else ""
    return fence + pad + line + pad + fence


def md_rich(value):
    """Prose that may hold `code` spans (the why and fix texts): the spans stay code spans, the rest is
    escaped as ``md_inline`` escapes it."""
    line = visible(value)
    out = []
    last = 0
    for match in _CODE.finditer(line):
        out.append(_md_escape(line[last : match.start()]))
        out.append(md_code(match.group(1)))
        last = match.end()
    out.append(_md_escape(line[last:]))
    return _keep_spaces(_no_block_start("".join(out)))


def md_cell_code(value):
    """``md_code`` inside a table cell: GFM splits cells at a pipe even inside a code span unless escaped."""
    return md_code(value).replace("|", "\\|")


def md_fence(lines):
    """A fenced code block holding ``lines`` literally: each line ``visible`` (no line can end the block
    early) and the fence longer than any run of backticks inside."""
    shown = [visible(line) for line in lines]
    longest = max((len(run) for line in shown for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence] + shown + [fence]
