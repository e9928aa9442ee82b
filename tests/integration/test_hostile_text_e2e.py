"""Host text that talks to the terminal, end to end: test hosts whose /etc/hosts comment carries escape
sequences (clear screen, window title, OSC 52 clipboard, C1 CSI, a bidi override), whose search domain and
nsswitch.conf hosts line carry escape sequences and newline-like bytes (VT, NEL) and a forged line,
whose kernel hostname holds a newline, a Markdown fence and an <img onerror>, and two of which share a
machine-id with an escape sequence in it. The audit playbook runs as a user runs it (the progress callback
on); its console has no raw control character, the JUnit parses with xml.etree, the Markdown renders
(CommonMark, raw HTML allowed) without markup from a host, the HTML holds only its own, and the JSON keeps
the host text as data."""

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from conftest import VENV_BIN, ansible_env, load_report

OSC52 = b"\x1b]52;c;ZWNobyBvd25lZA==\x07"
HOSTS_COMMENT = b"# \x1b[2J\x1b[H\x1b]0;owned\x07" + OSC52 + b"\xc2\x9b31m\xe2\x80\xae"
HOSTS = b"127.0.0.1 localhost-v4\n::1 localhost localhost.localdomain " + HOSTS_COMMENT + b"\n"
# glibc reads resolv.conf and nsswitch.conf lines up to "\n" only: VT and NEL stay inside the line. (No "[" on
# the nsswitch line: glibc takes it for an action, rejects the file, and sshd then drops every connection.)
RESOLV = b"nameserver 127.0.0.1\nsearch corp\x1b]0;dns\x07.example odd\xc2\x85x\x0bnext.example\noptions timeout:30 attempts:5\n"
NSSWITCH_HOSTS = b"hosts:          dns files # \x1b]0;ns\x07\x0bOK odd-dns: no findings\xc2\x85\n"
HOSTNAME = "n\n```\n# pwned\n<img src=x onerror=alert(1)>"
MACHINE_ID = b"0123456789abcdef\x1b]0;id\x07\n"
NAMES = ["esc-hosts", "nl-name", "odd-dns"]
WRITE = "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))"
READ = "import sys; print(open(sys.argv[1], 'rb').read().hex())"
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff]")


def write(fleet, host, path, data):
    fleet.exec(host, ["python3", "-c", WRITE, path, data.hex()])


def read(fleet, host, path):
    return bytes.fromhex(fleet.exec(host, ["python3", "-c", READ, path]).stdout.strip())


@pytest.fixture(scope="module")
def hostile(make_fleet, tmp_path_factory):
    fleet = make_fleet(NAMES)
    write(fleet, "esc-hosts", "/etc/hosts", HOSTS)
    fleet.exec("esc-hosts", ["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6"])
    fleet.exec("nl-name", ["python3", "-c", "import socket, sys; socket.sethostname(sys.argv[1])", HOSTNAME])
    for host in ("esc-hosts", "nl-name"):
        write(fleet, host, "/etc/machine-id", MACHINE_ID)
    write(fleet, "odd-dns", "/etc/resolv.conf", RESOLV)
    nsswitch = read(fleet, "odd-dns", "/etc/nsswitch.conf")
    write(fleet, "odd-dns", "/etc/nsswitch.conf", re.sub(rb"(?m)^hosts:.*\n", lambda _m: NSSWITCH_HOSTS, nsswitch))
    seen = {
        # The host text is really there, raw, as a client on the host reads it.
        "hosts": read(fleet, "esc-hosts", "/etc/hosts"),
        "resolv": read(fleet, "odd-dns", "/etc/resolv.conf"),
        "nsswitch": read(fleet, "odd-dns", "/etc/nsswitch.conf"),
        "hostname": fleet.exec("nl-name", ["python3", "-c", "import socket; print(repr(socket.gethostname()))"]).stdout.strip(),
    }
    out = str(tmp_path_factory.mktemp("hostile-text"))
    env = ansible_env(fleet, {"ANSIBLE_CALLBACKS_ENABLED": "kubeprep.hostnet.hostnet_progress"})
    # Bytes, not text: universal newlines would turn a raw CR into a newline and hide it.
    proc = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "-i", os.path.join(fleet.state_dir, "inventory.ini"), "kubeprep.hostnet.audit"]
        + ["-e", "hostnet_report_dir=" + out],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600,
        check=False,
    )
    seen["console"] = proc.stdout.decode("utf-8", "replace")
    seen["rc"] = proc.returncode
    assert os.path.exists(os.path.join(out, "hostnet-report.json")), seen["console"]
    seen["report"] = load_report(out)
    for name in ("md", "junit.xml", "html"):
        with open(os.path.join(out, "hostnet-report." + name), "rb") as handle:
            seen[name] = handle.read()
    return seen


