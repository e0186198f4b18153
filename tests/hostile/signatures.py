#!/usr/bin/python3
"""signatures.py PORT DNSLOG - malformed DKIM-Signature fields, verified by
the running daemon (tests/hostile/signatures.sh).

A message is signed by the daemon itself (internal client); then each tag
of its signature is, in turn, removed, duplicated, emptied, made overlong
and given hostile values, and the message is verified from an external
client. No mutated signature may pass; the ones RFC 6376 makes invalid
(§3.2 duplicate tags, §3.5 required tags and syntax, §6.1.1 i= outside d=)
must be dkim=permerror with a reason. Then: h= with thousands of names,
h= names looked up among thousands of fields, hundreds of signatures (only
MaximumSignaturesToVerify = 3 evaluated: at most 3 results, at most 3 key
queries), very large z= and b=. Any signature within MaximumHeaders (65536
bytes, the default) is verified; one in a header block past it gets
On-Security.
"""
import re
import sys
import time

from mclient import Milter, ar_of

PORT = int(sys.argv[1])
DNSLOG = sys.argv[2]
EXT = "203.0.113.9"
HEADERS = [(b"From", b" Alice <alice@example.com>"), (b"To", b" bob@example.net"),
           (b"Subject", b" signature torture"),
           (b"Date", b" Sun, 22 Nov 2026 00:00:00 +0000"),
           (b"Message-ID", b" <sigs@example.com>")]
BODY = b"Hello.\r\nSecond line.\r\n"
REQUIRED = ["v", "a", "b", "bh", "d", "h", "s"]
NOT_PASS = ("fail", "permerror", "neutral", "policy", "temperror")


def fail(what):
    print("FAIL: " + what)
    sys.exit(1)


def send(headers, client=EXT, body=BODY):
    c = Milter(PORT, timeout=60)
    try:
        t0 = time.monotonic()
        r = c.message(headers, body, client=client)
        r.elapsed = time.monotonic() - t0
        return r
    finally:
        c.close()


def sign():
    r = send(HEADERS, client="127.0.0.1")
    sigs = [v for n, v in r.added if n == b"DKIM-Signature"]
    if len(sigs) != 1:
        fail("could not sign the base message: %r" % r.action)
    return sigs[0]


def tags_of(sig):
    flat = re.sub(rb"\r?\n[ \t]*", b"", sig).strip()
    out = []
    for part in flat.split(b";"):
        if part.strip():
            k, _, v = part.strip().partition(b"=")
            out.append((k.strip().decode(), v.strip()))
    return out


def build(tags):
    return b" " + b"; ".join(k.encode() + b"=" + v for k, v in tags)


def results(r):
    ar = ar_of(r)
    if len(ar) != 1:
        fail("expected one A-R of ours, got %r (action %s)" % (ar, r.action))
    return re.findall(rb"dkim=([a-z]+)(?: reason=\"([^\"]*)\")?", ar[0]), ar[0]


SECURITY = "replycode 451 4.3.4"   # On-Security tempfail (the default)


