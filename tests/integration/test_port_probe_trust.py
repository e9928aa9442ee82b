"""The port probes trust only what the plan says, on real test hosts:
- a forged "done" datagram (even with the listener's token, which an attacker could read) does not end a
  listener: it ends only on "done" from the node addresses of its planned sources (item 11);
- no secret of a listener is on a command line (``/proc/PID/cmdline`` is readable by any local user);
- the listeners answer planned peers only: an intruder's datagram gets no echo (item 13);
- a spoofed acknowledgement from a firewalled host does not make its UDP port look open, nor its listener look
  ended: the finding is there and the stop step ends the listener (item 12)."""

import base64
import json
import os
import re
import subprocess
import time
import zlib

import pytest

from conftest import load_report, run_playbook

PROBED = ["a1", "a2", "a3"]
# The attacker: for each listener, a forged "done" in the old form (the listener's token, a made-up source
# list) and in the form the plan's sources use (with a made-up tag), from an address no plan names; then probe
# datagrams to every UDP port of the listener, counting the answers.
FORGER = r"""
import json, os, socket, sys, time
listeners = json.loads(sys.argv[1])
answers = 0
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.3)
for listen in listeners:
    ports = [i["port"] for i in listen["listening"] if i["proto"] == "udp"] + [listen["echo_port"]]
    for port in ports:
        for payload in (
            b"kubeprep-done %s x x" % listen["token"].encode(),
            b"kubeprep-done %s %s %s" % (os.urandom(8).hex().encode(), os.urandom(16).hex().encode(), listen["address"].encode()),
        ):
            sock.sendto(payload, (listen["address"], port))
for listen in listeners:
    ports = [i["port"] for i in listen["listening"] if i["proto"] == "udp"] + [listen["echo_port"]]
    for port in ports:
        for payload in (b"kubeprep-hostnet-probe", b"kubeprep-hostnet-probe %s %s" % (os.urandom(8).hex().encode(), os.urandom(16).hex().encode())):
            sock.sendto(payload, (listen["address"], port))
            try:
                while True:
                    sock.recvfrom(2048)
                    answers += 1
            except socket.timeout:
                pass
time.sleep(0.5)
print(json.dumps({"answers": answers}))
"""
STEPS = """
- hosts: probed
  gather_facts: false
  tasks:
    - name: Gather, and start the listeners as the audit does
      kubeprep.hostnet.hostnet_facts:
        port_probe_listen: {cni: calico}

- hosts: intruder
  gather_facts: false
  tasks:
    - name: Forge done datagrams and probe the listeners from an address no plan names
      ansible.builtin.command:
        argv:
          - python3
          - -c
          - "{{ lookup('file', forger) }}"
          - "{{ groups['probed'] | map('extract', hostvars) | map(attribute='ansible_facts')
                | map(attribute='hostnet_probe_listen') | zip(groups['probed'] | map('extract', hostvars, 'ansible_host'))
                | map('combine_address') | list | to_json }}"
      register: forged
      changed_when: false

- hosts: probed
  gather_facts: false
  tasks:
    - name: Plan
      kubeprep.hostnet.hostnet_port_probe:
        step: plan
      run_once: true
      register: plan
    - name: Probe
      kubeprep.hostnet.hostnet_port_probe:
        step: probe
        plan: "{{ plan.plan }}"
    - name: Stop
      kubeprep.hostnet.hostnet_port_probe:
        step: stop
      register: stopped
    - name: Save what happened
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'forged': hostvars['intruder'].forged.stdout | from_json,
                      'results': dict(groups['probed'] | zip(groups['probed'] | map('extract', hostvars, ['ansible_facts', 'hostnet_probe_results']))),
                      'stop': dict(groups['probed'] | zip(groups['probed'] | map('extract', hostvars, 'stopped')))} | to_json }}"
        mode: "0644"
      delegate_to: localhost
      run_once: true
"""
# combine_address: [listener report, address] -> the report with the address (a filter plugin of this test).
FILTER = """
class FilterModule(object):
    def filters(self):
        return {"combine_address": lambda pair: dict(pair[0], address=pair[1])}
"""


