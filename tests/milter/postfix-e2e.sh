#!/bin/sh
# End to end through a private Postfix instance (Debian's postfix, own
# config and queue, loopback only, relaying to a local SMTP sink) with the
# milter on inet: as smtpd_milters and non_smtpd_milters:
#   - SMTP from an internal client (127.0.0.1) arrives signed; dkimpy
#     verifies it;
#   - a message submitted with Postfix's sendmail command arrives signed;
#   - a signed message from an external client (127.0.0.2, outside
#     InternalHosts) arrives with dkim=pass, and forged
#     Authentication-Results claiming our authserv-id (Postfix's
#     myhostname, the j macro) are gone;
#   - the same message tampered with arrives with dkim=fail;
#   - with the milter on a UNIX socket instead (Postfix reloaded), mail is
#     signed as well;
#   - throughput, one SMTP session at a time (smtp-source), through three
#     smtpd of the same instance: no milter (the ceiling), the milter on
#     inet:, the same milter on unix:, in alternating rounds. Over TCP
#     Postfix leaves Nagle's algorithm on: a Postfix write that no milter
#     reply follows makes its next one wait for a delayed ACK (~40 ms,
#     issue 12), which the test sees as inet well under unix. It fails
#     when inet is under 0.8 x unix (best rounds), and prints the
#     figures. A ratio under 0.8 first gets more rounds (load comes in
#     bursts); when the machine is too busy to tell (see the decision
#     at the end) the test is skipped, except on a stall's own mark.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/postfix.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
# No AuthservID: the milter uses the MTA's j macro (myhostname).
mt_config | grep -v '^AuthservID' > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
pf_sink_start
# Postfix writes inet milters as inet:HOST:PORT.
port=${MT_SOCKET#inet:}
pf_start "inet:127.0.0.1:${port%@*}"
mt_message "$T/msg.eml"

# 1. SMTP from an internal client.
pf_smtp 127.0.0.1 alice@example.com bob@example.net "$T/msg.eml" > "$T/smtp1.reply" ||
	mt_fail "SMTP submission"
pf_wait_sink 1
cp "$PF_SINK_DIR/1.eml" "$T/got1.eml"
mt_grep "$T/got1.eml" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel;' "signed via SMTP"
mt_verify "$T/got1.eml"
mt_ok "SMTP from 127.0.0.1 through Postfix: signed, dkimpy verifies"

# 2. Local submission with sendmail (pickup -> cleanup -> non_smtpd_milters).
sed 's/^Message-ID: .*/Message-ID: <sendmail@example.com>/' "$T/msg.eml" > "$T/msg2.eml"
pf_sendmail alice@example.com bob@example.net "$T/msg2.eml"
pf_wait_sink 2
got=$(grep -l 'sendmail@example.com' "$PF_SINK_DIR"/*.eml | head -n 1)
[ -n "$got" ] || mt_fail "sendmail message not found in the sink"
cp "$got" "$T/got2.eml"
mt_grep "$T/got2.eml" '^DKIM-Signature: .*d=example.com; s=sel;' "signed via sendmail"
mt_verify "$T/got2.eml"
mt_ok "sendmail submission through Postfix: signed, dkimpy verifies"

# 3. The signed message again, from an external client, with forged A-R
#    fields for our authserv-id (mx.example.net) above and below.
{
	echo "Authentication-Results: mx.example.net; dkim=pass header.d=forged-top"
	grep -v '^X-Sink-' "$T/got1.eml" | sed '/^Subject:/i Authentication-Results: MX.example.net; dkim=pass header.d=forged-middle'
} > "$T/ext.eml"
pf_smtp 127.0.0.2 mallory@outside.example bob@example.net "$T/ext.eml" > "$T/smtp3.reply" ||
	mt_fail "SMTP from an external client"
pf_wait_sink 3
got=$(grep -L 'sendmail@example.com' "$PF_SINK_DIR"/*.eml | xargs grep -l 'forged-top\|dkim=pass (' | grep -v '/1.eml$' | head -n 1)
[ -n "$got" ] || mt_fail "external message not found"
cp "$got" "$T/got3.eml"
mt_grep "$T/got3.eml" '^Authentication-Results: mx.example.net;$' "our A-R"
mt_grep "$T/got3.eml" '^	dkim=pass \(2048-bit key\) header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=sel header.b=' "dkim=pass"
mt_nogrep "$T/got3.eml" 'forged-' "forged A-R removed"
mt_ok "external client through Postfix: dkim=pass, forged A-R removed"

# 4. Tampered: the body changed on the way.
grep -v '^X-Sink-' "$T/got1.eml" | sed 's/this is a test message/this is a changed message/' > "$T/tampered.eml"
pf_smtp 127.0.0.2 mallory@outside.example bob@example.net "$T/tampered.eml" > "$T/smtp4.reply" ||
	mt_fail "SMTP tampered"
pf_wait_sink 4
got=$(grep -l 'this is a changed message' "$PF_SINK_DIR"/*.eml | head -n 1)
[ -n "$got" ] || mt_fail "tampered message not found"
cp "$got" "$T/got4.eml"
mt_grep "$T/got4.eml" '^	dkim=fail reason="body hash did not verify" \(2048-bit key\) header.d=example.com' "dkim=fail"
mt_ok "tampered message through Postfix: dkim=fail"

# 5. The milter on a UNIX socket (Debian's default deployment), Postfix
#    reloaded to use it.
mt_stop
mkdir -m 755 "$T/run"
sock=$T/run/opendkim.sock
printf 'UMask\t000\n' >> "$T/opendkim.conf"
mt_start "$T/opendkim.conf" -p "local:$sock"
sed -i "s|^smtpd_milters = .*|smtpd_milters = unix:$sock|; s|^non_smtpd_milters = .*|non_smtpd_milters = unix:$sock|" \
	"$PF_DIR/etc/main.cf"
"$PF_POSTFIX" -c "$PF_DIR/etc" reload > /dev/null 2>&1 || mt_fail "postfix reload"
sed 's/^Message-ID: .*/Message-ID: <unix-socket@example.com>/' "$T/msg.eml" > "$T/msg5.eml"
# Until the master has replaced its smtpd processes, an old one may still
# use the stopped inet: milter (and tempfail): try again for a few seconds.
i=0
until pf_smtp 127.0.0.1 alice@example.com bob@example.net "$T/msg5.eml" > "$T/smtp5.reply" 2>&1; do
	[ $i -lt 10 ] || { cat "$T/smtp5.reply" >&2; mt_fail "SMTP with the milter on a UNIX socket"; }
	sleep 0.5
	i=$((i + 1))
done
pf_wait_sink 5
got=$(grep -l 'unix-socket@example.com' "$PF_SINK_DIR"/*.eml | head -n 1)
[ -n "$got" ] || mt_fail "message through the UNIX socket milter not found"
cp "$got" "$T/got5.eml"
mt_verify "$T/got5.eml"
mt_ok "milter on unix:$sock through Postfix: signed, dkimpy verifies"

# 6. Throughput: inet: against unix: (the daemon of step 5 still runs on
#    the UNIX socket; a second one, same configuration, on inet:).
unix_pid=$MT_PID
unix_log=$MT_LOG
port=$(mt_free_port)
mt_start "$T/opendkim.conf" -p "inet:$port@127.0.0.1"
pf_add_smtpd port_none ""
pf_add_smtpd port_inet "inet:127.0.0.1:$port"
pf_add_smtpd port_unix "unix:$sock"
n=${PF_RATE_MESSAGES:-100}
: > "$T/rates"
# rounds K KINDS...: K alternating rounds of smtp-source through each kind.
rounds() {
	k=$1; shift
	r=0
	while [ $r -lt "$k" ]; do
		for kind in "$@"; do
			eval "p=\$port_$kind"
			echo "$kind $(pf_rate "$p" "$n")" >> "$T/rates"
		done
		r=$((r + 1))
	done
}
# Each path's best round: load from elsewhere on the machine (other tests,
# other jobs) only ever slows a round down, so the fastest one is the least
# disturbed; a stall per message caps every round of inet (at 40 ms per
# message, under 25 msgs/s).
best() {
	awk -v k="$1" '$1 == k && $2 > b { b = $2 } END { print b }' "$T/rates"
}
measure() {
	none=$(best none)
	inet=$(best inet)
	unix=$(best unix)
	ratio=$(awk -v a="$inet" -v b="$unix" 'BEGIN { printf "%.2f", a / b }')
	ok=$(awk -v r="$ratio" -v i="$inet" 'BEGIN { print (r >= 0.8 && i > 30) ? 1 : 0 }')
}
rounds 5 none inet unix
measure
# A miss may be a burst of load on the other jobs' side (on a 2-core
# machine running three test suites, best rounds still differ by 20%):
# up to three more batches of inet and unix rounds before deciding. A stall
# does not go away with more rounds.
extra=0
while [ "$ok" -ne 1 ] && [ $extra -lt 3 ]; do
	rounds 5 inet unix
	measure
	extra=$((extra + 1))
done
# Every message through a milter was signed.
through=$(awk '$1 != "none"' "$T/rates" | wc -l)
signed=$(cat "$MT_LOG" "$unix_log" | grep -c 'action=accept signed domain=example.com')
[ "$signed" -ge $((through * n)) ] ||
	mt_fail "only $signed of $((through * n)) messages signed in the throughput rounds"
uptime_now=$(uptime | sed 's/.*load average/load average/')
echo "rates (msgs/s, $n messages a round, one session at a time, $uptime_now):"
awk '{ r[$1] = r[$1] " " $2 } END { print "  no milter:" r["none"]; print "  inet:     " r["inet"]; print "  unix:     " r["unix"] }' "$T/rates"
echo "best rounds: no milter $none, inet $inet, unix $unix msgs/s; inet/unix $ratio"
# Decided only when the machine lets it be: a pass needs inet over
# 30 msgs/s (a 40 ms stall per message caps it under 25) and at least
# 0.8 x unix. A stall's own mark, inet at 30 msgs/s or under while the
# same milter over its UNIX socket reached 100, fails at any load. Any
# other miss fails only on a machine that was not overloaded: the
# no-milter path and the unix path at 100 msgs/s or more (10 ms a
# message), and a load average under twice the CPUs. Over loopback TCP
# each message costs the kernel more CPU than over a UNIX socket, so a
# starved machine lowers the ratio without any stall (0.77 was seen at a
# load of 29 on 2 CPUs). Otherwise the test is skipped (not decided),
# never passed.
load1=$(cut -d' ' -f1 /proc/loadavg)
cpus=$(nproc 2>/dev/null || echo 1)
if [ "$ok" -ne 1 ]; then
	stall=$(awk -v i="$inet" -v u="$unix" 'BEGIN { print (i <= 30 && u >= 100) ? 1 : 0 }')
	if [ "$stall" -ne 1 ] &&
		awk -v r="$ratio" -v c="$none" -v u="$unix" -v l="$load1" -v n="$cpus" \
			'BEGIN { exit !(r >= 0.8 || c < 100 || u < 100 || l >= 2 * n) }'; then
		pf_stop
		mt_stop
		MT_PID=$unix_pid
		MT_LOG=$unix_log
		mt_stop
		echo "SKIP: inet/unix $ratio, inet $inet msgs/s: the machine is too busy to tell (best rounds: no milter $none, unix $unix msgs/s; load average $load1 on $cpus CPUs)" >&2
		exit 77
	fi
	mt_fail "through Postfix, inet: is $ratio x unix: (under 0.8; inet $inet, unix $unix msgs/s): a TCP stall per message?"
fi
mt_ok "throughput through Postfix: inet: $inet, unix: $unix, no milter $none msgs/s; inet/unix $ratio"

pf_stop
mt_stop
MT_PID=$unix_pid
MT_LOG=$unix_log
mt_stop
exit 0
