#!/usr/bin/python3
"""Signs a message with dkimpy (an independent implementation), with tags
that a normal signer would not write: a chosen t=, an x=, an l= longer
than the body, ... so that the milter tests can make valid signatures that
are expired, from the future, and so on.

usage: dkimsign.py KEYFILE DOMAIN SELECTOR MESSAGE [TAG=VALUE]...
TAG=VALUE replaces the tag of that name in the signature (t=, l=, i=, ...)
or adds it before h=; TAG= (empty value) removes it. h= may be given too
(colon-separated). The signature is computed over the result, so b=
verifies whatever the other tags say. Prints the signed message (LF line
ends).
"""
import re
import sys

import dkim


def main():
    keyfile, domain, selector, msgfile = sys.argv[1:5]
    overrides = [a.split("=", 1) for a in sys.argv[5:]]
    with open(keyfile, "rb") as f:
        key = f.read()
    with open(msgfile, "rb") as f:
        message = re.sub(rb"\r?\n", b"\r\n", f.read())

    orig = dkim.DKIM.gen_header

    def gen_header(self, fields, *args, **kwargs):
        fields = list(fields)
        for tag, value in overrides:
            t, v = tag.encode(), value.encode()
            idx = [i for i, f in enumerate(fields) if f[0] == t]
            if idx and v:
                fields[idx[0]] = (t, v)
            elif idx:
                del fields[idx[0]]
            elif v:
                h = [i for i, f in enumerate(fields) if f[0] == b"h"][0]
                fields.insert(h, (t, v))
        return orig(self, fields, *args, **kwargs)

    dkim.DKIM.gen_header = gen_header
    include = None
    for tag, value in overrides:
        if tag == "h":
            include = [h.encode() for h in value.split(":")]
    d = dkim.DKIM(message)
    sig = d.sign(selector.encode(), domain.encode(), key,
                 include_headers=include)
    out = (sig + message).replace(b"\r\n", b"\n")
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
