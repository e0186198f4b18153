#!/bin/sh
# The command line and the process: -V, --help, -n (every problem as
# FILE:LINE, non-zero exit), -t (offline verification), daemon mode with a
# PID file and a UNIX socket (UMask, stale socket, -p), UserID (privileges
# dropped after the socket is open), a socket that cannot be opened (the
# reason, exit status 1, with and without -f), -f under systemd (no second
# copy of each line on the journal's stream), RequireSafeKeys refusing a
# key that others can read, naming the file.
. "$top_srcdir/tests/milter/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_message "$T/msg.eml"

# --- -V, --help, bad flags ----------------------------------------------
"$MT_DAEMON" -V > "$T/version.out" || mt_fail "-V exit status"
mt_grep "$T/version.out" '^opendkim \(dkimd\) ' "-V version line"
mt_grep "$T/version.out" 'OpenSSL: OpenSSL 3' "-V OpenSSL"
mt_grep "$T/version.out" 'c-ares: 1\.' "-V c-ares"
mt_grep "$T/version.out" 'ed25519-sha256' "-V ed25519"
"$MT_DAEMON" --help > "$T/help.out" || mt_fail "--help exit status"
mt_grep "$T/help.out" '-x CONFIG' "--help text"
"$MT_DAEMON" -Z > /dev/null 2>&1 && mt_fail "unknown flag accepted"
mt_ok "-V, --help, unknown flag"

# --- -n ------------------------------------------------------------------------
mt_config > "$T/good.conf"
"$MT_DAEMON" -n -x "$T/good.conf" > "$T/n-good.out" 2>&1 || { cat "$T/n-good.out"; mt_fail "-n on a good configuration"; }
cat > "$T/bad.conf" <<EOF
Mode			sv
FooBar			1
Canonicalization	sideways
Domain			example.com
Selector		sel
KeyFile			$T/keys/missing.private
SendReports		yes
On-BadSignature		explode
EOF
"$MT_DAEMON" -n -x "$T/bad.conf" > "$T/n-bad.out" 2>&1 && mt_fail "-n accepted a bad configuration"
mt_grep "$T/n-bad.out" "^$T/bad.conf:2: .*FooBar" "unknown option with file:line"
mt_grep "$T/n-bad.out" "^$T/bad.conf:3: .*sideways" "bad value with file:line"
mt_grep "$T/n-bad.out" "^$T/bad.conf:6: .*missing.private" "missing key with file:line"
mt_grep "$T/n-bad.out" "^$T/bad.conf:7: .*SendReports.*not supported" "unsupported option warning"
mt_grep "$T/n-bad.out" "^$T/bad.conf:8: .*explode" "bad action with file:line"
mt_ok "-n: every problem as FILE:LINE, non-zero exit"

# A key given twice: the last value is used (as OpenDKIM does), with a
# warning naming the key and both lines; the configuration is still good.
{ mt_config; printf 'MacroList\tdaemon_name|submission\nMacroList\t{auth_type}\n'; } > "$T/twice.conf"
"$MT_DAEMON" -n -x "$T/twice.conf" > "$T/n-twice.out" 2>&1 || { cat "$T/n-twice.out"; mt_fail "-n: a repeated key is an error"; }
n=$(wc -l < "$T/twice.conf")
mt_grep "$T/n-twice.out" "^$T/twice.conf:$n: .*MacroList given again: this value replaces the one at $T/twice.conf:$((n - 1))" "repeated key warning"
mt_nogrep "$T/n-good.out" "given again" "a warning without a repeated key"
mt_ok "-n: a key given twice is a warning naming FILE:LINE and the key; the last value wins"

