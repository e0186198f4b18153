#!/usr/bin/python3
"""messages.py PORT [MAXIMUMHEADERS] - hostile messages through the running
daemon.

The daemon (tests/hostile/messages.sh) signs example.com for internal
clients (127.0.0.1) and verifies for external ones, AuthservID
mx.example.net, default actions (On-Security tempfail). Each case sends a
message built here at run time, byte for byte, and checks the SMTP-level
result and what the milter added. With MAXIMUMHEADERS, the daemon was
configured with that (small) MaximumHeaders: only the cases at its
boundary run. Output: "ok: ..." lines; exit 1 at the first wrong result.
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


def block_size(headers):
    """The header block as MaximumHeaders counts it: each field as it is on
    the wire, "name:" value CRLF, a bare LF of a fold counting as CRLF."""
    return sum(len(n) + 1 + len(v) + v.count(b"\n") - v.count(b"\r\n") + 2
               for n, v in headers)


def padded(headers, size):
    """headers plus X-Pad fields of at most 1000 bytes: a block of exactly
    size bytes (size - block_size(headers) must be 0 or at least 8)."""
    out, left = list(headers), size - block_size(headers)
    while left > 0:
        n = min(left, 1000)
        if 0 < left - n < 8:
            n = left - 8
        out.append((b"X-Pad", b"p" * (n - 8)))   # "X-Pad:" CRLF is 8 bytes
        left -= n
    if block_size(out) != size:
        fail("padded: %d bytes, not %d" % (block_size(out), size))
    return out


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


def verify_none(name, headers, body=BODY, allowed=OK, want=b"dkim=none"):
    """External, unsigned: the action allowed; if accepted, dkim=none (or
    want)."""
    v = send(headers, body, client=EXT)
    expect_action(name, v, *allowed)
    if v.action in OK:
        ar = ar_of(v)
        if len(ar) != 1 or want not in ar[0]:
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
    # No usable sender: malformed, as OpenDKIM says it (not verified).
    verify_none("no From (verify)", [h for h in BASE if h is not FROM],
                want=b"dkim=permerror (bad message/signature format)")
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
    # Within MaximumHeaders (65536 bytes) neither a field's size nor the
    # number of fields is a limit of its own: the engine's limits follow
    # MaximumHeaders, so such a message is signed and verified like any
    # other (these were On-Security when the engine kept 16 KB per field
    # and 1000 fields).
    big = BASE + [(b"X-Big", b" " + b"z" * 60000)]
    signed_roundtrip("60 KB header field (under MaximumHeaders)", big, BODY)
    verify_none("60 KB header field (verify)", big)
    fields = BASE + [(b"X", b" %d" % i) for i in range(3000)]
    signed_roundtrip("3000 small header fields (under MaximumHeaders)", fields, BODY)
    verify_none("3000 small header fields (verify)", fields)
    big = BASE + [(b"X-Long", b" " + b"l" * 20000)]
    signed_roundtrip("one 20 KB field (under MaximumHeaders)", big, BODY)
    verify_none("one 20 KB field (verify)", big)
    # A mailing list's Cc: of 1500 addresses, folded: 46 KB, signed (Cc is
    # in the signed list) and verified.
    cc = b",\n\t".join(b"member%d@lists.example.org" % i for i in range(1500))
    signed_roundtrip("46 KB folded Cc: list", BASE + [(b"Cc", b" " + cc)], BODY)
    # As many fields as fit ("X:" CRLF, 4 bytes each), to the last byte: the
    # header hash finds fields by name in an index, not by a scan per name.
    most = BASE + [(b"X", b"")] * ((65536 - block_size(BASE)) // 4)
    most = padded(most[:-2], 65536)
    for client in ("127.0.0.1", EXT):
        r = send(most, client=client)
        expect_action("%d fields in 65536 bytes" % len(most), r, *OK)
        if r.elapsed > 10:
            fail("%d fields took %.1fs" % (len(most), r.elapsed))
    if len(added(r, b"Authentication-Results")) != 1:
        fail("%d fields: not verified: %r" % (len(most), r.added))
    print("ok: %d fields in 65536 bytes: %s (%.2fs)" % (len(most), r.action, r.elapsed))
    # The boundary: a block of exactly MaximumHeaders is processed, one byte
    # more gets the existing action (On-Security).
    verify_none("header block of exactly 65536 bytes", padded(BASE, 65536))
    for client in ("127.0.0.1", EXT):
        r = send(padded(BASE, 65537), client=client)
        expect_action("header block of 65537 bytes", r, SECURITY)
    print("ok: header block of 65537 bytes: %s" % r.action)
    # A field over 64 KB cannot reach us with the default MaximumHeaders:
    # it is over libmilter's packet size (see the 1 MB case above). With a
    # small MaximumHeaders, small_limit() below covers one field over it.

    # Many fields: past MaximumHeaders.
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

    # Body before end of headers, end of message with no message: protocol
    # abuse answered, never a crash.
    def early(c):
        c.send(b"B", b"early body")
        c.send(b"E")
        return c._reply()
    abuse("body and EOM with no message", early)
    return 0


def small_limit(limit):
    """MaximumHeaders LIMIT (4096 in messages.sh): the engine's field size
    and field count follow it both ways."""
    for client in ("127.0.0.1", EXT):
        r = send(BASE + [(b"X-Long", b" " + b"l" * 5000)], client=client)
        expect_action("a 5000-byte field with MaximumHeaders %d" % limit, r, SECURITY)
        r = send(padded(BASE, limit + 1), client=client)
        expect_action("a block of %d bytes" % (limit + 1), r, SECURITY)
    print("ok: MaximumHeaders %d: a 5000-byte field and a block of %d bytes: %s"
          % (limit, limit + 1, r.action))
    verify_none("a block of exactly %d bytes" % limit, padded(BASE, limit))
    # Under the limit, with the signature that signing adds: signed, verified.
    signed_roundtrip("a %d-byte field with MaximumHeaders %d" % (limit // 2, limit),
                     BASE + [(b"X-Long", b" " + b"l" * (limit // 2))], BODY)
    most = BASE + [(b"X", b"")] * ((limit - block_size(BASE)) // 4)
    verify_none("%d fields with MaximumHeaders %d" % (len(most), limit), most)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(small_limit(int(sys.argv[2])))
    sys.exit(main())
