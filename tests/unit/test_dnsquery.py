"""The DNS client against a local UDP responder on 127.0.0.1 that misbehaves on purpose.

The lookup deadline is checked as a structural property (how many datagrams the responder had
sent when the client gave up), never as a wall-clock assert."""

import socket
import struct
import threading

from ansible_collections.kubeprep.hostnet.plugins.module_utils import dnsquery


class Responder(threading.Thread):
    """Receives one query, then runs ``script(sock, peer, query_id)``; counts the datagrams it sends."""

    def __init__(self, script):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.sent = 0
        self.client_done = threading.Event()

    def send(self, data, peer):
        self.sock.sendto(data, peer)
        self.sent += 1

    def run(self):
        try:
            query, peer = self.sock.recvfrom(4096)
            self.script(self, peer, struct.unpack("!H", query[:2])[0], query)
        finally:
            self.sock.close()


def answer(query, query_id, address="10.213.1.250"):
    """A well-formed NOERROR answer with one A record, the question copied from the query."""
    question = query[12:]
    header = struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0)
    record = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
    return header + question + record


def run(script, timeout):
    responder = Responder(script)
    responder.start()
    result = dnsquery.query_a("localhost.corp.example", "127.0.0.1", timeout, port=responder.port)
    sent_when_returned = responder.sent
    responder.client_done.set()
    responder.join(15)
    return result, sent_when_returned


def test_wrong_id_datagrams_do_not_stretch_the_lookup():
    total = 20  # one every 0.5 s: the responder would keep a per-datagram timeout alive for 10 s

    def wrong_ids(responder, peer, query_id, query):
        for _n in range(total):
            if responder.client_done.wait(0.5):
                return
            responder.send(answer(query, query_id ^ 0xFFFF), peer)

    result, sent = run(wrong_ids, timeout=1.0)
    assert result["status"] == "timeout" and result["addresses"] == []
    # The whole lookup is bounded by its 1 s timeout: the client gave up long before the responder's
    # last datagram (a timeout per datagram only ends once the responder falls silent, after all 20).
    assert sent < total // 2, sent


def test_malformed_answer_with_the_right_id_ends_the_query():
    def malformed_then_valid(responder, peer, query_id, query):
        # Right id and QR bit, one answer announced, the record cut short.
        responder.send(struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0) + query[12:] + b"\xc0\x0c\x00\x01", peer)
        responder.send(answer(query, query_id, "10.9.9.9"), peer)

    result, _sent = run(malformed_then_valid, timeout=2.0)
    assert result["status"] == "error"
    assert result["addresses"] == [] and result["rcode"] is None
    assert "malformed" in result["error"]


def test_valid_answer_after_strays_is_taken():
    def strays_then_valid(responder, peer, query_id, query):
        responder.send(b"\x00", peer)  # too short to be anything
        responder.send(answer(query, query_id ^ 1), peer)  # another id
        responder.send(answer(query, query_id), peer)

    result, _sent = run(strays_then_valid, timeout=2.0)
    assert result["status"] == "answered"
    assert result["rcode"] == "NOERROR" and result["addresses"] == ["10.213.1.250"]


def test_answer_record_past_the_end_is_malformed():
    query = dnsquery.build_query("localhost.corp.example", 7)
    data = answer(query, 7)[:-2]  # RDLENGTH says 4, two bytes follow
    try:
        dnsquery.parse_answer(data, 7)
    except ValueError as exc:
        assert "past the end" in str(exc)
    else:
        raise AssertionError("a cut record parsed")
