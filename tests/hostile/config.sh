#!/bin/sh
# Malformed configuration and tables: every bad line is a load-time error
# naming its file and line ('opendkim -n' exits 1, and the daemon refuses
# to start), never a crash or a failure at signing time. Also key files
# that are missing, unreadable, not keys, or unsafe.
. "$top_srcdir/tests/hostile/lib.sh"

ODK=$MT_DAEMON
mt_keygen sel rsa 2048 example.com
mt_keygen ed ed25519 example.com
K=$T/keys
printf 'good\texample.com:sel:%s/sel.private\ned\texample.com:ed:%s/ed.private\n' "$K" "$K" > "$T/keytable"
printf '*@example.com\tgood\n' > "$T/signingtable"
printf '127.0.0.1\n10.0.0.0/8\n' > "$T/hosts"
cat > "$T/base.conf" <<EOC
Socket			inet:$(mt_free_port)@127.0.0.1
Syslog			no
KeyTable		$T/keytable
SigningTable		refile:$T/signingtable
InternalHosts		$T/hosts
EOC
"$ODK" -n -x "$T/base.conf" > "$T/n.out" 2>&1 || { cat "$T/n.out"; mt_fail "base config refused"; }
NBASE=$(wc -l < "$T/base.conf")
cases=0

# expect_error FILE LINE WHAT: 'opendkim -n' on $T/test.conf fails, says FILE:LINE.
expect_error() {
	_st=0
	"$ODK" -n -x "$T/test.conf" > "$T/n.out" 2>&1 || _st=$?
	[ "$_st" -ne 0 ] || { cat "$T/n.out"; mt_fail "$3: accepted"; }
	grep -q "$1:$2:" "$T/n.out" || { cat "$T/n.out"; mt_fail "$3: no '$1:$2:' in the error"; }
	hs_sanitizer_clean "$T/n.out"
	cases=$((cases + 1))
}

# Each bad line appended to the good configuration.
while IFS= read -r line; do
	[ -n "$line" ] || continue
	{ cat "$T/base.conf"; printf '%s\n' "$line"; } > "$T/test.conf"
	expect_error "$T/test.conf" $((NBASE + 1)) "config line '$line'"
