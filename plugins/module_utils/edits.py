# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal, byte-preserving edits of the files the remediation fixes.

Every function takes the file's bytes (or None when it does not exist) and
returns ``(new_bytes, actions)``: ``new_bytes`` equals the input when
nothing needs doing, and every line the edit does not own is kept byte for
byte (line endings, tabs, comments, non-UTF-8 bytes included). Pure
functions, standard library only (they run on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.kubeprep.hostnet.plugins.module_utils import hostsfile

MARKER = "kubeprep.hostnet"


def split_lines(data):
    """bytes -> list of lines, each with its own ending (b"\\n", b"\\r\\n" or none)."""
    return data.splitlines(True) if data else []


def newline_of(lines):
    """The file's line ending: CRLF if its first terminated line uses it."""
    for line in lines:
        if line.endswith(b"\r\n"):
            return b"\r\n"
        if line.endswith(b"\n"):
            return b"\n"
    return b"\n"


def _fields(line):
    """A hosts line's fields as glibc reads them: up to a NUL or ``#``, split at space, tab, VT, FF, CR or LF."""
    body = line.split(b"\0", 1)[0].split(b"#", 1)[0]
    return body.split()


def _address(token):
    try:
        return ipaddress.ip_address(token.split(b"%", 1)[0].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


# -- /etc/hosts -----------------------------------------------------------------


def ensure_localhost(data, address="127.0.0.1"):
    """Make ``localhost`` resolve to ``address`` (a loopback address) first.

    - ``localhost`` is removed from lines that map it to a non-loopback
      address (the line keeps its other names; a line left without names is
      commented out, not deleted);
    - if no line maps ``localhost`` to ``address``, ``<address>\\tlocalhost``
      is inserted before the first line that names localhost (so a files
      lookup sees it first), or at the top of the entries;
    - ``::1`` lines and every other line are left exactly as they are.
    """
    wanted = ipaddress.ip_address(address)
    lines = _nl_lines(data) if data else []  # as glibc reads /etc/hosts: a lone carriage return ends no line
    nl = newline_of(lines)
    actions = []
    have = False
    first_localhost = None
    first_entry = None
    out = []
    for line in lines:
        fields = _fields(line)
        addr = _address(fields[0]) if fields else None
        if addr is None or len(fields) < 2:
            out.append(line)
            continue
        if first_entry is None:
            first_entry = len(out)
        names = [n.lower() for n in fields[1:]]
        if b"localhost" not in names:
            out.append(line)
            continue
        if addr == wanted:
            have = True
        if not hostsfile.is_loopback(addr):
            out.append(_drop_name(line, fields, b"localhost", nl))
            actions.append("removed localhost from %r (not a loopback address)" % line.rstrip(b"\r\n").decode("utf-8", "replace"))
            continue
        if first_localhost is None:
            first_localhost = len(out)
        out.append(line)
    if not have:
        at = first_localhost if first_localhost is not None else (first_entry if first_entry is not None else len(out))
        if at == len(out) and out and not out[-1].endswith(b"\n"):
            out[-1] = out[-1] + (b"\n" if out[-1].endswith(b"\r") else nl)
        out.insert(at, ("%s\tlocalhost" % address).encode("ascii") + nl)
        actions.append("added '%s localhost'" % address)
    return b"".join(out), actions


def _drop_name(line, fields, name, nl):
    """Remove one name token from a hosts line, keeping spacing and comment."""
    ending = line[len(line.rstrip(b"\r\n")) :]
    body, sep, comment = line.rstrip(b"\r\n").partition(b"#")
    kept = [f for f in fields[1:] if f.lower() != name]
    if not kept:
        return b"# " + line.rstrip(b"\r\n") + ("  # disabled by %s: localhost must be loopback" % MARKER).encode("ascii") + (ending or nl)
    # Rebuild the entry part only: first whitespace run after the address is kept.
    match = re.match(rb"(\s*\S+)(\s+)", body)
    prefix = match.group(1) + match.group(2)
    trailing = body[len(body.rstrip()) :]
    return prefix + b" ".join(kept) + trailing + sep + comment + ending


# -- /etc/nsswitch.conf -----------------------------------------------------------

_HOSTS_LINE = re.compile(rb"^(\s*hosts\s*:)(\s*)([^#\r\n]*?)(\s*)(#[^\r\n]*)?(\r?\n)?$", re.IGNORECASE)
_TOKENS = re.compile(rb"\[[^\]]*\]|[^\s\[]+")


def _source_groups(text):
    """'files mdns4_minimal [NOTFOUND=return] dns' -> [[b'files'], [b'mdns4_minimal', b'[NOTFOUND=return]'], [b'dns']]."""
    groups = []
    for token in _TOKENS.findall(text):
        if token.startswith(b"[") and groups:
            groups[-1].append(token)
        else:
            groups.append([token])
    return groups


def files_before_dns(sources_text):
    """Reorder a hosts: source list so ``files`` comes before ``dns``.

    ``files`` (with its actions) moves to just before ``dns``; when missing it
    is inserted there. Everything else keeps its place. Returns None when no
    change is needed.
    """
    groups = _source_groups(sources_text)
    names = [g[0].lower() for g in groups]
    if b"dns" not in names:
        return None
    dns_at = names.index(b"dns")
    if b"files" in names and names.index(b"files") < dns_at:
        return None
    files_group = [b"files"]
    if b"files" in names:
        files_group = groups.pop(names.index(b"files"))
        names = [g[0].lower() for g in groups]
        dns_at = names.index(b"dns")
    groups.insert(dns_at, files_group)
    return b" ".join(b" ".join(g) for g in groups)


def _nl_lines(data):
    """bytes -> lines split at b"\\n" only (as glibc reads nsswitch.conf), each with its ending."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def ensure_nsswitch_files_first(data):
    """Leave exactly one effective hosts: line, asking files before dns; create the line/file if missing.

    glibc and Go use the last hosts: line, so that is the one fixed; earlier ones are
    commented out (naming why) so the file says what it does."""
    if data is None:
        return b"hosts:          files dns\n", ["created the file with 'hosts: files dns'"]
    lines = _nl_lines(data)
    found = [index for index, line in enumerate(lines) if _HOSTS_LINE.match(line)]
    actions = []
    if found:
        index = found[-1]
        key, space, sources, trail, comment, ending = _HOSTS_LINE.match(lines[index]).groups()
        fixed = files_before_dns(sources)
        if fixed is not None:
            old = lines[index].rstrip(b"\r\n").decode("utf-8", "replace")
            lines[index] = key + (space or b" ") + fixed + (trail or b"") + (comment or b"") + (ending or b"")
            actions.append("hosts: line %d -> files before dns (was %r)" % (index + 1, old))
        for other in found[:-1]:
            lines[other] = b"# kubeprep.hostnet: ignored (the last hosts: line wins): " + lines[other]
            actions.append("commented out hosts: line %d (line %d is the one glibc and Go use)" % (other + 1, index + 1))
        return (b"".join(lines), actions) if actions else (data, [])
    nl = newline_of(lines)
    if lines and not lines[-1].endswith(b"\n"):  # only a newline ends a line for glibc
        lines[-1] += nl
    lines.append(b"hosts:          files dns" + nl)
    return b"".join(lines), ["added 'hosts: files dns' (the file had no hosts: line)"]


# -- key = value files (/etc/sysctl.d) ----------------------------------------------


def ensure_key_value(data, key, value):
    """Set ``key = value`` in a sysctl.d-style file, keeping every other line."""
    lines = split_lines(data)
    nl = newline_of(lines)
    wanted = ("%s = %s" % (key, value)).encode("ascii")
    pattern = re.compile(rb"^\s*-?" + re.escape(key.encode("ascii")).replace(rb"\.", rb"[./]") + rb"\s*=\s*(.*?)\s*$")
    found = False
    out = []
    for line in lines:
        match = pattern.match(line.rstrip(b"\r\n"))
        if not match:
            out.append(line)
            continue
        if found:
            out.append(b"# " + line)  # a later duplicate would win; neutralise it
            continue
        found = True
        if match.group(1) == value.encode("ascii"):
            out.append(line)
        else:
            out.append(wanted + (line[len(line.rstrip(b"\r\n")) :] or nl))
    if not found:
        if out and not out[-1].endswith((b"\n", b"\r")):
            out[-1] += nl
        if not out:
            out.append(("# Managed by %s" % MARKER).encode("ascii") + nl)
        out.append(wanted + nl)
    new = b"".join(out)
    return new, ([] if new == (data or b"") and data is not None else ["set %s = %s" % (key, value)])


# -- /etc/resolv.conf options -----------------------------------------------------------

_OPTIONS_LINE = re.compile(rb"^\s*options\s")


def ensure_resolv_options(data, timeout=None, attempts=None):
    """Set ``timeout:N`` and/or ``attempts:N`` on the (last) options line, keeping other options."""
    wanted = [(b"timeout", timeout), (b"attempts", attempts)]
    wanted = [(k, str(int(v)).encode()) for k, v in wanted if v is not None]
    lines = split_lines(data)
    nl = newline_of(lines)
    index = max((i for i, line in enumerate(lines) if _OPTIONS_LINE.match(line)), default=None)
    if index is None:
        if not wanted:
            return data, []
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            lines[-1] += nl
        lines.append(b"options " + b" ".join(k + b":" + v for k, v in wanted) + nl)
        return b"".join(lines), ["added options %s" % " ".join((k + b":" + v).decode() for k, v in wanted)]
    line = lines[index]
    ending = line[len(line.rstrip(b"\r\n")) :]
    tokens = line.rstrip(b"\r\n").split()[1:]
    changed = []
    for key, value in wanted:
        for pos, token in enumerate(tokens):
            if token.split(b":", 1)[0] == key:
                if token != key + b":" + value:
                    tokens[pos] = key + b":" + value
                    changed.append((key + b":" + value).decode())
                break
        else:
            tokens.append(key + b":" + value)
            changed.append((key + b":" + value).decode())
    if not changed:
        return data, []
    lines[index] = b"options " + b" ".join(tokens) + (ending or nl)
    return b"".join(lines), ["set options %s" % " ".join(changed)]


# -- VAR="--flag=value ..." lines (/etc/default/kubelet, /etc/sysconfig/flanneld) ---------


_SHELL_STOP = frozenset(" \t;&|<>()`")


def shell_word(text, start):
    """Scan the shell word at ``text[start:]`` as sh does for ``VAR=word``.

    Returns ``(end, chars)``: ``chars`` is the value after quote removal, one
    ``(char, raw_start, raw_end, context)`` per value character, context ``sq``,
    ``dq`` or ``uq``. Expansions (``$HOME``) stay text: they are never evaluated here,
    and an edit keeps them where they were, in the same quotes."""
    chars = []
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c in _SHELL_STOP:
            break
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise ValueError("unterminated ' quote")
            chars.extend((text[k], k, k + 1, "sq") for k in range(i + 1, j))
            i = j + 1
        elif c == '"':
            k = i + 1
            while True:
                if k >= n:
                    raise ValueError('unterminated " quote')
                d = text[k]
                if d == '"':
                    break
                if d == "\\" and k + 1 < n and text[k + 1] in '$`"\\':
                    chars.append((text[k + 1], k, k + 2, "dq"))
                    k += 2
                    continue
                chars.append((d, k, k + 1, "dq"))
                k += 1
            i = k + 1
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError("a backslash ends the line")
            chars.append((text[i + 1], i, i + 2, "uq"))
            i += 2
        else:
            chars.append((c, i, i + 1, "uq"))
            i += 1
    return i, chars


def _words(chars):
    """The value split at whitespace (how $VAR expands unquoted, in sh and in systemd): lists of chars."""
    words, current = [], []
    for item in chars:
        if item[0] in " \t\n":
            if current:
                words.append(current)
                current = []
        else:
            current.append(item)
    if current:
        words.append(current)
    return words


def ensure_env_flag(data, variable, flag, value):
    """Make ``VARIABLE`` carry ``flag=value`` in a shell-sourced environment file.

    The shell uses the last assignment, so that line is edited. Only the flag's own
    text changes: the last occurrence (``--flag=x`` or ``--flag x``) is replaced in
    place and earlier ones are removed; without one, `` flag=value`` is added at the
    end of the value, inside its quotes. Every other argument keeps its bytes and
    quoting (``'$HOME'`` stays single-quoted), and a trailing comment stays. A
    flag whose text mixes quoting styles is a clear error, not a guess. ``value``
    must be shell-safe (the module checks it)."""
    lines = split_lines(data)
    nl = newline_of(lines)
    pattern = re.compile(r"^(\s*(?:export\s+)?" + re.escape(variable) + r"=)")
    wanted = "%s=%s" % (flag, value)
    index = None
    for number, line in enumerate(lines):
        if pattern.match(line.decode("utf-8", "replace")):
            index = number
    if index is None:
        if lines and not lines[-1].endswith((b"\n", b"\r")):
            lines[-1] += nl
        lines.append(('%s="%s"' % (variable, wanted)).encode("utf-8") + nl)
        return b"".join(lines), ['added %s="%s"' % (variable, wanted)]
    raw = lines[index]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("cannot parse %s on line %d: not UTF-8" % (variable, index + 1)) from exc
    body = text.rstrip("\r\n")
    ending = text[len(body) :]
    start = pattern.match(body).end()
    try:
        end, chars = shell_word(body, start)
    except ValueError as exc:
        raise ValueError("cannot parse %s on line %d: %s" % (variable, index + 1, exc)) from exc
    words = _words(chars)
    spans = []  # (first word, last word) of each occurrence of the flag
    position = 0
    while position < len(words):
        word = "".join(c[0] for c in words[position])
        if word == flag and position + 1 < len(words):
            spans.append((position, position + 1))
            position += 2
            continue
        if word.startswith(flag + "=") or word == flag:
            spans.append((position, position))
        position += 1
    if spans and len(spans) == 1 and "".join(c[0] for c in words[spans[0][0]]) == wanted and spans[0][0] == spans[0][1]:
        return data, []
    edits_at = []  # (raw start, raw end, replacement), applied right to left
    for number, (first, last) in enumerate(spans):
        items = [c for w in words[first : last + 1] for c in w]
        contexts = {c[3] for c in items}
        raw_start, raw_end = items[0][1], items[-1][2]
        inner = [c for c in chars if raw_start <= c[1] < raw_end]
        if len(contexts) != 1 or {c[3] for c in inner} != contexts or any(body[k] in "'\"" for k in range(raw_start, raw_end) if contexts == {"uq"}):
            raise ValueError("cannot edit %s in %s on line %d safely: its text mixes quoting styles; set it by hand" % (flag, variable, index + 1))
        if number == len(spans) - 1:
            replacement = wanted
        else:  # an earlier occurrence goes, with the whitespace before it
            replacement = ""
            previous = [c for c in chars if c[2] <= raw_start]
            following = [c for c in chars if c[1] >= raw_end]
            if previous and previous[-1][0] in " \t" and previous[-1][3] == items[0][3]:
                while previous and previous[-1][0] in " \t" and previous[-1][3] == items[0][3]:
                    raw_start = previous.pop()[1]
            else:
                while following and following[0][0] in " \t" and following[0][3] == items[0][3]:
                    raw_end = following.pop(0)[2]
        edits_at.append((raw_start, raw_end, replacement))
    if not spans:
        has_value = any(c[0] not in " \t\n" for c in chars)
        addition = (" " if has_value else "") + wanted
        if not chars:
            if end > start:  # VAR="" or VAR='': inside the quotes
                edits_at.append((end - 1, end - 1, addition))
            else:
                edits_at.append((end, end, '"%s"' % addition))
        else:
            last = chars[-1]
            if last[3] == "uq":
                edits_at.append((last[2], last[2], '"%s"' % addition))
            else:
                edits_at.append((last[2], last[2], addition))
    for raw_start, raw_end, replacement in sorted(edits_at, reverse=True):
        body = body[:raw_start] + replacement + body[raw_end:]
    new_line = (body + (ending or nl)).encode("utf-8")
    if new_line == raw:
        return data, []
    lines[index] = new_line
    return b"".join(lines), ["%s: set %s" % (variable, wanted)]
