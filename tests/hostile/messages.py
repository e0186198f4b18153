#!/usr/bin/python3
"""messages.py PORT - hostile messages through the running daemon.

The daemon (tests/hostile/messages.sh) signs example.com for internal
clients (127.0.0.1) and verifies for external ones, AuthservID
mx.example.net, default actions (On-Security tempfail). Each case sends a
message built here at run time, byte for byte, and checks the SMTP-level
result and what the milter added. Output: "ok: ..." lines; exit 1 at the
first wrong result.
"""
import sys
import time

from mclient import Milter, MilterError, ar_of

PORT = int(sys.argv[1])
EXT = "203.0.113.9"
FROM = (b"From", b" Alice <alice@example.com>")
BASE = [FROM, (b"To", b" bob@example.net"), (b"Subject", b" hostile"),
        (b"Date", b" Sun, 22 Nov 2026 00:00:00 +0000"),
        (b"Message-ID", b" <hostile@example.com>")]
BODY = b"Hello.\r\n"
OK = ("accept", "continue")
SECURITY = "replycode 451 4.3.4"   # On-Security tempfail (the default)


def fail(what):
    print("FAIL: " + what)
    sys.exit(1)


def send(headers, body=BODY, client="127.0.0.1", **kw):
    c = Milter(PORT, timeout=60)
    try:
        t0 = time.monotonic()
        r = c.message(headers, body, client=client, **kw)
        r.elapsed = time.monotonic() - t0
        return r
    finally:
        c.close()


def added(r, name):
    return [v for n, v in r.added if n.lower() == name.lower()]


def expect_action(name, r, *allowed):
    if not any(r.action.startswith(a) for a in allowed):
        fail("%s: action %r, expected one of %r" % (name, r.action, allowed))


def signed_roundtrip(name, headers, body):
    """Sign as internal, verify the result as external: dkim=pass."""
    r = send(headers, body)
    expect_action(name + " (sign)", r, *OK)
    if len(added(r, b"DKIM-Signature")) != 1:
        fail("%s: not signed: %r" % (name, r.added))
    v = send(r.headers, body, client=EXT)
    expect_action(name + " (verify)", v, *OK)
    ar = ar_of(v)
    if len(ar) != 1 or b"dkim=pass" not in ar[0]:
        fail("%s: signed then verified: %r" % (name, ar))
    print("ok: %s: signed, then dkim=pass (%.2fs)" % (name, r.elapsed + v.elapsed))


def verify_none(name, headers, body=BODY, allowed=OK):
    """External, unsigned: the action allowed; if accepted, dkim=none."""
    v = send(headers, body, client=EXT)
    expect_action(name, v, *allowed)
    if v.action in OK:
        ar = ar_of(v)
        if len(ar) != 1 or b"dkim=none" not in ar[0]:
            fail("%s: A-R %r" % (name, ar))
    print("ok: %s: %s (%.2fs)" % (name, v.action, v.elapsed))
    return v


def abuse(name, step):
    """Protocol abuse: any answer, libmilter dropping the connection, or no
    answer at all (libmilter ignores some out-of-order commands)."""
    c = Milter(PORT, timeout=3)
    try:
        r = step(c)
        a = r.action if hasattr(r, "action") else r
    except (MilterError, OSError) as e:
        a = "connection closed (%s)" % e
    c.sock.close()
    print("ok: %s: %s" % (name, a))


