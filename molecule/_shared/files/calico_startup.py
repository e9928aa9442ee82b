"""What calico-node v2.6 does at startup against an etcd (v2 API) datastore:
for every node, one GET per key, sequentially, on one kept-alive connection.

calico_startup.py URL NODES [DEADLINE_SECONDS]
Prints "<seconds> <gets> <complete|deadline>". Also used to load the keys:
calico_startup.py --load URL NODES
"""

import http.client
import json
import sys
import time
from urllib.parse import urlsplit

KEYS = ("ip_addr_v4", "network_v4", "ip_addr_v6", "network_v6", "as_num", "orchestrator_refs")


def connection(url):
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def key_path(node, key):
    return "/v2/keys/calico/bgp/v1/host/node-%03d/%s" % (node, key)


def load(url, nodes):
    conn = connection(url)
    for node in range(nodes):
        for key in KEYS:
            body = "value=%s" % json.dumps("10.%d.%d.1" % (node // 250, node % 250))
            conn.request("PUT", key_path(node, key), body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 201):
                raise SystemExit("PUT failed: %s" % response.status)
    print("loaded %d keys" % (nodes * len(KEYS)))


def startup(url, nodes, deadline):
    conn = connection(url)
    start = time.monotonic()
    gets = 0
    for node in range(nodes):
        for key in KEYS:
            if time.monotonic() - start > deadline:
                print("%.2f %d deadline" % (time.monotonic() - start, gets))
                return
            conn.request("GET", key_path(node, key))
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit("GET failed: %s" % response.status)
            gets += 1
    print("%.2f %d complete" % (time.monotonic() - start, gets))


if __name__ == "__main__":
    if sys.argv[1] == "--load":
        load(sys.argv[2], int(sys.argv[3]))
    else:
        startup(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 600.0)