# --- host-list entries OpenDKIM 2.11 never matches (checked against Debian's
# opendkim: 127.0.0.1/8, 10.1.0.1/24 and 10.2.0.0/255.255.255.0 in
# InternalHosts sign nothing there): host bits never match here either,
# a netmask is a network; -n warns about both with FILE:LINE ---------------------
printf '# internal\n127.0.0.1/8\n10.1.0.1/24\n10.2.0.0/255.255.255.0\n' > "$T/hosts"
{ mt_config; echo "InternalHosts		$T/hosts"; } > "$T/hostbits.conf"
"$MT_DAEMON" -n -x "$T/hostbits.conf" > "$T/n-hostbits.out" 2>&1 ||
	{ cat "$T/n-hostbits.out"; mt_fail "-n: host-list warnings are not errors"; }
mt_grep "$T/n-hostbits.out" "^$T/hosts:2: host list entry '127.0.0.1/8' has host bits set past the prefix: it never matches any client .*write '127.0.0.0/8'" "-n: host bits, FILE:LINE"
mt_grep "$T/n-hostbits.out" "^$T/hosts:3: host list entry '10.1.0.1/24' has host bits.*'10.1.0.0/24'" "-n: host bits (2)"
mt_grep "$T/n-hostbits.out" "^$T/hosts:4: host list entry '10.2.0.0/255.255.255.0': OpenDKIM never matches a netmask.*network 10.2.0.0/24" "-n: netmask"
mt_start "$T/hostbits.conf"
# Start-up warnings are log lines, as at a reload (syslog too).
mt_grep "$MT_LOG" "^opendkim\[$MT_PID\]: $T/hosts:2: host list entry '127.0.0.1/8'" "start-up warning as a log line"
for a in 127.0.0.1 10.1.0.5 10.2.0.5; do
	mt_send "$T/hb-$a.eml" "$T/msg.eml" -a "$a" -f user@example.com
done
mt_stop
grep -q '^DKIM-Signature:' "$T/hb-127.0.0.1.eml" && mt_fail "127.0.0.1/8 made 127.0.0.1 internal"
grep -q '^DKIM-Signature:' "$T/hb-10.1.0.5.eml" && mt_fail "10.1.0.1/24 made 10.1.0.5 internal"
grep -q '^DKIM-Signature:' "$T/hb-10.2.0.5.eml" || mt_fail "10.2.0.0/255.255.255.0 is not the network"
mt_ok "host lists: host bits never match (as OpenDKIM), a netmask is a network, -n warns"

# A SigningTable pattern that matches any sender domain is an open signer:
# -n warns, naming the file and line, unless the key's domain is "%".
printf 'fixed\texample.com:sel:%s\neach\t%%:sel:%s\n' "$T/keys/sel.private" "$T/keys/sel.private" > "$T/kt-open"
printf '*@example.com\tfixed\n*@*\tfixed\n*\teach\nuser@*\tfixed\n' > "$T/st-open"
printf 'KeyTable\t%s\nSigningTable\trefile:%s\n' "$T/kt-open" "$T/st-open" > "$T/open.conf"
"$MT_DAEMON" -n -x "$T/open.conf" > "$T/n-open.out" 2>&1 || { cat "$T/n-open.out"; mt_fail "-n: catch-all is an error"; }
mt_grep "$T/n-open.out" "^$T/st-open:2: SigningTable pattern '\*@\*' matches any sender domain: key 'fixed' \(d=example.com\)" "catch-all warning"
mt_grep "$T/n-open.out" "^$T/st-open:4: SigningTable pattern 'user@\*' matches any sender domain" "user@* warning"
[ "$(grep -c 'matches any sender domain' "$T/n-open.out")" -eq 2 ] || { cat "$T/n-open.out"; mt_fail "catch-all warnings: not exactly 2"; }
mt_ok "-n: catch-all SigningTable patterns warned (file:line), not with a '%' key"

