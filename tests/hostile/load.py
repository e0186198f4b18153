#!/usr/bin/python3
"""load.py PORT [options] - concurrent signing and verifying through the
running daemon, every result checked (tests/hostile/load.sh, faults.sh).

Each of --conns worker threads opens two connections, one for an internal
and one for an external client (all are open at the same time: a barrier), then sends --pairs message pairs over it: a unique
message from an internal client, which must come back signed (d=example.com,
s= one of --selectors), then that signed message from an external client,
which must get dkim=pass for the same selector in an Authentication-Results
field. With --hostile N, N more threads meanwhile hang up in the middle of
messages and write garbage on the milter socket.

--duration S: each worker sends pairs for S seconds instead (faults.sh
injects faults meanwhile). --rounds R repeats it; after each round the daemon's VmRSS (/proc/PID,
--pid) is printed, and with --rss-flat the last rounds must not grow over
the second one (first round: warm-up) by more than 10% + 4 MB.

Allowed outcomes besides sign + pass: --allow-tempfail CODE (e.g. 4.4.3 when
DNS is down: On-DNSError) for verification. Anything else (other reply, no
signature, wrong selector, no pass, connection error) is a failure.
--sample DIR keeps every 50th signed message (at most --sample-max, 40)
for an independent check.
Output: one "round" line per round and a "total:" line; exit 1 on failure.
"""
import argparse
import os
import random
import re
import socket
import struct
import sys
import threading
import time

from mclient import Milter, MilterError, ar_of, render

EXT = "198.51.100.7"


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, default=200)
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--pid", type=int)
    p.add_argument("--rss-flat", action="store_true")
    p.add_argument("--selectors", default="sel")
    p.add_argument("--allow-tempfail", default=None)
    p.add_argument("--hostile", type=int, default=0)
    p.add_argument("--sample", default=None)
    p.add_argument("--body-kb", type=int, default=2)
    p.add_argument("--sample-max", type=int, default=40)
    p.add_argument("--duration", type=float, default=0,
                   help="seconds: each worker sends pairs until then (--pairs ignored)")
    return p.parse_args()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.signed = self.passed = self.tempfail = self.failures = 0
        self.hostile = 0
        self.errors = []
        self.selectors = {}

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def used(self, selector):
        with self.lock:
            self.selectors[selector] = self.selectors.get(selector, 0) + 1

    def take_sample(self, limit):
        with self.lock:
            self.samples = getattr(self, "samples", 0) + 1
            return self.samples <= limit

    def error(self, what):
        with self.lock:
            self.failures += 1
            if len(self.errors) < 10:
                self.errors.append(what)


