#!/bin/sh
# systemd's Type=notify, with a stand-in for its notification socket: the
# daemon says READY=1 once the milter socket accepts connections;
# RELOADING=1, then READY=1 with a STATUS line saying the outcome, around
# a reload and a refused one; STOPPING=1 at SIGTERM. SIGUSR2 writes the
# one-line summary of the figures to the log (MetricsSocket not needed).
. "$top_srcdir/tests/milter/lib.sh"

"$MT_DAEMON" -V | grep -q 'systemd notification: libsystemd' ||
	{ echo "SKIP: built without libsystemd"; exit 77; }

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
cp "$T/opendkim.conf" "$T/good.conf"

: > "$T/notes"
"$MT_PYTHON" "$top_srcdir/tests/milter/notify.py" "$T/notify.sock" "$T/notes" &
MT_PIDS="$MT_PIDS $!"
i=0
while ! grep -q listening "$T/notes"; do
	[ $i -lt 100 ] || mt_fail "notification socket stand-in did not start"
	sleep 0.05
	i=$((i + 1))
done

# wait_note PATTERN N: until N messages match PATTERN (grep -E).
wait_note() {
	_i=0
	while [ "$(grep -Ec -- "$1" "$T/notes")" -lt "$2" ]; do
		[ $_i -lt 200 ] || { cat "$T/notes" >&2; mt_fail "no '$1' from the daemon"; }
		sleep 0.05
		_i=$((_i + 1))
	done
}

NOTIFY_SOCKET=$T/notify.sock
export NOTIFY_SOCKET
mt_start "$T/opendkim.conf"
unset NOTIFY_SOCKET
wait_note '^READY=1\|STATUS=running: opendkim \(dkimd\) ' 1
mt_message "$T/plain.eml"
mt_send "$T/signed.eml" "$T/plain.eml"
mt_grep "$T/signed.eml" '^DKIM-Signature:' "signed once READY"
mt_ok "READY=1 with a STATUS line; the socket serves"

kill -HUP "$MT_PID"
wait_note '^READY=1\|STATUS=configuration reloaded at [0-9:]+ UTC$' 1
mt_grep "$T/notes" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading the configuration$' "RELOADING"
# RELOADING comes before the READY that ends it.
awk '/^RELOADING=1/ { r = NR } /configuration reloaded/ { ok = r > 0 && r < NR } END { exit !ok }' \
	"$T/notes" || { cat "$T/notes" >&2; mt_fail "RELOADING not before READY"; }
mt_ok "reload: RELOADING=1, then READY=1 with 'configuration reloaded at ...'"

printf 'Canonicalization\tsideways/simple\n' >> "$T/opendkim.conf"
kill -HUP "$MT_PID"
wait_note '^READY=1\|STATUS=reload refused at [0-9:]+ UTC: the configuration has errors \(see the log\); running the previous one$' 1
[ "$(grep -c '^RELOADING=1' "$T/notes")" -eq 2 ] || mt_fail "second RELOADING missing"
mt_ok "refused reload: READY=1 with 'reload refused ...; running the previous one'"

# The figures so far: one message signed, one reload of each kind.
kill -USR2 "$MT_PID"
i=0
while ! grep -q 'SIGUSR2: ' "$MT_LOG"; do
	[ $i -lt 100 ] || mt_fail "no SIGUSR2 summary"
	sleep 0.05
	i=$((i + 1))
done
mt_grep "$MT_LOG" 'SIGUSR2: messages signed=1 verified=0 skipped=0 tempfail=0 reject=0; signatures pass=0 fail=0; dns temperror=0; reloads ok=1 refused=1; connections=0$' "summary line"
kill -0 "$MT_PID" || mt_fail "SIGUSR2 stopped the daemon"
mt_ok "SIGUSR2: one summary line in the log, the daemon runs on"

mt_stop
wait_note '^STOPPING=1' 1
mt_ok "SIGTERM: STOPPING=1"
