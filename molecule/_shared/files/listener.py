"""A dual-stack listener on [::]:6443, like kube-apiserver's `Serving securely on [::]:6443`.

Binds before it daemonises, so the port is open when the script returns. It stands in for
kube-apiserver, and is named so (its comm): rule port-in-use takes it for the cluster's own.
"""

import os
import signal
import socket

with open("/proc/self/comm", "w") as comm:
    comm.write("kube-apiserver")
sock = socket.socket(socket.AF_INET6)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
sock.bind(("::", 6443))
sock.listen(64)
# The SSH session ends when the parent exits; its SIGHUP must not reach the child
# in the moment before setsid() (a race that killed the listener in CI once).
signal.signal(signal.SIGHUP, signal.SIG_IGN)
if os.fork():
    os._exit(0)
os.setsid()
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(devnull, fd)
while True:
    conn, _peer = sock.accept()
    conn.close()