def message(tag, body_kb):
    headers = [(b"From", b" Alice <alice@example.com>"), (b"To", b" bob@example.net"),
               (b"Subject", b" load " + tag.encode()),
               (b"Date", b" Sun, 22 Nov 2026 00:00:00 +0000"),
               (b"Message-ID", b" <" + tag.encode() + b"@example.com>")]
    line = (tag.encode() + b" ") * 8 + b"\r\n"
    body = line * max(1, (body_kb * 1024) // len(line))
    return headers, body


def one_pair(conns, args, stats, tag, sample_dir, k):
    c, ext = conns
    headers, body = message(tag, args.body_kb)
    r = c.message(headers, body, client="127.0.0.1", qid="S" + tag)
    sigs = [v for n, v in r.added if n == b"DKIM-Signature"]
    if r.action not in ("accept", "continue") or len(sigs) != 1:
        stats.error("%s: sign: %s, %d signatures" % (tag, r.action, len(sigs)))
        return False
    m = re.search(rb"\bs=([A-Za-z0-9_-]+);", re.sub(rb"\s", b"", sigs[0]))
    d = re.search(rb"\bd=([A-Za-z0-9.-]+);", re.sub(rb"\s", b"", sigs[0]))
    if m is None or m.group(1).decode() not in args.selectors.split(",") or \
            d is None or d.group(1) != b"example.com":
        stats.error("%s: signed with %r" % (tag, sigs[0][:120]))
        return False
    stats.add(signed=1)
    stats.used(m.group(1).decode())
    if sample_dir and k % 50 == 0 and stats.take_sample(args.sample_max):
        with open(os.path.join(sample_dir, tag + ".eml"), "wb") as f:
            f.write(render([(n, v.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
                            for n, v in r.headers], body))
    v = ext.message(r.headers, body, client=EXT, qid="V" + tag)
    if args.allow_tempfail and v.action.startswith("replycode 451 " + args.allow_tempfail):
        stats.add(tempfail=1)
        return True
    ar = b"".join(ar_of(v))
    want = b"dkim=pass"
    if v.action not in ("accept", "continue") or want not in ar or \
            (b"header.s=" + m.group(1)) not in ar:
        stats.error("%s: verify: %s %r" % (tag, v.action, ar[:200]))
        return False
    stats.add(passed=1)
    return True


def worker(args, stats, barrier, rnd_id, wid, sample_dir, stop):
    """One connection for an internal client, one for an external one."""
    conns = []
    try:
        conns = [Milter(args.port, timeout=60), Milter(args.port, timeout=60)]
        barrier.wait(timeout=120)
        deadline = time.monotonic() + args.duration
        k = 0
        while (k < args.pairs) if not args.duration else (time.monotonic() < deadline):
            tag = "r%dw%dm%d" % (rnd_id, wid, k)
            one_pair(conns, args, stats, tag, sample_dir, k + wid)
            k += 1
    except (MilterError, OSError, threading.BrokenBarrierError) as e:
        stats.error("worker %d: %s" % (wid, e))
    finally:
        for c in conns:
            c.close()


def hostile_client(args, stats, stop, seed):
    """Hangs up mid-message, or writes garbage, again and again."""
    rnd = random.Random(seed)
    while not stop.is_set():
        kind = rnd.randrange(6)
        try:
            if kind < 3:
                c = Milter(args.port, timeout=10)
                headers, body = message("h%d" % seed, 4)
                c.start(client=rnd.choice(["127.0.0.1", EXT]))
                cut = rnd.randrange(len(headers) + 2)
                c.headers(headers[:cut])
                if cut > len(headers):
                    c.send(b"N")
                    c.send(b"B", body[:rnd.randrange(len(body))])
                c.sock.close()      # gone, mid-message
            else:
                s = socket.create_connection(("127.0.0.1", args.port), timeout=10)
                junk = [os.urandom(rnd.randrange(1, 3000)),
                        struct.pack(">I", 0xFFFFFFFF) + b"O" + os.urandom(64),
                        struct.pack(">I", 0) + b"\0" * 16,
                        struct.pack(">I", 13) + b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
                        + struct.pack(">I", 5) + b"Zjunk" + os.urandom(50)][kind - 3:kind - 2] \
                    or [os.urandom(100)]
                s.sendall(junk[0])
                s.settimeout(0.5)
                try:
                    s.recv(100)
                except OSError:
                    pass
                s.close()
            stats.add(hostile=1)
        except OSError:
            stats.add(hostile=1)   # refused or reset: what garbage gets
        time.sleep(0.01)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    args = parse_args()
    stats = Stats()
    rss = []
    stop = threading.Event()
    hostile = [threading.Thread(target=hostile_client, args=(args, stats, stop, i), daemon=True)
               for i in range(args.hostile)]
    for t in hostile:
        t.start()
    t0 = time.monotonic()
    for rnd_id in range(args.rounds):
        r0 = time.monotonic()
        barrier = threading.Barrier(args.conns)
        threads = [threading.Thread(target=worker,
                                    args=(args, stats, barrier, rnd_id, w, args.sample, stop))
                   for w in range(args.conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if args.pid:
            rss.append(rss_kb(args.pid))
        print("round %d: %d workers (2 connections each), %d pairs each, %.1fs, failures so far %d, VmRSS %s kB"
              % (rnd_id + 1, args.conns, args.pairs, time.monotonic() - r0, stats.failures,
                 rss[-1] if rss else "-"), flush=True)
    stop.set()
    for t in hostile:
        t.join()
    secs = time.monotonic() - t0
    print("total: connections=%d messages=%d signed=%d passed=%d tempfail=%d hostile=%d "
          "failures=%d seconds=%.1f peak_rss_kb=%s selectors=%s"
          % (2 * args.conns * args.rounds, stats.signed + stats.passed + stats.tempfail,
             stats.signed, stats.passed, stats.tempfail, stats.hostile, stats.failures, secs,
             max(rss) if rss else "-",
             ",".join("%s:%d" % kv for kv in sorted(stats.selectors.items()))), flush=True)
    for e in stats.errors:
        print("FAIL: " + e)
    if stats.failures:
        return 1
    if args.rss_flat and len(rss) >= 3:
        limit = rss[1] * 1.10 + 4096
        if max(rss[2:]) > limit:
            print("FAIL: VmRSS grew: %r kB (limit %d after round 2)" % (rss, limit))
            return 1
        print("ok: VmRSS flat: %r kB" % rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
