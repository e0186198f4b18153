#!/usr/bin/python3
"""ARC with dkimpy (python3-dkim) for tests/interop/arc.sh.

  arc_dkimpy.py verify RECORDS MSG      prints dkimpy's cv (pass/fail/none)
  arc_dkimpy.py seal RECORDS KEY MSG    prints MSG with a dkimpy ARC set on
                                        top (d=example.org s=py,
                                        authserv-id lists.example.org)

RECORDS lines are "selector._domainkey.domain RECORD", as dkimtool reads.
"""
import sys

import dkim


def records(path):
    recs = {}
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            name, rec = line.strip().split(" ", 1)
            recs[name.lower() + "."] = rec.encode()
    return recs


def dnsfunc_for(recs):
    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return recs.get(name.lower().rstrip(".") + ".")
    return dnsfunc


def main():
    cmd, recs = sys.argv[1], records(sys.argv[2])
    if cmd == "verify":
        msg = open(sys.argv[3], "rb").read()
        cv, _, why = dkim.arc_verify(msg, dnsfunc=dnsfunc_for(recs))
        print((cv or b"none").decode(), why)
    else:
        key = open(sys.argv[3], "rb").read()
        msg = open(sys.argv[4], "rb").read()
        hdrs = dkim.arc_sign(msg, b"py", b"example.org", key, b"lists.example.org",
                             include_headers=[b"from", b"to", b"subject"])
        sys.stdout.buffer.write(b"".join(hdrs) + msg)


main()