# Every key of Debian's OpenDKIM (its opendkim.conf(5), and the keys its
# binary takes beyond it) is implemented or a warning, never "unknown".
{
	zcat /usr/share/man/man5/opendkim.conf.5.gz 2> /dev/null |
		sed -n 's/^\.I \([A-Z][A-Za-z0-9-]*\) (.*/\1/p'
	printf '%s\n' ATPSDomains ATPSHashAlgorithm On-PolicyError
} | sort -u > "$T/debian-keys"
[ "$(wc -l < "$T/debian-keys")" -ge 3 ] || mt_fail "no Debian keys listed"
while read -r key; do
	printf '%s\tx\n' "$key" > "$T/key.conf"
	"$MT_DAEMON" -n -x "$T/key.conf" > "$T/key.out" 2>&1
	! grep -q "unknown option" "$T/key.out" || mt_fail "Debian's key $key: $(cat "$T/key.out")"
done < "$T/debian-keys"
mt_ok "-n: each of Debian's $(wc -l < "$T/debian-keys") OpenDKIM keys is known (implemented or a warning)"

# --- -t --------------------------------------------------------------------------
mt_start "$T/good.conf"
mt_send "$T/signed.eml" "$T/msg.eml"
mt_stop
"$MT_DAEMON" -x "$T/good.conf" -t "$T/signed.eml" > "$T/t.out" 2>&1 || { cat "$T/t.out"; mt_fail "-t on a signed message"; }
mt_grep "$T/t.out" "signed.eml: verification \(s=sel d=example.com, 2048-bit key\) succeeded" "-t pass"
sed 's/this is a test message/this is a changed message/' "$T/signed.eml" > "$T/changed.eml"
"$MT_DAEMON" -x "$T/good.conf" -t "$T/changed.eml" "$T/msg.eml" > "$T/t2.out" 2>&1 && mt_fail "-t: changed message passed"
mt_grep "$T/t2.out" "changed.eml: verification \(s=sel d=example.com, 2048-bit key\) fail" "-t fail"
mt_grep "$T/t2.out" "msg.eml: message not signed" "-t unsigned"
mt_ok "-t: pass, fail and unsigned messages"

# --- text from DNS cannot forge lines (issue 16 item 5) ---------------------------
# A key record whose k= holds a line break and a fake log line: the reason
# ("unknown key type k=...") reaches -t's output and the daemon's log, both
# escaped (\x0a), so no line starts with the forged text.
FAKEDNS_DELAY=0 FAKEDNS_TXT="v=DKIM1; k=x
opendkim[1]: FORGED LINE; p=AAAA" dns_fake_start slow
sed "s/^Nameservers.*/Nameservers 127.0.0.1@$DNS_FAKE_PORT/" "$T/good.conf" > "$T/hostile-dns.conf"
"$MT_DAEMON" -x "$T/hostile-dns.conf" -t "$T/signed.eml" > "$T/t-forged.out" 2>&1
mt_grep "$T/t-forged.out" 'unknown key type k=x\\x0aopendkim\[1\]: FORGED LINE' "-t: the record's line break escaped"
mt_nogrep "$T/t-forged.out" '^opendkim\[1\]: FORGED' "-t: a forged line"
mt_start "$T/hostile-dns.conf"
mt_send "$T/forged.eml" "$T/signed.eml" -a 192.0.2.7
mt_stop
mt_grep "$MT_LOG" 'k=x\\x0aopendkim\[1\]: FORGED LINE' "log: the record's line break escaped"
mt_nogrep "$MT_LOG" '^opendkim\[1\]: FORGED' "log: a forged line"
mt_ok "text from a hostile key record is escaped in -t's output and in the log"

# --- daemon mode: PID file, UNIX socket, UMask, -p, stale socket ----------------------
sock=$T/run/opendkim.sock
mkdir "$T/run"
mt_config > "$T/daemon.conf"
cat >> "$T/daemon.conf" <<EOF
PidFile		$T/run/opendkim.pid
UMask		007
EOF
"$MT_DAEMON" -x "$T/daemon.conf" -p "local:$sock" > "$T/daemon.out" 2>&1 || { cat "$T/daemon.out"; mt_fail "daemon start"; }
i=0
while [ ! -S "$sock" ] || [ ! -s "$T/run/opendkim.pid" ]; do
	[ $i -lt 100 ] || mt_fail "daemon did not create its socket and PID file"
	sleep 0.05
	i=$((i + 1))
