#!/usr/bin/env python3
"""A TCP forwarder for the network-fault tests (tests/integration/network_faults.sh).

It listens on the root-namespace end of a veth pair the test created
(10.231.x.1; never a host interface, never 0.0.0.0) and relays each
connection to a server on 127.0.0.1, so a client run inside the test's
network namespace (`ip netns exec`) reaches the loopback-only harness
servers through a link the test can take down, rate-limit or make lossy.

  netns_proxy.py --listen 10.231.7.1 --map 15432:55432 --map 17480:57480 \
                 [--pidfile F] [--stats F]

Faults it injects itself:
  SIGUSR1  reset every connection open at that moment: both sockets are
           closed with SO_LINGER 0, so client and server each get a RST
           ("a connection reset mid-stream").
  --stats F  after every relayed MiB, F holds the total bytes relayed (the
           test waits for it to grow to know a transfer is under way).
Python 3 stdlib only.
"""
import argparse
import ipaddress
import os
import select
import signal
import socket
import struct
import sys
import threading

LOCK = threading.Lock()
OPEN = set()        # (client, upstream) socket pairs being relayed
TOTAL = [0]
STATS = [None]


def rst(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def reset_all(signum, frame):
    with LOCK:
        pairs = list(OPEN)
        OPEN.clear()
    for a, b in pairs:
        rst(a)
        rst(b)


def count(n):
    with LOCK:
        before = TOTAL[0]
        TOTAL[0] += n
        crossed = TOTAL[0] >> 20 != before >> 20
    if crossed and STATS[0]:
        tmp = STATS[0] + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(TOTAL[0]))
        os.replace(tmp, STATS[0])


def relay(client, upstream_port):
    try:
        up = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
    except OSError:
        rst(client)
        return
    up.settimeout(None)
    pair = (client, up)
    with LOCK:
        OPEN.add(pair)
    try:
        socks = [client, up]        # the directions still open (half-close kept)
        while socks:
            r, _, _ = select.select(socks, [], [], 1.0)
            with LOCK:
                if pair not in OPEN:
                    return          # reset by SIGUSR1
            for s in r:
                other = up if s is client else client
                data = s.recv(65536)
                if not data:
                    socks.remove(s)
                    try:
                        other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                other.sendall(data)
                count(len(data))
    except (OSError, ValueError):
        pass
    finally:
        with LOCK:
            live = pair in OPEN
            OPEN.discard(pair)
        if live:
            for s in pair:
                try:
                    s.close()
                except OSError:
                    pass


def serve(listener, upstream_port):
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client, upstream_port), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--map", action="append", required=True, help="LISTEN_PORT:UPSTREAM_PORT")
    ap.add_argument("--pidfile")
    ap.add_argument("--stats")
    a = ap.parse_args()
    if not ipaddress.ip_address(a.listen) in ipaddress.ip_network("10.231.0.0/16"):
        sys.exit("netns_proxy: listen only on a test veth address in 10.231.0.0/16")
    STATS[0] = a.stats
    signal.signal(signal.SIGUSR1, reset_all)
    threads = []
    for m in a.map:
        lp, up = (int(x) for x in m.split(":"))
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.listen, lp))
        ls.listen(64)
        t = threading.Thread(target=serve, args=(ls, up), daemon=True)
        t.start()
        threads.append(t)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write(str(os.getpid()))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
