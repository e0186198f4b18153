#!/usr/bin/python3
"""authres.py PORT - forged Authentication-Results and A-R injection,
through the running daemon (tests/hostile/authres.sh; AuthservID
mx.example.net).

1. Forged fields carrying our authserv-id in every form RFC 8601 allows
   (case, version, comments, folding, quoting, leading space), in any
   number and position, some very long, field name in any case: after the
   milter, the only field with our authserv-id is the one it added;
   fields of other authserv-ids are all kept, in order.
2. Hostile d=, s=, i= and other tag values (quotes, backslashes, CR, LF,
   semicolons in comments, 8-bit bytes, "dkim=pass"): the field we add
   keeps its structure - no raw CR, every LF is our folding, no control
   characters, one "dkim=" result per signature outside quoted strings,
   none of them pass.
"""
import random
import re
import sys

from mclient import Milter

PORT = int(sys.argv[1])
EXT = "203.0.113.9"
OURS = b"mx.example.net"
HEADERS = [(b"From", b" Alice <alice@example.com>"), (b"To", b" bob@example.net"),
           (b"Subject", b" forged results"),
           (b"Date", b" Sun, 22 Nov 2026 00:00:00 +0000")]
BODY = b"Hello.\r\n"

FORGED = [
    b" mx.example.net; dkim=pass header.d=example.com",
    b" MX.EXAMPLE.NET; dkim=pass",
    b" Mx.Example.Net; spf=pass",
    b" mx.example.net 1; dkim=pass",
    b" mx.example.net\t1 ; dkim=pass",
    b" (forged) mx.example.net; dkim=pass",
    b" (nested (comment)) mx.example.net (more); dkim=pass",
    b" mx.example.net (x;y); dkim=pass",
    b"\n\tmx.example.net;\n\tdkim=pass",
    b"\n mx.example.net\n ;\n dkim=pass",
    b"mx.example.net;dkim=pass",
    b"   \t  mx.example.net;   dkim=pass",
    b" \"mx.example.net\"; dkim=pass",
    b" mx.example.net; none",
    b" mx.example.net;",
    b" mx.example.net",
    b" mx.example.net; dkim=pass reason=\"" + b"x" * 9000 + b"\"",
    b" mx.example.net;" + b"\n\tdkim=pass header.d=example.com;" * 300,
]
OTHERS = [
    b" other.example; dkim=pass",
    b" mx.example.net.evil; dkim=pass",
    b" mx.example.netx; dkim=pass",
    b" example.net; dkim=pass",
    b" (mx.example.net) other.example; dkim=pass",
]
NAMES = [b"Authentication-Results", b"authentication-results", b"AUTHENTICATION-RESULTS",
         b"Authentication-results"]


def fail(what):
    print("FAIL: " + what)
    sys.exit(1)


def strip_cfws(v):
    """The authserv-id of an A-R value (RFC 8601 §2.2): CFWS skipped."""
    v = v.replace(b"\r", b"").replace(b"\n", b"")
    while True:
        v = v.lstrip(b" \t")
        if not v.startswith(b"("):
            break
        depth, i = 0, 0
        while i < len(v):
            if v[i:i + 1] == b"(":
                depth += 1
            elif v[i:i + 1] == b")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        v = v[i + 1:]
    if v.startswith(b"\""):
        return v[1:].split(b"\"", 1)[0]
    return re.split(rb"[ \t;(]", v, 1)[0]


def send(headers, client=EXT):
    c = Milter(PORT, timeout=60)
    try:
        return c.message(headers, BODY, client=client)
    finally:
        c.close()


def ar_fields(res):
    return [v for n, v in res.headers if n.lower() == b"authentication-results"]


def forged_case(name, headers, nothers):
    for client in (EXT, "127.0.0.1"):
        r = send(headers, client)
        if r.action not in ("accept", "continue"):
            fail("%s: action %r" % (name, r.action))
        fields = ar_fields(r)
        ours = [v for v in fields if strip_cfws(v).lower() == OURS]
        others = [v for v in fields if strip_cfws(v).lower() != OURS]
        added = [v for n, v in r.added if n == b"Authentication-Results"]
        if len(ours) > len(added) or any(v not in added for v in ours):
            fail("%s (%s): forged field kept: %r" % (name, client, [v[:80] for v in ours]))
        if len(others) != nothers:
            fail("%s (%s): %d other fields kept, expected %d" % (name, client, len(others), nothers))
    print("ok: %s: %d forged removed, %d others kept" % (name, r.removed, nothers))


