#!/usr/bin/python3
"""keyrecords.py records|run ... - hostile key records for keys.sh.

  keyrecords.py records GOODRECORD   prints dns.sh record lines, one
                                     selector per hostile key record
  keyrecords.py run PORT             signs a message through the daemon,
                                     points its signature at each hostile
                                     selector in turn and checks the result

Hostile records: oversized TXT answers (20 KB, 60 KB), RSA moduli of 16384
and 65536 bits, Ed25519 keys of 31, 33 and 64 bytes, keys that are not keys
(random bytes, bad base64, an EC key, an RSA key under k=ed25519), unknown
k= / h=, v= not first, several records. Each must give dkim=permerror with
a reason (RFC 6376 §6.1.2), quickly; never pass.
"""
import base64
import random
import re
import subprocess
import sys
import time

EXT = "203.0.113.9"


def der_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return der(0x02, b)


def rsa_spki(bits):
    """A SubjectPublicKeyInfo for an RSA key with a random odd modulus."""
    rnd = random.Random(bits)
    n = rnd.getrandbits(bits) | (1 << (bits - 1)) | 1
    alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b""))
    key = der(0x30, der_int(n) + der_int(65537))
    return der(0x30, alg + der(0x03, b"\0" + key))


def b64(data):
    return base64.b64encode(data).decode()


def ec_spki():
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                          "ec_paramgen_curve:P-256"], capture_output=True, check=True).stdout
    pub = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    return pub


CASES = {}


def records(good):
    goodp = re.search(r"p=([A-Za-z0-9+/=]+)", good).group(1)
    rnd = random.Random(3)
    big = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                  for _ in range(60000))
    cases = {
        "txt20k": "v=DKIM1; k=rsa; p=" + goodp + "; n=" + big[:20000],
        "txt60k": "v=DKIM1; k=rsa; p=" + big[:60000],
        "rsa16k": "v=DKIM1; k=rsa; p=" + b64(rsa_spki(16384)),
        "rsa64k": "v=DKIM1; k=rsa; p=" + b64(rsa_spki(65536))[:15000],
        "rsa9k": "v=DKIM1; k=rsa; p=" + b64(rsa_spki(9000)),
        "ed31": "v=DKIM1; k=ed25519; p=" + b64(bytes(31)),
        "ed33": "v=DKIM1; k=ed25519; p=" + b64(bytes(33)),
        "ed64": "v=DKIM1; k=ed25519; p=" + b64(bytes(range(64))),
        "edrsa": "v=DKIM1; k=ed25519; p=" + goodp,
        "random": "v=DKIM1; k=rsa; p=" + b64(bytes(rnd.getrandbits(8) for _ in range(300))),
        "badb64": "v=DKIM1; k=rsa; p=!!!notbase64!!!",
        "ec": "v=DKIM1; k=rsa; p=" + b64(ec_spki()),
        "kunknown": "v=DKIM1; k=dsa; p=" + goodp,
        "hsha1": "v=DKIM1; h=sha1; k=rsa; p=" + goodp,
        "vnotfirst": "k=rsa; v=DKIM1; p=" + goodp,
        "vbad": "v=DKIM2; k=rsa; p=" + goodp,
        "dup": "v=DKIM1; k=rsa; k=rsa; p=" + goodp,
        "notdkim": "hello world",
        "nop": "v=DKIM1; k=rsa",
    }
    for sel, rec in cases.items():
        print("txt %s._domainkey.example.com %s" % (sel, rec))
    # Several records for one name (RFC 6376 §3.6.2.2: ambiguous).
    print("txt two._domainkey.example.com v=DKIM1; k=rsa; p=" + goodp)
    print("txt two._domainkey.example.com v=DKIM1; k=rsa; p=" + b64(rsa_spki(2048)))


SELECTORS = ["txt20k", "txt60k", "rsa16k", "rsa64k", "rsa9k", "ed31", "ed33", "ed64", "edrsa",
             "random", "badb64", "ec", "kunknown", "hsha1", "vnotfirst", "vbad", "dup",
             "notdkim", "nop", "two", "absent"]


def run(port):
    from mclient import Milter, ar_of
    headers = [(b"From", b" Alice <alice@example.com>"), (b"To", b" bob@example.net"),
               (b"Subject", b" key torture"), (b"Date", b" Sun, 22 Nov 2026 00:00:00 +0000")]
    body = b"Hello.\r\n"

    def send(hs, client):
        c = Milter(port, timeout=60)
        try:
            t0 = time.monotonic()
            r = c.message(hs, body, client=client)
            r.elapsed = time.monotonic() - t0
            return r
        finally:
            c.close()

    r = send(headers, "127.0.0.1")
    sig = [v for n, v in r.added if n == b"DKIM-Signature"][0]
    v = send([(b"DKIM-Signature", sig)] + headers, EXT)
    if b"dkim=pass" not in b"".join(ar_of(v)):
        print("FAIL: control message does not pass: %r" % ar_of(v))
        return 1
    print("ok: control: dkim=pass")
    for sel in SELECTORS:
        bad = re.sub(rb"s=sel;", b"s=" + sel.encode() + b";", sig)
        v = send([(b"DKIM-Signature", bad)] + headers, EXT)
        ar = b"".join(ar_of(v))
        m = re.search(rb"dkim=([a-z]+)(?: reason=\"((?:[^\"\\]|\\.)*)\")?", ar)
        if m is None or m.group(1) != b"permerror" or not m.group(2):
            print("FAIL: %s: expected permerror with a reason, got %r (action %s)" % (sel, ar, v.action))
            return 1
        if v.elapsed > 5:
            print("FAIL: %s: took %.1fs" % (sel, v.elapsed))
            return 1
        print("ok: %s: permerror reason=\"%s\" -> %s (%.2fs)" % (sel, m.group(2).decode(), v.action, v.elapsed))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "records":
        records(open(sys.argv[2]).read())
        sys.exit(0)
    sys.exit(run(int(sys.argv[2])))
