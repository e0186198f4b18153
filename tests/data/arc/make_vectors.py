#!/usr/bin/env python3
"""Turns the ARC signing suite (arc-draft-sign-tests.yml, ValiMail
arc_test_suite f137dcb, MIT licence: LICENSE-arc-test-suite.txt) into plain
files the C tests read without a YAML parser. Run by hand when the suite
changes:  make_vectors.py ../../../../shared/arc/arc-draft-sign-tests.yml

For each scenario NAME it writes NAME.eml: the expected ARC set the sealer
must add (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, each
value's lines joined with CRLF + space) above the scenario's message, CRLF
line ends (the message alone when the suite expects no new set). Each scenario's parameters go to vectors.txt, one line:
  NAME t sig-headers srv-id
the key records to keys.txt: "selector._domainkey.domain record", and
the (one, shared) private key to privatekey.pem.

The suite shows the AMS with its b= value folded over several lines, but
the seals were computed over an AMS whose b= had no whitespace in it: the
AS hashes the AMS relaxed (RFC 8617 §5.1.1), where a fold inside b= is a
space. dkimpy 1.1.4 agrees: with the folds kept no AS of the suite
validates, without them all do. So the AMS b= is written unfolded here.
"""
import re
import sys
import yaml


def field(name, value):
    lines = [l for l in value.rstrip("\n").split("\n")]
    return name + ": " + "\r\n ".join(lines) + "\r\n"


def main(path):
    vec = open("vectors.txt", "w")
    keys = {}
    for doc in yaml.safe_load_all(open(path)):
        for rec, txt in doc.get("txt-records", {}).items():
            keys[rec] = "".join(txt.split("\n")).strip()
        with open("privatekey.pem", "w") as f:
            f.write(doc["privatekey"])
        for name, t in doc["tests"].items():
            msg = t["message"].replace("\n", "\r\n")
            ams = re.sub(r"b=[^;]*", lambda m: re.sub(r"\s+", "", m.group(0)), t["AMS"])
            # no AS: the suite says no set is to be added (no_additional_sig)
            out = msg if not t["AS"].strip() else (field("ARC-Seal", t["AS"]) + field("ARC-Message-Signature", ams)
                   + field("ARC-Authentication-Results", t["AAR"]) + msg)
            with open(name + ".eml", "w", newline="") as f:
                f.write(out)
            vec.write("%s %s %s %s\n" % (name, t["t"], t["sig-headers"], t["srv-id"]))
    with open("keys.txt", "w") as f:
        for rec, txt in sorted(keys.items()):
            f.write("%s %s\n" % (rec, txt))


main(sys.argv[1])