@pytest.fixture(scope="module")
def fleet(make_fleet):
    fleet = make_fleet(PROBED + ["intruder"])
    inventory = os.path.join(fleet.state_dir, "inventory.ini")
    with open(inventory) as handle:
        text = handle.read()
    with open(inventory, "w") as handle:
        handle.write(text + "\n[probed]\n" + "\n".join(PROBED) + "\n")
    return fleet


def test_forged_done_and_intruders_get_nothing_and_end_no_listener(fleet, tmp_path):
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins" / "combine.py").write_text(FILTER)
    (tmp_path / "forger.py").write_text(FORGER)
    (tmp_path / "steps.yml").write_text(STEPS)
    out = tmp_path / "out.json"
    result = run_playbook(fleet, str(tmp_path / "steps.yml"), "-e", "forger=%s" % (tmp_path / "forger.py"), "-e", "out=%s" % out)
    assert result.returncode == 0, result.stdout[-4000:]
    seen = json.loads(out.read_text())
    # Item 11: every listener still ran when its peers probed it, and when the stop step came.
    not_open = [(s, r["host"], r["proto"], r["port"], r["result"]) for s, res in seen["results"].items() for r in res["results"] if r["result"] != "open"]
    assert not_open == [], not_open
    assert all(len(res["results"]) == 2 * 4 for res in seen["results"].values()), seen["results"]  # 2 peers x 4 calico ports
    assert all(res["done"] and all(d["acked"] for d in res["done"]) for res in seen["results"].values()), seen["results"]
    # Item 13: the listeners answer their planned peers only.
    assert seen["forged"]["answers"] == 0, seen["forged"]


def _secrets_in(cmdline):
    """The text of a command line, with any zlib+base64 blob in it (how a step's code travels) decoded."""
    text = cmdline.decode("utf-8", "replace")
    for blob in re.findall(r"b64decode\('([A-Za-z0-9+/=]+)'\)", text):
        text += zlib.decompress(base64.b64decode(blob)).decode("utf-8", "replace")
    return text


@pytest.mark.parametrize("pipelining", ["True", "False"])  # the request goes on stdin either way
def test_no_listener_secret_is_on_a_command_line(fleet, tmp_path, pipelining):
    playbook = tmp_path / "listen.yml"
    playbook.write_text(
        """
- hosts: a1
  gather_facts: false
  tasks:
    - kubeprep.hostnet.hostnet_port_probe: {step: listen, lifetime: 30}
    - ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ ansible_facts.hostnet_probe_listen | to_json }}"
        mode: "0644"
      delegate_to: localhost
"""
    )
    out = tmp_path / "listen.json"
    result = run_playbook(fleet, str(playbook), "-e", "out=%s" % out, env={"ANSIBLE_PIPELINING": pipelining})
    assert result.returncode == 0, result.stdout[-3000:]
    listen = json.loads(out.read_text())
    assert listen["listening"] and listen["pid"], listen
    try:
        cmdline = fleet.exec("a1", ["cat", "/proc/%d/cmdline" % listen["pid"]]).stdout.encode()
        assert cmdline, "the listener is not running"
        text = _secrets_in(cmdline)
        secrets = [listen["token"]] + ([listen["key"]] if listen.get("key") else [])
        assert not [s for s in secrets if s in text], text[-400:]
    finally:
        fleet.exec("a1", ["kill", str(listen["pid"])], check=False)