done
pid=$(cat "$T/run/opendkim.pid")
MT_PIDS="$MT_PIDS $pid"
kill -0 "$pid" || mt_fail "PID file names no running process"
[ "$(stat -c %a "$sock")" = 770 ] || mt_fail "socket mode $(stat -c %a "$sock"), UMask 007 wants 770"
[ "$(stat -c %a "$T/run/opendkim.pid")" = 660 ] ||
	mt_fail "PID file mode $(stat -c %a "$T/run/opendkim.pid"), UMask 007 wants 660"
"$MT_CLIENT" -t 20 -o "$T/unix.eml" "unix:$sock" "$T/msg.eml" 2> "$T/unix.result" || mt_fail "client over the UNIX socket"
mt_verify "$T/unix.eml"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2> /dev/null; do
	[ $i -lt 100 ] || mt_fail "daemon did not stop"
	sleep 0.05
	i=$((i + 1))
done
[ ! -e "$T/run/opendkim.pid" ] || mt_fail "PID file left behind"
mt_ok "daemon mode: PID file (mode 660), -p local: socket with UMask 007 (mode 770), signing over it"

# A socket left by a killed daemon is replaced at start.
mt_start "$T/good.conf" -p "local:$sock"
kill -KILL "$MT_PID"
wait "$MT_PID" 2> /dev/null
[ -S "$sock" ] || mt_fail "no stale socket to test with"
mt_start "$T/good.conf" -p "local:$sock"
"$MT_CLIENT" -t 20 -o "$T/stale.eml" "unix:$sock" "$T/msg.eml" 2> "$T/stale.result" || mt_fail "client after stale socket"
mt_stop
mt_ok "a stale UNIX socket is replaced"

# Socket forms of opendkim.conf(5), given with -p (inet6 where the host
# has IPv6 on loopback; some containers do not).
forms="inet:$(mt_free_port)@[127.0.0.1] inet:$(mt_free_port)@localhost"
if "$MT_PYTHON" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2> /dev/null; then
	forms="$forms inet6:$(mt_free_port)@::1 inet6:$(mt_free_port)@[::1]"
fi
for spec in $forms; do
	mt_start "$T/good.conf" -p "$spec"
	"$MT_CLIENT" -t 20 -o "$T/form.eml" "$spec" "$T/msg.eml" 2> "$T/form.result" ||
		mt_fail "client to $spec"
	mt_grep "$T/form.eml" '^DKIM-Signature:' "signed over $spec"
	mt_stop
done
mt_ok "sockets: $forms"

# --- Background no: OpenDKIM's configuration form of -f ----------------------------------
mt_config > "$T/fg.conf"
cat >> "$T/fg.conf" <<EOF
Background	no
PidFile		$T/run/fg.pid
EOF
"$MT_DAEMON" -x "$T/fg.conf" -p "local:$T/run/fg.sock" > "$T/fg.out" 2>&1 &
fgpid=$!
MT_PIDS="$MT_PIDS $fgpid"
i=0
while [ ! -S "$T/run/fg.sock" ] || [ ! -s "$T/run/fg.pid" ]; do
	[ $i -lt 100 ] || { cat "$T/fg.out"; mt_fail "Background no: no socket or PID file"; }
	sleep 0.05
	i=$((i + 1))
done
[ "$(cat "$T/run/fg.pid")" = "$fgpid" ] ||
	mt_fail "Background no: PID file says $(cat "$T/run/fg.pid"), the process started was $fgpid (it forked)"
"$MT_CLIENT" -t 20 -o "$T/fg.eml" "unix:$T/run/fg.sock" "$T/msg.eml" 2> "$T/fg.result" || mt_fail "client to the Background no daemon"
mt_verify "$T/fg.eml"
kill -TERM "$fgpid"
wait "$fgpid" || mt_fail "Background no: exit status $? after SIGTERM"
mt_nogrep "$T/fg.out" "Background" "no warning about Background"
mt_ok "Background no: stays in the foreground (the started process serves), no warning"

