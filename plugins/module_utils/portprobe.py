# -*- coding: utf-8 -*-
# Copyright (c) kubeprep.hostnet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Short-lived port listeners, and probes of them from peers (rule node-port-unreachable).

Standard library only: the hostnet_port_probe action plugin runs this file on
a managed host with its Python (``python3 -c``, no AnsiballZ payload, so a
step costs a process start rather than a module run) and reads one JSON line.

- ``listen``: binds every requested port that no socket holds (a port in use is
  never taken: it is reported with the socket that holds it), plus one UDP
  echo port the kernel picks (for the DF probe), then hands the sockets to a
  detached process named ``kubeprep-probe`` that accepts and closes TCP
  connections, answers UDP datagrams of its planned peers, and exits at its
  deadline (or on SIGTERM).
- ``probe``: connects from the node address to each target port at once (one
  thread each), every probe bounded by ``timeout``; UDP ports answer only
  through the listener's echo. A DF datagram of the interface MTU tells a path
  MTU smaller than the link's.

Trust: the request comes on stdin (never on a command line, which any local
user can read). Each listener has a secret ``key`` from the controller, who
knows the plan; the controller gives each planned source a ``tag`` per
destination, an HMAC of the source's node address (and, for "done", of the
planned source list). A listener answers a UDP datagram only when its tag is
right for the address it came from (the planned peers only), and ends early
only on the authenticated "done" of every planned source. An answer echoes the
probe's own random nonce, and counts only from the probed address.
- ``stop``: ends the listener, checked by name and start time (never another
  process that reused its pid).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

NAME = "kubeprep-probe"
ACK = b"kubeprep-hostnet-ack:"
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DO = getattr(socket, "IP_PMTUDISC_DO", 2)
IP_MTU = getattr(socket, "IP_MTU", 14)
_STATES = {"tcp": ("0A",), "udp": None}  # tcp: LISTEN only; udp: any bound socket


# The ports a Kubernetes node's own processes use (rules node-port-unreachable and port-in-use): (protocol, port,
# what uses it). Peers reach NODE_PORTS, ETCD_PORTS (etcd's members) and the CNI's; LOCAL_PORTS serve the node itself.
NODE_PORTS = (("tcp", 6443, "kube-apiserver"), ("tcp", 10250, "kubelet"))
ETCD_PORTS = (("tcp", 2379, "etcd clients"), ("tcp", 2380, "etcd peers"))
LOCAL_PORTS = (
    ("tcp", 10248, "kubelet healthz"),
    ("tcp", 10249, "kube-proxy metrics"),
    ("tcp", 10256, "kube-proxy healthz"),
    ("tcp", 10257, "kube-controller-manager"),
    ("tcp", 10259, "kube-scheduler"),
)
CNI_PORTS = {
    "flannel": (("udp", 8472, "flannel VXLAN"),),
    "canal": (("udp", 8472, "canal (flannel) VXLAN"),),
    "cilium": (("udp", 8472, "cilium VXLAN"),),
    "calico": (("udp", 4789, "calico VXLAN"), ("tcp", 179, "calico BGP")),
    "weave": (("tcp", 6783, "weave control"), ("udp", 6783, "weave data"), ("udp", 6784, "weave data")),
    "unknown": (("udp", 8472, "VXLAN (flannel, canal, cilium)"), ("udp", 4789, "VXLAN (calico)")),
    "other": (),
}
# The CNI agents' ports on the node itself, which peers never reach (rule port-in-use only; never probed). calico's
# felix answers calico-node's liveness and readiness probes (`calico-node -felix-live`, `-felix-ready`, canal's
# httpGet) on localhost:9099 (FelixConfiguration healthPort; kubespray's calico_healthhost) and serves Prometheus
# metrics on 9091 when they are on (prometheusMetricsPort; kubespray's calico_felix_prometheusmetricsenabled).
CNI_LOCAL_PORTS = {
    "calico": (("tcp", 9099, "calico felix health"), ("tcp", 9091, "calico felix metrics")),
    "canal": (("tcp", 9099, "canal's calico felix health"),),
}
MAX_SOCKET_LINES = 200000  # lines of one /proc/net/{tcp,udp}{,6} read at most (a busy host has that many connections)


