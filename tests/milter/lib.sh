# tests/milter/lib.sh - running the opendkim daemon for black-box tests
# (POSIX sh; source it after setting top_srcdir and top_builddir).
#
#     . "$top_srcdir/tests/milter/lib.sh"   # makes $T (temp dir), EXIT trap
#     mt_keygen sel rsa 2048 example.com     # key + record in $T/records
#     dns_start "$T/records"
#     mt_config > "$T/opendkim.conf"          # a base config on $MT_PORT...
#     mt_start "$T/opendkim.conf"             # MT_PID, MT_SOCKET, MT_LOG
#     mt_send OUT.eml MESSAGE [miltclient options]   # result in OUT.eml.result
#     mt_stop
#
# Every helper fails the test (exit 1) with a message when something is
# wrong; mt_check/mt_grep report what was expected.

MT_PYTHON=${MT_PYTHON:-/usr/bin/python3}
MT_DAEMON=$top_builddir/opendkim/opendkim
MT_CLIENT=$top_builddir/tests/milter/miltclient
MT_VERIFY=$top_srcdir/tests/milter/dkimverify.py
MT_REACH=$top_srcdir/tests/lib/reach.py
MT_PIDS=""
# Logs of other servers a test runs (name:path, space-separated), shown
# with the daemon's when the test fails.
MT_EXTRA_LOGS=""

. "$top_srcdir/tests/lib/dns.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/miltertest.XXXXXX") || exit 1
mkdir "$T/keys" && chmod 700 "$T/keys"
: > "$T/records"

