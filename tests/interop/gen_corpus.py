#!/usr/bin/python3
"""gen_corpus.py - a deterministic corpus of awkward mail messages for the
interoperability tests (tests/interop/interop.sh).

Interface:
    gen_corpus.py DIR       writes DIR/NAME.eml for every case (the fixed
                            ones and the random ones) and DIR/manifest.json
                            (name -> signing parameters)
    import gen_corpus; gen_corpus.cases()
                            the fixed cases as a list of Case objects
    gen_corpus.random_cases(n, seed)
                            n random messages, the same for the same seed

Each case is a message that a correct signer must sign and a correct
verifier must verify, whatever the canonicalization: the awkwardness is in
the bytes (folding, tabs, trailing whitespace, 8-bit, line ends, sizes), not
in the validity of the message. The one deliberately invalid shape (a
second From: field added after signing) is produced by the harness as a
tampering case, not here.

Limits: the engine's defaults are 1000 header fields, 16384 bytes per field
and 65536 bytes of header block; the largest case stays below them (checked
by check_limits()).

Errors: an invalid case (over a limit, no From:) raises ValueError.
"""

import json
import os
import re
import sys

MAX_FIELDS = 1000
MAX_FIELD_BYTES = 16384
MAX_HEADER_BYTES = 65536

# Header fields every case signs when present (RFC 6376 §5.4.1 subset).
BASE_SIGN = ["from", "to", "subject", "date", "message-id"]


class Case:
    """One message: its name, raw bytes and how the harness signs it."""

    def __init__(self, name, headers, body, eol=b"\r\n", sign=None,
                 final_eol=True, note=""):
        self.name = name
        self.eol = eol
        self.sign = list(sign or BASE_SIGN)
        self.note = note
        self.headers = headers
        self.final_eol = final_eol or not body
        self.data = self._assemble(headers, body, eol, final_eol)

    @property
    def milter_exact(self):
        """True when every field has exactly one space after its colon,
        then a non-blank: the only shape that survives the milter protocol
        (which hands over values without their leading space) byte for
        byte, which simple header canonicalization needs."""
        return all(re.match(rb"[^:]+: [^ \t\n]", h) for h in self.headers)

    @staticmethod
    def _assemble(headers, body, eol, final_eol):
        """headers: list of raw fields (folds written as '\\n'); body: list of
        lines. Line ends become eol; final_eol=False leaves the body's last
        line unterminated."""
        out = b"".join(h.replace(b"\n", eol) + eol for h in headers) + eol
        if body:
            out += eol.join(body)
            if final_eol:
                out += eol
        return out

    def manifest(self):
        return {"sign": self.sign, "note": self.note,
                "final_eol": self.final_eol, "milter_exact": self.milter_exact,
                "eol": "crlf" if self.eol == b"\r\n" else "lf"}


def _std_headers(subject=b"Interop test"):
    return [
        b"From: Interop Sender <sender@example.com>",
        b"To: Receiver <rcpt@example.org>",
        b"Subject: " + subject,
        b"Date: Sat, 21 Nov 2026 12:00:00 +0000",
        b"Message-ID: <interop-1@example.com>",
    ]


def _body_lines(n=3):
    return [b"Line %d of the body." % i for i in range(1, n + 1)]


def _cases_basic():
    yield Case("basic_crlf", _std_headers(), _body_lines())
    yield Case("basic_lf", _std_headers(), _body_lines(), eol=b"\n")
    yield Case("empty_body", _std_headers(), [],
               note="header block and blank line only")
    yield Case("body_single_empty_line", _std_headers(), [b""])
    yield Case("body_only_blank_lines", _std_headers(), [b""] * 5)
    yield Case("no_final_crlf", _std_headers(), _body_lines(),
               final_eol=False)
    yield Case("no_final_lf", _std_headers(), _body_lines(), eol=b"\n",
               final_eol=False)
    yield Case("many_trailing_blank_lines", _std_headers(),
               _body_lines() + [b""] * 500)
    yield Case("leading_blank_lines", _std_headers(),
               [b"", b"", b"text after two blank lines"])


def _cases_whitespace():
    hdr = _std_headers(b"\tTabbed\t\tsubject \t") + [
        b"X-Trailing: value with trailing spaces   ",
        b"X-Trailing-Tab: value\t",
        b"X-Inner:  two  spaces\tand\t\ttabs  inside",
        b"X-Empty:",
        b"X-Spaces-Only:    ",
        b"X-NoSpace:value-right-after-colon",
    ]
    sign = BASE_SIGN + ["x-trailing", "x-trailing-tab", "x-inner",
                        "x-empty", "x-spaces-only", "x-nospace"]
    yield Case("header_whitespace", hdr, _body_lines(), sign=sign)
    yield Case("header_whitespace_lf", hdr, _body_lines(), eol=b"\n",
               sign=sign)
    body = [b"trailing spaces   ", b"trailing tab\t", b"\tleading tab",
            b"inner  \t  whitespace", b"   ", b"\t", b" \t \t", b"end"]
    # RFC 6376 §3.4.2: only the WSP right after the separator colon goes;
    # colons at the start of a value stay, and so does the space after them.
    colons = _std_headers(b": hello") + [
        b"X-Colons: :: Weekly ::",
        b"X-Colon-Fold:\n\t: folded colon",
    ]
    yield Case("header_leading_colons", colons, _body_lines(),
               sign=BASE_SIGN + ["x-colons", "x-colon-fold"])
    yield Case("body_whitespace", _std_headers(), body)
    yield Case("body_whitespace_trailing_ws_lines", _std_headers(),
               [b"text", b"  ", b"\t", b" \t "],
               note="whitespace-only lines at the end of the body")
    yield Case("body_control_chars", _std_headers(),
               [b"form\x0cfeed", b"vertical\x0btab", b"bell\x07"])
    yield Case("dots_and_from", _std_headers(),
               [b".", b"..", b"From the start of a line", b">From"])


