#!/usr/bin/python3
"""Hostile HTTP clients for tests/milter/metrics.sh (standard library only).

    httphostile.py HOST PORT READYFILE

Opens, and keeps open until killed or until stdin closes:
  - 2 clients sending binary garbage;
  - 2 clients sending a request line and 1 MiB of header fields;
  - 2 clients sending a 1 MiB POST body to /metrics;
  - 4 slow clients, each sending its request one byte every 0.2 s;
  - 40 connections that send nothing (more than the endpoint allows).
Writes "ready" to READYFILE once every connection was attempted, then
counts what the server did with each kind, and prints one line per kind
(kind, connections, closed by the server, bytes answered) when it ends.
"""
import os
import socket
import sys
import threading
import time

HOST, PORT, READY = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stop = threading.Event()
stats = {}
lock = threading.Lock()


def record(kind, closed, answered):
    with lock:
        n, c, a = stats.get(kind, (0, 0, 0))
        stats[kind] = (n + 1, c + (1 if closed else 0), a + answered)


def connect():
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((HOST, PORT))
    except OSError:
        return None
    return s


# How long after the test ends the clients a connection may still be open
# before it counts as left open: the server's idle timeout (5 s) runs from
# when it accepted the connection, which for one that waited in the listen
# queue for a free slot can be late on a loaded machine.
CLOSE_GRACE = 12.0


def drain(s, deadline):
    """Bytes the server sent, and whether it closed by deadline (None: a
    non-blocking check)."""
    got, closed = 0, False
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if left is None:
                s.setblocking(False)
            else:
                s.settimeout(left)
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got += len(b)
    except (BlockingIOError, socket.timeout):
        pass
    except OSError:
        closed = True
    return got, closed


def run(kind, s, chunks, delay):
    answered, closed = 0, False
    try:
        for c in chunks:
            if stop.is_set():
                break
            s.sendall(c)
            if delay:
                time.sleep(delay)
    except OSError:
        closed = True
    stop.wait()
    # The slow ones are still sending: the server rightly keeps them.
    got, c2 = drain(s, None if kind == "slow" else time.monotonic() + CLOSE_GRACE)
    record(kind, closed or c2, answered + got)
    s.close()


def slow_chunks():
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    return [req[i:i + 1] for i in range(len(req))]


def main():
    threads = []
    # The ones the server must parse first, the ones that fill its
    # connection slots last.
    kinds = [("garbage", 2, lambda: [os.urandom(4096)] * 4, 0),
             ("hugeheaders", 2, lambda: [b"GET /metrics HTTP/1.1\r\n"] +
              [b"X-Big: " + b"b" * 1000 + b"\r\n"] * 1024, 0),
             ("hugebody", 2, lambda: [b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                      b"Content-Length: 1048576\r\n\r\n"] +
              [b"c" * 65536] * 16, 0),
             ("slow", 4, slow_chunks, 0.2),
             ("idle", 40, lambda: [], 0)]
    for kind, n, chunks, delay in kinds:
        if kind == "slow":
            time.sleep(0.5)     # the first ones answered
        for _ in range(n):
            s = connect()
            if s is None:
                record(kind, True, 0)
                continue
            t = threading.Thread(target=run, args=(kind, s, chunks(), delay))
            t.start()
            threads.append(t)
    with open(READY, "w") as f:
        f.write("ready\n")
    sys.stdin.read()    # until the test closes it (or kills us)
    stop.set()
    for t in threads:
        t.join()
    for kind in sorted(stats):
        n, c, a = stats[kind]
        print(kind, n, c, a)


if __name__ == "__main__":
    main()
