#!/bin/sh
# MetricsSocket: the Prometheus endpoint of the daemon. Off by default (no
# socket but the milter's); on, it listens only on the address configured,
# answers GET /metrics with text that promtool accepts, 404 elsewhere, 405
# to other methods; an address in use stops the start with exit status 1.
# The counters move as they should through the milter protocol: signing,
# verifying, a bad signature, a DNS timeout, reloads ok and refused.
# Hostile HTTP clients (idle, slow, huge, garbage, more than allowed) never
# delay mail, and the endpoint serves again once they are gone.
. "$top_srcdir/tests/milter/lib.sh"

"$MT_DAEMON" -V | grep -q 'MetricsSocket: libmicrohttpd' ||
	{ echo "SKIP: built without libmicrohttpd"; exit 77; }
command -v promtool > /dev/null || mt_fail "promtool missing (Debian package prometheus)"
command -v curl > /dev/null || mt_fail "curl missing"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"

# The listening TCP sockets of process $1, as ADDRESS:PORT lines.
listening() {
	ss -Hltnp 2> /dev/null | grep "pid=$1," | awk '{ print $4 }' | sort
}

# metrics_get FILE: GET /metrics into FILE; the HTTP status is printed.
metrics_get() {
	curl -s -m 5 -o "$1" -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics"
}

# metric FILE SERIES: the value of SERIES (name{labels} as exposed).
metric() {
	awk -v s="$2" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}

# Off by default: the milter's socket only.
mt_config > "$T/off.conf"
mt_start "$T/off.conf"
[ "$(listening "$MT_PID")" = "127.0.0.1:$MT_PORT" ] ||
	mt_fail "without MetricsSocket: listening on $(listening "$MT_PID")"
mt_stop
mt_ok "off by default: only the milter socket listens"

MPORT=$(mt_free_port)
mt_config > "$T/on.conf"
printf 'MetricsSocket\tinet:%s@[127.0.0.1]\n' "$MPORT" >> "$T/on.conf"
mt_start "$T/on.conf"
mt_grep "$MT_LOG" "metrics at http://127.0.0.1:$MPORT/metrics" "start line"
[ "$(listening "$MT_PID")" = "$(printf '127.0.0.1:%s\n127.0.0.1:%s' "$MPORT" "$MT_PORT" | sort)" ] ||
	mt_fail "MetricsSocket on 127.0.0.1: listening on $(listening "$MT_PID")"
[ "$(metrics_get "$T/m0.txt")" = 200 ] || mt_fail "GET /metrics"
promtool check metrics < "$T/m0.txt" > "$T/promtool.out" 2>&1 ||
	{ cat "$T/promtool.out" >&2; mt_fail "promtool check metrics"; }
mt_grep "$T/m0.txt" '^dkimd_build_info\{version="[^"]+",libmilter="[0-9.]+",openssl="OpenSSL 3' "build info"
[ "$(metric "$T/m0.txt" dkimd_config_last_good_load_timestamp_seconds)" -gt 0 ] ||
	mt_fail "no time for the configuration loaded at start"
mt_ok "GET /metrics: 200, promtool check metrics passes, build info, load time"

code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")
[ "$code" = 404 ] || mt_fail "GET /: $code"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics/../etc/passwd")
[ "$code" = 404 ] || mt_fail "GET /metrics/../etc/passwd: $code"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d x=1 "http://127.0.0.1:$MPORT/metrics")
[ "$code" = 405 ] || mt_fail "POST /metrics: $code"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$MPORT/metrics")
[ "$code" = 405 ] || mt_fail "HEAD /metrics: $code"
mt_ok "only GET /metrics: 404 for other paths, 405 for other methods"

# The address in use: the second daemon does not start, and says why.
MT_PORT2=$(mt_free_port)
sed "s/^Socket.*/Socket inet:$MT_PORT2@127.0.0.1/" "$T/on.conf" > "$T/clash.conf"
"$MT_DAEMON" -f -x "$T/clash.conf" > "$T/clash.log" 2>&1
[ $? -eq 1 ] || mt_fail "MetricsSocket in use: exit status not 1"
mt_grep "$T/clash.log" "cannot open socket inet:$MPORT@\[127.0.0.1\] \(MetricsSocket\): Address already in use" "in-use message"
mt_ok "MetricsSocket in use: exit 1, 'Address already in use'"