mt_cleanup() {
	for _p in $MT_PIDS; do
		kill "$_p" 2> /dev/null
	done
	for _p in $MT_PIDS; do
		wait "$_p" 2> /dev/null
	done
	MT_PIDS=""
	dns_cleanup
	if [ -n "${MT_KEEP:-}" ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap mt_cleanup EXIT

mt_fail() {
	echo "FAIL: $*" >&2
	if [ -n "${MT_LOG:-}" ] && [ -f "$MT_LOG" ]; then
		echo "--- daemon log (last lines) ---" >&2
		tail -n 30 "$MT_LOG" >&2
	fi
	for _l in $MT_EXTRA_LOGS; do
		if [ -s "${_l#*:}" ]; then
			echo "--- ${_l%%:*} log (${_l#*:}, last lines) ---" >&2
			tail -n 30 "${_l#*:}" >&2
		fi
	done
	exit 1
}

# mt_user_can USER r:FILE|x:DIR|w:DIR...: USER, the one a server drops root
# to, can read FILE, search DIR, create files in DIR, and search every
# directory on the way; otherwise the test fails naming the directory or
# file that stops it (tests/lib/reach.py). Only as root.
mt_user_can() {
	_why=$("$MT_PYTHON" "$MT_REACH" "$@" 2>&1) || mt_fail "$_why"
}

mt_ok() {
	echo "ok: $*"
}

# Prints a free TCP port on 127.0.0.1.
mt_free_port() {
	"$MT_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# mt_keygen SELECTOR rsa|ed25519 [BITS] DOMAIN: key in $T/keys/SELECTOR.private,
# its record appended to $T/records.
mt_keygen() {
	_rec=$(dns_keygen "$T/keys" "$1" "$2" "$3") || mt_fail "keygen $1"
	echo "txt $1._domainkey.$4 $_rec" >> "$T/records"
}

# Prints a base configuration: signs example.com with $T/keys/sel.private,
# verifies everything else, DNS on the current dnsmasq.
mt_config() {
	cat <<EOF
Socket			inet:${MT_PORT:=$(mt_free_port)}@127.0.0.1
Syslog			no
SyslogSuccess		yes
LogWhy			yes
Mode			sv
Domain			example.com
Selector		sel
KeyFile			$T/keys/sel.private
Canonicalization	relaxed/simple
AuthservID		mx.example.net
AlwaysAddARHeader	yes
Nameservers		127.0.0.1@${DNS_PORT:-53}
DNSTimeout		2
EOF
}

# mt_start CONFIG [extra flags]: runs the daemon in the foreground; waits
# until it listens. Sets MT_PID, MT_LOG, MT_SOCKET.
mt_start() {
	MT_STARTS=$((${MT_STARTS:-0} + 1))
	MT_LOG=$T/daemon.$MT_STARTS.log
	MT_SOCKET=$(awk '$1 == "Socket" { print $2 }' "$1")
	_conf=$1
	shift
	"$MT_DAEMON" -f -x "$_conf" "$@" >> "$MT_LOG" 2>&1 &
	MT_PID=$!
	MT_PIDS="$MT_PIDS $MT_PID"
	_i=0
	while ! grep -q 'starting' "$MT_LOG" 2> /dev/null; do
		kill -0 "$MT_PID" 2> /dev/null || mt_fail "daemon exited at start"
		[ $_i -lt 200 ] || mt_fail "daemon did not start"
		sleep 0.05
		_i=$((_i + 1))
	done
}

# mt_od_start CONFIG: runs Debian's OpenDKIM (/usr/sbin/opendkim) on CONFIG
# in the foreground, for side-by-side tests; waits until its Socket
# (inet:PORT@127.0.0.1) accepts connections. Sets OD_PID, OD_SOCKET.
MT_OPENDKIM=${MT_OPENDKIM:-/usr/sbin/opendkim}
mt_od_start() {
	[ -x "$MT_OPENDKIM" ] || mt_fail "$MT_OPENDKIM missing (apt-get install opendkim)"
	OD_SOCKET=$(awk '$1 == "Socket" { print $2 }' "$1")
	"$MT_OPENDKIM" -f -x "$1" >> "$T/opendkim.log" 2>&1 &
	OD_PID=$!
	MT_PIDS="$MT_PIDS $OD_PID"
	_port=${OD_SOCKET#inet:}
	_port=${_port%@*}
	"$MT_PYTHON" - "$_port" <<'PYEOF' || mt_fail "OpenDKIM did not start: $(tail -n 5 "$T/opendkim.log")"
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

# Its clean exit takes 5 s (it waits for idle threads) and is not under
# test: SIGKILL.
mt_od_stop() {
	[ -n "${OD_PID:-}" ] || return 0
	kill -KILL "$OD_PID" 2> /dev/null
	wait "$OD_PID" 2> /dev/null
	OD_PID=""
}

# mt_fate RESULTFILE: accept, reject, tempfail, discard or quarantine, from
# the client's "result:" lines (a quarantined message is also accepted).
mt_fate() {
	awk '$1 != "result:" || f != "" && f != "accept" { next }
	     /^result: quarantine/ { f = "quarantine"; next }
	     /^result: replycode 5|^result: reject/ { f = "reject"; next }
	     /^result: replycode 4|^result: tempfail/ { f = "tempfail"; next }
	     /^result: discard/ { f = "discard"; next }
	     /^result: (accept|continue)/ { f = "accept" }
	     END { print f }' "$1"
}

# Stops the daemon; its exit status must be 0 (sanitizer builds report
# leaks and errors at exit with a non-zero status).
mt_stop() {
	[ -n "${MT_PID:-}" ] || return 0
	kill -TERM "$MT_PID" 2> /dev/null
	wait "$MT_PID" 2> /dev/null
	_rc=$?
	MT_PID=""
	if [ $_rc -ne 0 ] && [ -n "${MT_DAEMON_USER:-}" ] &&
		grep -q 'LeakSanitizer has encountered a fatal error' "$MT_LOG"; then
		# LSan stops the threads by ptrace and lists them in /proc/self/task;
		# it makes a process that dropped root dumpable again for that itself,
		# so what can still stop it is a path its user cannot search.
		_why=$("$MT_PYTHON" "$MT_REACH" "$MT_DAEMON_USER" r:/proc/self/task 2>&1)
		mt_fail "daemon exit status $_rc: LeakSanitizer could not check the daemon running as $MT_DAEMON_USER${_why:+: $_why}"
	fi
	[ $_rc -eq 0 ] || mt_fail "daemon exit status $_rc"
	! grep -q 'Sanitizer' "$MT_LOG" || mt_fail "sanitizer report in the daemon log"
}

# mt_send OUT MESSAGE [options]: runs the client; the resulting message in
# OUT, the "result:" lines in OUT.result.
mt_send() {
	_out=$1
	_msg=$2
	shift 2
	"$MT_CLIENT" -t 20 -o "$_out" "$@" "$MT_SOCKET" "$_msg" 2> "$_out.result" ||
		{ cat "$_out.result" >&2; mt_fail "miltclient failed for $_msg"; }
}

# mt_grep FILE PATTERN WHAT: PATTERN (grep -E) must be in FILE.
mt_grep() {
	grep -Eq -- "$2" "$1" || { echo "--- $1 ---" >&2; cat "$1" >&2; mt_fail "$3: no '$2'"; }
}

# mt_nogrep FILE PATTERN WHAT: PATTERN must not be in FILE.
mt_nogrep() {
	! grep -Eq -- "$2" "$1" || { echo "--- $1 ---" >&2; cat "$1" >&2; mt_fail "$3: unexpected '$2'"; }
}

# mt_verify FILE: every DKIM-Signature of FILE verifies with dkimpy.
mt_verify() {
	"$MT_VERIFY" "$T/records" "$1" > "$1.dkimpy" ||
		{ cat "$1.dkimpy" "$1" >&2; mt_fail "dkimpy does not verify $1"; }
}

# mt_message FILE [FROM]: writes a small test message.
mt_message() {
	cat > "$1" <<EOF
From: Alice <alice@${2:-example.com}>
To: Bob <bob@example.net>
Subject: test message
 with a folded subject
Date: Sun, 22 Nov 2026 00:00:00 +0000
Message-ID: <$(basename "$1")@example.com>
MIME-Version: 1.0
Content-Type: text/plain

Hello Bob,

this is a test message.
  Indented line with trailing spaces   

-- 
Alice
EOF
}

# mt_reload [SIGNAL]: SIGHUP (or SIGNAL) to the daemon; waits (up to 10 s)
# until it logs that the configuration was reloaded.
mt_reload() {
	_before=$(grep -c 'configuration reloaded' "$MT_LOG")
	kill -"${1:-HUP}" "$MT_PID"
	_i=0
	while [ "$(grep -c 'configuration reloaded' "$MT_LOG")" -eq "$_before" ]; do
		[ $_i -lt 200 ] || mt_fail "SIG${1:-HUP}: reload not done"
		sleep 0.05
		_i=$((_i + 1))
	done
}
