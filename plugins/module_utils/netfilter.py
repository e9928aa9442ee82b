# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's firewall as it judges forwarded traffic: the FORWARD hook chains of nftables and of iptables
(iptables-nft and iptables-legacy, each only where its save command is installed), with their policy and their
accept rules; how many rules each iptables backend holds; and firewalld's state (active, the zones of the
interfaces and sources), read with firewall-cmd or from firewalld's files, without D-Bus.

Every command runs with a time limit and its output is read up to a byte limit; a tool that is missing is no
error but ``status: unknown`` with the reason. Runs on the managed host: standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import shlex
import time

COMMAND_TIMEOUT = 5.0  # seconds per command (nft, iptables-*-save, firewall-cmd)
MAX_OUTPUT_CHARS = 4 * 1024 * 1024  # a ruleset past this is read up to here and said to be cut
MAX_LINES = 200000
MAX_ACCEPTS = 32  # accept rules kept per FORWARD chain
MAX_CHAINS = 32  # forward hook chains kept
MAX_RULE_CHARS = 300
MAX_ZONES = 64
MAX_ZONE_ITEMS = 64
MAX_ZONE_FILE_BYTES = 256 * 1024
MAX_PROC_ENTRIES = 100000
MAX_PROC_SECONDS = 2.0  # the /proc scan for a firewalld process (without firewall-cmd) stops after this long
IPTABLES_BACKENDS = (("nft", "iptables-nft-save"), ("legacy", "iptables-legacy-save"))


def _run(run_command, args):
    """(text, error): the command's stdout, cut at MAX_OUTPUT_CHARS (``cut`` said in the second element when so)."""
    rc, out, err = run_command(list(args), timeout=COMMAND_TIMEOUT)
    if rc != 0:
        return None, ("%s exited %d: %s" % (os.path.basename(args[0]), rc, (err or out or "").strip()[:300])).strip()
    out = out or ""
    if len(out) > MAX_OUTPUT_CHARS:
        return out[:MAX_OUTPUT_CHARS], "cut"
    return out, None


def _short(text):
    text = str(text)
    return text if len(text) <= MAX_RULE_CHARS else text[:MAX_RULE_CHARS] + " ..."


# -- iptables-save ---------------------------------------------------------------------------

_ADDRESS_OPTS = {"-s": "sources", "--source": "sources", "-d": "destinations", "--destination": "destinations"}


def _iptables_rule(line):
    """An ``-A FORWARD ...`` line as {"verdict", "sources", "destinations", "conditions", "text"}."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    rule = {"verdict": None, "target": None, "sources": [], "destinations": [], "conditions": [], "text": _short(line)}
    index = 2  # past -A CHAIN
    while index < len(words):
        word = words[index]
        if word in _ADDRESS_OPTS and index + 1 < len(words):
            rule[_ADDRESS_OPTS[word]].extend(words[index + 1].split(",")[:MAX_ZONE_ITEMS])
            index += 2
        elif word in ("-j", "--jump", "-g", "--goto") and index + 1 < len(words):
            target = words[index + 1]
            rule["target"] = target
            rule["verdict"] = target.lower() if target in ("ACCEPT", "DROP", "REJECT", "RETURN") else ("jump" if word in ("-j", "--jump") else "goto")
            index = len(words)  # what follows is the target's own options (--reject-with ...), no condition
        elif word == "-c" and index + 2 < len(words):
            index += 3  # counters written by iptables-save -c
        else:
            # Anything else (-i, -o, -p, -m conntrack ..., '!' negations) narrows the rule.
            rule["conditions"].append(word)
            index += 1
    rule["conditions"] = rule["conditions"][:MAX_ZONE_ITEMS]
    return rule


def parse_iptables_save(text, cut=False):
    """iptables-save output -> {"rules": total, "tables": {table: count}, "forward": {...} or None, "cut": bool}.
    Only the filter table's FORWARD chain is kept in detail."""
    tables, forward, table = {}, None, None
    for count, line in enumerate(text.splitlines()):
        if count >= MAX_LINES:
            cut = True
            break
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:].strip()[:64]
            if len(tables) < MAX_ZONES:
                tables.setdefault(table, 0)
            continue
        if table is None:
            continue
        if line.startswith(":"):
            parts = line[1:].split()
            if table == "filter" and parts and parts[0] == "FORWARD":
                forward = {"policy": (parts[1] if len(parts) > 1 else "").lower(), "rules": 0, "accepts": [], "accepts_cut": False}
            continue
        if line.startswith("-A "):
            if table in tables:
                tables[table] += 1
            parts = line.split(None, 2)
            if table == "filter" and len(parts) > 1 and parts[1] == "FORWARD" and forward is not None:
                forward["rules"] += 1
                rule = _iptables_rule(line)
                if rule["verdict"] in ("accept", "jump", "goto"):
                    if len(forward["accepts"]) < MAX_ACCEPTS:
                        forward["accepts"].append(rule)
                    else:
                        forward["accepts_cut"] = True
    return {"rules": sum(tables.values()), "tables": tables, "forward": forward, "cut": cut}


