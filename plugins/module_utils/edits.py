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


# -- what sh makes of a sourced file (for ensure_env_flag) -----------------------------------

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PLAIN = re.compile(r"[^ \t\n\\'\"`$&|;()<>]+")
ENV_FILE_MAX = 1 << 20  # bytes: the shell reader below is linear, but a hostile host can send any size
_OPERATORS = ("&&", "||", ";;", "<<-", "<<", ">>", "<&", ">&", "<>", ">|", ";", "&", "|", "(", ")", "<", ">")
_OPENERS = {"if": "an if", "while": "a while loop", "until": "an until loop", "for": "a for loop", "select": "a select loop", "case": "a case"}
_CLOSERS = {"fi": ("if",), "done": ("while", "until", "for", "select"), "esac": ("case",), "}": ("{", "function")}
_BLOCKS = {"(": "a ( ) subshell", "{": "a { } group", "function": "a function (its body runs only when called)"}


class _ShellError(ValueError):
    """A file sh would not parse, or not the way this editor can follow: ``what``, on 0-based ``line``."""

    def __init__(self, what, line):
        ValueError.__init__(self, "%s (line %d)" % (what, line + 1))
        self.what, self.line = what, line


def _scan_nested(text, i, opener, closer, line):
    """End index just past the ``closer`` matching the ``opener`` at text[i-1] (quotes inside skipped)."""
    depth = 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                break
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                break
            i = j + 1
            continue
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _ShellError("unterminated %s...%s" % (opener, closer), line)


def _sh_tokens(text):
    """sh's tokens of a file: ('word', raw, line, substitution) and ('op', operator, line), newlines as ('op', '\\n').

    An approximation that errs on the side of refusing: quotes, escapes, comments, line
    continuations, $(...), ${...} and backticks are followed; a here-document or anything
    unterminated is a ValueError."""
    tokens = []
    i, n, line = 0, len(text), 0
    word, word_line, subst = None, 0, False

    def end_word():
        if word is not None:
            tokens.append(("word", "".join(word), word_line, subst))

    while i < n:
        c = text[i]
        if c == "\n" or c in " \t" or (c == "#" and word is None):
            end_word()
            word, subst = None, False
            if c == "\n":
                tokens.append(("op", "\n", line))
                line += 1
            elif c == "#":
                while i + 1 < n and text[i + 1] != "\n":
                    i += 1
            i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None) if c in "&|;()<>" else None
        if op:
            end_word()
            word, subst = None, False
            if op in ("<<", "<<-"):
                raise _ShellError("a here-document", line)
            tokens.append(("op", op, line))
            i += len(op)
            continue
        if word is None:
            word, word_line = [], line  # pieces, joined once (no quadratic +=)
        start = i
        if c == "\\":
            if i + 1 < n and text[i + 1] == "\n":  # a line continuation joins the lines
                line += 1
                i += 2
                if not word:
                    word = None
                continue
            i += 2
        elif c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                raise _ShellError("unterminated ' quote", line)
            i = j + 1
        elif c == '"':
            k = i + 1
            while True:
                if k >= n:
                    raise _ShellError('unterminated " quote', line)
                d = text[k]
                if d == '"':
                    break
                if d == "\\":
                    k += 2
                    continue
                if d == "`" or text.startswith("$(", k):
                    subst = True
                    k = _scan_nested(text, k + 2, "(", ")", line) if d == "$" else text.find("`", k + 1) + 1
                    if k == 0:
                        raise _ShellError("unterminated `", line)
                    continue
                k += 1
            i = k + 1
        elif c == "`":
            subst = True
            j = text.find("`", i + 1)
            if j < 0:
                raise _ShellError("unterminated `", line)
            i = j + 1
        elif text.startswith("$(", i):
            subst = True
            i = _scan_nested(text, i + 2, "(", ")", line)
        elif text.startswith("${", i):
            i = _scan_nested(text, i + 2, "{", "}", line)
        else:
            i = _PLAIN.match(text, i).end() if c != "$" else i + 1  # a run of ordinary characters at once
        line += text.count("\n", start, i)
        word.append(text[start:i])
    end_word()
    return tokens


