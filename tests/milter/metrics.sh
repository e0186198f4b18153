#!/bin/sh
# MetricsSocket: the Prometheus endpoint of the daemon. Off by default (no
# socket but the milter's); on, it listens only on the address configured,
# answers GET /metrics with text that promtool accepts, 404 elsewhere, 405
# to other methods; an address in use stops the start with exit status 1.
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
mt_stop