def check_structure(name, value):
    if b"\r" in value:
        fail("%s: raw CR in our A-R: %r" % (name, value))
    if re.search(rb"\n(?!\t)", value):
        fail("%s: LF not followed by our folding: %r" % (name, value))
    if re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", value):
        fail("%s: control character in our A-R: %r" % (name, value))
    flat = value.replace(b"\n\t", b" ")
    # Outside quoted strings, "dkim=" appears once per result.
    bare = re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', flat)
    if re.search(rb'"', bare.replace(b'""', b"")):
        fail("%s: unbalanced quotes in our A-R: %r" % (name, value))
    results = re.findall(rb"(?:^|[;\s])dkim=([A-Za-z]+)", bare)
    if b"pass" in results:
        fail("%s: dkim=pass in our A-R: %r" % (name, value))
    nres = len(re.findall(rb";", bare))
    if len(results) != nres:
        fail("%s: %d results for %d ';' in %r" % (name, len(results), nres, value))
    return results


def injection_cases():
    hostile = [
        ("d", b"example.com\n\tdkim=pass"), ("d", b"\"example.com\""),
        ("d", b"example.com(dkim=pass)"), ("d", b"ex\\ample.com"),
        ("d", b"ex\xc3\xa4mple.com"), ("d", b"example.com\r\nX-Injected: yes"),
        ("s", b"sel\"; dkim=pass"), ("s", b"sel) dkim=pass ("), ("s", b"\\"),
        ("s", b"sel\x01\x7f"), ("i", b"\"@example.com\" dkim=pass"),
        ("i", b"a\"b\\c@example.com"), ("i", b"@example.com\n dkim=pass"),
        ("i", b"x(y@example.com"), ("a", b"rsa-sha256\"dkim=pass"),
        ("z", b"From:a=22dkim=3Dpass"), ("x\"y", b"1"), ("q", b"dns/txt\" dkim=pass"),
    ]
    base = [("v", b"1"), ("a", b"rsa-sha256"), ("d", b"example.com"), ("s", b"sel"),
            ("h", b"from"), ("bh", b"AAAA"), ("b", b"AAAA")]
    rnd = random.Random(7)
    for i in range(40):
        junk = bytes(rnd.choice(b"\"\\()\n\t ;=@.:x\xff\x01") for _ in range(20))
        hostile.append((rnd.choice(["d", "s", "i"]), b"a" + junk.replace(b";", b"")))
    for key, val in hostile:
        tags = [(k, v) for k, v in base if k != key] + [(key, val)]
        sig = b" " + b"; ".join(k.encode() + b"=" + v for k, v in tags)
        r = send([(b"DKIM-Signature", sig)] + HEADERS)
        ours = [v for n, v in r.added if n == b"Authentication-Results"]
        if len(ours) != 1:
            fail("injection %s=%r: %d A-R added (action %s)" % (key, val, len(ours), r.action))
        check_structure("injection %s=%r" % (key, val), ours[0])
    # All of them on one message (only MaximumSignaturesToVerify evaluated).
    sigs = []
    for key, val in hostile:
        tags = [(k, v) for k, v in base if k != key] + [(key, val)]
        sigs.append((b"DKIM-Signature", b" " + b"; ".join(k.encode() + b"=" + v for k, v in tags)))
    r = send(sigs[:20] + HEADERS)
    ours = [v for n, v in r.added if n == b"Authentication-Results"]
    if len(ours) != 1:
        fail("injection, 20 signatures: %d A-R added" % len(ours))
    res = check_structure("injection, 20 signatures", ours[0])
    print("ok: hostile d=/s=/i=/... values: %d cases, our A-R well formed, never pass" % len(hostile))
    print("ok: 20 hostile signatures on one message: %d results" % len(res))


def main():
    # Each form alone.
    for i, f in enumerate(FORGED):
        forged_case("forged form %d" % i, [(b"Authentication-Results", f)] + HEADERS, 0)
    for i, f in enumerate(OTHERS):
        forged_case("foreign form %d" % i, [(b"Authentication-Results", f)] + HEADERS, 1)
    # All of them, many times, mixed with the others, in any position and
    # with the field name in any case.
    rnd = random.Random(1)
    for rounds in (1, 3, 10):
        fields = []
        for k in range(rounds):
            # the two long ones once: 10 x 20 KB is past MaximumHeaders
            fields += [(rnd.choice(NAMES), f) for f in (FORGED if k == 0 else FORGED[:-2])]
        fields += [(rnd.choice(NAMES), o) for o in OTHERS]
        body = list(HEADERS)
        rnd.shuffle(fields)
        for f in fields:
            body.insert(rnd.randrange(len(body) + 1), f)
        forged_case("%d forged among %d fields" % (len(fields) - len(OTHERS), len(body)), body,
                    len(OTHERS))
    # Past MaximumHeaders (the forged fields cannot get through unremoved:
    # the message is refused).
    many = HEADERS + [(b"Authentication-Results", FORGED[0])] * 2000
    r = send(many)
    if not r.action.startswith("replycode 451 4.3.4"):
        fail("2000 forged fields: action %r" % r.action)
    print("ok: 2000 forged fields (past MaximumHeaders): %s" % r.action)
    injection_cases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