def _sh_assignments(text, variable):
    """Every place the file assigns ``variable``, in order: dicts with the line (0-based), whether the
    word holds a command substitution, and ``problem``: None for a plain top-level assignment on a
    line of its own, else why the shell may not use it (the construct, with its line)."""
    found = []
    stack = []  # (kind, line) of the open compound commands
    command = None  # the simple command being read: {"before", "words", "assigns", "name"}
    cmd_pos, before = True, "start"
    in_pattern = case_head = function_next = function_name = paren_function = False
    redirect_next = None

    def finish(after):
        if command is not None:
            for record in command["assigns"]:
                if record["problem"] is None and after in ("&&", "||", "|", "&"):
                    record["problem"] = "joined by %s to the next command" % after
            found.extend(command["assigns"])

    for token in _sh_tokens(text):
        kind, value, line = token[0], token[1], token[2]
        if kind == "op":
            if redirect_next:
                raise _ShellError("a redirection (%s) without a file" % redirect_next, line)
            if value in ("\n", ";", "&", "&&", "||", "|", ";;"):
                finish(value)
                command, cmd_pos = None, True
                before = value
                if value == ";;":
                    in_pattern = True
                continue
            if value == "(":
                if (command is not None and not cmd_pos) or function_next:
                    paren_function = True  # name() ...: a function definition
                elif in_pattern:
                    pass
                else:
                    stack.append(("(", line))
                    cmd_pos, before = True, "("
                continue
            if value == ")":
                if paren_function:
                    paren_function, function_next = False, True
                    finish("\n")
                    command, cmd_pos = None, True
                elif in_pattern:
                    in_pattern, cmd_pos, before = False, True, ")"
                elif stack and stack[-1][0] == "(":
                    finish(")")
                    command = None
                    stack.pop()
                    cmd_pos = False
                else:
                    raise _ShellError("an unmatched )", line)
                continue
            redirect_next = value  # < > >> ...: the next word is a file
            if command is not None:
                command["redirect"] = True
            continue
        word, subst = value, token[3]
        if redirect_next:
            redirect_next = None
            continue
        if function_name:  # function NAME
            function_name = False
            continue
        if case_head:
            if word == "in":
                case_head, in_pattern = False, True
            continue
        if in_pattern:
            if word == "esac" and stack and stack[-1][0] == "case":
                stack.pop()
                in_pattern, cmd_pos = False, False
            continue
        if cmd_pos and command is None:
            if word in _OPENERS:
                stack.append((word, line))
                cmd_pos = word in ("if", "while", "until")
                case_head = word == "case"
                before = word
                continue
            if word in ("then", "do", "else", "elif", "!"):
                before = word
                continue
            if word == "{":
                stack.append(("function" if function_next else "{", line))
                function_next, before = False, "{"
                continue
            if word in _CLOSERS:
                if not stack or stack[-1][0] not in _CLOSERS[word]:
                    raise _ShellError("an unmatched %s" % word, line)
                stack.pop()
                cmd_pos = False
                continue
            if word == "function":
                function_next = function_name = True
                continue
        if command is None:
            command = {"before": before, "line": line, "assigns": [], "name": None, "redirect": False}
            before = "word"
        match = _ASSIGNMENT.match(word)
        if match and (cmd_pos or command["name"] in ("export", "readonly", "local", "declare", "typeset")):
            name = word[: match.end() - 1]
            if name != variable:
                for record in command["assigns"]:
                    if record["problem"] is None:
                        record["problem"] = "with another assignment in the same command"
                command.setdefault("others", True)
                continue
            problem = None
            if stack:
                opener, opened = stack[-1]
                problem = "inside %s (opened on line %d), which the shell may not run" % (_OPENERS.get(opener) or _BLOCKS[opener], opened + 1)
            elif command["before"] in ("&&", "||", "|"):
                problem = "after %s (the shell may not run it)" % command["before"]
            elif command["before"] not in ("start", "\n"):
                problem = "after another command on its line"
            elif command.get("others"):
                problem = "with another assignment in the same command"
            elif command["name"] not in (None, "export"):
                problem = "through %s" % command["name"]
            elif command["redirect"]:
                problem = "in a command with a redirection"
            command["assigns"].append({"line": line, "subst": subst, "problem": problem})
            continue
        if cmd_pos:
            cmd_pos = False
            command["name"] = word
            if word not in ("export", "readonly", "local", "declare", "typeset"):
                for record in command["assigns"]:
                    if record["problem"] is None:
                        record["problem"] = "before a command (%s): it sets the variable for that command only" % word
    finish("end")
    if redirect_next:
        raise _ShellError("a redirection (%s) without a file" % redirect_next, line)
    if stack:
        opener, opened = stack[-1]
        raise _ShellError("%s is not closed" % (_OPENERS.get(opener) or _BLOCKS[opener]), opened)
    return found


