#!/bin/sh
# tests/interop/arc.sh - ARC (RFC 8617) between libdkim and dkimpy: chains
# dkimpy seals (1 and 2 hops) validate as pass in libdkim; sets libdkim seals
# validate as pass in dkimpy, alone and on top of a dkimpy chain (3 hops,
# alternating sealers); a changed body, a changed signed header, a broken
# seal and a renumbered instance fail in both.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
dkimtool=$top_builddir/tests/interop/dkimtool
py="/usr/bin/python3 $top_srcdir/tests/interop/arc_dkimpy.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/arc.XXXXXX")
trap '[ -n "${ARC_KEEP:-}" ] || rm -rf "$work"' EXIT INT TERM
fail() { echo "arc: $*" >&2; exit 1; }

for s in c py; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$s.pem" 2> /dev/null
	p=$(openssl pkey -in "$work/$s.pem" -pubout 2> /dev/null | grep -v -- '-----' | tr -d '\n')
	echo "$s._domainkey.example.org v=DKIM1; k=rsa; p=$p" >> "$work/records"
done

# Authentication-Results of each hop: dkimpy takes its cv= from arc= there.
# Each hop replaces the previous hop's A-R (same authserv-id) by its own.
hop() { # hop IN OUT ARC-RESULT
	{ printf 'Authentication-Results: lists.example.org; arc=%s;\r\n  spf=pass smtp.mailfrom=example.com\r\n' "$3"
	  awk 'BEGIN { body = 0 } body { print; next } /^\r?$/ { body = 1; print; next }
	       /^[ \t]/ { if (!skip) print; next }
	       { skip = ($0 ~ /^Authentication-Results:/); if (!skip) print }' "$1"; } > "$2"
}
ours_seal() { "$dkimtool" arc -r "$work/records" -k "$work/c.pem" -d example.org -s c \
	-A lists.example.org -H from:to:subject < "$1" > "$2" 2> "$2.log" || { cat "$2.log"; fail "seal $1"; }; }
ours_cv() { "$dkimtool" arc -r "$work/records" < "$1" 2>&1 | sed -n 's/^arc=\([a-z]*\) .*/\1/p'; }
py_cv() { $py verify "$work/records" "$1" | cut -d' ' -f1; }
changed() { cmp -s "$work/c3.eml" "$1" && fail "$2: the change did not apply"; :; }
expect() { # expect FILE CV WHAT: both implementations say CV
	o=$(ours_cv "$1"); p=$(py_cv "$1")
	[ "$o" = "$2" ] || fail "$3: libdkim says arc=$o, expected $2"
	[ "$p" = "$2" ] || fail "$3: dkimpy says arc=$p, expected $2"
}

printf 'From: Alice <alice@example.com>\r\nTo: list@example.org\r\nSubject: hello\r\nDate: Sun, 22 Nov 2026 00:00:00 +0000\r\nMessage-ID: <arc@example.com>\r\n\r\nHi all,\r\nthis goes through a list.\r\n' > "$work/m0.eml"

# dkimpy seals hop 1 and hop 2; libdkim validates.
hop "$work/m0.eml" "$work/a1.in" none
$py seal "$work/records" "$work/py.pem" "$work/a1.in" > "$work/py1.eml"
expect "$work/py1.eml" pass "dkimpy 1 hop"
hop "$work/py1.eml" "$work/a2.in" pass
$py seal "$work/records" "$work/py.pem" "$work/a2.in" > "$work/py2.eml"
expect "$work/py2.eml" pass "dkimpy 2 hops"

# libdkim seals hop 1 alone, and hop 3 on the dkimpy chain; dkimpy validates.
hop "$work/m0.eml" "$work/c1.in" none
ours_seal "$work/c1.in" "$work/c1.eml"
tr -d '\r\n\t ' < "$work/c1.eml" | grep -q 'ARC-Seal:a=rsa-sha256;b=[^;]*;cv=none;' || fail "hop 1 seal is not cv=none"
expect "$work/c1.eml" pass "libdkim 1 hop"
hop "$work/py2.eml" "$work/c3.in" pass
ours_seal "$work/c3.in" "$work/c3.eml"
expect "$work/c3.eml" pass "libdkim on a dkimpy chain (3 hops)"
# and dkimpy seals on top of ours (4 hops, alternating)
hop "$work/c3.eml" "$work/p4.in" pass
$py seal "$work/records" "$work/py.pem" "$work/p4.in" > "$work/p4.eml"
expect "$work/p4.eml" pass "dkimpy on a libdkim set (4 hops)"

# tampering
sed 's/this goes through a list/this went through a list/' "$work/c3.eml" > "$work/t-body.eml"
changed "$work/t-body.eml" "changed body"
expect "$work/t-body.eml" fail "changed body"
sed 's/^Subject: hello/Subject: [list] hello/' "$work/c3.eml" > "$work/t-subject.eml"
changed "$work/t-subject.eml" "changed Subject"
expect "$work/t-subject.eml" fail "changed Subject"
sed '/^ARC-Seal: /s/cv=pass/cv=none/' "$work/c3.eml" > "$work/t-seal.eml"
changed "$work/t-seal.eml" "changed seal"
expect "$work/t-seal.eml" fail "changed seal"
sed 's/^ARC-Authentication-Results: i=3;/ARC-Authentication-Results: i=4;/' "$work/c3.eml" > "$work/t-inst.eml"
changed "$work/t-inst.eml" "renumbered instance"
expect "$work/t-inst.eml" fail "renumbered instance"
echo "arc: libdkim and dkimpy agree on 4 chains and 4 tamperings"
