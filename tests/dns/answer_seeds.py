#!/usr/bin/python3
"""answer_seeds.py OUTDIR [PUBKEY_B64]: writes DNS answers to the TXT query
for sel._domainkey.example.com, as seeds for tests/fuzz/fuzz_dnsanswer.c
(dnspython builds the wire format)."""
import os
import sys

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

QNAME = "sel._domainkey.example.com."
ED = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def txt(name, *strings, ttl=300):
    quoted = " ".join('"%s"' % s for s in strings)
    return dns.rrset.from_text(name, ttl, "IN", "TXT", quoted)


def answer(rcode=dns.rcode.NOERROR, answers=(), authority=()):
    q = dns.message.make_query(QNAME, "TXT")
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    r.answer.extend(answers)
    r.authority.extend(authority)
    return r.to_wire()


def main():
    out = sys.argv[1]
    rsa = "v=DKIM1; k=rsa; p=" + (sys.argv[2] if len(sys.argv) > 2 else "")
    soa = dns.rrset.from_text("example.com.", 60, "IN", "SOA",
                              "ns.example.com. host.example.com. 1 7200 900 1209600 30")
    cname = dns.rrset.from_text(QNAME, 100, "IN", "CNAME", "key.example.net.")
    seeds = {
        "ed25519": answer(answers=[txt(QNAME, ED)]),
        "rsa_split": answer(answers=[txt(QNAME, *[rsa[i:i + 60] for i in range(0, len(rsa), 60)])]),
        "two_records": answer(answers=[txt(QNAME, ED), txt(QNAME, "v=spf1 -all")]),
        "cname": answer(answers=[cname, txt("key.example.net.", ED)]),
        "nxdomain_soa": answer(dns.rcode.NXDOMAIN, authority=[soa]),
        "nodata_soa": answer(authority=[soa]),
        "servfail": answer(dns.rcode.SERVFAIL),
        "revoked": answer(answers=[txt(QNAME, "v=DKIM1; p=")]),
        "other_name": answer(answers=[txt("other.example.com.", ED)]),
        "cname_loop": answer(answers=[
            dns.rrset.from_text(QNAME, 100, "IN", "CNAME", "a.example.com."),
            dns.rrset.from_text("a.example.com.", 100, "IN", "CNAME", QNAME)]),
        "lone_other": answer(answers=[txt(QNAME, "google-site-verification=abc")]),
    }
    os.makedirs(out, exist_ok=True)
    for name, wire in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(wire)


if __name__ == "__main__":
    main()