def _cases_folding():
    words = b" ".join(b"word%03d" % i for i in range(300))
    folded = b"Subject: " + b"\n\t".join(
        words[i:i + 70] for i in range(0, len(words), 70))
    to = b"To: " + b",\n ".join(b"user%02d@example.org" % i
                                for i in range(40))
    hdr = [b"From: Interop Sender <sender@example.com>", to, folded,
           b"Date: Sat, 21 Nov 2026 12:00:00 +0000",
           b"X-Folded-Odd: first\n \tsecond  \n\t  third\t",
           b"X-Folded-Early:\n value on the next line"]
    sign = BASE_SIGN + ["x-folded-odd", "x-folded-early"]
    yield Case("folded_headers", hdr, _body_lines(), sign=sign)
    yield Case("folded_headers_lf", hdr, _body_lines(), eol=b"\n",
               sign=sign)
    odd = _std_headers() + [
        b"X-Ws-Continuation: first\n \n\tafter a blank continuation",
        b"X-Empty-Folded:\n\tvalue only on the continuation",
        b"X-Fold-Trailing: a \t\n b \t",
        b"X-Odd.Name_1: odd but legal field name characters",
    ]
    yield Case("odd_folding", odd, _body_lines(),
               sign=BASE_SIGN + ["x-ws-continuation", "x-empty-folded",
                                 "x-fold-trailing", "x-odd.name_1"],
               note="whitespace-only continuation line (obs-FWS)")
    yield Case("long_unfolded_header",
               _std_headers() + [b"X-Long: " + b"x" * 5000],
               _body_lines(), sign=BASE_SIGN + ["x-long"])
    yield Case("long_body_line", _std_headers(),
               [b"start", b"y" * 10000, b"z " * 5000, b"end"])
    big = [b"%06d %s\t%s " % (i, b"lorem ipsum" * (i % 7), b" " * (i % 3))
           for i in range(20000)]
    yield Case("big_body", _std_headers(), big + [b""] * 3,
               note="about 1 MB of body, trailing whitespace on most lines")
    yield Case("long_body_line_lf", _std_headers(),
               [b"q" * 10000], eol=b"\n")


def _cases_8bit():
    utf8 = "Grüße aus Köln ✓ — ünïcödé".encode("utf-8")
    latin1 = "café déjà vu".encode("latin-1")
    yield Case("utf8", _std_headers(utf8) + [b"X-Utf8: " + utf8],
               [utf8, b"plain", utf8 + b"  "],
               sign=BASE_SIGN + ["x-utf8"])
    yield Case("latin1", _std_headers(latin1) + [b"X-Latin1:\t" + latin1],
               [latin1, latin1 + b"\t"], sign=BASE_SIGN + ["x-latin1"])
    yield Case("utf8_lf", _std_headers(utf8), [utf8] * 3, eol=b"\n")


def _cases_repeated():
    received = [b"Received: from relay%d.example.net by mx.example.org;"
                b"\n\tSat, 21 Nov 2026 12:00:0%d +0000" % (i, i)
                for i in range(5)]
    tags = [b"X-Tag: tag %d" % i for i in range(3)]
    hdr = received + _std_headers() + tags + [b"Comments: not signed"]
    yield Case("repeated_headers", hdr, _body_lines(),
               sign=BASE_SIGN + ["x-tag", "x-tag", "x-tag"],
               note="five Received (unsigned), three X-Tag all signed")
    yield Case("repeated_partly_signed", hdr, _body_lines(),
               sign=BASE_SIGN + ["x-tag"],
               note="only the bottom X-Tag signed")
    yield Case("oversigned", _std_headers(), _body_lines(),
               sign=["from", "from", "to", "to", "subject", "subject",
                     "date", "message-id", "reply-to", "cc"],
               note="From/To/Subject oversigned, absent Reply-To/Cc listed")
    yield Case("header_name_case",
               [b"FROM: sender@example.com", b"to: rcpt@example.org",
                b"SuBjEcT: mixed case names", b"MESSAGE-ID: <c@example.com>"],
               _body_lines())


