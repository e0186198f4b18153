#!/bin/sh
# tests/genkey/genkey.sh - opendkim-genkey's files: modes, refusing to
# overwrite, --force, the zone stub accepted by BIND's named-checkzone with
# the right p= in it, the layout of Debian's opendkim-genkey, the other
# formats and the argument checks.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
GENKEY=$top_builddir/genkey/opendkim-genkey
DEBIAN_GENKEY=/usr/sbin/opendkim-genkey
PY=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/genkey.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }

mode_of() { stat -c %a "$1"; }

# The public key of a private key file, as p= must hold it (RFC 6376 §3.6.1
# SubjectPublicKeyInfo for RSA; RFC 8463 §4.2 raw 32 bytes for ed25519).
pubkey_of() {
	case $(openssl pkey -in "$1" -noout -text 2> /dev/null | head -n 1) in
	ED25519*) openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0 ;;
	*) openssl pkey -in "$1" -pubout -outform DER | base64 -w0 ;;
	esac
}

# The TXT strings of a zone, as BIND reads them: zone_txt ZONEFILE prints
# one record a line, strings separated by '|', unescaped.
zone_txt() {
	named-checkzone -q -D -o - example.com "$1" 2> /dev/null |
		awk '$4 == "TXT"' | sed 's/^[^"]*//' |
		"$PY" -c '
import shlex, sys
for line in sys.stdin:
    print("|".join(shlex.split(line.strip(), posix=True)))'
}

make_zone() {   # make_zone ZONEFILE INCLUDED...
	zf=$1; shift
	{
		echo '$TTL 300'
		echo '@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300'
		echo '@ IN NS ns.example.com.'
		echo 'ns IN A 192.0.2.1'
		for f in "$@"; do echo "\$INCLUDE $f"; done
	} > "$zf"
}

# ---- RSA: files and modes -------------------------------------------------
d=$tmp/rsa; mkdir -p "$d"
( umask 000; "$GENKEY" -D "$d" -d example.com -s sel ) 2> "$tmp/err"
check "rsa: genkey succeeds" test $? -eq 0 -a -s "$d/sel.private" -a -s "$d/sel.txt"
check "rsa: private key is 0600 even with umask 000" test "$(mode_of "$d/sel.private")" = 600
check "rsa: record is 0644 less the umask" test "$(mode_of "$d/sel.txt")" = 644
check "rsa: private key is PKCS#8 PEM (as Debian's genkey writes)" \
	test "$(head -n 1 "$d/sel.private")" = "-----BEGIN PRIVATE KEY-----"
check "rsa: 2048 bits by default" sh -c \
	"openssl pkey -in '$d/sel.private' -noout -text | head -n 1 | grep -q '2048 bit'"

# ---- refusing to overwrite, --force ---------------------------------------
sum_before=$(md5sum < "$d/sel.private")
"$GENKEY" -D "$d" -s sel 2> "$tmp/err"
rc=$?
check "overwrite: refused with exit 1" test $rc -eq 1
check "overwrite: message says why" grep -q "sel.private exists; not overwritten (use --force" "$tmp/err"
check "overwrite: key unchanged" test "$(md5sum < "$d/sel.private")" = "$sum_before"
ln -s "$tmp/elsewhere" "$d/link.private"
"$GENKEY" -D "$d" -s link 2> /dev/null
check "overwrite: a symlink at the key path is not followed" test ! -e "$tmp/elsewhere"
chmod 644 "$d/sel.private"
( umask 000; "$GENKEY" -D "$d" -s sel --force )
check "force: replaces the key" test $? -eq 0 -a "$(md5sum < "$d/sel.private")" != "$sum_before"
check "force: new key is 0600" test "$(mode_of "$d/sel.private")" = 600
check "force: no temporary files left" test "$(ls "$d" | wc -l)" -eq 3
check "force: record matches the new key" grep -q "$(pubkey_of "$d/sel.private" | cut -c1-200)" "$d/sel.txt"