def iptables_backends(run_command, which):
    """Per backend (``nft``, ``legacy``): the save command's view, or status unknown with the reason."""
    out = {}
    for name, tool in IPTABLES_BACKENDS:
        path = which(tool)
        if not path:
            out[name] = {"status": "unknown", "reason": "%s is not installed" % tool}
            continue
        text, error = _run(run_command, [path])
        if text is None:
            out[name] = {"status": "unknown", "tool": path, "reason": error}
            continue
        parsed = parse_iptables_save(text, cut=error == "cut")
        out[name] = dict(parsed, status="partial" if parsed["cut"] else "ok", tool=path)
    return out


# -- nftables --------------------------------------------------------------------------------


def _nft_value(value):
    """An address match's right side as CIDR strings, or None when it is not addresses."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and isinstance(value.get("prefix"), dict):
        prefix = value["prefix"]
        return ["%s/%s" % (prefix.get("addr"), prefix.get("len"))]
    if isinstance(value, dict) and isinstance(value.get("range"), list) and len(value["range"]) == 2:
        return None
    if isinstance(value, dict) and isinstance(value.get("set"), list):
        found = []
        for item in value["set"][:MAX_ZONE_ITEMS]:
            items = _nft_value(item)
            if items is None:
                return None
            found.extend(items)
        return found
    return None


_NFT_VERDICTS = ("accept", "drop", "reject", "jump", "goto", "return", "queue")
_NFT_IGNORED = ("counter", "comment", "log", "limit")


def _nft_rule(expr):
    rule = {"verdict": None, "target": None, "sources": [], "destinations": [], "conditions": [], "text": _short(json.dumps(expr, sort_keys=True))}
    for item in expr if isinstance(expr, list) else []:
        if not isinstance(item, dict) or len(item) != 1:
            rule["conditions"].append(_short(item))
            continue
        ((key, value),) = item.items()
        if key in _NFT_IGNORED:
            continue
        if key in _NFT_VERDICTS:
            rule["verdict"] = key
            if isinstance(value, dict):
                rule["target"] = _short(value.get("target"))
            continue
        if key == "match" and isinstance(value, dict) and value.get("op") in ("==", "in"):
            payload = (value.get("left") or {}).get("payload") if isinstance(value.get("left"), dict) else None
            if isinstance(payload, dict) and payload.get("protocol") in ("ip", "ip6") and payload.get("field") in ("saddr", "daddr"):
                addresses = _nft_value(value.get("right"))
                if addresses is not None:
                    rule["sources" if payload["field"] == "saddr" else "destinations"].extend(addresses)
                    continue
        rule["conditions"].append(_short(json.dumps(item, sort_keys=True)))
    rule["conditions"] = rule["conditions"][:MAX_ZONE_ITEMS]
    return rule


def _key(item, name):
    """(family, table, chain) of a chain or rule object, or None when one of them is not a string."""
    key = (item.get("family"), item.get("table"), item.get(name))
    return key if all(isinstance(part, str) for part in key) else None


def parse_nft_json(text):
    """``nft -j list ruleset`` -> {"forward_chains": [...], "tables": n, "cut": bool}: each base chain on the
    forward hook with its family, table, name, priority, policy, rule count and accept (or jump) rules."""
    data = json.loads(text) if text.strip() else {"nftables": []}
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError("no nftables list in nft's JSON")
    chains, order, tables, cut = {}, [], 0, False
    for item in items:
        if not isinstance(item, dict):
            continue
        if "table" in item:
            tables += 1
        chain = item.get("chain")
        if isinstance(chain, dict) and chain.get("hook") == "forward":
            key = _key(chain, "name")
            if key is None or key in chains:
                continue
            if len(order) >= MAX_CHAINS:
                cut = True
                continue
            order.append(key)
            chains[key] = {
                "family": _short(chain.get("family")),
                "table": _short(chain.get("table")),
                "chain": _short(chain.get("name")),
                "priority": chain.get("prio") if isinstance(chain.get("prio"), int) else _short(chain.get("prio")),
                "policy": _short(chain.get("policy") or "accept"),
                "rules": 0,
                "accepts": [],
                "accepts_cut": False,
            }
        rule = item.get("rule")
        if isinstance(rule, dict):
            key = _key(rule, "chain")
            if key in chains:
                entry = chains[key]
                entry["rules"] += 1
                parsed = _nft_rule(rule.get("expr"))
                if parsed["verdict"] in ("accept", "jump", "goto"):
                    if len(entry["accepts"]) < MAX_ACCEPTS:
                        entry["accepts"].append(parsed)
                    else:
                        entry["accepts_cut"] = True
    return {"forward_chains": [chains[key] for key in order], "tables": tables, "cut": cut}


def nftables(run_command, which):
    path = which("nft")
    if not path:
        return {"status": "unknown", "reason": "nft (nftables) is not installed"}
    text, error = _run(run_command, [path, "-j", "list", "ruleset"])
    if text is None:
        return {"status": "unknown", "tool": path, "reason": error}
    if error == "cut":
        return {"status": "unknown", "tool": path, "reason": "nft's ruleset is larger than %d characters; not read" % MAX_OUTPUT_CHARS}
    try:
        parsed = parse_nft_json(text)
    except (ValueError, RecursionError) as exc:  # not JSON, or nested past Python's limit
        return {"status": "unknown", "tool": path, "reason": "nft -j list ruleset did not print JSON: %s" % _short(exc)}
    return dict(parsed, status="partial" if parsed["cut"] else "ok", tool=path)


# -- firewalld -------------------------------------------------------------------------------


def parse_active_zones(text):
    """``firewall-cmd --get-active-zones`` -> {zone: {"interfaces": [...], "sources": [...]}}; a zone line may end
    in ``(default)`` or ``(active)`` (newer firewalld)."""
    zones, current = {}, None
    for count, line in enumerate(text.splitlines()):
        if count >= MAX_LINES or len(zones) > MAX_ZONES:
            break
        if not line.strip():
            continue
        if not line[:1].isspace():
            current = line.split()[0][:64]
            zones.setdefault(current, {"interfaces": [], "sources": []})
            continue
        key, _sep, rest = line.strip().partition(":")
        if current and key in ("interfaces", "sources"):
            zones[current][key] = rest.split()[:MAX_ZONE_ITEMS]
    return zones


_XML_ATTR = re.compile(r"<(interface|source)\s[^>]*?(?:name|address)\s*=\s*[\"']([^\"']{1,128})[\"']")
_XML_TARGET = re.compile(r"<zone\b[^>]*\starget\s*=\s*[\"']([^\"']{1,32})[\"']")


def zone_files(root):
    """Zones from firewalld's files: /etc/firewalld/zones/*.xml (the interfaces and sources set in them, and their
    target), the default zone from /etc/firewalld/firewalld.conf (``DefaultZone=``, else public)."""
    zones = {}
    for path in sorted(glob.glob(os.path.join(root, "etc/firewalld/zones/*.xml")))[:MAX_ZONES]:
        try:
            with open(path, "rb") as handle:
                text = handle.read(MAX_ZONE_FILE_BYTES).decode("utf-8", "replace")
        except (IOError, OSError):
            continue
        entry = {"interfaces": [], "sources": []}
        for kind, value in _XML_ATTR.findall(text)[: 2 * MAX_ZONE_ITEMS]:
            entry["interfaces" if kind == "interface" else "sources"].append(value)
        target = _XML_TARGET.search(text)
        if target:
            entry["target"] = target.group(1)
        zones[os.path.basename(path)[:-4][:64]] = entry
    default = "public"
    try:
        with open(os.path.join(root, "etc/firewalld/firewalld.conf"), "rb") as handle:
            conf = handle.read(MAX_ZONE_FILE_BYTES).decode("utf-8", "replace")
        match = re.search(r"^\s*DefaultZone\s*=\s*(\S{1,64})", conf, re.MULTILINE)
        if match:
            default = match.group(1)
    except (IOError, OSError):
        pass
    return zones, default


def process_running(comm, proc="/proc", budget=MAX_PROC_SECONDS, clock=time.monotonic):
    """Whether a process named ``comm`` runs in this network namespace (firewalld is a Python script: its comm is
    its file name; one in another network namespace, a container's, governs not this host's forwarding). None when
    /proc cannot be listed; a process whose namespace cannot be read counts."""
    try:
        names = os.listdir(proc)
    except (IOError, OSError):
        return None
    try:
        own = os.readlink(os.path.join(proc, "self", "ns", "net"))
    except (IOError, OSError):
        own = None
    deadline = clock() + budget
    for name in names[:MAX_PROC_ENTRIES]:
        if not name.isdigit() or clock() > deadline:
            continue
        try:
            with open(os.path.join(proc, name, "comm"), "rb") as handle:
                if handle.read(64).strip() != comm.encode():
                    continue
        except (IOError, OSError):
            continue
        try:
            if own is not None and os.readlink(os.path.join(proc, name, "ns", "net")) != own:
                continue
        except (IOError, OSError):
            pass
        return True
    return False


def firewalld(run_command, which, root="/", proc="/proc"):
    """firewalld's state: ``active`` (True, False or None when unknown), ``default_zone``, ``zones``."""
    path = which("firewall-cmd")
    if path:
        state, error = _run(run_command, [path, "--state"])
        if state is None and "not running" in (error or ""):
            return {"status": "ok", "source": "firewall-cmd", "active": False}
        if state is None:
            return {"status": "unknown", "source": "firewall-cmd", "active": None, "reason": error}
        if state.strip() != "running":
            return {"status": "ok", "source": "firewall-cmd", "active": False, "state": _short(state.strip())}
        default, error = _run(run_command, [path, "--get-default-zone"])
        zones_text, zones_error = _run(run_command, [path, "--get-active-zones"])
        result = {"status": "ok", "source": "firewall-cmd", "active": True, "default_zone": (default or "").strip()[:64] or None}
        if zones_text is None:
            result.update(status="partial", reason=zones_error, zones={})
        else:
            result["zones"] = parse_active_zones(zones_text)
        return result
    running = process_running("firewalld", proc)
    if running is None:
        return {"status": "unknown", "source": "files", "active": None, "reason": "firewall-cmd is not installed and %s is unreadable" % proc}
    if not running:
        return {"status": "ok", "source": "files", "active": False, "reason": "firewall-cmd is not installed and no firewalld process runs"}
    zones, default = zone_files(root)
    return {
        "status": "ok",
        "source": "files",
        "active": True,
        "default_zone": default,
        "zones": zones,
        "reason": "firewall-cmd is not installed: the zones are those of /etc/firewalld/zones (runtime changes unseen)",
    }