def _cases_many_headers(count=900):
    hdr = _std_headers()
    hdr += [b"X-Filler-%04d: value %d" % (i, i) for i in range(count)]
    sign = BASE_SIGN + ["x-filler-%04d" % i for i in range(0, count, 9)]
    yield Case("many_headers", hdr, _body_lines(),
               sign=sign, note="%d header fields" % len(hdr))
    rep = _std_headers() + [b"X-Same: %d" % i for i in range(count)]
    yield Case("many_same_name", rep, _body_lines(),
               sign=BASE_SIGN + ["x-same"] * 50,
               note="%d X-Same fields, the bottom 50 signed" % count)


# ---- random messages (deterministic seed) ----------------------------------

_WORDS = [b"alpha", b"beta", b"\xc3\xa9t\xc3\xa9", b"caf\xe9", b"x" * 300,
          b"<a@b.example>", b"=?utf-8?q?x?=", b"(comment)", b"\"q s\"", b";",
          b"\xe2\x9c\x93", b"0123456789"]
_WSP = [b" ", b"\t", b"  ", b" \t ", b"\t\t"]
_NAMES = [b"Subject", b"To", b"Cc", b"X-A", b"X-B", b"X-Long-Header-Name",
          b"Reply-To", b"X-a", b"x-b", b"In-Reply-To", b"List-Id"]


def _rand_value(rng):
    """A field value: words, whitespace runs (also at the ends) and folds
    (a line end followed by at least one WSP)."""
    out = rng.choice([b"", b" ", b"\t", b"  "])
    for _ in range(rng.randrange(0, 8)):
        r = rng.random()
        if r < 0.55:
            out += rng.choice(_WORDS)
        elif r < 0.8:
            out += rng.choice(_WSP)
        else:
            out += b"\n" + rng.choice(_WSP)
    return out


def _rand_body_line(rng):
    r = rng.random()
    if r < 0.2:
        return b""
    if r < 0.35:
        return b"".join(rng.choice(_WSP) for _ in range(rng.randrange(1, 4)))
    line = b""
    for _ in range(rng.randrange(1, 12)):
        line += rng.choice(_WORDS + _WSP)
    return line


def _rand_case(rng, i):
    names = [rng.choice(_NAMES) for _ in range(rng.randrange(0, 14))]
    headers = [b"%s:%s" % (n, _rand_value(rng)) for n in names]
    headers.insert(rng.randrange(0, len(headers) + 1),
                   b"From:" + rng.choice([b" ", b"", b"\t"]) +
                   b"Someone <someone@example.com>" + rng.choice(_WSP + [b""]))
    body = [_rand_body_line(rng) for _ in range(rng.randrange(0, 30))]
    body += [b""] * rng.choice([0, 0, 1, 5])
    # No final line end only when the last line ends in a non-blank: dkimpy
    # keeps the whitespace of an unterminated last line under relaxed (RFC
    # 6376 §3.4.4 is read both ways), OpenDKIM refuses such bodies.
    final_eol = not (body and body[-1][-1:].isalnum()) or rng.random() < 0.7
    present = sorted(set(n.lower().decode() for n in names))
    sign = ["from"] + rng.sample(present, rng.randrange(0, len(present) + 1))
    sign += rng.sample(["from", "subject", "x-a", "x-absent"], 2)
    rng.shuffle(sign)
    return Case("random_%03d" % i, headers, body,
                eol=rng.choice([b"\r\n", b"\n"]), sign=sign,
                final_eol=final_eol, note="random")


def random_cases(n=80, seed=6376):
    """n random messages; the same for the same seed."""
    import random
    rng = random.Random(seed)
    out = [_rand_case(rng, i) for i in range(n)]
    for c in out:
        check_limits(c)
    return out


def cases():
    """Every case, in a fixed order."""
    out = []
    for gen in (_cases_basic, _cases_whitespace, _cases_folding,
                _cases_8bit, _cases_repeated, _cases_many_headers):
        out.extend(gen())
    for c in out:
        check_limits(c)
    return out


def check_limits(case):
    """Raises ValueError when a case would exceed the engine's defaults."""
    if len(case.headers) >= MAX_FIELDS:
        raise ValueError("%s: %d fields" % (case.name, len(case.headers)))
    block = 0
    for h in case.headers:
        n = len(h) + 2 * (h.count(b"\n") + 1)
        if n > MAX_FIELD_BYTES:
            raise ValueError("%s: a field of %d bytes" % (case.name, n))
        block += n
    # The signature the harness prepends is under 2 KB.
    if block + 2048 > MAX_HEADER_BYTES:
        raise ValueError("%s: header block of %d bytes" % (case.name, block))
    if "from" not in case.sign:
        raise ValueError("%s: From not signed" % case.name)


def write(directory):
    os.makedirs(directory, exist_ok=True)
    manifest = {}
    for c in cases() + random_cases():
        with open(os.path.join(directory, c.name + ".eml"), "wb") as f:
            f.write(c.data)
        manifest[c.name] = c.manifest()
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return manifest


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: gen_corpus.py DIR\n")
        return 2
    n = len(write(argv[1]))
    print("gen_corpus: %d messages in %s" % (n, argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