# ---- the counters, through the milter protocol --------------------------

# expect FILE SERIES VALUE
expect() {
	_v=$(metric "$1" "$2")
	[ "$_v" = "$3" ] || { grep '^dkimd' "$1" >&2; mt_fail "$2 is $_v, expected $3"; }
}

# wait_log PATTERN N: until the log has N lines matching PATTERN.
wait_log() {
	_i=0
	while [ "$(grep -Ec -- "$1" "$MT_LOG")" -lt "$2" ]; do
		[ $_i -lt 200 ] || mt_fail "no '$1' in the log"
		sleep 0.05
		_i=$((_i + 1))
	done
}

EXT="-a 203.0.113.9 -n mail.outside.example"
mt_message "$T/plain.eml"
mt_send "$T/signed.eml" "$T/plain.eml"
mt_verify "$T/signed.eml"
metrics_get "$T/m1.txt" > /dev/null
expect "$T/m1.txt" 'dkimd_messages_total{mode="sign",action="accept"}' 1
expect "$T/m1.txt" 'dkimd_signatures_total{algorithm="rsa-sha256"}' 1
expect "$T/m1.txt" 'dkimd_signatures_total{algorithm="ed25519-sha256"}' 0
expect "$T/m1.txt" 'dkimd_messages_total{mode="verify",action="accept"}' 0
expect "$T/m1.txt" 'dkimd_eom_duration_seconds_count' 1
[ "$(metric "$T/m1.txt" 'dkimd_dataset_lookups_total{type="csl"}')" -ge 1 ] ||
	mt_fail "Domain (a csl: data set) was not looked up"
mt_ok "signing: messages{sign,accept} 1, signatures{rsa-sha256} 1, one EOM timed, Domain looked up"

mt_send "$T/v-pass.eml" "$T/signed.eml" $EXT
sed 's/this is a test message/this is a forged message/' "$T/signed.eml" > "$T/tbody.eml"
mt_send "$T/v-fail.eml" "$T/tbody.eml" $EXT
mt_grep "$T/v-fail.eml" 'dkim=fail' "tampered body"
metrics_get "$T/m2.txt" > /dev/null
expect "$T/m2.txt" 'dkimd_messages_total{mode="verify",action="accept"}' 2
expect "$T/m2.txt" 'dkimd_verify_results_total{result="pass",cause="pass"}' 1
expect "$T/m2.txt" 'dkimd_verify_results_total{result="fail",cause="bad_signature"}' 1
expect "$T/m2.txt" 'dkimd_dns_key_lookups_total{outcome="found"}' 2
# The second lookup of sel._domainkey.example.com is a cache hit.
expect "$T/m2.txt" 'dkimd_dns_key_cache_total{result="miss"}' 1
expect "$T/m2.txt" 'dkimd_dns_key_cache_total{result="hit"}' 1
expect "$T/m2.txt" 'dkimd_eom_duration_seconds_count' 3
mt_ok "verifying: pass and a bad signature counted by result and cause; key lookups found 2, cache miss 1 hit 1"

# A DNS timeout: the reload points Nameservers at a server that never
# answers (a new resolver: the old one's cache figures must not be lost).
dns_fake_start silent
sed "s/^Nameservers.*/Nameservers 127.0.0.1@$DNS_FAKE_PORT/; s/^DNSTimeout.*/DNSTimeout 1/" \
	"$T/on.conf" > "$T/reload.conf"
cp "$T/on.conf" "$T/on.conf.orig"
cp "$T/reload.conf" "$T/on.conf"
kill -HUP "$MT_PID"
wait_log 'configuration reloaded' 1
mt_send "$T/v-dns.eml" "$T/signed.eml" $EXT
mt_grep "$T/v-dns.eml.result" '^result: replycode 451 4.4.3 ' "On-DNSError tempfail"
metrics_get "$T/m3.txt" > /dev/null
expect "$T/m3.txt" 'dkimd_reloads_total{result="ok"}' 1
expect "$T/m3.txt" 'dkimd_messages_total{mode="verify",action="tempfail"}' 1
expect "$T/m3.txt" 'dkimd_verify_results_total{result="temperror",cause="dns_error"}' 1
expect "$T/m3.txt" 'dkimd_dns_key_lookups_total{outcome="tempfail"}' 1
expect "$T/m3.txt" 'dkimd_dns_key_cache_total{result="hit"}' 1
expect "$T/m3.txt" 'dkimd_dns_key_cache_total{result="miss"}' 2
mt_ok "DNS timeout: temperror/dns_error 1, lookups tempfail 1, tempfail 1; cache figures kept across the new resolver"

