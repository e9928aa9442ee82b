#!/usr/bin/env python3
"""A dual-stack listener on [::]:6443, like kube-apiserver's `Serving securely on [::]:6443`."""

import os
import socket

if os.fork():
    os._exit(0)
os.setsid()
sock = socket.socket(socket.AF_INET6)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
sock.bind(("::", 6443))
sock.listen(64)
while True:
    conn, _ = sock.accept()
    conn.close()
