"""A client as the incidents' users saw it: resolve NAME, connect to the first address.

Prints one line: CONNECTED <addr> <resolve_s> | FAIL <addr> <ERRNO> <resolve_s> | RESOLVE-FAIL <error> <s>.
Exits 0 always: the caller judges the line.
"""

import errno
import socket
import sys
import time

name, port = sys.argv[1], int(sys.argv[2])
start = time.monotonic()
try:
    infos = socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM)
except socket.gaierror as exc:
    print("RESOLVE-FAIL %s %.3f" % (exc.strerror.replace(" ", "_"), time.monotonic() - start))
    sys.exit(0)
resolved = time.monotonic() - start
family, kind, proto, _canon, address = infos[0]
sock = socket.socket(family, kind, proto)
sock.settimeout(3)
try:
    sock.connect(address)
    print("CONNECTED %s %.3f" % (address[0], resolved))
except OSError as exc:
    print("FAIL %s %s %.3f" % (address[0], errno.errorcode.get(exc.errno, exc.errno), resolved))