done <<'EOL'
NoSuchOption yes
Domain
AlwaysAddARHeader maybe
LogWhy 2
Canonicalization relaxed/bogus
Canonicalization simple/relaxed/simple
ClockDrift -1
ClockDrift 99999999999999999999999
DNSTimeout abc
MaximumHeaders -5
MaximumHeaders 1e9
MaximumSignaturesToVerify x
MinimumKeyBits 0x400
Mode xyz
On-BadSignature explode
On-DNSError
On-Security acceptx
Nameservers 127.0.0.1@99999
Nameservers not an address
InternalHosts 10.0.0.0/33
PeerList ::1/200
ExternalIgnoreList 300.1.1.1
RemoveARFrom [bad
SignatureAlgorithm rsa-sha1024
Socket inet:99999@127.0.0.1
Socket bogus:/x
Socket inet:
SyslogFacility nosuch
UMask 999
UMask -1
UserID nosuchuser-hostile
SigningTable refile:/nonexistent/table
KeyTable /nonexistent/table
InternalHosts /nonexistent/hosts
EOL

# AuthservID: a host name, so at most 255 bytes (RFC 1035 §2.3.4); a
# longer one is refused at load, not cut where the field is written.
id255=$(printf '%255s' '' | tr ' ' a)
{ cat "$T/base.conf"; printf 'AuthservID %s\n' "$id255"; } > "$T/test.conf"
"$ODK" -n -x "$T/test.conf" > "$T/n.out" 2>&1 || { cat "$T/n.out"; mt_fail "AuthservID of 255 bytes refused"; }
{ cat "$T/base.conf"; printf 'AuthservID %sa\n' "$id255"; } > "$T/test.conf"
expect_error "$T/test.conf" $((NBASE + 1)) "AuthservID of 256 bytes"
grep -q "at most 255 bytes" "$T/n.out" || { cat "$T/n.out"; mt_fail "AuthservID: no length in the error"; }

# Bad table lines: after one good line, so line 2 must be named.
table_case() {  # FILE-KIND LINE
	case $1 in
	keytable) printf 'good\texample.com:sel:%s/sel.private\n%s\n' "$K" "$2" > "$T/t.keytable"
		sed "s|^KeyTable.*|KeyTable $T/t.keytable|" "$T/base.conf" > "$T/test.conf" ;;
	signingtable) printf '*@example.com\tgood\n%s\n' "$2" > "$T/t.signingtable"
		sed "s|^SigningTable.*|SigningTable refile:$T/t.signingtable|" "$T/base.conf" > "$T/test.conf" ;;
	hosts) printf '127.0.0.1\n%s\n' "$2" > "$T/t.hosts"
		sed "s|^InternalHosts.*|InternalHosts $T/t.hosts|" "$T/base.conf" > "$T/test.conf" ;;
	esac
	expect_error "$T/t.$1" 2 "$1 line '$2'"
}
cp "$K/sel.private" "$T/unsafe.private"
head -c 300 /dev/urandom > "$T/random.private"
chmod 600 "$T/random.private"
printf -- '-----BEGIN PRIVATE KEY-----\nnot base64 !!!\n-----END PRIVATE KEY-----\n' > "$T/badpem.private"
head -c 200 "$K/sel.private" > "$T/truncated.private"
: > "$T/empty.private"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.private" 2> /dev/null
openssl req -new -x509 -key "$K/sel.private" -subj /CN=x -days 1 -out "$T/cert.private" 2> /dev/null
chmod 600 "$T"/*.private
chmod 644 "$T/unsafe.private"   # RequireSafeKeys (default yes)
mkdir "$T/dir.private"
while IFS= read -r line; do
	[ -n "$line" ] || continue
	table_case keytable "$line"
done <<EOL
k2	example.com
k3	example.com:sel
k4	example.com:sel:
k5	:sel:$K/sel.private
k6	example.com::$K/sel.private
k7	exa mple.com:sel:$K/sel.private
k8	example.com:sel:/nonexistent/key.private
k9	example.com:sel:$T/dir.private
k10	example.com:sel:$T/random.private
k11	example.com:sel:$T/badpem.private
k12	example.com:sel:$T/truncated.private
k13	example.com:sel:$T/empty.private
k14	example.com:sel:$T/ec.private
k15	example.com:sel:$T/cert.private
k16	example.com:sel:$T/unsafe.private
k17
EOL
while IFS= read -r line; do
	[ -n "$line" ] || continue
	table_case signingtable "$line"
done <<'EOL'
*@a.example
*@b.example	nosuchkey
EOL
while IFS= read -r line; do
	[ -n "$line" ] || continue
	table_case hosts "$line"
done <<'EOL'
10.0.0.0/33
::1/129
300.1.2.3
1.2.3.4/-1
[::1
EOL

# Unreadable key file: only meaningful when not root (root reads anyway).
if [ "$(id -u)" -ne 0 ]; then
	cp "$K/sel.private" "$T/noread.private"
	chmod 000 "$T/noread.private"
	table_case keytable "k	example.com:sel:$T/noread.private"
fi

# A single-key configuration with a bad key file, and the daemon itself
# refusing to start with a bad line (not starting, then failing later).
for f in /nonexistent.private "$T/random.private" "$T/dir.private" "$T/empty.private"; do
	{ grep -v -e '^KeyTable' -e '^SigningTable' "$T/base.conf"
	  printf 'Domain example.com\nSelector sel\nKeyFile %s\n' "$f"; } > "$T/test.conf"
	expect_error "$T/test.conf" $((NBASE + 1)) "KeyFile $f"
done
{ cat "$T/base.conf"; echo "On-Default bogus"; } > "$T/test.conf"
_st=0
timeout 10 "$ODK" -f -x "$T/test.conf" > "$T/start.out" 2>&1 || _st=$?
[ "$_st" -ne 0 ] && [ "$_st" -ne 124 ] || mt_fail "daemon started with a bad configuration (status $_st)"
grep -q "$T/test.conf:$((NBASE + 1)):" "$T/start.out" || { cat "$T/start.out"; mt_fail "daemon start: no file:line"; }
hs_sanitizer_clean "$T/start.out"
mt_ok "$cases malformed lines: each a load-time error with file:line"

# A problem's text goes to the terminal escaped, as it goes to the log: a
# line carrying an ESC sequence and a backspace (or a server's diagnostic
# that does) cannot colour, move or overwrite what -n prints.
{ cat "$T/base.conf"; printf 'Foo\033[31mBar\bX yes\n'; } > "$T/test.conf"
expect_error "$T/test.conf" $((NBASE + 1)) "a key with control bytes"
! LC_ALL=C grep -q "$(printf '[\033\b]')" "$T/n.out" || { od -c "$T/n.out" | head; mt_fail "-n wrote control bytes to the terminal"; }
mt_grep "$T/n.out" 'Foo\\x1b\[31mBar\\x08X' "-n shows them as \\xNN"
mt_ok "-n prints control bytes of a problem as \\xNN"
exit 0
