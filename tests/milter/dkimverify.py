#!/usr/bin/python3
"""Verifies every DKIM-Signature of a message with dkimpy (an independent
implementation), taking key records from a records file instead of DNS.

usage: dkimverify.py RECORDS MESSAGE
RECORDS: lines "txt NAME RECORD..." (the tests/lib/dns.sh format).
Prints one line per signature: "INDEX d=DOMAIN s=SELECTOR pass|fail".
Exit status: 0 when every signature verifies and there is at least one.
"""
import re
import sys

import dkim


def load_records(path):
    records = {}
    with open(path) as f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[0] == "txt":
                records[parts[1].lower().rstrip(".")] = parts[2].strip().encode()
    return records


def main():
    records = load_records(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        message = f.read()
    message = re.sub(rb"\r?\n", b"\r\n", message)

    def dnsfunc(name, timeout=5):
        key = name.decode() if isinstance(name, bytes) else name
        return records.get(key.lower().rstrip("."), b"")

    d = dkim.DKIM(message)
    count = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    ok = count > 0
    for i in range(count):
        good = d.verify(idx=i, dnsfunc=dnsfunc)
        sig = d.signature_fields
        print("%d d=%s s=%s %s" % (i, sig.get(b"d", b"?").decode(),
                                    sig.get(b"s", b"?").decode(),
                                    "pass" if good else "fail"))
        ok = ok and good
    if count == 0:
        print("no signature")
    return 0 if ok else 1


sys.exit(main())