def pad_past_limit(headers, limit=65536):
    """headers plus X-Pad fields of 1000 bytes: a block just past limit."""
    size = sum(len(n) + 1 + len(v) + 2 for n, v in headers)
    return headers + [(b"X-Pad", b" " + b"p" * 991)] * ((limit - size) // 1000 + 1)


def check(name, sigvalues, must_permerror=False, over=False, extra=()):
    """over: the header block is past MaximumHeaders: On-Security."""
    headers = [(b"DKIM-Signature", v) for v in sigvalues] + HEADERS + list(extra)
    if over:
        headers = pad_past_limit(headers)
    r = send(headers)
    if over:
        if not r.action.startswith(SECURITY):
            fail("%s: action %r, expected %s" % (name, r.action, SECURITY))
        print("ok: %s: %s (%.2fs)" % (name, r.action, r.elapsed))
        return r, []
    if r.action not in ("accept", "continue") and not r.action.startswith("replycode 550 5.7.20"):
        fail("%s: action %r" % (name, r.action))
    # With a reject (On-SignatureError, the default) the A-R was still sent
    # before the final reply: check it all the same.
    res, ar = results(r)
    for kind, reason in res:
        if kind == b"pass":
            fail("%s: PASSED: %r" % (name, ar))
        if kind.decode() not in NOT_PASS:
            fail("%s: result %r" % (name, kind))
    if must_permerror and (not res or res[0][0] != b"permerror" or not res[0][1]):
        fail("%s: expected permerror with a reason: %r" % (name, ar))
    print("ok: %s: %s -> %s (%.2fs)" % (name, b"; ".join(k + b" " + (rs or b"") for k, rs in res).decode(),
                                         r.action, r.elapsed))
    return r, res


def mutate(tags, key, fn):
    out = []
    for k, v in tags:
        out.extend(fn(k, v) if k == key else [(k, v)])
    return out


def main():
    sig = sign()
    tags = tags_of(sig)
    r = send([(b"DKIM-Signature", build(tags))] + HEADERS)
    if b"dkim=pass" not in b"".join(ar_of(r)):
        fail("the rebuilt signature does not pass: %r" % ar_of(r))
    print("ok: control: the rebuilt signature passes")
    keys = [k for k, _ in tags]
    for key in keys:
        check("%s= missing" % key, [build(mutate(tags, key, lambda k, v: []))],
              must_permerror=key in REQUIRED and key not in ("b",))
        check("%s= duplicated" % key, [build(mutate(tags, key, lambda k, v: [(k, v), (k, v)]))],
              must_permerror=True)
        check("%s= empty" % key, [build(mutate(tags, key, lambda k, v: [(k, b"")]))],
              must_permerror=key in ("v", "a", "d", "h", "s", "c", "t", "x", "l", "q", "i"))
        check("%s= overlong" % key, [build(mutate(tags, key, lambda k, v: [(k, v + b"A" * 12000)]))])
        # Over the engine's old 16 KB field limit, within MaximumHeaders:
        # verified now (it was On-Security), never a pass.
        check("%s= of 20 KB" % key,
              [build(mutate(tags, key, lambda k, v: [(k, v + b"A" * 20000)]))])
    check("a 20 KB b= in a block past MaximumHeaders",
          [build(mutate(tags, "b", lambda k, v: [(k, v + b"A" * 20000)]))], over=True)
    bad = {
        "a": [b"rsa-sha1024", b"ed25519-sha256", b"rsa-", b"-", b"\x01\xff"],
        "b": [b"!!!!", b"A", b"AB=CD", b"====", b"\xff\xfe"],
        "bh": [b"!!!!", b"A", b"AAAA", b"====", b"\xff"],
        "c": [b"simple/relaxed/simple", b"bogus", b"/"],
        "d": [b"", b".", b"..example.com", b"exa mple.com", b"-" * 300, b"a." * 200],
        "s": [b".", b"sel..x", b"s" * 300],
        "h": [b"to", b":", b"from::to", b"From:" * 3],
        "i": [b"alice@evil.example", b"@notexample.com", b"alice", b"@", b"@example.com.evil"],
        "l": [b"99999", b"-1", b"99999999999999999999999", b"1e3", b"0x10", b" 5"],
        "t": [b"-1", b"99999999999999999999999", b"abc"],
        "x": [b"1000", b"-1", b"99999999999999999999999", b"abc"],
        "q": [b"dns", b"https/txt", b""],
        "v": [b"2", b"0", b"DKIM1"],
    }
    strict = {"a", "c", "d", "h", "i", "l", "t", "x", "v"}
    for key, values in bad.items():
        for val in values:
            if key not in keys and key not in ("l", "x", "i"):
                continue
            m = [(k, v) for k, v in tags if k != key] + [(key, val)]
            check("%s=%r" % (key, val), [build(m)],
                  must_permerror=key in strict and key != "l" and not (key == "x" and val == b"99999999999999999999999"))
    # x= in the past, with t= before it.
    m = [(k, v) for k, v in tags if k not in ("t", "x")] + [("t", b"1000000"), ("x", b"1000100")]
    check("x= in the past", [build(m)])
    # l= larger than the body.
    m = [(k, v) for k, v in tags if k != "l"] + [("l", b"100000")]
    check("l= larger than the body", [build(m)])

    # h= with thousands of names: over the 1024 names the engine accepts,
    # permerror (10000 names make a 59 KB field: within MaximumHeaders, it
    # was On-Security under the old 16 KB field limit); then in a block
    # past MaximumHeaders.
    for n, over in ((2500, False), (10000, False), (10000, True)):
        m = mutate(tags, "h", lambda k, v: [(k, b":".join([b"from"] + [b"x%d" % i for i in range(n)]))])
        r, _ = check("h= with %d names%s" % (n, " (block past MaximumHeaders)" if over else ""),
                     [build(m)], must_permerror=not over, over=over)
        if r.elapsed > 10:
            fail("h= with %d names took %.1fs" % (n, r.elapsed))
    # Three signatures listing 1024 names each (the most accepted), none of
    # them present, among the 10 000 fields that fit in what is left of
    # MaximumHeaders: 30 million name comparisons if each name were looked
    # for by a scan of the fields. A failed signature, quickly.
    m = mutate(tags, "h", lambda k, v: [(k, b":".join([b"from"] + [b"x%d" % i for i in range(1023)]))])
    pad = [(b"X", b"")] * 10000
    r, res = check("3 x h= of 1024 names among 10000 fields", [build(m)] * 3, extra=pad)
    if [k for k, _ in res] != [b"fail"] * 3:
        fail("3 x h= of 1024 names: %r" % res)
    if r.elapsed > 5:
        fail("3 x h= of 1024 names among 10000 fields took %.1fs" % r.elapsed)

    # Very large z= and b=: verified within MaximumHeaders (60 KB was
    # On-Security under the old 16 KB field limit), never a pass.
    for size in (15000, 60000):
        z = [(k, v) for k, v in tags] + [("z", b"|".join([b"From:x=3Dy"] * (size // 11)))]
        check("z= of %d bytes" % size, [build(z)])
        b = mutate(tags, "b", lambda k, v: [(k, b"QUJD" * (size // 4))])
        check("b= of %d bytes" % size, [build(b)])

    # Hundreds of signatures, each with its own selector: only 3 evaluated.
    before = open(DNSLOG, "rb").read().count(b"._domainkey.example.com")
    # Short ones (about 90 bytes) so that 300 fit under MaximumHeaders.
    sigs = [b" v=1; a=rsa-sha256; d=example.com; s=many%d; h=from; bh=AAAA; b=AAAA" % i
            for i in range(300)]
    r, res = check("300 signatures", sigs)
    if len(res) > 3:
        fail("300 signatures: %d results reported" % len(res))
    time.sleep(0.2)
    log = open(DNSLOG, "rb").read()
    queried = len(set(re.findall(rb"many\d+\._domainkey\.example\.com", log)))
    if queried > 3:
        fail("300 signatures: %d keys looked up" % queried)
    if r.elapsed > 10:
        fail("300 signatures took %.1fs" % r.elapsed)
    print("ok: 300 signatures: %d results, %d keys looked up, %.2fs" % (len(res), queried, r.elapsed))
    # 300 signatures then the good one last: never evaluated past the limit.
    r, res = check("300 bad then the good one", sigs + [build(tags)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