def sockets(proto, ports, proc="/proc", max_lines=MAX_SOCKET_LINES):
    """The sockets that hold any of ``ports`` (TCP: listening; UDP: bound), IPv4 and IPv6, in file order:
    [{"proto", "port", "address" ('address:port'), "inode" (int; 0 for a socket of the kernel's own)}], and
    whether a file had more than ``max_lines`` lines (those were not read)."""
    wanted = set(ports)
    found, truncated = [], False
    for family in ("", "6"):
        try:
            with open(os.path.join(proc, "net", proto + family), "rb") as handle:
                handle.readline()  # the header
                for count, raw in enumerate(handle):
                    if count >= max_lines:
                        truncated = True
                        break
                    entry = _socket_line(proto, raw.decode("ascii", "replace"), wanted)
                    if entry is not None:
                        found.append(entry)
        except (IOError, OSError):
            continue
    return found, truncated


def _socket_line(proto, line, wanted):
    fields = line.split()
    if len(fields) < 10 or ":" not in fields[1]:
        return None
    address, hexport = fields[1].rsplit(":", 1)
    try:
        port = int(hexport, 16)
        if port not in wanted or (_STATES[proto] and fields[3] not in _STATES[proto]):
            return None
        return {"proto": proto, "port": port, "address": "%s:%d" % (_address(address), port), "inode": int(fields[9])}
    except ValueError:  # not a line the kernel writes: skip it
        return None


def holder(proto, port, proc="/proc"):
    """'address:port' of a socket that holds ``port`` (IPv4 or IPv6), or None."""
    found = sockets(proto, (port,), proc)[0]
    return found[0]["address"] if found else None


def _address(hexaddr):
    raw = bytes(bytearray(int(hexaddr[i : i + 2], 16) for i in range(0, len(hexaddr), 2)))
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return "[%s]" % socket.inet_ntop(socket.AF_INET6, words)