# A refused reload: counted, and the time of the last good one stays.
good=$(metric "$T/m3.txt" dkimd_config_last_good_load_timestamp_seconds)
sleep 1.1
printf 'Canonicalization\tsideways/simple\n' >> "$T/on.conf"
kill -HUP "$MT_PID"
wait_log 'reload refused' 1
metrics_get "$T/m4.txt" > /dev/null
expect "$T/m4.txt" 'dkimd_reloads_total{result="refused"}' 1
expect "$T/m4.txt" 'dkimd_reloads_total{result="ok"}' 1
expect "$T/m4.txt" dkimd_config_last_good_load_timestamp_seconds "$good"
expect "$T/m4.txt" dkimd_connections 0
promtool check metrics < "$T/m4.txt" > "$T/promtool.out" 2>&1 ||
	{ cat "$T/promtool.out" >&2; mt_fail "promtool check metrics after traffic"; }
mt_ok "refused reload counted, last good load time unchanged; no connection left open; promtool still passes"
cp "$T/on.conf.orig" "$T/on.conf"
kill -HUP "$MT_PID"
wait_log 'configuration reloaded' 2

# ---- hostile HTTP clients never delay mail -------------------------------

# The clients hold their connections until their standard input closes.
mkfifo "$T/hostile.in"
"$MT_PYTHON" "$top_srcdir/tests/milter/httphostile.py" 127.0.0.1 "$MPORT" \
	"$T/hostile.ready" < "$T/hostile.in" > "$T/hostile.out" 2>&1 &
HOSTILE=$!
exec 3> "$T/hostile.in"
MT_PIDS="$MT_PIDS $HOSTILE"
i=0
while [ ! -s "$T/hostile.ready" ]; do
	kill -0 "$HOSTILE" 2> /dev/null || { cat "$T/hostile.out" >&2; mt_fail "hostile clients did not start"; }
	[ $i -lt 400 ] || mt_fail "hostile clients not ready"
	sleep 0.05
	i=$((i + 1))
done
# Mail under attack: 20 messages signed, each within a second.
start=$(date +%s%N)
"$MT_CLIENT" -t 20 -c 20 -o "$T/attack.eml" "$MT_SOCKET" "$T/plain.eml" 2> "$T/attack.result" ||
	{ cat "$T/attack.result" >&2; mt_fail "mail under HTTP attack failed"; }
took=$(( ($(date +%s%N) - start) / 1000000 ))
n=$(grep -Ec '^result: (accept|continue)$' "$T/attack.result")
[ "$n" -eq 20 ] || mt_fail "under HTTP attack: $n of 20 messages accepted"
[ "$took" -lt 20000 ] || mt_fail "under HTTP attack: 20 messages took ${took} ms"
mt_ok "20 messages signed in ${took} ms while 50 hostile HTTP clients hold the endpoint"
# The idle clients are dropped after the idle timeout (5 s), those over
# the limit at once; then the endpoint answers again.
i=0
while code=$(curl -s -m 2 -o "$T/m5.txt" -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics"); [ "$code" != 200 ]; do
	[ $i -lt 20 ] || mt_fail "GET /metrics 10 s after the attack: $code"
	sleep 0.5
	i=$((i + 1))
done
expect "$T/m5.txt" 'dkimd_messages_total{mode="sign",action="accept"}' 21
exec 3>&-
wait "$HOSTILE"
cat "$T/hostile.out"
# Every hostile connection but the slow ones (still sending: the idle
# timeout does not end them; they hold 4 of the 16 slots) was closed by
# the server: over the limit, idle, or after an error reply.
awk '$1 != "slow" && $3 != $2 { bad = 1; print "not closed: " $0 } END { exit bad }' "$T/hostile.out" ||
	mt_fail "hostile connections left open"
mt_ok "idle, huge and garbage clients closed by the endpoint; it serves again"
mt_stop
