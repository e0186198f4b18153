#!/usr/bin/python3
"""canon_diff.py - libdkim's relaxed header canonicalization (RFC 6376
§3.4.2) against dkimpy's, an independent implementation, on random header
fields.

    canon_diff.py CANON_TOOL [COUNT] [SEED]

The fields are what a parsed message can hand either side: a name of
printable bytes without ':' (maybe trailing WSP), a colon, a value of
printable ASCII, 8-bit bytes, SP/HTAB runs and CRLF folds followed by WSP,
with many ':' near the start of the value (issue 16: "Subject: : hello").
Bytes on which the two libraries legitimately differ outside the grammar
(bare CR/LF, VT/FF, which dkimpy's strip() eats) are not generated.
Exits non-zero, printing the first mismatches, when any field differs.
"""
import random
import subprocess
import sys

from dkim.canonicalization import Relaxed

NAME_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
VALUE_ATOMS = [b":", b"::", b" ", b"  ", b"\t", b" \t ", b"\r\n ", b"\r\n\t",
               b"a", b"B", b"hello", b"Weekly", b"=?utf-8?q?x?=", b";", b",",
               b"\xc3\xa9", b"\xff", b"(c)", b"<a@b>", b"\"q\""]


def random_field(rng):
    name = bytes(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 12)))
    name += rng.choice([b"", b"", b"", b" ", b"\t", b" \t"])
    atoms = []
    # The start of the value: the interesting part.
    for _ in range(rng.randint(0, 4)):
        atoms.append(rng.choice([b" ", b"\t", b"\r\n ", b":", b"::", b":"]))
    for _ in range(rng.randint(0, 10)):
        atoms.append(rng.choice(VALUE_ATOMS))
    return name + b":" + b"".join(atoms)


def dkimpy_relaxed(field):
    name, value = field.split(b":", 1)
    [(cname, cvalue)] = Relaxed.canonicalize_headers([(name, value)])
    assert cvalue.endswith(b"\r\n")
    return cname + b":" + cvalue[:-2]


def main():
    tool = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    rng = random.Random(seed)
    # Fixed cases first: the ones issue 16 reported.
    fields = [b"Subject: : hello", b"Subject: :: Weekly ::", b"Subject:\r\n :x",
              b"X::", b"X : : a"]
    fields += [random_field(rng) for _ in range(count)]
    out = subprocess.run([tool], input=b"\0".join(fields) + b"\0",
                         stdout=subprocess.PIPE, check=True).stdout
    got = out.split(b"\0")
    if len(got) != len(fields) + 1 or got[-1] != b"":
        print("canon_diff: tool answered %d fields for %d" % (len(got) - 1, len(fields)))
        return 1
    bad = 0
    for field, ours in zip(fields, got):
        want = dkimpy_relaxed(field)
        if ours != want:
            bad += 1
            if bad <= 10:
                print("MISMATCH %r\n  libdkim %r\n  dkimpy  %r" % (field, ours, want))
    print("canon_diff: %d fields, %d mismatches (seed %d)" % (len(fields), bad, seed))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
