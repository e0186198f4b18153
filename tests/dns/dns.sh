#!/bin/sh
# tests/dns/dns.sh - the key resolver against real DNS servers on loopback.
#
# Generates test keys, starts dnsmasq twice (records with TTL 300, and a
# TTL-1 instance for cache expiry), plus fake servers that never answer or
# answer SERVFAIL / REFUSED / for another name / garbage / slowly, then runs
# tests/dns/test_resolver (Criterion) with their ports in the environment.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
. "$top_srcdir/tests/lib/dns.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/dnstest.XXXXXX")
trap 'dns_cleanup; rm -rf "$work"' EXIT

# An RSA public key of 16384 bits, built without generating primes (a
# resolver must refuse it by size, not by checking the modulus).
huge_key_record() {
	modulus=$(head -c 2048 /dev/urandom | od -An -v -tx1 | tr -d ' \n' |
		sed 's/^./f/; s/.$/1/')
	cat > "$work/huge.cnf" <<EOF
asn1=SEQUENCE:spki
[spki]
alg=SEQUENCE:alg
key=BITWRAP,SEQUENCE:rsakey
[alg]
oid=OID:rsaEncryption
null=NULL
[rsakey]
n=INTEGER:0x$modulus
e=INTEGER:65537
EOF
	openssl asn1parse -genconf "$work/huge.cnf" -noout -out "$work/huge.der"
	printf 'v=DKIM1; k=rsa; p=%s\n' "$(base64 -w0 < "$work/huge.der")"
}

rsa=$(dns_keygen "$work" rsa rsa 2048)
ed=$(dns_keygen "$work" ed ed25519)
rsa_p=${rsa#*p=}
split=$(dns_split "$rsa" 20 | paste -s -d'|' -)
note=$(head -c 9000 /dev/urandom | base64 -w0 | tr -d '+/=')

cat > "$work/records" <<EOF
txt rsa._domainkey.example.test $rsa
txt ed._domainkey.example.test $ed
txts split._domainkey.example.test $split
txt revoked._domainkey.example.test v=DKIM1; k=rsa; p=
txt malformed._domainkey.example.test v=DKIM1; k=rsa; p=!!not*base64!!
txt baddata._domainkey.example.test v=DKIM1; k=rsa; p=QUJDREVGR0hJSktMTU5PUA==
cname alias._domainkey.example.test rsa._domainkey.example.test
cname alias2._domainkey.example.test alias._domainkey.example.test
txt big._domainkey.example.test v=DKIM1; k=rsa; n=$note; p=$rsa_p
txt huge._domainkey.example.test $(huge_key_record)
txt two._domainkey.example.test $rsa
txt two._domainkey.example.test $ed
txt mixed._domainkey.example.test v=spf1 -all
txt mixed._domainkey.example.test $ed
txt lone._domainkey.example.test hello world
a nodata._domainkey.example.test 192.0.2.1
EOF
for name in cache1 cache2 cache3 cache4 lru-a lru-b lru-c threads1; do
	echo "txt $name._domainkey.example.test $ed" >> "$work/records"
done
echo "txt ttl1._domainkey.example.test $ed" > "$work/short"

dns_start "$work/short" 1
DNS_SHORT_PORT=$DNS_PORT
DNS_SHORT_LOG=$DNS_LOG
if dns_has_ipv6; then
	DNS_IPV6=1 dns_start "$work/records" 300
	export DNS_HAS_IPV6=1
else
	dns_start "$work/records" 300
fi
export DNS_SHORT_PORT DNS_SHORT_LOG

for mode in silent servfail refused wrongname garbage; do
	dns_fake_start "$mode"
	eval "$(echo "$mode" | tr a-z A-Z)_PORT=\$DNS_FAKE_PORT"
	export "$(echo "$mode" | tr a-z A-Z)_PORT"
done
FAKEDNS_TXT=$ed FAKEDNS_DELAY=0.5 FAKEDNS_LOG=$work/slow.log
export FAKEDNS_TXT FAKEDNS_DELAY FAKEDNS_LOG
: > "$FAKEDNS_LOG"
dns_fake_start slow
SLOW_PORT=$DNS_FAKE_PORT SLOW_LOG=$FAKEDNS_LOG
export SLOW_PORT SLOW_LOG
export KEY_DIR=$work

# One test at a time: several assert elapsed time.
"$top_builddir/tests/dns/test_resolver" --jobs 1 "$@"