def netfilter(run_command, which, root="/", proc="/proc"):
    """Everything rules forward-blocked and netfilter-backend-mixed read, as the ``netfilter`` fact."""
    if run_command is None:
        reason = {"status": "unknown", "reason": "no command runner"}
        return {"nftables": dict(reason), "iptables": {name: dict(reason) for name, _tool in IPTABLES_BACKENDS}, "firewalld": dict(reason, active=None)}
    return {
        "nftables": nftables(run_command, which),
        "iptables": iptables_backends(run_command, which),
        "firewalld": firewalld(run_command, which, root, proc),
    }


def problems(fact):
    """(source, message) for each tool that is installed yet could not be read (a missing tool is no problem)."""
    found = []
    sources = [("nftables", fact.get("nftables") or {}), ("firewalld", fact.get("firewalld") or {})]
    sources += [("iptables-%s" % name, entry) for name, entry in sorted((fact.get("iptables") or {}).items())]
    for source, entry in sources:
        if entry.get("status") in ("unknown", "partial") and entry.get("tool", entry.get("source") == "firewall-cmd"):
            found.append(("netfilter.%s" % source, entry.get("reason") or "read in part (output cut)"))
    return found


def netfilter_facts(run_command, which, problem):
    """The ``netfilter`` fact; ``problem(source, message)`` is called for each installed tool that could not be read."""
    fact = netfilter(run_command, which)
    for source, message in problems(fact):
        problem(source, message)
    return fact