# --- UserID: privileges dropped after opening the socket ------------------------------
if id opendkim > /dev/null 2>&1; then
	chmod 755 "$T" "$T/run"
	# Sanitizer builds check leaks at exit as opendkim: mt_stop says what
	# stops LeakSanitizer if it cannot (no setting turns the check off).
	MT_DAEMON_USER=opendkim
	mt_start "$T/good.conf" -u opendkim -p "local:$sock"
	[ "$(stat -c %U "$sock")" = opendkim ] || mt_fail "socket owner $(stat -c %U "$sock")"
	owner=$(ps -o user= -p "$MT_PID")
	[ "$owner" = opendkim ] || mt_fail "daemon runs as '$owner', not opendkim"
	"$MT_CLIENT" -t 20 -o "$T/user.eml" "unix:$sock" "$T/msg.eml" 2> "$T/user.result" || mt_fail "client to the unprivileged daemon"
	mt_verify "$T/user.eml"
	mt_stop
	MT_DAEMON_USER=
	mt_ok "-u opendkim: runs as opendkim, owns its socket, signs"
fi

# --- a socket that cannot be opened: the reason, the socket, exit status 1 ---------------
port=$(awk '$1 == "Socket" { print $2 }' "$T/good.conf")
mt_start "$T/good.conf"
"$MT_DAEMON" -f -x "$T/good.conf" > "$T/busy.out" 2>&1 && mt_fail "second daemon on a port in use started"
mt_grep "$T/busy.out" "cannot open socket $port: Address already in use" "the reason and the socket"
# Without -f the socket is opened before detaching: the failure is seen too.
"$MT_DAEMON" -x "$T/good.conf" -P "$T/busy.pid" > "$T/busy2.out" 2>&1 && mt_fail "second daemon (no -f) on a port in use: exit status 0"
mt_grep "$T/busy2.out" "cannot open socket $port: Address already in use" "the reason without -f"
[ ! -e "$T/busy.pid" ] || mt_fail "PID file written by a daemon that did not start"
mt_stop
: > "$T/run/notasocket"
"$MT_DAEMON" -f -x "$T/good.conf" -p "local:$T/run/notasocket" > "$T/file.out" 2>&1 && mt_fail "started on a regular file"
mt_grep "$T/file.out" "cannot open socket local:$T/run/notasocket: $T/run/notasocket exists and is not a socket" "not a socket"
"$MT_DAEMON" -f -x "$T/good.conf" -p "local:$T/nodir/s.sock" > "$T/nodir.out" 2>&1 && mt_fail "started in a missing directory"
mt_grep "$T/nodir.out" "cannot open socket local:$T/nodir/s.sock: No such file or directory" "missing directory"
[ ! -e "$T/nodir" ] || mt_fail "the probe left something behind"
mt_ok "socket errors say why: $(grep -m1 'cannot open socket' "$T/busy.out")"

