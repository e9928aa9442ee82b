# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded DNS A lookups straight to a nameserver (no resolver library, no search list).

Used to see what ``localhost.<search domain>`` answers from DNS (rule
search-domain-answers-localhost). Standard library only (runs on managed hosts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import struct
import threading
import time


def build_query(name, query_id):
    labels = [label for label in name.rstrip(".").split(".") if label]
    if not labels or any(len(label) > 63 for label in labels):
        raise ValueError("not a DNS name: %r" % name)
    qname = b"".join(struct.pack("B", len(label)) + label.encode("ascii") for label in labels) + b"\0"
    return struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)  # RD; QTYPE A, QCLASS IN


def _skip_name(data, offset):
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def _is_response_to(data, query_id):
    """Whether a datagram claims to answer ``query_id`` (its id and QR bit), before it is parsed."""
    return len(data) >= 4 and struct.unpack("!H", data[:2])[0] == query_id and bool(data[2] & 0x80)


def parse_answer(data, query_id):
    """-> (rcode name, [IPv4 addresses]) of a response to ``query_id``."""
    if len(data) < 12:
        raise ValueError("short DNS response")
    rid, flags, qdcount, ancount, _ns, _ar = struct.unpack("!HHHHHH", data[:12])
    if rid != query_id or not flags & 0x8000:
        raise ValueError("not the response to this query")
    rcode = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(flags & 0xF, "RCODE%d" % (flags & 0xF))
    offset = 12
    for _q in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _a in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _rclass, _ttl, length = struct.unpack("!HHIH", data[offset : offset + 10])
        offset += 10
        if offset + length > len(data):
            raise ValueError("DNS answer record runs past the end of the datagram")
        if rtype == 1 and length == 4:
            addresses.append(socket.inet_ntoa(data[offset : offset + 4]))
        offset += length
    return rcode, addresses


def query_a(name, server, timeout, port=53):
    """One A query over UDP; {"name", "server", "status" (answered, timeout, error), "rcode", "addresses", "error"}.

    ``timeout`` bounds the whole lookup, however many datagrams arrive: datagrams from another
    address or with another id are dropped without extending it. The first datagram that claims to
    answer this query (its id, from the server) ends the query: answered if it parses, else an error
    (a valid answer after it is not waited for).
    """
    result = {"name": name, "server": server, "status": "error", "rcode": None, "addresses": []}
    query_id = struct.unpack("!H", os.urandom(2))[0]
    deadline = time.monotonic() + timeout
    try:
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
    except (OSError, socket.error) as exc:
        result["error"] = str(exc)
        return result
    try:
        query = build_query(name, query_id)
        sock.connect((server, port))  # the kernel drops datagrams from any other address or port
        sock.send(query)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            sock.settimeout(remaining)
            data = sock.recv(4096)
            if not _is_response_to(data, query_id):
                continue  # a stray datagram (another id, or a query): the deadline still holds
            try:
                result["rcode"], result["addresses"] = parse_answer(data, query_id)
            except (ValueError, IndexError, struct.error) as exc:
                result["error"] = "malformed DNS response from %s: %s" % (server, exc or type(exc).__name__)
                return result
            result["status"] = "answered"
            return result
    except socket.timeout:
        result["status"] = "timeout"
    except (OSError, socket.error, ValueError) as exc:
        result["error"] = str(exc)
    finally:
        sock.close()
    return result


def query_all(names, server, timeout, port=53):
    """The queries in parallel threads; returns in ``names`` order within about ``timeout`` seconds in all."""
    results = [None] * len(names)

    def work(index, name):
        results[index] = query_a(name, server, timeout, port)

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(names)]
    deadline = time.monotonic() + timeout + 0.5
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [r or {"name": n, "server": server, "status": "timeout", "rcode": None, "addresses": []} for r, n in zip(results, names)]