# ---- ed25519 ----------------------------------------------------------------
"$GENKEY" -D "$d" -d example.com -s ed -k ed25519
check "ed25519: genkey -k ed25519 succeeds" test $? -eq 0
check "ed25519: private key 0600" test "$(mode_of "$d/ed.private")" = 600
check "ed25519: k=ed25519 and raw 32-byte p=" \
	grep -q "\"v=DKIM1; h=sha256; k=ed25519; \"	*$" "$d/ed.txt"
check "ed25519: p= is the raw public key" grep -q "\"p=$(pubkey_of "$d/ed.private")\"" "$d/ed.txt"
"$GENKEY" -D "$d" -s ed2 --ed25519 && "$GENKEY" -D "$d" -s ed3 --type=ed25519
check "ed25519: --ed25519 and --type are aliases" test -s "$d/ed2.private" -a -s "$d/ed3.private"

# ---- zone files: BIND accepts them, strings <= 255, p= right ------------------
z=$tmp/zone; mkdir -p "$z"
"$GENKEY" -D "$z" -s big -b 4096 -t -S -r -n 'semi;colon "quoted" back\slash = sign'
"$GENKEY" -D "$z" -s abs -a -d example.com
"$GENKEY" -D "$z" -s edz -k ed25519 -h sha256
make_zone "$tmp/example.com.zone" "$z/big.txt" "$z/abs.txt" "$z/edz.txt" "$d/sel.txt"
named-checkzone -q example.com "$tmp/example.com.zone"
check "zone: named-checkzone accepts RSA 2048/4096, -a and ed25519 stubs" test $? -eq 0
zone_txt "$tmp/example.com.zone" > "$tmp/txt"
check "zone: four TXT records read back" test "$(wc -l < "$tmp/txt")" -eq 4
long=$(tr '|' '\n' < "$tmp/txt" | awk 'length($0) > 255' | wc -l)
check "zone: every string at most 255 bytes" test "$long" -eq 0
big_p=$(pubkey_of "$z/big.private")
check "zone: 4096-bit key spans several strings, p= read back whole" sh -c \
	"grep 'k=rsa; t=y' '$tmp/txt' | grep -q '|.*|.*|' && tr -d '|' < '$tmp/txt' | grep -q 'p=$big_p\$'"
check "zone: note is qp-encoded, flags in OpenDKIM order" sh -c \
	"tr -d '|' < '$tmp/txt' | grep -q '^v=DKIM1; n=\"semi=3Bcolon =22quoted=22 back=5Cslash =3D sign\"; h=sha256; k=rsa; t=y:s; s=email; p='"
check "zone: ed25519 record read back" sh -c \
	"tr -d '|' < '$tmp/txt' | grep -qx 'v=DKIM1; h=sha256; k=ed25519; p=$(pubkey_of "$z/edz.private")'"
check "zone: -a gives the absolute owner" grep -q "^abs._domainkey.example.com.	IN	TXT	" "$z/abs.txt"

# ---- byte layout as Debian's opendkim-genkey --------------------------------
# The keys differ, so the base64 runs are replaced before comparing.
normalize() { sed -E 's/[A-Za-z0-9+\/]{40,}=*/KEY/g' "$1"; }
if [ -x "$DEBIAN_GENKEY" ]; then
	i=0
	for opts in "" "-t" "-S" "-r" "-a" "-t -S -r -a -n note" "-h sha1:sha256"; do
		i=$((i + 1))
		mkdir -p "$tmp/deb$i" "$tmp/our$i"
		# shellcheck disable=SC2086
		( cd "$tmp/deb$i" && "$DEBIAN_GENKEY" -d example.com -s s $opts ) &&
		"$GENKEY" -D "$tmp/our$i" -d example.com -s s $opts &&
		normalize "$tmp/deb$i/s.txt" > "$tmp/deb$i/n" &&
		normalize "$tmp/our$i/s.txt" > "$tmp/our$i/n"
		check "layout as Debian's opendkim-genkey ${opts:-(defaults)}" \
			cmp -s "$tmp/deb$i/n" "$tmp/our$i/n"
		cmp -s "$tmp/deb$i/n" "$tmp/our$i/n" || diff "$tmp/deb$i/n" "$tmp/our$i/n"
	done