def findings(seen, host, rule):
    return [f for f in seen["report"]["hosts"][host]["findings"] if f["id"] == rule]


def test_the_hosts_really_hold_the_text(hostile):
    assert HOSTS_COMMENT in hostile["hosts"] and b"\xc2\x85x\x0bnext" in hostile["resolv"], hostile
    assert NSSWITCH_HOSTS in hostile["nsswitch"]
    assert hostile["hostname"] == repr(HOSTNAME)


def test_the_json_keeps_host_text_as_data(hostile):
    (local,) = findings(hostile, "esc-hosts", "localhost-unreachable")
    # An /etc/hosts line's `raw` fact shows its control characters escaped at the source (glibc splits at some of
    # them, so the evidence must show where: docs/facts.md); every other character of the comment is kept.
    shown = re.sub("[\x00-\x08\x0b-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), HOSTS_COMMENT.decode())
    assert any(shown in e for e in local["evidence"]), (shown, local)
    (name,) = findings(hostile, "nl-name", "hostname-invalid")
    assert HOSTNAME in name["data"]["names"], name
    (dns,) = findings(hostile, "odd-dns", "dns-before-files")
    assert any("dns files # \x1b]0;ns\x07\x0bOK odd-dns: no findings" in e for e in dns["evidence"]), dns
    (slow,) = findings(hostile, "odd-dns", "slow-resolver")
    assert any("search: corp\x1b]0;dns\x07.example odd" in e for e in slow["evidence"]), slow
    (dup,) = [f for f in hostile["report"]["fleet"]["findings"] if f["id"] == "duplicate-node-identity" and f["data"]["key"] == "machine_id"]
    assert dup["data"]["value"] == "0123456789abcdef\x1b]0;id\x07" and dup["hosts"] == ["esc-hosts", "nl-name"], dup


def test_console_has_no_raw_control_character(hostile):
    console = hostile["console"]
    assert "hostnet audit: 3 host(s)" in console and "[hostnet 3/3" in console, console
    assert sorted({"U+%04X" % ord(c) for c in UNSAFE.findall(console)}) == [], console
    # What the operator sees instead: the escapes, and no forged line.
    assert "# \\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\x1b]52;c;ZWNobyBvd25lZA==\\x07\\x9b31m\\u202e" in console
    assert "dns files # \\x1b]0;ns\\x07\\x0bOK odd-dns: no findings" in console
    assert "the kernel's hostname n\\n```\\n# pwned\\n<img src=x onerror=alert(1)>" in console
    assert "search: corp\\x1b]0;dns\\x07.example odd" in console
    assert "machine_id 0123456789abcdef\\x1b]0;id\\x07 is shared by esc-hosts, nl-name" in console
    assert not re.search(r"(?m)^\s*OK odd-dns", console)


def test_junit_parses_and_shows_the_text(hostile):
    tree = ET.fromstring(hostile["junit.xml"])
    messages = {(c.get("classname"), c.get("name")): [f.get("message") for f in c.iter("failure")] for c in tree.iter("testcase")}
    assert any("the kernel's hostname n\\n```\\n# pwned" in m for m in messages[("nl-name", "hostname-invalid")]), messages
    (failure,) = [f for c in tree.iter("testcase") if c.get("classname") == "esc-hosts" and c.get("name") == "localhost-unreachable" for f in c.iter("failure")]
    assert "\\x1b]52;c;ZWNobyBvd25lZA==\\x07" in failure.text


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(name for name, _value in attrs)


def tags(html):
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def test_markdown_renders_without_markup_from_hosts(hostile):
    from markdown_it import MarkdownIt

    text = hostile["md"].decode("utf-8")
    page = tags(MarkdownIt("commonmark", {"html": True}).enable("table").render(text))
    count = sum(len(h["findings"]) for h in hostile["report"]["hosts"].values()) + len(hostile["report"]["fleet"]["findings"])
    assert set(page.tags) <= {"h1", "h2", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "strong"} and not page.attrs, page.tags
    assert page.tags.count("h1") == 1 and page.tags.count("h2") == count and page.tags.count("pre") == count
    assert UNSAFE.findall(text) == []


def test_html_holds_only_its_own_markup(hostile):
    text = hostile["html"].decode("utf-8")
    assert UNSAFE.findall(text.replace("\n", "")) == []
    page = tags(text)
    assert "img" not in page.tags and page.tags.count("script") == 1 and not [a for a in page.attrs if a.startswith("on")]
