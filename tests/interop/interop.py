#!/usr/bin/python3
"""interop.py - runs libdkim (through dkimtool) against independent DKIM
implementations over the generated corpus (gen_corpus.py).

    interop.py --dkimtool PATH --workdir DIR [--opendkim PATH]

Checks, for every message of gen_corpus.cases() x {rsa-sha256,
ed25519-sha256} x the four canonicalizations:
  dkimtool sign  -> dkimpy verify    (and dkimtool verify, for consistency)
  dkimpy sign    -> dkimtool verify
  opendkim sign  -> dkimtool verify  (Debian's opendkim in its offline test
  dkimtool sign  -> opendkim verify   mode, -t, with TestPublicKeys)
The random messages (gen_corpus.random_cases()) go both ways against dkimpy
(two combinations each) and against OpenDKIM (relaxed header
canonicalization, both algorithms). Combinations OpenDKIM cannot do itself
(opendkim_limit) are counted and listed, not compared.
Tampering: one byte changed in a signed header gives fail/signature, in the
body fail/body-hash, in dkimtool and in the other implementation; a second
From: field added after signing must not pass; whitespace changes pass
exactly where the canonicalization says they should. Also: l= with text
appended, i=, two signatures on one message, private key file forms and
RSA sizes, the one-shot command line.

Prints each failure with enough detail to reproduce it (the message is kept
under DIR/failed/), then "interop: N passed, M failed". Exit status 0 when
nothing failed, 1 otherwise, 2 on a setup error.

Keys are generated here with the openssl command line; dkimpy gets the RSA
key as PKCS#1 PEM and the Ed25519 key as base64 of the 32-byte seed (what
dkimpy 1.1.4 passes to nacl.signing.SigningKey).
"""

import argparse
import base64
import os
import re
import subprocess
import sys

import dkim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_corpus  # noqa: E402

DOMAIN = "example.com"
SELECTORS = {"rsa-sha256": "sel-rsa", "ed25519-sha256": "sel-ed"}
CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple",
          "relaxed/relaxed"]
ALGS = ["rsa-sha256", "ed25519-sha256"]
# Feed dkimtool in chunks of these sizes in turn (0: the whole message), so
# that CR/LF and header boundaries fall across chunks.
CHUNKS = [0, 1, 7, 64, 4096]
TIMESTAMP = "1700000000"
TAMPER_CASES = ["basic_crlf", "basic_lf", "folded_headers", "utf8",
                "many_headers", "oversigned"]
# l=/i= and two-signature checks: a spread of shapes, to bound the runtime.
EXTRA_CASES = TAMPER_CASES + ["empty_body", "no_final_crlf", "no_final_lf",
                              "many_trailing_blank_lines", "odd_folding",
                              "body_whitespace_trailing_ws_lines"]


class Keys:
    """The test keys, their files and their DNS records."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "keys")
        os.makedirs(self.dir, exist_ok=True)
        self.rsa_pem = self._genpkey("rsa.pem", ["-algorithm", "RSA",
                                     "-pkeyopt", "rsa_keygen_bits:2048"])
        self.rsa_pkcs1 = os.path.join(self.dir, "rsa-pkcs1.pem")
        _run(["openssl", "rsa", "-in", self.rsa_pem, "-traditional",
              "-out", self.rsa_pkcs1])
        self.ed_pem = self._genpkey("ed.pem", ["-algorithm", "ED25519"])
        rsa_pub = self._der(self.rsa_pem, pub=True)
        ed_pub = self._der(self.ed_pem, pub=True)[-32:]
        # PKCS#8 Ed25519: the private key OCTET STRING ends the DER.
        self.ed_seed_b64 = base64.b64encode(self._der(self.ed_pem)[-32:])
        self.records = {
            "sel-rsa._domainkey." + DOMAIN:
                "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_pub).decode(),
            "sel-ed._domainkey." + DOMAIN:
                "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode(),
        }
        self.records_file = os.path.join(self.dir, "records.txt")
        with open(self.records_file, "w") as f:
            for name, rec in sorted(self.records.items()):
                f.write("%s %s\n" % (name, rec))

    def _genpkey(self, name, args):
        path = os.path.join(self.dir, name)
        _run(["openssl", "genpkey"] + args + ["-out", path])
        return path

    @staticmethod
    def _der(path, pub=False):
        args = ["openssl", "pkey", "-in", path, "-outform", "DER"]
        return _run(args + (["-pubout"] if pub else []))

    def private_file(self, alg):
        return self.rsa_pem if alg.startswith("rsa") else self.ed_pem

    def dkimpy_private(self, alg):
        if alg.startswith("rsa"):
            with open(self.rsa_pkcs1, "rb") as f:
                return f.read()
        return self.ed_seed_b64

    def dnsfunc(self, name, timeout=5):
        """dkimpy's DNS hook: name is b'sel._domainkey.example.com.'."""
        key = name.decode().rstrip(".").lower()
        rec = self.records.get(key)
        return rec.encode() if rec is not None else None


def _run(args, data=None, check=True):
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            " ".join(args), p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout


class Report:
    """Counts checks; remembers and keeps the messages of failures."""

    def __init__(self, workdir):
        self.passed = 0
        self.failed = 0
        self.faildir = os.path.join(workdir, "failed")
        self.skipped = {}

    def skip(self, reason):
        """Counts a combination another implementation cannot do; true
        when reason is set."""
        if reason:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
        return bool(reason)

    def check(self, ok, label, detail="", message=None):
        if ok:
            self.passed += 1
            return True
        self.failed += 1
        print("FAIL %s: %s" % (label, detail.strip()))
        if message is not None:
            os.makedirs(self.faildir, exist_ok=True)
            fname = re.sub(r"[^A-Za-z0-9_.-]+", "_", label) + ".eml"
            with open(os.path.join(self.faildir, fname), "wb") as f:
                f.write(message)
            print("     message kept in %s" % os.path.join(self.faildir,
                                                          fname))
        return False


