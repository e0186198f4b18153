#!/bin/sh
# SIGHUP reloads the configuration under traffic: while several clients send
# messages, the daemon is told to reload many times, switching between two
# selectors. No message fails, the daemon stays up, the new selector is
# used afterwards. A configuration with errors is refused and the running
# one stays. SIGUSR1 reloads too (OpenDKIM's signal). SIGTERM stops it.
. "$top_srcdir/tests/milter/lib.sh"

mt_keygen sel rsa 2048 example.com
mt_keygen sel2 ed25519 "" example.com
dns_start "$T/records"
mt_config > "$T/one.conf"
sed "s/^Selector.*/Selector sel2/; s|^KeyFile.*|KeyFile $T/keys/sel2.private|" \
	"$T/one.conf" > "$T/two.conf"
cp "$T/one.conf" "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
mt_message "$T/msg.eml"

# Traffic: 4 clients x 40 messages each, over one connection each, half of
# them verified (external client), half signed.
pids=""
for c in 1 2 3 4; do
	if [ $((c % 2)) -eq 0 ]; then ext="-a 198.51.100.$c"; else ext=""; fi
	"$MT_CLIENT" -t 20 -c 40 $ext -o "$T/traffic$c.eml" "$MT_SOCKET" "$T/msg.eml" \
		2> "$T/traffic$c.result" &
	pids="$pids $!"
done
i=0
while [ $i -lt 10 ]; do
	if [ $((i % 2)) -eq 0 ]; then cp "$T/two.conf" "$T/opendkim.conf"; else cp "$T/one.conf" "$T/opendkim.conf"; fi
	kill -HUP "$MT_PID" || mt_fail "daemon gone during reloads"
	sleep 0.1
	i=$((i + 1))
done
for p in $pids; do
	wait "$p" || mt_fail "a client failed during reloads"
done
for c in 1 2 3 4; do
	n=$(grep -Ec '^result: (accept|continue)$' "$T/traffic$c.result")
	[ "$n" -eq 40 ] || { cat "$T/traffic$c.result" >&2; mt_fail "client $c: $n of 40 accepted"; }
done
kill -0 "$MT_PID" || mt_fail "daemon died"
[ "$(grep -c 'configuration reloaded' "$MT_LOG")" -ge 5 ] || mt_fail "reloads not logged"
mt_ok "10 reloads under traffic from 4 clients: 160 messages, none failed"

# The last reload (i = 9) installed one.conf; switch to two.conf and check.
cp "$T/two.conf" "$T/opendkim.conf"
before=$(grep -c 'configuration reloaded' "$MT_LOG")
kill -HUP "$MT_PID"
i=0
while [ "$(grep -c 'configuration reloaded' "$MT_LOG")" -eq "$before" ]; do
	[ $i -lt 100 ] || mt_fail "reload not done"
	sleep 0.05
	i=$((i + 1))
done
mt_send "$T/after.eml" "$T/msg.eml"
mt_grep "$T/after.eml" 's=sel2;' "new selector after reload"
mt_grep "$T/after.eml" 'a=ed25519-sha256' "new key after reload"
mt_verify "$T/after.eml"
mt_ok "after SIGHUP, the new configuration signs"

# A broken configuration is refused; the running one stays.
cp "$T/two.conf" "$T/opendkim.conf"
printf 'Canonicalization\tsideways/simple\n' >> "$T/opendkim.conf"
kill -HUP "$MT_PID"
i=0
while ! grep -q 'reload refused' "$MT_LOG"; do
	[ $i -lt 100 ] || mt_fail "broken configuration not refused"
	sleep 0.05
	i=$((i + 1))
done
mt_grep "$MT_LOG" 'opendkim.conf:[0-9]+: .*sideways' "error names file, line and value"
mt_send "$T/after2.eml" "$T/msg.eml"
mt_grep "$T/after2.eml" 's=sel2;' "old configuration kept"
mt_ok "broken configuration refused with file:line, old one kept"

# SIGUSR1 reloads as well.
cp "$T/one.conf" "$T/opendkim.conf"
before=$(grep -c 'configuration reloaded' "$MT_LOG")
kill -USR1 "$MT_PID"
i=0
while [ "$(grep -c 'configuration reloaded' "$MT_LOG")" -eq "$before" ]; do
	[ $i -lt 100 ] || mt_fail "SIGUSR1 reload not done"
	sleep 0.05
	i=$((i + 1))
done
mt_send "$T/after3.eml" "$T/msg.eml"
mt_grep "$T/after3.eml" 's=sel;' "SIGUSR1 reload"
mt_ok "SIGUSR1 reloads"

# A reload that keeps the DNS settings keeps the resolver and its key cache:
# verifying the same signature after a reload sends no new query.
mt_send "$T/v1.eml" "$T/after3.eml" -a 198.51.100.20
mt_grep "$T/v1.eml" 'dkim=pass' "verify before reload"
q1=$(dns_query_count sel._domainkey.example.com)
before=$(grep -c 'configuration reloaded' "$MT_LOG")
kill -HUP "$MT_PID"
i=0
while [ "$(grep -c 'configuration reloaded' "$MT_LOG")" -eq "$before" ]; do
	[ $i -lt 100 ] || mt_fail "reload not done"
	sleep 0.05
	i=$((i + 1))
done
mt_send "$T/v2.eml" "$T/after3.eml" -a 198.51.100.20
mt_grep "$T/v2.eml" 'dkim=pass' "verify after reload"
q2=$(dns_query_count sel._domainkey.example.com)
[ "$q1" -ge 1 ] && [ "$q2" -eq "$q1" ] || mt_fail "key queries before/after reload: $q1/$q2"
mt_ok "the key cache survives a reload ($q1 query)"

# A message in flight keeps the configuration it started with: its key was
# chosen at end of headers (sel, one.conf); the reload to two.conf happens
# while it waits before end of message.
cp "$T/two.conf" "$T/opendkim.conf"
"$MT_CLIENT" -t 20 -w 1500 -o "$T/inflight.eml" "$MT_SOCKET" "$T/msg.eml" 2> "$T/inflight.result" &
cpid=$!
sleep 0.5
kill -HUP "$MT_PID"
wait "$cpid" || mt_fail "client in flight during reload failed"
mt_grep "$T/inflight.eml" 's=sel;' "message in flight keeps its configuration"
mt_verify "$T/inflight.eml"
mt_ok "a message in flight during SIGHUP finishes with the old configuration"

# SIGTERM with a message in flight: it is finished, then the daemon exits.
"$MT_CLIENT" -t 20 -w 1500 -o "$T/term.eml" "$MT_SOCKET" "$T/msg.eml" 2> "$T/term.result" &
cpid=$!
sleep 0.5
kill -TERM "$MT_PID"
wait "$cpid" || { cat "$T/term.result" >&2; mt_fail "client in flight during SIGTERM failed"; }
mt_grep "$T/term.result" '^result: (accept|continue)$' "message in flight at SIGTERM"
mt_verify "$T/term.eml"
mt_ok "SIGTERM lets the message in flight finish"

i=0
while kill -0 "$MT_PID" 2> /dev/null; do
	[ $i -lt 100 ] || mt_fail "daemon did not exit on SIGTERM"
	sleep 0.05
	i=$((i + 1))
done
wait "$MT_PID"
rc=$?
[ $rc -eq 0 ] || mt_fail "exit status $rc after SIGTERM"
MT_PID=""
mt_ok "SIGTERM: clean exit"
exit 0
