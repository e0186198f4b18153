#!/bin/sh
# tests/dns/e2e.sh - end to end: messages signed by dkimpy (python3-dkim)
# verify through libdkim with their keys fetched by c-ares from dnsmasq.
#
# Checks: RSA and Ed25519 signatures pass; a tampered body fails; a
# signature whose key is not published is a permerror; verifying the same
# message again sends no query (dnsmasq's log and the resolver's stats).
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
. "$top_srcdir/tests/lib/dns.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/dnse2e.XXXXXX")
trap 'dns_cleanup; rm -rf "$work"' EXIT
verify=$top_builddir/tests/dns/verify_dns

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

rsa=$(dns_keygen "$work" rsa rsa 2048)
ed=$(dns_keygen "$work" ed ed25519)
openssl pkey -in "$work/ed.private" -outform DER | tail -c 32 | base64 -w0 > "$work/ed.seed"
cat > "$work/records" <<EOF
txt rsa._domainkey.example.test $rsa
txt ed._domainkey.example.test $ed
EOF
dns_start "$work/records" 300

printf 'From: Alice <alice@example.test>\r\nTo: bob@example.net\r\nSubject: key lookups\r\nDate: Sun, 22 Nov 2026 00:00:00 +0000\r\nMessage-ID: <e2e@example.test>\r\n\r\nHello Bob,\r\n\r\nthis was signed by dkimpy.\r\n' > "$work/plain.eml"

# sign KEYFILE SELECTOR ALGORITHM OUT [d=]
sign() {
	"$DNS_PYTHON" - "$work/plain.eml" "$1" "$2" "$3" "$4" "${5:-example.test}" <<'EOF'
import sys
import dkim
msg, keyfile, sel, alg, out, domain = sys.argv[1:7]
data = open(msg, "rb").read()
key = open(keyfile, "rb").read().strip()
sig = dkim.sign(data, sel.encode(), domain.encode(), key,
                signature_algorithm=alg.encode(),
                canonicalize=(b"relaxed", b"simple"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
open(out, "wb").write(sig + data)
EOF
}

sign "$work/rsa.private" rsa rsa-sha256 "$work/rsa.eml"
sign "$work/ed.seed" ed ed25519-sha256 "$work/ed.eml"
sign "$work/rsa.private" unpublished rsa-sha256 "$work/nokey.eml"
sed 's/this was signed/this was NOT signed/' "$work/rsa.eml" > "$work/tampered.eml"

servers="127.0.0.1@$DNS_PORT"
"$verify" "$servers" "$work/rsa.eml" "$work/ed.eml" "$work/nokey.eml" \
	"$work/tampered.eml" "$work/rsa.eml" > "$work/out" || fail "verify_dns failed"
cat "$work/out"

expect() {
	grep -qxF "$1" "$work/out" || fail "expected line: $1"
}
expect "$work/rsa.eml: pass d=example.test s=rsa bits=2048"
expect "$work/ed.eml: pass d=example.test s=ed bits=256"
grep -q "^$work/nokey.eml: permerror d=example.test s=unpublished " "$work/out" ||
	fail "unpublished key is not a permerror"
grep -q "^$work/tampered.eml: fail d=example.test s=rsa " "$work/out" ||
	fail "tampered body did not fail"
[ "$(grep -c "^$work/rsa.eml: pass" "$work/out")" -eq 2 ] || fail "second verification"

# rsa is looked up for rsa.eml, found in the cache for tampered.eml and the
# second rsa.eml: one query for it, three in all.
[ "$(dns_query_count rsa._domainkey.example.test)" -eq 1 ] ||
	fail "rsa key queried $(dns_query_count rsa._domainkey.example.test) times"
expect "queries_sent=3 cache_hits=2"
echo "e2e: dkimpy signatures verify through c-ares and dnsmasq"