else
	echo "# $DEBIAN_GENKEY not installed (opendkim-tools): layout comparison skipped"
fi

# ---- other formats and the table lines ---------------------------------------
f=$tmp/fmt; mkdir -p "$f"
"$GENKEY" -D "$f" -d example.org -s one --format txt --keytable --signingtable > "$tmp/tables"
check "txt: one line, the whole value" sh -c \
	"test \$(wc -l < '$f/one.txt') -eq 1 && grep -qx 'v=DKIM1; h=sha256; k=rsa; p=$(pubkey_of "$f/one.private")' '$f/one.txt'"
check "keytable line with the absolute key path" \
	grep -qx "one._domainkey.example.org example.org:one:$(cd "$f" && pwd -P)/one.private" "$tmp/tables"
check "signingtable line" grep -qx '\*@example.org one._domainkey.example.org' "$tmp/tables"
"$GENKEY" -D "$f" -d example.org -s two -k ed25519 --format json
check "json: parses, fields right" "$PY" -c "
import json, sys
j = json.load(open('$f/two.json'))
assert j['name'] == 'two._domainkey.example.org' and j['type'] == 'TXT'
assert j['value'] == ''.join(j['strings'])
assert j['value'].endswith('p=$(pubkey_of "$f/two.private")')
assert j['key_type'] == 'ed25519' and j['private_key'].endswith('/two.private')
"
"$GENKEY" -D "$f" -s auto > /dev/null
check "-s auto: selector is YYYYMM (UTC)" test -s "$f/$(date -u +%Y%m).private"
"$GENKEY" -D "$f" -s auto 2> "$tmp/err"
rc=$?
check "-s auto: a second key the same month is refused" sh -c \
	"test $rc -eq 1 && grep -q 'exists; not overwritten' '$tmp/err'"

# ---- argument checks ------------------------------------------------------------
expect_usage_error() {  # DESC PATTERN ARGS...
	desc=$1 pat=$2; shift 2
	"$GENKEY" -D "$tmp/bad" "$@" > /dev/null 2> "$tmp/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" "$tmp/err" && [ -z "$(ls -A "$tmp/bad")" ]; then
		ok "$desc"
	else
		not_ok "$desc (rc $rc: $(cat "$tmp/err"))"
	fi
}
mkdir -p "$tmp/bad"
expect_usage_error "-b 512 refused" "RSA keys must be 1024 to 8192 bits" -b 512
expect_usage_error "-b 16384 refused" "RSA keys must be 1024 to 8192 bits" -b 16384
expect_usage_error "-b x refused" "RSA keys must be 1024 to 8192 bits" -b 2048x
expect_usage_error "-k dsa refused" "key type must be rsa or ed25519" -k dsa
expect_usage_error "selector with a slash refused" "only letters, digits" -s a/b
expect_usage_error "selector with an empty label refused" "label must be 1 to 63" -s ../x
expect_usage_error "empty domain refused" "domain must be 1 to 253" -d ''
expect_usage_error "-h md5 refused" "hash algorithms" -h md5
expect_usage_error "--format xml refused" "use zone, txt or json" --format xml
expect_usage_error "unknown option" "unknown option" --frobnicate
mkdir -p "$tmp/verbose"
"$GENKEY" -v -D "$tmp/verbose" -s vsel 2> "$tmp/verr" > /dev/null
check "-v says what is done" grep -q "private key written to $tmp/verbose/vsel.private" "$tmp/verr"
"$GENKEY" --help | grep -q -- "--hash-algorithms"
check "--help" test $? -eq 0
"$GENKEY" --version | grep -q "opendkim-genkey"
check "--version" test $? -eq 0

echo "1..$n"
[ $fails -eq 0 ]