# --- -f under systemd: standard error is the journal, syslog's copy is enough ---------------
# systemd.exec(5): JOURNAL_STREAM=DEVICE:INODE of the journal's stream on
# standard error. Here that stream is a file, and syslog goes wherever
# /dev/log is (or nowhere): the file must get no line when JOURNAL_STREAM
# names it and Syslog is on, and every line otherwise.
sed 's/^Syslog\b.*/Syslog yes/' "$T/good.conf" > "$T/syslog.conf"
# jrun OUT [JOURNAL_STREAM value, "self" for OUT's own]: start, sign one
# message, stop; the daemon's standard error in OUT.
jrun() {
	: > "$1"
	_js=${2:-}
	[ "$_js" = self ] && _js=$(stat -c '%d:%i' "$1")
	if [ -n "$_js" ]; then
		JOURNAL_STREAM=$_js "$MT_DAEMON" -f -x "$T/syslog.conf" 2>> "$1" &
	else
		env -u JOURNAL_STREAM "$MT_DAEMON" -f -x "$T/syslog.conf" 2>> "$1" &
	fi
	_jp=$!
	MT_PIDS="$MT_PIDS $_jp"
	_i=0
	until "$MT_CLIENT" -t 5 -o "$1.eml" "$port" "$T/msg.eml" 2> "$1.result"; do
		kill -0 "$_jp" 2> /dev/null || { cat "$1" >&2; mt_fail "daemon exited at start"; }
		[ $_i -lt 100 ] || mt_fail "daemon did not start"
		sleep 0.05
		_i=$((_i + 1))
	done
	mt_grep "$1.eml" '^DKIM-Signature:' "signed with stderr to $1"
	kill -TERM "$_jp"
	wait "$_jp" || mt_fail "exit status with stderr to $1"
}
jrun "$T/journal.err" self
[ ! -s "$T/journal.err" ] || { cat "$T/journal.err" >&2; mt_fail "lines written twice to the journal"; }
jrun "$T/tty.err"
mt_grep "$T/tty.err" 'opendkim\[[0-9]+\]: .*starting' "foreground without the journal: start line"
mt_grep "$T/tty.err" 'opendkim\[[0-9]+\]: .*terminating' "foreground without the journal: stop line"
jrun "$T/other.err" "1:1"
mt_grep "$T/other.err" 'starting' "JOURNAL_STREAM naming another stream"
mt_ok "-f: no second copy of each line when standard error is the journal ($(wc -l < "$T/tty.err") lines otherwise)"

# --- OpenDKIM's flags for configuration keys override the file --------------------------
sed -e '/^Domain/d' -e '/^Selector/d' -e '/^KeyFile/d' "$T/good.conf" > "$T/bare.conf"
mt_start "$T/bare.conf" -d example.com,example.org -s sel -k "$T/keys/sel.private" \
	-c relaxed/relaxed -S rsa-sha256 -D -W -l -T 3 -A
mt_send "$T/flags.eml" "$T/msg.eml"
mt_grep "$T/flags.eml" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;' "-c/-d/-s/-k signature"
mt_verify "$T/flags.eml"
mt_grep "$MT_LOG" '-A \(AutoRestart\) is not supported and is ignored' "-A warning"
mt_stop
mt_start "$T/good.conf" -b v
mt_send "$T/flags-v.eml" "$T/msg.eml"
mt_nogrep "$T/flags-v.eml" '^DKIM-Signature:' "-b v still signed"
mt_stop
"$MT_DAEMON" -n -x "$T/good.conf" -T 0 > "$T/flags-bad.out" 2>&1 && mt_fail "-T 0 accepted"
mt_grep "$T/flags-bad.out" "^command line \(-T\): bad value '0' for DNSTimeout" "bad flag value names the flag"
many=$(i=0; while [ $i -lt 17 ]; do printf -- '-T 3 '; i=$((i + 1)); done)
# shellcheck disable=SC2086
"$MT_DAEMON" -n -x "$T/good.conf" $many > "$T/flags-many.out" 2>&1
[ $? -eq 2 ] || mt_fail "17 key flags: not a usage error"
mt_grep "$T/flags-many.out" 'more than 16 configuration key flags' "17 key flags message"
mt_ok "OpenDKIM's -b -c -d -D -k -l -s -S -T -W override the file, -A is ignored, errors name the flag, 17 flags are a usage error"

# --- RequireSafeKeys ------------------------------------------------------------------------
chmod 644 "$T/keys/sel.private"
"$MT_DAEMON" -f -x "$T/good.conf" > "$T/unsafe.out" 2>&1 && mt_fail "started with a world-readable key"
mt_grep "$T/unsafe.out" "sel.private" "unsafe key error names the file"
mt_ok "RequireSafeKeys: refuses a key readable by others: $(grep -m1 sel.private "$T/unsafe.out")"
chmod 600 "$T/keys/sel.private"
exit 0