def main():
    # From: none, several.
    r = send([h for h in BASE if h is not FROM])
    expect_action("no From (sign)", r, *OK)
    if added(r, b"DKIM-Signature"):
        fail("no From: signed anyway")
    print("ok: no From: not signed, %s" % r.action)
    verify_none("no From (verify)", [h for h in BASE if h is not FROM])
    two = BASE + [(b"From", b" Mallory <mallory@evil.example>")]
    r = send(two)
    expect_action("two From (sign)", r, *OK)
    if added(r, b"DKIM-Signature"):
        fail("two From: signed anyway (every verifier would reject the signature)")
    print("ok: two From: not signed, %s" % r.action)
    spaced = [h for h in BASE if h is not FROM] + [(b"From ", FROM[1]), FROM]
    r = send(spaced)
    expect_action("From : and From (sign)", r, *OK)
    if added(r, b"DKIM-Signature"):
        fail("\"From :\" plus From: signed anyway")
    print("ok: \"From :\" plus From: not signed, %s" % r.action)
    verify_none("two From (verify)", two)
    hundred = BASE + [(b"From", b" x%d@evil.example" % i) for i in range(100)]
    verify_none("101 From (verify)", hundred)

    # Fields without a colon (the MTA would not send them; a hostile one does).
    verify_none("field without colon", BASE + [(b"no colon here", b"")])
    abuse("empty field name", lambda c: c.message(BASE + [(b"", b" value")], BODY, client=EXT))
    signed_roundtrip("field with empty value", BASE + [(b"X-Empty", b"")], BODY)

    # NUL bytes: in the body (signed and verified), in a header packet.
    signed_roundtrip("NUL bytes in the body", BASE, b"a\0b\r\n\0\0\0\r\n")
    def nuls(c):
        c.start(client=EXT)
        c.send(b"L", b"Subject\0 a\0b\0c\0\0\0")
        c.send(b"N")
        return c._reply()
    abuse("header packet with extra NULs", nuls)

    def novalue(c):
        c.start(client=EXT)
        c.send(b"L", b"X\0")
        c.send(b"N")
        return c._reply()
    abuse("header packet with no value", novalue)

    # Line ends in the body: bare CR, bare LF, an unfinished CRLF.
    signed_roundtrip("bare CR in the body", BASE, b"one\rtwo\r\nthree\r\r\n")
    signed_roundtrip("bare LF in the body", BASE, b"one\ntwo\r\nthree\n\n")
    signed_roundtrip("body ending in CR", BASE, b"line\r\nlast\r")
    signed_roundtrip("body ending in CR of CRLF", BASE, b"line\r\n\r")
    signed_roundtrip("body of a lone CR", BASE, b"\r")
    signed_roundtrip("empty body", BASE, b"")
    signed_roundtrip("bare CR in a header value", BASE + [(b"X-CR", b" a\rb")], BODY)
    signed_roundtrip("bare LF folding in a header", BASE + [(b"X-LF", b" a\n\tb")], BODY)

    # 1 MB lines: in the body (fine), in a header field (over the limits).
    signed_roundtrip("1 MB body line", BASE, b"x" * (1 << 20) + b"\r\n")
    signed_roundtrip("16 MB body of 1 MB lines", BASE, (b"y" * (1 << 20) + b"\r\n") * 16)
    # A 1 MB header packet is over libmilter's packet size limit: libmilter
    # drops the connection (the MTA applies its milter default action).
    big = BASE + [(b"X-Big", b" " + b"z" * (1 << 20))]
    abuse("1 MB header field (sign)", lambda c: c.message(big, BODY))
    abuse("1 MB header field (verify)", lambda c: c.message(big, BODY, client=EXT))
    big = BASE + [(b"X-Big", b" " + b"z" * 60000)]
    for client in ("127.0.0.1", EXT):
        r = send(big, client=client)
        expect_action("60 KB header field", r, SECURITY)
    print("ok: 60 KB header field: %s" % r.action)

    # Many fields: past MaximumHeaders (65536 bytes), and past the engine's
    # field count (1000) while under MaximumHeaders.
    many = BASE + [(b"X-H", b" %d" % i) for i in range(100000)]
    for client in ("127.0.0.1", EXT):
        r = send(many, client=client)
        expect_action("100000 header fields", r, SECURITY)
        if r.elapsed > 20:
            fail("100000 header fields took %.1fs" % r.elapsed)
    print("ok: 100000 header fields: %s (%.2fs)" % (r.action, r.elapsed))
    over = BASE + [(b"X-Pad", b" " + b"p" * 990) for _ in range(70)]
    r = send(over, client=EXT)
    expect_action("header block past MaximumHeaders", r, SECURITY)
    print("ok: header block of 70 KB: %s" % r.action)
    fields = BASE + [(b"X", b" %d" % i) for i in range(3000)]
    for client in ("127.0.0.1", EXT):
        r = send(fields, client=client)
        expect_action("3000 small header fields", r, SECURITY)
    print("ok: 3000 small header fields (under MaximumHeaders): %s" % r.action)
    big = BASE + [(b"X-Long", b" " + b"l" * 20000)]
    r = send(big, client=EXT)
    expect_action("one 20 KB field (under MaximumHeaders)", r, SECURITY)
    print("ok: one 20 KB field: %s" % r.action)

    # Body before end of headers, end of message with no message: protocol
    # abuse answered, never a crash.
    def early(c):
        c.send(b"B", b"early body")
        c.send(b"E")
        return c._reply()
    abuse("body and EOM with no message", early)
    return 0


if __name__ == "__main__":
    sys.exit(main())