def ensure_env_flag(data, variable, flag, value):
    """Make ``VARIABLE`` carry ``flag=value`` in a shell-sourced environment file.

    The shell uses the last assignment, so that line is edited. Only the flag's own
    text changes: the last occurrence (``--flag=x`` or ``--flag x``) is replaced in
    place and earlier ones are removed; without one, `` flag=value`` is added at the
    end of the value, inside its quotes. Every other argument keeps its bytes and
    quoting (``'$HOME'`` stays single-quoted), and a trailing comment stays. A
    flag whose text mixes quoting styles is a clear error, not a guess. ``value``
    must be shell-safe (the module checks it)."""
    lines = _nl_lines(data) if data else []  # sh ends a line at \n only
    nl = newline_of(lines)
    pattern = re.compile(r"^(\s*(?:export\s+)?" + re.escape(variable) + r"=)")
    wanted = "%s=%s" % (flag, value)
    by_hand = "set %s in %s by hand" % (wanted, variable)
    if data and len(data) > ENV_FILE_MAX:
        raise ValueError("the file is %d bytes, more than an environment file holds (%d); %s" % (len(data), ENV_FILE_MAX, by_hand))
    try:
        records = _sh_assignments((data or b"").decode("utf-8", "replace"), variable)
    except _ShellError as exc:
        raise ValueError("cannot parse the file on line %d as sh does: %s; %s" % (exc.line + 1, exc.what, by_hand)) from exc
    index = None
    if records:  # the last assignment is the one the shell keeps: it must surely run, and its value be known
        last = records[-1]
        if last["problem"]:
            raise ValueError("cannot set %s safely: line %d assigns %s %s; %s" % (wanted, last["line"] + 1, variable, last["problem"], by_hand))
        if last["subst"]:
            raise ValueError(
                "cannot set %s safely: %s on line %d uses command substitution ($(...) or `...`), whose output only running it would tell; %s"
                % (wanted, variable, last["line"] + 1, by_hand)
            )
        index = last["line"]
        if index >= len(lines) or not pattern.match(lines[index].decode("utf-8", "replace")):
            raise ValueError("cannot set %s safely: line %d assigns %s in a form this editor does not rewrite; %s" % (wanted, index + 1, variable, by_hand))
    if index is None:
        if lines and not lines[-1].endswith(b"\n"):
            lines[-1] += nl
        lines.append(('%s="%s"' % (variable, wanted)).encode("utf-8") + nl)
        return _read_back(b"".join(lines), variable, len(lines) - 1, wanted, by_hand), ['added %s="%s"' % (variable, wanted)]
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
    rest = body[end:]
    if not re.match(r"\s*(;\s*(export\s+%s\s*;?\s*)?)?(#.*)?$" % re.escape(variable), rest):
        raise ValueError("cannot set %s safely: the assignment on line %d is followed by %r; %s" % (wanted, index + 1, rest.strip(), by_hand))
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
    new_line = (body + (ending or nl.decode("ascii"))).encode("utf-8")
    if new_line == raw:
        return data, []
    lines[index] = new_line
    return _read_back(b"".join(lines), variable, index, wanted, by_hand), ["%s: set %s" % (variable, wanted)]


def _read_back(new, variable, index, wanted, by_hand):
    """``new`` when sh would take its line ``index`` as the last, plain assignment of ``variable``
    (a line before ending in a backslash would swallow an added line, for one); else a ValueError."""
    try:
        records = _sh_assignments(new.decode("utf-8", "replace"), variable)
    except _ShellError as exc:
        raise ValueError("cannot set %s safely: the edited file would not parse (%s, line %d); %s" % (wanted, exc.what, exc.line + 1, by_hand)) from exc
    if not records or records[-1]["line"] != index or records[-1]["problem"] or records[-1]["subst"]:
        raise ValueError(
            "cannot set %s safely: sh would not read line %d of the edited file as the assignment of %s; %s" % (wanted, index + 1, variable, by_hand)
        )
    return new
