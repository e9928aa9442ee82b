"""Hostile host text for the property tests: a seeded generator (each test makes its own, so a failure
reproduces with the same seed) of what a broken or malicious host can send: raw bytes decoded with
replacement as the gather decodes them, control characters, terminal escape sequences, line breaks of
every kind, markup, very long lines. And an oracle, written here independently of safetext, for what
the operator must see of such text."""

import random
import re
import sys
import unicodedata

ATTACKS = [
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b]0;pwned\x07",  # window title
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",  # OSC 52: write the clipboard
    "\x9b2J",  # C1 CSI
    "\r[OK] node1: no findings",
    "\n[OK] node1: no findings\n",
    "\r\n",
    "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",  # what str.splitlines() splits at
    "\x00",
    "\x7f\x08\x08\x08",
    "\u202e\u2066\u200b\ufeff",  # bidi override, isolate, zero width, BOM
    "\ufffe\uffff\U0010ffff",
    "\udc80",  # a lone surrogate (surrogateescape)
    "\n```\n# pwned\n<img src=x onerror=alert(1)>\n```\n",
    "\n~~~\n",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "]]></failure><failure>",
    '" onmouseover="alert(1)',
    "`",
    "````",
    "| --- |",
    "**bold** _em_ [link](javascript:alert(1)) ![img](x)",
    "&amp; &#27; &lt;",
    "\\",
    "    indented",
    "# heading",
    "1. item",
    "- item",
    "> quote",
    "===",
    "<!-- comment",
    "\t",
]

TOKENS = ("localhost", "127.0.0.1", "::1", "search", "nameserver", "hosts:", "files", "dns", "#", "=", " ", "\t", "[", "]", "corp.example")


class Hostile:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def raw_bytes(self, max_size=60):
        rng = self.rng
        return rng.randbytes(rng.randrange(max_size + 1))

    def long_line(self):
        rng = self.rng
        unit = rng.choice(["a", "\x1b[31m", "`", "<b>", "é", " ", "#"])
        return unit * (rng.randrange(16000, 64000) // len(unit))

    def piece(self):
        rng = self.rng
        kind = rng.randrange(100)
        if kind < 30:
            return self.raw_bytes().decode("utf-8", "replace")  # as the gather decodes a file
        if kind < 60:
            return rng.choice(ATTACKS)
        if kind < 75:
            return rng.choice(TOKENS)
        if kind < 90:  # any code point but the surrogates
            return "".join(chr(rng.choice([rng.randrange(0x80), rng.randrange(0xD800), rng.randrange(0xE000, 0x110000)])) for _n in range(rng.randrange(12)))
        if kind < 99 or rng.randrange(50):
            return "".join(chr(rng.randrange(0x20)) for _n in range(rng.randrange(1, 6)))
        return self.long_line()  # one piece in 5,000: about one report in 100

    def text(self, max_pieces=3):
        return "".join(self.piece() for _n in range(self.rng.randrange(max_pieces + 1)))

    def data(self, tokens=TOKENS):
        """Bytes of a file: lines of tokens, attacks and raw bytes, with line breaks of every kind."""
        rng = self.rng
        parts = []
        for _n in range(rng.randrange(12)):
            kind = rng.randrange(10)
            if kind < 4:
                parts.append(" ".join(rng.choice(tokens) for _n in range(rng.randrange(1, 6))).encode())
            elif kind < 7:
                parts.append(self.text(3).encode("utf-8", "surrogatepass"))
            elif kind < 9:
                parts.append(self.raw_bytes())
            else:
                parts.append(rng.choice([b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc2", b"\xe2\x80"]))  # invalid UTF-8
            parts.append(rng.choice([b"\n", b"\r\n", b"\r", b"\x0b", b"\x0c", b"\xc2\x85", b"\xe2\x80\xa8", b"\x00", b""]))
        if rng.randrange(50) == 0:
            parts.append(self.long_line().encode())
        return b"".join(parts)


UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def unsafe(char):
    """What no output may carry raw: control and format characters, separators, noncharacters."""
    code = ord(char)
    return unicodedata.category(char) in UNSAFE_CATEGORIES or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


# The same as one regular expression, built from this Python's Unicode database (half a second, once).
UNSAFE = re.compile("[%s]" % "".join(re.escape(chr(c)) for c in range(sys.maxunicode + 1) if unsafe(chr(c))))


def raw_controls(text, allowed=""):
    return sorted({"U+%04X" % ord(c) for c in UNSAFE.findall(text) if c not in allowed})


def _shown(match):
    char = match.group(0)
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    if ord(char) < 0x100:
        return "\\x%02x" % ord(char)
    if ord(char) < 0x10000:
        return "\\u%04x" % ord(char)
    return "\\U%08x" % ord(char)


def shown(text):
    """The oracle: how the operator must see host text (each unsafe character as a Python-style escape)."""
    return UNSAFE.sub(_shown, text)
