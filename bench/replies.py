"""bench/replies.py - the milter answers only the protocol steps it must.

Every reply is a write by the milter and a round trip for the MTA; the
daemon negotiates away the ones it has no use for (bench/RESULTS.md,
"This round"). This checks, over a raw milter connection (tests/hostile/
mclient.py), that it stays so:

    replies.py PORT plain      no PeerList: SMFIP_NR_CONN, NR_MAIL, NR_HDR,
                               NR_BODY negotiated; nothing arrives after
                               connect, MAIL or the header fields; DATA (not
                               skipped: SMFIP_NODATA left out, so that
                               Postfix's last write before the headers gets
                               a reply, issue 12), end of headers, then end
                               of message, are answered; the message is
                               signed.
    replies.py PORT peerlist   with a PeerList (127.0.0.1 in it): connect is
                               answered (accept), as OpenDKIM does.
    replies.py PORT drain PID  a message in flight on one connection, SIGTERM
                               to PID, a new message on another (already
                               open) connection: 451 4.3.2 at end of
                               headers, and the one in flight is accepted.

Exit status 0 when every check holds; 1 with a FAIL line otherwise.
"""
import os
import select
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests", "hostile"))
import mclient  # noqa: E402

NR = {"NR_CONN": 0x1000, "NR_MAIL": 0x4000, "NR_HDR": 0x80, "NR_BODY": 0x80000}
HEADERS = [(b"From", b" Alice <alice@example.com>"), (b"To", b" bob@example.net"),
           (b"Subject", b" replies"), (b"Date", b" Sun, 22 Nov 2026 00:00:00 +0000")]
BODY = b"Hello.\r\n"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def quiet(c, what, wait=0.3):
    """Nothing may arrive from the milter within wait seconds."""
    r, _, _ = select.select([c.sock], [], [], wait)
    if r:
        cmd, _ = c.recv()
        fail("the milter answered %s (%r) although it negotiated no reply" % (what, cmd))


def plain(port):
    c = mclient.Milter(port)
    for name, bit in NR.items():
        if not c.proto & bit:
            fail("SMFIP_%s not negotiated (protocol 0x%x)" % (name, c.proto))
    c.send(b"D", b"Cj\0mx.example.net\0")
    c.send(b"C", b"[127.0.0.1]\0" + b"4" + b"\0\x19" + b"127.0.0.1\0")
    quiet(c, "connect")
    c.send(b"D", b"Mi\0REPLIES1\0")
    c.send(b"M", b"<alice@example.com>\0")
    quiet(c, "MAIL")
    if c.proto & mclient.SMFIP_NODATA:
        fail("SMFIP_NODATA negotiated: Postfix's last write before the headers "
             "would get no reply (a delayed-ACK stall over TCP)")
    c.send(b"D", b"Ti\0REPLIES1\0")
    c.send(b"T")
    a = c._reply()
    if a != "continue":
        fail("DATA: %s, expected continue" % a)
    for name, value in HEADERS:
        c.send(b"L", name + b"\0" + value + b"\0")
    quiet(c, "the header fields")
    c.send(b"N")
    a = c._reply()
    if a != "continue":
        fail("end of headers: %s, expected continue" % a)
    c.send(b"B", BODY)
    quiet(c, "the body")
    c.send(b"E")
    res = mclient.Result(HEADERS)
    a = c._eom(res)
    if a not in ("accept", "continue"):
        fail("end of message: %s" % a)
    if not any(n == b"DKIM-Signature" for n, _ in res.added):
        fail("no DKIM-Signature inserted")
    c.close()
    print("ok: connect, MAIL, header fields and body unanswered; DATA, end of headers "
          "and end of message answered; signed")


def peerlist(port):
    c = mclient.Milter(port)
    if c.proto & NR["NR_CONN"]:
        fail("SMFIP_NR_CONN negotiated with a PeerList (its clients are accepted at connect)")
    a = c.start(client="127.0.0.1")
    if a != "accept":
        fail("PeerList client at connect: %s, expected accept" % a)
    c.close()
    print("ok: with a PeerList, connect is answered: accept")


def drain(port, pid):
    # The message in flight asks for replies up to its header fields, so
    # that the milter has surely taken it in before SIGTERM: with no reply
    # to MAIL, the signal could overtake a MAIL still unread in the socket,
    # and the daemon, seeing nothing in flight, would stop at once.
    sync = 0x1FFFFF & ~(NR["NR_CONN"] | NR["NR_MAIL"] | NR["NR_HDR"])
    inflight, fresh = mclient.Milter(port, offer=sync), mclient.Milter(port)
    r = fresh.message(HEADERS, BODY)
    if r.action not in ("accept", "continue"):
        fail("first message: %s" % r.action)
    inflight.start()
    if inflight.headers(HEADERS) is not None:
        fail("header fields of the message in flight answered")
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    r = fresh.message(HEADERS, BODY)
    if not r.action.startswith("replycode 451 4.3.2"):
        fail("new message while draining: %s, expected 451 4.3.2" % r.action)
    inflight.send(b"N")
    a = inflight._reply()
    if a != "continue":
        fail("message in flight, end of headers: %s" % a)
    inflight.send(b"B", BODY)
    inflight.send(b"E")
    a = inflight._eom(mclient.Result(HEADERS))
    if a not in ("accept", "continue"):
        fail("message in flight at SIGTERM: %s" % a)
    print("ok: while draining, a new message gets 451 4.3.2 at end of headers; "
          "the one in flight is accepted")


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    try:
        if mode == "plain":
            plain(port)
        elif mode == "peerlist":
            peerlist(port)
        elif mode == "drain":
            drain(port, int(sys.argv[3]))
        else:
            fail("unknown mode " + mode)
    except (OSError, mclient.MilterError) as e:
        fail("%s: %s" % (mode, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