class DkimTool:
    """Runs tests/interop/dkimtool: one "dkimtool batch" process answers
    every sign and verify request (a process per run is slow under
    sanitizers)."""

    def __init__(self, path, keys):
        self.path = path
        self.keys = keys
        self.calls = 0
        self.proc = subprocess.Popen([path, "batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)

    def close(self):
        self.proc.stdin.close()
        status = self.proc.wait()
        if status != 0:
            raise RuntimeError("dkimtool batch exited with %d" % status)

    def run(self, args, msg):
        """(exit status, output, diagnostics) of one sign/verify run."""
        self.calls += 1
        chunk = CHUNKS[self.calls % len(CHUNKS)]
        if chunk:
            args = args + ["-C", str(chunk)]
        line = "\t".join([str(len(msg))] + args) + "\n"
        self.proc.stdin.write(line.encode() + msg)
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if len(reply) != 3:
            raise RuntimeError("dkimtool batch died on %s" % " ".join(args))
        status, outlen, errlen = (int(x) for x in reply)
        out = self.proc.stdout.read(outlen)
        err = self.proc.stdout.read(errlen)
        return status, out, err.decode(errors="replace")

    def sign(self, msg, alg, canon, headers, extra=(), key=None, sel=None):
        args = ["sign", "-k", key or self.keys.private_file(alg),
                "-d", DOMAIN, "-s", sel or SELECTORS[alg], "-a", alg,
                "-c", canon, "-H", ":".join(headers), "-t", TIMESTAMP]
        status, out, err = self.run(args + list(extra), msg)
        return (out, "") if status == 0 else (None, err)

    def verify(self, msg):
        """Returns (lines, exit status); lines are the result lines."""
        status, out, err = self.run(["verify", "-r", self.keys.records_file],
                                    msg)
        lines = out.decode(errors="replace").splitlines()
        return lines + (["stderr: " + err.strip()] if err else []), status


def dkimpy_verify(keys, msg):
    """(True/False, why) for the topmost signature, as dkimpy sees it."""
    d = dkim.DKIM(msg, minkey=1024)
    try:
        return bool(d.verify(dnsfunc=keys.dnsfunc)), ""
    except dkim.DKIMException as e:
        return False, "%s: %s" % (type(e).__name__, e)


def dkimpy_sign(keys, case, msg, alg, canon):
    hc, bc = canon.split("/")
    sig = dkim.sign(msg, SELECTORS[alg].encode(), DOMAIN.encode(),
                    keys.dkimpy_private(alg),
                    canonicalize=(hc.encode(), bc.encode()),
                    signature_algorithm=alg.encode(),
                    include_headers=[h.encode() for h in case.sign],
                    linesep=case.eol)
    return sig + msg


def first_result(lines):
    """(result, kind) of dkimtool verify's first line."""
    if not lines:
        return None, None
    words = lines[0].split()
    kind = next((w[5:] for w in words if w.startswith("kind=")), None)
    return words[0], kind


# ---- message surgery for tampering ------------------------------------------

def split_message(msg):
    """(header block with its blank line, body) of a signed message."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = msg.find(sep)
        if i >= 0:
            j = i + len(sep)
            return msg[:j], msg[j:]
    return msg, b""


def flip_header(msg, name=b"Subject"):
    """Changes one byte of the named header's value (XOR 1 on a letter)."""
    head, body = split_message(msg)
    m = re.search(rb"(^|\n)" + name + rb":[ \t]*([A-Za-z])", head,
                  re.IGNORECASE)
    if m is None:
        return None
    i = m.start(2)
    return head[:i] + bytes([head[i] ^ 1]) + head[i + 1:] + body


def flip_body(msg):
    head, body = split_message(msg)
    m = re.search(rb"[A-Za-z]", body)
    if m is None:
        return None
    i = m.start()
    return head + body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]


def add_from(msg, eol):
    """A second From: field right below the signature (RFC 6376 §8.15)."""
    i = msg.find(b"\nFrom:")
    if i < 0:
        i = msg.find(b"\nFROM:")
    return msg[:i + 1] + b"From: attacker@evil.example" + eol + msg[i + 1:]


def space_in_header(msg, name=b"Subject"):
    """One more space after a space inside the value: relaxed-invariant."""
    head, body = split_message(msg)
    m = re.search(rb"(^|\n)" + name + rb":[^\r\n]*?[^ \t:]( )[^ \t\r\n]", head)
    if m is None:
        return None
    i = m.start(2)
    return head[:i] + b" " + head[i:] + body


def space_in_body(msg, eol):
    """Trailing whitespace on the first body line: relaxed-invariant."""
    head, body = split_message(msg)
    i = body.find(eol)
    if i <= 0:
        return None
    return head + body[:i] + b" \t" + body[i:]


# ---- the checks ---------------------------------------------------------------

def label(*parts):
    return " ".join(parts)


def check_dkimtool_to_dkimpy(rep, tool, keys, case, alg, canon):
    """Ours signs; dkimpy and ours verify. Returns the signed message."""
    lab = label("dkimtool->dkimpy", alg, canon, case.name)
    signed, err = tool.sign(case.data, alg, canon, case.sign)
    if not rep.check(signed is not None, lab, "dkimtool sign: " + err,
                     case.data):
        return None
    ok, why = dkimpy_verify(keys, signed)
    rep.check(ok, lab, "dkimpy says no: " + why, signed)
    lines, status = tool.verify(signed)
    rep.check(status == 0, label("dkimtool->dkimtool", alg, canon,
                                 case.name), " | ".join(lines), signed)
    return signed


def check_dkimpy_to_dkimtool(rep, tool, keys, case, alg, canon):
    """dkimpy signs; ours verifies. Returns the signed message."""
    lab = label("dkimpy->dkimtool", alg, canon, case.name)
    try:
        signed = dkimpy_sign(keys, case, case.data, alg, canon)
    except dkim.DKIMException as e:
        rep.check(False, lab, "dkimpy sign: %s" % e, case.data)
        return None
    lines, status = tool.verify(signed)
    rep.check(status == 0, lab, " | ".join(lines), signed)
    return signed


def expect_tool(rep, tool, lab, msg, result, kind=None):
    lines, _ = tool.verify(msg)
    got, got_kind = first_result(lines)
    ok = got == result and (kind is None or got_kind == kind)
    want = result + ("/" + kind if kind else "")
    rep.check(ok, lab, "dkimtool: want %s, got: %s" % (
        want, " | ".join(lines)), msg)


def expect_dkimpy(rep, keys, lab, msg, want):
    ok, why = dkimpy_verify(keys, msg)
    rep.check(ok == want, lab, "dkimpy: want %s, got %s %s" % (
        want, ok, why), msg)


def check_tampering(rep, tool, keys, case, alg, canon, signed, who):
    """Changes one byte in a signed header, in the body; adds a From."""
    hc, bc = canon.split("/")
    lab = label("tamper", who, alg, canon, case.name)
    bad = flip_header(signed)
    if rep.check(bad is not None, lab + " header", "no Subject to change"):
        expect_tool(rep, tool, lab + " header", bad, "fail", "signature")
        expect_dkimpy(rep, keys, lab + " header", bad, False)
    bad = flip_body(signed)
    if bad is not None:
        expect_tool(rep, tool, lab + " body", bad, "fail", "body-hash")
        expect_dkimpy(rep, keys, lab + " body", bad, False)
    bad = add_from(signed, case.eol)
    lines, status = tool.verify(bad)
    rep.check(status != 0, lab + " second From",
              "dkimtool passes a message with an added From: " +
              " | ".join(lines), bad)
    expect_dkimpy(rep, keys, lab + " second From", bad, False)
    ws = space_in_header(signed)
    if ws is not None:
        want = "pass" if hc == "relaxed" else "fail"
        expect_tool(rep, tool, lab + " header space", ws, want)
        expect_dkimpy(rep, keys, lab + " header space", ws, want == "pass")
    ws = space_in_body(signed, case.eol)
    if ws is not None:
        want = "pass" if bc == "relaxed" else "fail"
        expect_tool(rep, tool, lab + " body space", ws, want)
        expect_dkimpy(rep, keys, lab + " body space", ws, want == "pass")


def check_tags(rep, tool, keys, case, alg, canon):
    """l= and i= both ways: with l=, text appended to the body still
    verifies (RFC 6376 §3.5 l=, §8.2); i= in a subdomain of d= passes."""
    extra = case.eol + b"appended after signing" + case.eol
    lab = label("l= dkimtool->dkimpy", alg, canon, case.name)
    signed, err = tool.sign(case.data, alg, canon, case.sign,
                            ["-l", "-i", "user@sub." + DOMAIN])
    if rep.check(signed is not None, lab, "dkimtool sign: " + err):
        rep.check(b" l=" in signed or b"\tl=" in signed or b";l=" in signed,
                  lab, "no l= in the signature", signed)
        for msg, what in ((signed, ""), (signed + extra, " appended")):
            ok, why = dkimpy_verify(keys, msg)
            rep.check(ok, lab + what, "dkimpy says no: " + why, msg)
            lines, status = tool.verify(msg)
            rep.check(status == 0, lab + what + " (dkimtool)",
                      " | ".join(lines), msg)
    lab = label("l= dkimpy->dkimtool", alg, canon, case.name)
    hc, bc = canon.split("/")
    sig = dkim.sign(case.data, SELECTORS[alg].encode(), DOMAIN.encode(),
                    keys.dkimpy_private(alg), identity=b"user@sub.example.com",
                    canonicalize=(hc.encode(), bc.encode()),
                    signature_algorithm=alg.encode(),
                    include_headers=[h.encode() for h in case.sign],
                    length=True, linesep=case.eol)
    for msg, what in ((sig + case.data, ""),
                      (sig + case.data + extra, " appended")):
        lines, status = tool.verify(msg)
        rep.check(status == 0, lab + what, " | ".join(lines), msg)


def check_two_signatures(rep, tool, keys, case, alg, canon):
    """dkimpy signs with its default header choice (From oversigned), then
    dkimtool adds a signature on top that covers the first: both verify in
    both."""
    lab = label("two signatures", alg, canon, case.name)
    hc, bc = canon.split("/")
    first = dkim.sign(case.data, SELECTORS[alg].encode(), DOMAIN.encode(),
                      keys.dkimpy_private(alg),
                      canonicalize=(hc.encode(), bc.encode()),
                      signature_algorithm=alg.encode(), linesep=case.eol)
    other = "ed25519-sha256" if alg == "rsa-sha256" else "rsa-sha256"
    # The outer signature also signs the inner one (h=...:dkim-signature).
    signed, err = tool.sign(first + case.data, other, canon,
                            case.sign + ["dkim-signature"])
    if not rep.check(signed is not None, lab, "dkimtool sign: " + err):
        return
    lines, status = tool.verify(signed)
    rep.check(status == 0 and len(lines) == 2, lab + " (dkimtool)",
              " | ".join(lines), signed)
    for idx in (0, 1):
        d = dkim.DKIM(signed, minkey=1024)
        try:
            ok, why = bool(d.verify(idx=idx, dnsfunc=keys.dnsfunc)), ""
        except dkim.DKIMException as e:
            ok, why = False, str(e)
        rep.check(ok, lab + " (dkimpy #%d)" % idx, why, signed)


def run_dkimpy(rep, tool, keys, corpus):
    for case in corpus:
        for alg in ALGS:
            for canon in CANONS:
                ours = check_dkimtool_to_dkimpy(rep, tool, keys, case, alg,
                                                canon)
                theirs = check_dkimpy_to_dkimtool(rep, tool, keys, case,
                                                  alg, canon)
                if case.name in EXTRA_CASES:
                    check_two_signatures(rep, tool, keys, case, alg, canon)
                    check_tags(rep, tool, keys, case, alg, canon)
                if case.name not in TAMPER_CASES:
                    continue
                if ours is not None:
                    check_tampering(rep, tool, keys, case, alg, canon, ours,
                                    "dkimtool-signed")
                if theirs is not None:
                    check_tampering(rep, tool, keys, case, alg, canon,
                                    theirs, "dkimpy-signed")


# ---- OpenDKIM -------------------------------------------------------------------

class OpenDkim:
    """Debian's opendkim in test mode (-t FILES): no socket, no DNS; keys
    come from TestPublicKeys. Output: for each file "opendkim: FILE:" then
    the header fields it would add."""

    def __init__(self, path, keys, workdir):
        self.path = path
        self.keys = keys
        self.dir = os.path.join(workdir, "opendkim")
        os.makedirs(self.dir, exist_ok=True)

    def _conf(self, name, lines):
        path = os.path.join(self.dir, name + ".conf")
        with open(path, "w") as f:
            f.write("\n".join(lines + [
                "TestPublicKeys " + self.keys.records_file,
                "Syslog no", "RequireSafeKeys no",
                "AuthservID test.invalid"]) + "\n")
        return path

    def _run(self, conf, files):
        """{file: [(name, value)]} of the fields opendkim adds."""
        out = _run([self.path, "-x", conf, "-t", ",".join(files)],
                   check=False)
        added, current = {}, None
        # Folded values come with the line ends of the input file.
        for line in out.decode(errors="replace").replace("\r\n", "\n") \
                       .split("\n"):
            m = re.match(r"opendkim: (.*):$", line)
            if m and m.group(1) in files:
                current = added.setdefault(m.group(1), [])
            elif current is not None and line[:1] in (" ", "\t"):
                name, value = current[-1]
                current[-1] = (name, value + "\n" + line)
            elif current is not None and ":" in line:
                name, value = line.split(":", 1)
                current.append((name, value.lstrip(" ")))
        return added

    def sign(self, alg, canon, files):
        conf = self._conf("sign-%s-%s" % (alg, canon.replace("/", "-")), [
            "Mode s", "Domain " + DOMAIN, "Selector " + SELECTORS[alg],
            "KeyFile " + self.keys.private_file(alg),
            "SignatureAlgorithm " + alg, "Canonicalization " + canon,
            # Debian's default oversigns From; z= (copied header fields,
            # RFC 6376 §3.5) is a tag few other signers write.
            "OversignHeaders From,Subject",
            "Diagnostics " + ("yes" if opendkim_z(canon) else "no")])
        return self._run(conf, files)

    def verify(self, files):
        """{file: 'pass'/'fail'} from the line opendkim -t prints per file:
        "opendkim: FILE: verification (s=.., d=.., ...) succeeded" or
        "... failed: REASON". A message opendkim rejects without such a line
        (no s=, no v=) also ends the run, so the files after it are run
        again one by one."""
        conf = self._conf("verify", ["Mode v"])
        results = self._verify_run(conf, files)
        for f in files:
            if f not in results:
                results.update(self._verify_run(conf, [f]))
        return results

    def _verify_run(self, conf, files):
        out = _run([self.path, "-x", conf, "-t", ",".join(files)],
                   check=False).decode(errors="replace")
        results = {}
        for m in re.finditer(r"^opendkim: (.*?): verification \(.*\) "
                             r"(succeeded|failed)", out, re.MULTILINE):
            results[m.group(1)] = ("pass" if m.group(2) == "succeeded"
                                   else "fail")
        return results


def opendkim_z(canon):
    """OpenDKIM signs with z= (Diagnostics) for these canonicalizations."""
    return canon.endswith("/relaxed")


def opendkim_limit(case, alg, canon, signer):
    """Why OpenDKIM 2.11 cannot take part in this combination, or None.
    These are OpenDKIM's own limits, observed with Debian's build; the same
    combinations are still checked against dkimpy."""
    hc, bc = canon.split("/")
    if hc == "simple" and not case.milter_exact:
        return ("OpenDKIM rebuilds header fields as 'Name: value' (milter "
                "values lose the whitespace after the colon)")
    if bc == "relaxed" and not case.final_eol:
        return ("OpenDKIM refuses a body without a final CRLF under relaxed "
                "body canonicalization ('CRLF at end of body missing')")
    if signer and opendkim_z(canon) and any(
            len(h) > 1000 for h in case.headers
            if re.match(rb"(?i)(from|to|subject|date):", h)):
        return ("OpenDKIM cannot write z= when a field it signs is long "
                "('dkim_getsighdr(): Resource unavailable')")
    if signer and alg == "ed25519-sha256" and hc == "simple":
        return ("OpenDKIM's ed25519 signatures with simple header "
                "canonicalization do not verify, not even in OpenDKIM")
    return None


def write_files(directory, messages):
    """messages: {name: bytes}; returns {path: name}."""
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for name, data in messages.items():
        path = os.path.join(directory, name + ".eml")
        with open(path, "wb") as f:
            f.write(data)
        paths[path] = name
    return paths


def run_opendkim_sign(rep, tool, od, corpus, workdir, canons=CANONS,
                      sub="od-in"):
    """OpenDKIM signs every message; dkimtool verifies."""
    paths = write_files(os.path.join(workdir, sub),
                        {c.name: c.data for c in corpus})
    by_name = {c.name: c for c in corpus}
    for alg in ALGS:
        for canon in canons:
            added = od.sign(alg, canon, sorted(paths))
            for path, name in sorted(paths.items()):
                case = by_name[name]
                lab = label("opendkim->dkimtool", alg, canon, name)
                if rep.skip(opendkim_limit(case, alg, canon, True)):
                    continue
                sig = [v for n, v in added.get(path, [])
                       if n == "DKIM-Signature"]
                if not rep.check(len(sig) == 1, lab,
                                 "opendkim did not sign", case.data):
                    continue
                field = ("DKIM-Signature: " + sig[0]).encode()
                signed = field.replace(b"\n", case.eol) + case.eol + case.data
                lines, status = tool.verify(signed)
                rep.check(status == 0, lab, " | ".join(lines), signed)
                if name in TAMPER_CASES and canon == "relaxed/relaxed":
                    lab = label("tamper opendkim-signed", alg, canon, name)
                    expect_tool(rep, tool, lab + " header",
                                flip_header(signed), "fail", "signature")
                    expect_tool(rep, tool, lab + " body", flip_body(signed),
                                "fail", "body-hash")


def run_opendkim_verify(rep, tool, od, corpus, workdir, canons=CANONS,
                        sub="od-verify"):
    """dkimtool signs every message; OpenDKIM verifies (one run for all)."""
    messages, want = {}, {}
    for case in corpus:
        for alg in ALGS:
            for canon in canons:
                if rep.skip(opendkim_limit(case, alg, canon, False)):
                    continue
                signed, err = tool.sign(case.data, alg, canon, case.sign)
                key = "%s.%s.%s" % (case.name, alg, canon.replace("/", "-"))
                if not rep.check(signed is not None, label(
                        "dkimtool->opendkim", alg, canon, case.name),
                        "dkimtool sign: " + err, case.data):
                    continue
                messages[key], want[key] = signed, "pass"
                if case.name in TAMPER_CASES:
                    messages[key + ".hdr"] = flip_header(signed)
                    messages[key + ".body"] = flip_body(signed)
                    want[key + ".hdr"] = want[key + ".body"] = "fail"
    paths = write_files(os.path.join(workdir, sub), messages)
    results = od.verify(sorted(paths))
    for path, key in sorted(paths.items()):
        got = results.get(path)
        rep.check(got == want[key], label("dkimtool->opendkim", key),
                  "opendkim: want %s, got %s" % (want[key], got),
                  messages[key])


def run_random(rep, tool, keys, cases):
    """Random messages: two (algorithm, canonicalization) pairs each, both
    directions against dkimpy."""
    for i, case in enumerate(cases):
        for j in (0, 1):
            alg = ALGS[(i + j) % 2]
            canon = CANONS[(i // 2 + j * 3) % 4]
            check_dkimtool_to_dkimpy(rep, tool, keys, case, alg, canon)
            check_dkimpy_to_dkimtool(rep, tool, keys, case, alg, canon)


def check_key_forms(rep, tool, keys, workdir):
    """Key files as other tools write them sign interoperably: PKCS#1 PEM
    (dkimpy, older opendkim-genkey), base64 DER on one line (inline in a
    KeyTable), base64 of the raw Ed25519 seed (dkimpy); RSA 1024 and 4096."""
    d = os.path.join(workdir, "keyforms")
    os.makedirs(d, exist_ok=True)
    forms = [("rsa-sha256", "sel-rsa", keys.rsa_pkcs1, "PKCS#1 PEM"),
             ("ed25519-sha256", "sel-ed", _write(d, "ed.seed",
              keys.ed_seed_b64), "Ed25519 seed in base64")]
    der = Keys._der(keys.rsa_pem)
    forms.append(("rsa-sha256", "sel-rsa", _write(
        d, "rsa.b64", base64.b64encode(der)), "base64 DER, one line"))
    for bits in (1024, 4096):
        pem = os.path.join(d, "rsa%d.pem" % bits)
        _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
              "rsa_keygen_bits:%d" % bits, "-out", pem])
        sel = "sel-rsa%d" % bits
        keys.records[sel + "._domainkey." + DOMAIN] = (
            "v=DKIM1; k=rsa; p=" +
            base64.b64encode(Keys._der(pem, pub=True)).decode())
        forms.append(("rsa-sha256", sel, pem, "RSA %d bits" % bits))
    with open(keys.records_file, "w") as f:
        for name, rec in sorted(keys.records.items()):
            f.write("%s %s\n" % (name, rec))
    case = gen_corpus.cases()[0]
    for alg, sel, path, what in forms:
        lab = label("key form", what)
        signed, err = tool.sign(case.data, alg, "relaxed/relaxed",
                                ["from", "subject"], key=path, sel=sel)
        if not rep.check(signed is not None, lab, err):
            continue
        ok, why = dkimpy_verify(keys, signed)
        rep.check(ok, lab, "dkimpy says no: " + why, signed)
        lines, status = tool.verify(signed)
        rep.check(status == 0, lab + " (dkimtool)", " | ".join(lines))


# Key record variants (RFC 6376 §3.6.1): (selector, record template with
# {rsa}, {ed} for the public keys, i= to sign with, the verdict RFC 6376
# asks for).
RECORD_VARIANTS = [
    ("r-plain", "v=DKIM1; k=rsa; p={rsa}", None, True),
    ("r-nov", "k=rsa; p={rsa}", None, True),
    ("r-ponly", "p={rsa}", None, True),
    ("r-unknown-tag", "v=DKIM1; p={rsa}; x_future=1; n=a note", None, True),
    ("r-trailing-semi", "v=DKIM1; k=rsa; p={rsa};", None, True),
    ("r-fws", "v = DKIM1 ;\tk = rsa ; p = {rsa} ", None, True),
    ("r-p-spaces", "v=DKIM1; p={spaced}", None, True),
    ("r-h-sha256", "v=DKIM1; h=sha256; p={rsa}", None, True),
    ("r-h-both", "v=DKIM1; h=sha1:sha256; p={rsa}", None, True),
    ("r-h-sha1", "v=DKIM1; h=sha1; p={rsa}", None, False),
    ("r-s-email", "v=DKIM1; s=email; p={rsa}", None, True),
    ("r-s-star", "v=DKIM1; s=*; p={rsa}", None, True),
    ("r-s-other", "v=DKIM1; s=tlsrpt; p={rsa}", None, False),
    ("r-testing", "v=DKIM1; t=y; p={rsa}", None, True),
    ("r-strict-ok", "v=DKIM1; t=s; p={rsa}", "@example.com", True),
    ("r-strict-sub", "v=DKIM1; t=s; p={rsa}", "@sub.example.com", False),
    ("r-revoked", "v=DKIM1; k=rsa; p=", None, False),
    ("r-v2", "v=DKIM2; p={rsa}", None, False),
    ("r-k-ed", "v=DKIM1; k=ed25519; p={rsa}", None, False),
    ("r-k-unknown", "v=DKIM1; k=dsa; p={rsa}", None, False),
    ("r-upper-tags", "V=DKIM1; K=rsa; P={rsa}", None, False),
    # Values are quoted ABNF literals: case-insensitive (RFC 5234 §2.3).
    ("r-k-upper", "v=DKIM1; k=RSA; p={rsa}", None, True),
    ("r-h-upper", "v=DKIM1; h=SHA256; p={rsa}", None, True),
    ("r-s-upper", "v=DKIM1; s=Email; p={rsa}", None, True),
    # Names outside the tag-name grammar: unrecognized tags, ignored (§3.2).
    ("r-tag-dash", "v=DKIM1; k=rsa; x-foo=bar; p={rsa}", None, True),
    ("r-tag-dot", "v=DKIM1; x.y=1; p={rsa}", None, True),
    ("r-tag-digit", "v=DKIM1; 1x=bar; p={rsa}", None, True),
    ("r-tag-lead-dash", "v=DKIM1; -x=1; p={rsa}", None, False),
    # §3.2: "Tags with duplicate names MUST NOT occur", odd names or known.
    ("r-tag-dash-dup", "v=DKIM1; x-a=1; x-a=2; p={rsa}", None, False),
    ("r-p-dup", "v=DKIM1; p={rsa}; p={rsa}", None, False),
    ("r-k-dup", "v=DKIM1; k=rsa; k=rsa; p={rsa}", None, False),
    ("r-p-garbage", "v=DKIM1; p={rsa}!!", None, False),
    ("e-plain", "v=DKIM1; k=ed25519; p={ed}", None, True),
    ("e-k-rsa", "v=DKIM1; k=rsa; p={ed}", None, False),
    ("e-short", "v=DKIM1; k=ed25519; p={edshort}", None, False),
]

# Where an independent implementation is known to read a record otherwise
# than RFC 6376 says: (implementation, selector) -> why. Not compared.
RECORD_DEVIATIONS = {
    ("dkimpy", "r-h-sha1"): "dkimpy 1.1.4 does not check the record's h=",
    ("dkimpy", "r-strict-sub"): "dkimpy 1.1.4 does not check t=s",
    ("dkimpy", "r-p-garbage"): "dkimpy 1.1.4 and OpenDKIM 2.11 skip "
                               "characters outside base64 in p=",
    ("opendkim", "r-p-garbage"): "dkimpy 1.1.4 and OpenDKIM 2.11 skip "
                                 "characters outside base64 in p=",
    ("dkimpy", "r-k-upper"): "dkimpy 1.1.4 compares k= case-sensitively",
    ("dkimpy", "r-s-upper"): "dkimpy 1.1.4 compares s= case-sensitively",
    ("dkimpy", "r-tag-digit"): "dkimpy 1.1.4 refuses tag names that start "
                               "with a digit (OpenDKIM 2.11 ignores them)",
    ("opendkim", "r-tag-dash-dup"): "OpenDKIM 2.11 accepts duplicate tags "
                                    "in key records",
    ("opendkim", "r-p-dup"): "OpenDKIM 2.11 accepts duplicate tags in key "
                             "records",
    ("opendkim", "r-k-dup"): "OpenDKIM 2.11 accepts duplicate tags in key "
                             "records",
    ("opendkim", "r-k-ed"): "OpenDKIM 2.11 takes the key type from a=, "
                            "not k= (RFC 6376 §6.1.3: inappropriate key "
                            "algorithm)",
    ("opendkim", "e-k-rsa"): "OpenDKIM 2.11 takes the key type from a=, "
                             "not k= (RFC 6376 §6.1.3: inappropriate key "
                             "algorithm)",
}


def _record_text(template, keys):
    rsa = keys.records["sel-rsa._domainkey." + DOMAIN].split("p=")[1]
    ed = keys.records["sel-ed._domainkey." + DOMAIN].split("p=")[1]
    spaced = " ".join(rsa[i:i + 64] for i in range(0, len(rsa), 64))
    edshort = base64.b64encode(base64.b64decode(ed)[:31]).decode()
    return template.format(rsa=rsa, ed=ed, spaced=spaced, edshort=edshort)


def check_records(rep, tool, keys, od):
    """Each record variant: dkimtool, dkimpy and OpenDKIM give the verdict
    RFC 6376 §3.6.1 / §6.1.2 asks for."""
    case = gen_corpus.cases()[0]
    for sel, template, ident, _ in RECORD_VARIANTS:
        keys.records[sel + "._domainkey." + DOMAIN] = _record_text(template,
                                                                   keys)
    with open(keys.records_file, "w") as f:
        for name, rec in sorted(keys.records.items()):
            f.write("%s %s\n" % (name, rec))
    messages = {}
    for sel, template, ident, want in RECORD_VARIANTS:
        alg = "ed25519-sha256" if sel.startswith("e-") else "rsa-sha256"
        extra = ["-i", ident] if ident else []
        signed, err = tool.sign(case.data, alg, "relaxed/simple",
                                case.sign, extra, sel=sel)
        lab = label("key record", sel, repr(template))
        if not rep.check(signed is not None, lab, err):
            continue
        messages[sel] = signed
        lines, status = tool.verify(signed)
        rep.check((status == 0) == want, lab + " dkimtool",
                  "want %s: %s" % ("pass" if want else "no pass",
                                   " | ".join(lines)), signed)
        if not rep.skip(RECORD_DEVIATIONS.get(("dkimpy", sel))):
            ok, why = dkimpy_verify(keys, signed)
            rep.check(ok == want, lab + " dkimpy", "got %s %s" % (ok, why),
                      signed)
    if od is None:
        return
    paths = write_files(os.path.join(od.dir, "records"), messages)
    results = od.verify(sorted(paths))
    want = {sel: w for sel, _, _, w in RECORD_VARIANTS}
    for path, sel in sorted(paths.items()):
        if rep.skip(RECORD_DEVIATIONS.get(("opendkim", sel))):
            continue
        got = results.get(path)
        rep.check((got == "pass") == want[sel],
                  label("key record", sel, "opendkim"),
                  "want %s, got %s" % ("pass" if want[sel] else "no pass",
                                       got), messages[sel])


class TagDKIM(dkim.DKIM):
    """dkimpy with a hook on the signature's tag list just before it is
    hashed and signed, so that a signature with unusual (or invalid) tags
    still carries a correct b=."""

    mutate = None

    def gen_header(self, fields, *args, **kwargs):
        fields[:] = self.mutate(list(fields))
        return super().gen_header(fields, *args, **kwargs)


def _set_tag(tag, value):
    def mutate(fields):
        out = [(t, value if t == tag else v) for t, v in fields
               if not (value is None and t == tag)]
        if value is not None and tag not in [t for t, _ in fields]:
            out.insert(len(out) - 1, (tag, value))
        return out
    return mutate


def _move_b_first(fields):
    return [f for f in fields if f[0] == b"b"] + \
        [f for f in fields if f[0] != b"b"]


# DKIM-Signature variants, each signed by dkimpy with a correct b=:
# (name, tag-list mutation, sign l=, verdict RFC 6376 asks for).
SIG_VARIANTS = [
    ("unknown-tag", _set_tag(b"x_extra", b"yes"), False, True),
    # Tag names outside the §3.2 grammar: "Unrecognized tags MUST be
    # ignored" (§3.2), as dkimpy and OpenDKIM do; our own output keeps the
    # strict format (libdkim/sig.c).
    ("tag-dash", _set_tag(b"x-extra", b"yes"), False, True),
    ("tag-dot", _set_tag(b"x.extra", b"yes"), False, True),
    ("tag-digit", _set_tag(b"1x", b"yes"), False, True),
    ("no-q", _set_tag(b"q", None), False, True),
    ("no-i", _set_tag(b"i", None), False, True),
    ("no-t", _set_tag(b"t", None), False, True),
    ("no-c", _set_tag(b"c", None), False, True),     # signed simple/simple
    ("b-first", _move_b_first, False, True),
    ("d-upper", _set_tag(b"d", b"EXAMPLE.COM"), False, True),
    ("i-subdomain", _set_tag(b"i", b"user@mail.example.com"), False, True),
    ("x-future", _set_tag(b"x", b"4102444800"), False, True),
    ("x-past", _set_tag(b"x", b"1000000000"), False, False),
    ("x-before-t", lambda f: _set_tag(b"x", b"1500000000")(
        _set_tag(b"t", b"1600000000")(f)), False, False),
    ("l-exact", lambda f: f, True, True),
    ("l-too-long", None, True, False),
    ("v-missing", _set_tag(b"v", None), False, False),
    ("v-2", _set_tag(b"v", b"2"), False, False),
    ("h-without-from", _set_tag(b"h", b"subject : to"), False, False),
    ("i-outside-d", _set_tag(b"i", b"user@example.net"), False, False),
    ("a-unknown", _set_tag(b"a", b"rsa-sha512"), False, False),
    ("a-sha1", _set_tag(b"a", b"rsa-sha1"), False, False),
    ("c-unknown", _set_tag(b"c", b"relaxed/fancy"), False, False),
    ("q-unknown", _set_tag(b"q", b"https"), False, False),
    ("bh-bad", _set_tag(b"bh", b"AAAA" * 11), False, False),
    ("s-missing", _set_tag(b"s", None), False, False),
]

SIG_DEVIATIONS = {
    ("dkimpy", "tag-digit"): "dkimpy 1.1.4 refuses DKIM-Signature tag names "
                             "that start with a digit (OpenDKIM 2.11 "
                             "ignores them)",
    ("dkimpy", "l-too-long"): "dkimpy 1.1.4 accepts l= beyond the body "
                              "(OpenDKIM: 'length tag value exceeds body "
                              "size')",
}


def _sign_variant(keys, case, name, mutate, length):
    d = TagDKIM(case.data, signature_algorithm=b"rsa-sha256",
                linesep=case.eol)
    if mutate is None:
        # l= one more than the canonical body: the body is shorter than l=.
        def mutate(fields):
            return [(t, str(int(v) + 1).encode() if t == b"l" else v)
                    for t, v in fields]
    d.mutate = mutate
    # Without c= the verifier uses simple/simple (RFC 6376 §3.5).
    canon = b"simple" if name == "no-c" else b"relaxed"
    sig = d.sign(b"sel-rsa", DOMAIN.encode(), keys.dkimpy_private(
        "rsa-sha256"), canonicalize=(canon, canon),
        include_headers=[h.encode() for h in case.sign], length=length)
    return sig + case.data


def check_signature_tags(rep, tool, keys, od):
    """Each DKIM-Signature variant: dkimtool, dkimpy and OpenDKIM give the
    verdict RFC 6376 §3.5 / §6.1.1 asks for."""
    case = gen_corpus.cases()[0]
    messages, want = {}, {}
    for name, mutate, length, verdict in SIG_VARIANTS:
        lab = label("signature tags", name)
        signed = _sign_variant(keys, case, name, mutate, length)
        messages[name], want[name] = signed, verdict
        lines, status = tool.verify(signed)
        rep.check((status == 0) == verdict, lab + " dkimtool",
                  "want %s: %s" % ("pass" if verdict else "no pass",
                                   " | ".join(lines)), signed)
        if not rep.skip(SIG_DEVIATIONS.get(("dkimpy", name))):
            ok, why = dkimpy_verify(keys, signed)
            rep.check(ok == verdict, lab + " dkimpy",
                      "got %s %s" % (ok, why), signed)
    if od is None:
        return
    paths = write_files(os.path.join(od.dir, "sigtags"), messages)
    results = od.verify(sorted(paths))
    for path, name in sorted(paths.items()):
        if rep.skip(SIG_DEVIATIONS.get(("opendkim", name))):
            continue
        got = results.get(path)
        rep.check((got == "pass") == want[name],
                  label("signature tags", name, "opendkim"),
                  "want %s, got %s" % ("pass" if want[name] else "no pass",
                                       got), messages[name])


def check_cli(rep, tool, keys):
    """The one-shot command line (not batch): sign | verify, exit codes."""
    case = gen_corpus.cases()[0]
    p = subprocess.run([tool.path, "sign", "-k", keys.rsa_pem, "-d", DOMAIN,
                        "-s", "sel-rsa"], input=case.data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rep.check(p.returncode == 0 and p.stdout.endswith(case.data),
              "cli sign", p.stderr.decode(errors="replace"))
    v = subprocess.run([tool.path, "verify", "-r", keys.records_file],
                       input=p.stdout, stdout=subprocess.PIPE)
    rep.check(v.returncode == 0 and v.stdout.startswith(b"pass d=example.com"
                                                        b" s=sel-rsa"),
              "cli verify", v.stdout.decode(errors="replace"))
    v = subprocess.run([tool.path, "verify", "-r", keys.records_file],
                       input=flip_body(p.stdout), stdout=subprocess.PIPE)
    rep.check(v.returncode == 1, "cli verify tampered",
              v.stdout.decode(errors="replace"))
    v = subprocess.run([tool.path, "verify"], input=case.data,
                       stdout=subprocess.PIPE)
    rep.check(v.returncode == 1 and v.stdout == b"none\n",
              "cli verify unsigned", v.stdout.decode(errors="replace"))


def _write(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dkimtool", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--opendkim")
    ap.add_argument("--only", help="run the cases whose name has this")
    args = ap.parse_args()

    try:
        keys = Keys(args.workdir)
    except RuntimeError as e:
        print("interop: setup: %s" % e)
        return 2
    corpus = [c for c in gen_corpus.cases()
              if not args.only or args.only in c.name]
    rep = Report(args.workdir)
    tool = DkimTool(args.dkimtool, keys)
    check_cli(rep, tool, keys)
    check_key_forms(rep, tool, keys, args.workdir)
    run_dkimpy(rep, tool, keys, corpus)
    random_corpus = [c for c in gen_corpus.random_cases()
                     if not args.only or args.only in c.name]
    run_random(rep, tool, keys, random_corpus)
    od = OpenDkim(args.opendkim, keys, args.workdir) if args.opendkim \
        else None
    check_records(rep, tool, keys, od)
    check_signature_tags(rep, tool, keys, od)
    if od is not None:
        run_opendkim_sign(rep, tool, od, corpus, args.workdir)
        run_opendkim_verify(rep, tool, od, corpus, args.workdir)
        # Random messages: relaxed header canonicalization only, as the
        # milter interface OpenDKIM is built on loses the whitespace after
        # the colon that simple needs.
        relaxed = [c for c in CANONS if c.startswith("relaxed/")]
        run_opendkim_sign(rep, tool, od, random_corpus, args.workdir,
                          relaxed, "od-random-in")
        run_opendkim_verify(rep, tool, od, random_corpus, args.workdir,
                            relaxed, "od-random-verify")
    tool.close()
    print("interop: %d messages, %d dkimtool runs" % (len(corpus),
                                                      tool.calls))
    for reason, n in sorted(rep.skipped.items()):
        print("interop: not compared %d times: %s" % (n, reason))
    print("interop: %d passed, %d failed" % (rep.passed, rep.failed))
    return 0 if rep.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
