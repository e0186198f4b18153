#!/bin/sh
# tests/genkey/testkey.sh - opendkim-testkey -x on the configurations
# admins have: Debian's Domain/Selector/KeyFile (one domain, a list of
# them), a KeyTable whose d= is the sender's domain ("%"), and -d/-s with
# no -k. Every key is looked up under each domain that can use it and
# compared with its private key, against a loopback DNS server serving a
# mismatching record, a matching one and none; the exit statuses are
# OpenDKIM's (65 keys do not match, 69 record not found, 78 configuration
# error), and "key OK" is never said of a key that was not compared.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
TESTKEY=$top_builddir/genkey/opendkim-testkey

. "$top_srcdir/tests/lib/dns.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/testkey.XXXXXX") || exit 1
trap 'dns_cleanup; rm -rf "$tmp"' EXIT
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

k=$tmp/keys; mkdir -p "$k"; chmod 700 "$k"
dns_keygen "$k" good rsa 1024 > "$tmp/good.rec" || exit 1
dns_keygen "$k" other rsa 1024 > "$tmp/other.rec" || exit 1
dns_keygen "$k" ed ed25519 > "$tmp/ed.rec" || exit 1
# default._domainkey.match.test publishes good's key; the same selector
# under mismatch.test publishes another key; nothing under missing.test.
cat > "$tmp/records" <<EOR
txt default._domainkey.match.test $(cat "$tmp/good.rec")
txt default._domainkey.mismatch.test $(cat "$tmp/other.rec")
txt newrsa._domainkey.match.test $(cat "$tmp/other.rec")
txt ed._domainkey.match.test $(cat "$tmp/ed.rec")
EOR
dns_start "$tmp/records" > /dev/null 2>&1 || { echo "cannot start dnsmasq"; exit 1; }

# conf NAME LINES...: a configuration using the loopback server.
conf() {
	_f=$tmp/$1.conf; shift
	{ printf 'Nameservers 127.0.0.1@%s\nDNSTimeout 2\n' "$DNS_PORT"
	  printf '%s\n' "$@"; } > "$_f"
}
# expect DESC RC PATTERN ARGS...: exit status and an output line.
expect() {
	desc=$1 want=$2 pat=$3; shift 3
	"$TESTKEY" "$@" > "$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq "$want" ] && grep -q -- "$pat" "$tmp/out"; then
		ok "$desc"
	else
		not_ok "$desc (rc $rc, want $want /$pat/): $(cat "$tmp/out")"
	fi
}
# absent DESC PATTERN: the last output has no such line.
absent() {
	if grep -q -- "$2" "$tmp/out"; then
		not_ok "$1: $(cat "$tmp/out")"
	else
		ok "$1"
	fi
}

# ---- Debian's stock form: Domain, Selector, KeyFile ----------------------------------
conf debian "Domain mismatch.test" "Selector default" "KeyFile $k/good.private"
expect "Domain/Selector/KeyFile, record of another key: 65, naming the KeyFile line" 65 \
	"default._domainkey.mismatch.test (key 'default', $tmp/debian.conf:5): key mismatch" \
	-x "$tmp/debian.conf"
absent "... and no 'key OK', no 'no record to check'" "key OK\|no record to check"

conf debian-ok "Domain match.test" "Selector default" "KeyFile $k/good.private"
expect "Domain/Selector/KeyFile, matching record: 0, key OK" 0 \
	"default._domainkey.match.test: key OK" -x "$tmp/debian-ok.conf" -v

conf debian-missing "Domain missing.test" "Selector default" "KeyFile $k/good.private"
expect "Domain/Selector/KeyFile, no record: 69" 69 \
	"default._domainkey.missing.test (key 'default', .*): no key record found" \
	-x "$tmp/debian-missing.conf"

# A Domain list: every domain looked up; the most serious problem decides.
conf list "Domain csl:match.test,missing.test,mismatch.test,*.wild.test" \
	"Selector default" "KeyFile $k/good.private"
expect "Domain list: each domain checked (match.test OK)" 65 \
	"default._domainkey.match.test: key OK" -x "$tmp/list.conf" -v
grep -q "default._domainkey.missing.test.*no key record found" "$tmp/out" \
	&& ok "Domain list: missing.test has no record" \
	|| not_ok "Domain list: missing.test has no record: $(cat "$tmp/out")"
grep -q "default._domainkey.mismatch.test.*key mismatch" "$tmp/out" \
	&& ok "Domain list: mismatch.test does not match" \
	|| not_ok "Domain list: mismatch.test does not match: $(cat "$tmp/out")"
grep -q "'\*.wild.test' names no single domain, not checked" "$tmp/out" \
	&& ok "Domain list: a pattern is said not to be checked (-v)" \
	|| not_ok "Domain list: a pattern is said not to be checked: $(cat "$tmp/out")"

# ---- -d/-s without -k: the configuration's key of that name, as OpenDKIM
expect "-x CONF -d -s, no -k: compared with KeyFile (65)" 65 \
	"default._domainkey.mismatch.test (key 'default', .*): key mismatch" \
	-x "$tmp/debian.conf" -d mismatch.test -s default
expect "-x CONF -d -s, no -k: matching KeyFile says key OK" 0 \
	"default._domainkey.match.test: key OK" -x "$tmp/debian.conf" -d match.test -s default -v
expect "-x CONF -d -s, another selector: record only, said so" 0 \
	"newrsa._domainkey.match.test: record OK, not compared with a private key" \
	-x "$tmp/debian.conf" -d match.test -s newrsa -v
absent "... and not 'key OK'" "key OK"

# ---- KeyTable entries whose d= is the sender's domain ------------------------------
printf 'pct %%:default:%s\ned match.test:ed:%s\n' "$k/good.private" "$k/ed.private" > "$tmp/KeyTable"
printf '*@match.test pct\n*@mismatch.test pct\n*@*.sub.test pct\n*@match.test ed\n' > "$tmp/SigningTable"
conf keytable "KeyTable $tmp/KeyTable" "SigningTable refile:$tmp/SigningTable"
expect "KeyTable d=%: looked up under each SigningTable domain (mismatch: 65)" 65 \
	"default._domainkey.mismatch.test (key 'pct', $tmp/KeyTable:1): key mismatch" \
	-x "$tmp/keytable.conf" -v
for line in "default._domainkey.match.test: key OK" "ed._domainkey.match.test: key OK"; do
	grep -q "$line" "$tmp/out" && ok "KeyTable: $line" || not_ok "KeyTable: $line: $(cat "$tmp/out")"
done

printf 'pct %%:default:%s\n' "$k/good.private" > "$tmp/KeyTable2"
printf '* pct\n' > "$tmp/SigningTable2"
conf keytable2 "KeyTable $tmp/KeyTable2" "SigningTable refile:$tmp/SigningTable2"
expect "KeyTable d=% with only '*': warned as not checked, no key OK" 0 \
	"warning: key 'pct' ($tmp/KeyTable2:1): d= is the sender's domain, and only patterns ('\*', '.domain') choose it: no record to look up, not checked" \
	-x "$tmp/keytable2.conf" -v
absent "... and not 'key OK'" "key OK"

# ---- usage and configuration errors: 78 (EX_CONFIG) ---------------------------------
expect "usage error: 78" 78 "-d and -s go together" -d match.test
printf 'Selector s\nKeyFile %s\n' "$tmp/nonexistent.private" > "$tmp/bad.conf"
expect "configuration error: 78" 78 "nonexistent.private" -x "$tmp/bad.conf"

echo "1..$n"
[ $fails -eq 0 ]