# Item 12: a1 drops every UDP datagram coming in; a spoofer on a1 answers blindly, from a1's address and each UDP
# port a1 has bound, to every ephemeral port the probers can use (their range narrowed to 64 ports).
SPOOFER = r"""
import os, socket, struct, sys, time
me, peers = sys.argv[1], sys.argv[2].split(",")
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def bound():
    ports = set()
    with open("/proc/net/udp") as handle:
        for line in handle.read().splitlines()[1:]:
            ports.add(int(line.split()[1].rsplit(":", 1)[1], 16))
    return ports
def packet(src, sport, dst, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp
print("up", flush=True)
until = time.time() + 120
while time.time() < until:
    for sport in bound():
        for peer in peers:
            for dport in range(50000, 50064):
                for payload in (b"kubeprep-hostnet-ack:kubeprep-hostnet-probe", b"kubeprep-hostnet-ack:kubeprep-hostnet-small"):
                    try:
                        raw.sendto(packet(me, sport, peer, dport, payload), (peer, 0))
                    except OSError:
                        pass
    time.sleep(0.1)
"""


def in_host(fleet, name, args):
    return ["nsenter", "--target", str(fleet.sshd_pid(fleet.host(name))), "--net", "--mount", "--uts", "--"] + args


def test_spoofed_acks_neither_open_a_firewalled_port_nor_skip_the_stop(fleet, tmp_path):
    fleet.exec(
        "a1",
        ["nft", "-f", "-"],
        input_text="table inet kubeprep_trust {\n chain input {\n type filter hook input priority 0;\n iif lo accept\n meta l4proto udp drop\n }\n}\n",
    )
    for name in ("a2", "a3"):
        fleet.exec(name, ["sh", "-c", "echo '50000 50063' > /proc/sys/net/ipv4/ip_local_port_range"])
    peers = ",".join(fleet.host(n)["address"] for n in ("a2", "a3"))
    spoofer = subprocess.Popen(in_host(fleet, "a1", ["python3", "-c", SPOOFER, fleet.host("a1")["address"], peers]), stdout=subprocess.PIPE, text=True)
    try:
        assert spoofer.stdout.readline().strip() == "up"
        report_dir = tmp_path / "report"
        result = run_playbook(
            fleet,
            "kubeprep.hostnet.audit",
            "-l",
            ",".join(PROBED),
            "-e",
            "hostnet_probe_ports=true",
            "-e",
            "hostnet_cni=calico",
            "-e",
            "hostnet_probe_peers=2",
            "-e",
            "hostnet_report_dir=%s" % report_dir,
            "-e",
            "hostnet_fail_on=never",
        )
        # ps sees every test host's processes (they share the PID namespace): a peer's listener that heard every
        # "done" ends itself a moment after the play, so wait for that (a listener nobody stops lives far longer).
        until = time.monotonic() + 5
        while True:
            left = fleet.exec("a1", ["ps", "-C", "kubeprep-probe", "-o", "pid=,stat="], check=False).stdout
            if not [line for line in left.splitlines() if line.split() and not line.split()[1].startswith("Z")] or time.monotonic() > until:
                break
            time.sleep(0.2)
    finally:
        spoofer.kill()
        spoofer.wait()
        fleet.exec("a1", ["nft", "delete", "table", "inet", "kubeprep_trust"], check=False)
        for name in ("a2", "a3"):
            fleet.exec(name, ["sh", "-c", "echo '32768 60999' > /proc/sys/net/ipv4/ip_local_port_range"])
    assert result.returncode == 0, result.stdout[-4000:]
    report = load_report(str(report_dir))
    failures = [
        (f["source"], f["proto"], f["port"], f["result"])
        for finding in report["hosts"]["a1"]["findings"]
        if finding["id"] == "node-port-unreachable"
        for f in (finding.get("data") or {}).get("failures") or []
    ]
    assert {(s, "udp", 4789, "timeout") for s in ("a2", "a3")} <= set(failures), failures
    # The listeners' keys stay in the controller's facts: no report file carries one.
    for path in report_dir.rglob("*"):
        if path.is_file():
            assert not re.search(r'"key": ?"[0-9a-f]{32}"', path.read_text(errors="replace")), path
    # The listener did not hear "done" (UDP is dropped): the stop step ended it, none is left.
    assert [line for line in left.splitlines() if line.split() and not line.split()[1].startswith("Z")] == [], left