def _start_time(pid):
    """The process's start time (clock ticks after boot), or None when it is gone or a zombie (it has exited;
    only its parent, or an init that reaps slowly, still has to collect it)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (IOError, OSError, IndexError):
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _name_process():
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, ctypes.c_char_p(NAME.encode()), 0, 0, 0)  # PR_SET_NAME
    except Exception:  # pylint: disable=broad-except
        pass  # the name only makes `ps` clearer; stop() checks the pid's start time


PROBE = b"kubeprep-hostnet-probe"
DONE = b"kubeprep-done"
MAX_SOURCES = 1024  # "done" is recorded for this many source addresses at most


def tag(key, kind, source, sources=None):
    """The HMAC the controller gives a planned ``source`` (its node address) for a listener's ``key`` (hex):
    ``kind`` "probe" (its probes are answered) or "done" (with ``sources``, the listener's planned sources)."""
    message = "%s %s" % (kind, source) + ("" if sources is None else " " + ",".join(sources))
    return hmac.new(binascii.unhexlify(key), message.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def nonce():
    return binascii.hexlify(os.urandom(8)).decode("ascii")


def _valid(key, kind, source, token, sources=None):
    try:
        expected = tag(key, kind, source, sources).encode("ascii")
    except (ValueError, TypeError, UnicodeError):
        return False
    return hmac.compare_digest(expected, token)


def answer(data, peer, key, done):
    """The listener's answer to the datagram ``data`` from ``peer`` (address, port): (answer or None, whether every
    planned source has said "done"). ``done``: the source addresses whose "done" was heard (updated).

    PROBE <nonce> <tag> [padding] and DONE <nonce> <tag> <planned sources, comma-separated> are answered with ACK
    <nonce> when the tag is right for the peer's address; anything else (another source, a made-up tag, a source
    list the controller did not sign) gets nothing."""
    parts = data.split(b" ", 4 if data.startswith(DONE + b" ") else 3)
    if len(parts) < 3 or len(parts[1]) > 32 or not key:
        return None, False
    source = peer[0]
    if parts[0] == PROBE:
        if not _valid(key, "probe", source, parts[2]):
            return None, False
        return ACK + parts[1], False
    if parts[0] == DONE and len(parts) == 4:
        try:
            sources = parts[3].decode("ascii").split(",")
        except UnicodeError:
            return None, False
        if not _valid(key, "done", source, parts[2], sources):
            return None, False
        if len(done) < MAX_SOURCES:
            done.add(source)
        return ACK + parts[1], set(sources) <= done
    return None, False


def _serve(sockets, deadline, key=None):
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    done = set()
    while True:
        left = deadline - time.time()
        if left <= 0:
            os._exit(0)
        readable = select.select(sockets, [], [], min(left, 5.0))[0]
        for sock in readable:
            try:
                if sock.type == socket.SOCK_STREAM:
                    conn = sock.accept()[0]
                    # Close with a reset (linger 0): a normal close from this side would leave the port in
                    # TIME_WAIT for a minute, and a service started then without SO_REUSEADDR could not bind it.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                else:
                    data, peer = sock.recvfrom(65535)
                    reply, finished = answer(data, peer, key, done)
                    if reply is None:
                        continue  # not a planned peer's: no echo
                    sock.sendto(reply, peer)
                    # Every peer that probes this host has finished: nothing more will come, so end now
                    # (the audit then need not connect to stop it).
                    if finished:
                        os._exit(0)
            except (IOError, OSError):
                continue


def _detach(sockets, deadline, key=None):
    """Fork twice; the grandchild serves. Returns its pid in the parent."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child:
        os.close(write_end)
        os.waitpid(child, 0)
        data = os.read(read_end, 64)
        os.close(read_end)
        return int(data or b"0")
    try:
        os.close(read_end)
        os.setsid()
        grandchild = os.fork()
        if grandchild:
            os.write(write_end, str(grandchild).encode())
            os._exit(0)
        os.close(write_end)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir("/")
        _name_process()
        _serve(sockets, deadline, key)
    finally:
        os._exit(0)  # never back into the caller's code


def listen(ports, lifetime, key):
    """``ports``: [{"proto", "port", ...}]. Returns what is listening, what is in use and what could not be bound.
    ``key``: the listener's secret (hex, from the controller): it answers UDP datagrams of its planned peers only, and
    ends early once every planned source has said "done" (see answer())."""
    if not key or len(key) < 32:
        raise ValueError("no key for the listener (the request comes from an older controller?)")
    binascii.unhexlify(key)
    result = {"listening": [], "in_use": [], "not_bound": [], "pid": None, "start_time": None, "echo_port": None, "lifetime": lifetime}
    sockets = []
    for item in ports:
        proto, port = item["proto"], int(item["port"])
        entry = dict(item, port=port)
        held = holder(proto, port)
        if held:
            result["in_use"].append(dict(entry, holder=held))
            continue
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        try:
            if proto == "tcp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", port))
            if proto == "tcp":
                sock.listen(128)
        except (IOError, OSError) as exc:
            sock.close()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            if exc.errno == errno.EACCES:
                reason += " (a port below 1024 needs root: run with become)"
            result["not_bound"].append(dict(entry, error=reason))
            continue
        sockets.append(sock)
        result["listening"].append(entry)
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("0.0.0.0", 0))
    result["echo_port"] = echo.getsockname()[1]
    sockets.append(echo)
    pid = _detach(sockets, time.time() + lifetime, key)
    for sock in sockets:
        sock.close()
    result["pid"] = pid
    result["start_time"] = _start_time(pid)
    return result


def stop(pid, start_time, wait=2.0):
    """End the listener ``pid`` if it is still the one listen() started."""
    if not pid or _start_time(pid) is None:
        return {"was_running": False, "stopped": True}
    if _start_time(pid) != start_time:
        return {"was_running": False, "stopped": True, "note": "pid %d is another process now; left alone" % pid}
    os.kill(pid, signal.SIGTERM)
    until = time.time() + wait
    while time.time() < until and _start_time(pid) == start_time:
        time.sleep(0.02)
    if _start_time(pid) == start_time:
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    return {"was_running": True, "stopped": _start_time(pid) != start_time}


_ERRNO_RESULT = {
    errno.ECONNREFUSED: "refused",
    errno.EHOSTUNREACH: "unreachable",
    errno.ENETUNREACH: "unreachable",
    errno.ETIMEDOUT: "timeout",
}


def _outcome(exc):
    if isinstance(exc, socket.timeout):
        return "timeout", None
    code = getattr(exc, "errno", None)
    if code in _ERRNO_RESULT:
        return _ERRNO_RESULT[code], os.strerror(code)
    return "error", os.strerror(code) if code else str(exc)


def _socket(kind, source):
    sock = socket.socket(socket.AF_INET, kind)
    if source:
        sock.bind((source, 0))
    return sock


def probe_tcp(source, address, port, timeout):
    sock = None
    try:
        sock = _socket(socket.SOCK_STREAM, source)
        sock.settimeout(timeout)
        sock.connect((address, port))
        return "open", None
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ECONNRESET:
            # The handshake completed and the peer reset the connection (the listener closes with a reset;
            # its reset can overtake connect()'s return): the port is reachable. A refused SYN is ECONNREFUSED.
            return "open", None
        return _outcome(exc)
    finally:
        if sock is not None:
            sock.close()


def _udp_exchange(sock, payload, token, timeout, tries=2):
    """Send ``payload`` up to ``tries`` times within ``timeout``; "open" on the listener's answer: ACK and this
    exchange's nonce ``token``, from the address the socket is connected to (a spoofed or stray answer is not)."""
    until = time.time() + timeout
    address = sock.getpeername()[0]
    expected = ACK + token.encode("ascii")
    for attempt in range(tries):
        sock.send(payload)
        wait_until = until if attempt == tries - 1 else time.time() + timeout / tries
        while True:
            left = wait_until - time.time()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(65535)
            except socket.timeout:
                break
            if data == expected and peer[0] == address:
                return "open", None
    return "timeout", None


def _probe_payload(token, probe_tag, size=0):
    """PROBE <nonce> <tag>, padded with spaces to ``size`` bytes (the DF probe)."""
    head = PROBE + b" " + token.encode("ascii") + b" " + probe_tag.encode("ascii")
    return head + b" " * max(size - len(head), 0)


def probe_udp(source, address, port, timeout, probe_tag=""):
    sock = None
    try:
        sock = _socket(socket.SOCK_DGRAM, source)
        sock.connect((address, port))  # a connected socket hears ICMP port unreachable as ECONNREFUSED
        token = nonce()
        return _udp_exchange(sock, _probe_payload(token, probe_tag), token, timeout)
    except (IOError, OSError) as exc:
        return _outcome(exc)
    finally:
        if sock is not None:
            sock.close()


def probe_df(source, address, ports, size, timeout, probe_tag=""):
    """A datagram of ``size`` bytes (IP header included) with DF set, to the first of the peer's listener
    ports (UDP) that answers a small datagram."""
    sock = None
    try:
        port, small = None, "no port"
        for candidate in ports:
            if sock is not None:
                sock.close()
            sock = _socket(socket.SOCK_DGRAM, source)
            sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
            sock.connect((address, int(candidate)))
            try:
                token = nonce()
                small = _udp_exchange(sock, _probe_payload(token, probe_tag), token, timeout / len(ports))[0]
            except (IOError, OSError) as exc:
                small = _outcome(exc)[0]
            if small == "open":
                port = int(candidate)
                break
        if port is None:
            return {"result": "unreachable", "detail": "no small datagram was answered either (%s)" % small, "size": size, "port": None}
        try:
            token = nonce()
            result = _udp_exchange(sock, _probe_payload(token, probe_tag, size - 28), token, timeout)[0]
        except (IOError, OSError) as exc:
            if getattr(exc, "errno", None) != errno.EMSGSIZE:
                raise
            result = "too_big"
        detail = None
        if result != "open":
            try:
                detail = "the kernel's path MTU to %s: %d" % (address, sock.getsockopt(socket.IPPROTO_IP, IP_MTU))
            except (IOError, OSError):
                detail = None
            result = "lost" if result == "timeout" else result
        return {"result": "passed" if result == "open" else result, "detail": detail, "size": size, "port": port}
    except (IOError, OSError) as exc:
        outcome, detail = _outcome(exc)
        return {"result": "error" if outcome == "open" else outcome, "detail": detail, "size": size}
    finally:
        if sock is not None:
            sock.close()


def say_done(source, address, ports, done_tag, sources, timeout):
    """Tell a peer's listener this source has finished (the first of ``ports`` that answers); True when it did.
    ``done_tag``: the controller's tag of this source and ``sources`` (the listener's planned sources)."""
    for port in ports:
        sock = None
        try:
            sock = _socket(socket.SOCK_DGRAM, source)
            sock.connect((address, int(port)))
            token = nonce()
            message = b" ".join([DONE, token.encode("ascii"), done_tag.encode("ascii"), ",".join(sources).encode("ascii")])
            if _udp_exchange(sock, message, token, timeout / max(len(ports), 1))[0] == "open":
                return True
        except (IOError, OSError):
            continue
        finally:
            if sock is not None:
                sock.close()
    return False


def _all_at_once(jobs, join_timeout):
    """Run each (function, arguments) in a thread of its own; each thread is waited for at most ``join_timeout``
    seconds. Returns their results in order, None for one that did not end in time."""
    results = [None] * len(jobs)

    def work(index, func, args):
        results[index] = func(*args)

    threads = [threading.Thread(target=work, args=(i, func, args)) for i, (func, args) in enumerate(jobs)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(join_timeout)
    return results


def probe(source, targets, df, timeout, done=()):
    """Every probe at once. ``targets``: [{"host", "address", "proto", "port", ...}];
    ``df``: [{"host", "address", "ports", "size", "tag"}]; ``done``: [{"host", "address", "ports", "tag", "sources"}],
    sent when the probes are over (``tag``: the controller's, see tag()). Returns (results, df results, seconds,
    done results)."""
    started = time.time()

    def port_probe(target):
        target = dict(target)
        probe_tag = target.pop("tag", "")
        began = time.time()
        if target["proto"] == "tcp":
            outcome, detail = probe_tcp(source, target["address"], int(target["port"]), timeout)
        else:
            outcome, detail = probe_udp(source, target["address"], int(target["port"]), timeout, probe_tag)
        return dict(target, result=outcome, detail=detail, ms=int((time.time() - began) * 1000))

    def df_probe(target):
        target = dict(target)
        probe_tag = target.pop("tag", "")
        return dict(target, **probe_df(source, target["address"], target["ports"], int(target["size"]), timeout, probe_tag))

    answers = _all_at_once([(port_probe, (t,)) for t in targets] + [(df_probe, (t,)) for t in df], timeout * 3 + 1)
    late = "the probe did not end in time"
    bare = [{k: v for k, v in t.items() if k != "tag"} for t in targets + list(df)]
    results = [a or dict(t, result="error", detail=late) for a, t in zip(answers[: len(targets)], bare[: len(targets)])]
    df_results = [a or dict(t, result="error", detail=late) for a, t in zip(answers[len(targets) :], bare[len(targets) :])]
    seconds = round(time.time() - started, 3)

    def done_message(target):
        acked = say_done(source, target["address"], target["ports"], target["tag"], target["sources"], timeout)
        return {"host": target["host"], "acked": acked}

    acked = _all_at_once([(done_message, (t,)) for t in done], timeout + 1)
    return results, df_results, seconds, [a or {"host": t["host"], "acked": False} for a, t in zip(acked, done)]


def run(request):
    """One step; the JSON-able answer."""
    step = request["step"]
    try:
        if step == "listen":
            return listen(request["ports"], float(request["lifetime"]), request.get("key"))
        if step == "probe":
            args = (request.get("source"), request["targets"], request.get("df") or [], float(request["timeout"]), request.get("done") or [])
            results, df_results, seconds, done = probe(*args)
            return {"results": results, "df": df_results, "seconds": seconds, "done": done}
        if step == "stop":
            return stop(int(request.get("pid") or 0), request.get("start_time"))
    except (IOError, OSError, ValueError, TypeError, KeyError) as exc:
        return {"failed": True, "msg": "%s: %s" % (step, exc)}
    return {"failed": True, "msg": "unknown step %r" % step}


MAX_REQUEST = 8 << 20


def main(request=None):
    """One step; the request is the first line of stdin (never on the command line: any local user reads that)."""
    if request is None:
        try:
            request = json.loads(sys.stdin.readline(MAX_REQUEST))
        except ValueError as exc:
            request = {"step": None, "error": "the request is not JSON: %s" % exc}
        if not isinstance(request, dict):
            request = {"step": None, "error": "the request is not a JSON object"}
    answer_ = {"failed": True, "msg": request["error"]} if request.get("error") else run(request)
    sys.stdout.write(json.dumps(answer_) + "\n")
    sys.stdout.flush()
