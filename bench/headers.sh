#!/bin/sh
# bench/headers.sh - the milter's cost for a large header block (by hand,
# not in make check; results in bench/RESULTS.md). From a build directory:
#     top_srcdir=/path/to/src top_builddir=. sh /path/to/src/bench/headers.sh [N] [OTHER_BUILDDIR]
# A message of ~52 KB of header (five usual fields and 300 folded
# Received: fields) and a short body, signed with Ed25519 (so that the
# header handling, not the signature, is what is measured) for an internal
# client, N messages (default 3000) over two connections at a time
# (milterload --ack quick), three rounds. Per round: the daemon's CPU per
# message (utime + stime from /proc/PID/stat, 10 ms ticks) and its peak
# RSS (VmHWM). With OTHER_BUILDDIR (e.g. a build of an earlier commit),
# that build's daemon runs the same rounds, alternating with this one.
. "$top_srcdir/tests/milter/lib.sh"

LOAD=$top_builddir/bench/milterload
N=${1:-3000}
OTHER=${2:-}
mt_keygen sel ed25519 "" example.com

{
	printf 'From: a@example.com\nTo: b@example.net\nSubject: a large header\n'
	printf 'Date: Sat, 5 Dec 2026 01:00:00 +0000\nMessage-ID: <h@example.com>\n'
	i=0
	while [ $i -lt 300 ]; do
		printf 'Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d]) by mx.example.com with ESMTPS id ABCDEF%05d for <b@example.net>;\n\tSat, 5 Dec 2026 01:00:%02d +0000\n' \
			$i $i $((i % 250)) $i $((i % 60))
		i=$((i + 1))
	done
	printf '\n'
	i=0
	while [ $i -lt 40 ]; do echo "a line of the body, the same every time"; i=$((i + 1)); done
} > "$T/big.eml"

# round LABEL DAEMON: one round; prints the row
round() {
	MT_PORT=$(mt_free_port)
	mt_config > "$T/conf"
	MT_DAEMON=$2
	mt_start "$T/conf"
	"$LOAD" -q --ack quick -n "$N" -c 2 -k internal --expect DKIM-Signature \
		"$MT_SOCKET" "$T/big.eml" > "$T/out" || mt_fail "$1: milterload"
	ticks=$(awk '{ print $14 + $15 }' "/proc/$MT_PID/stat")
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$MT_PID/status")
	rate=$(sed -n 's/^result: .*msgs_per_s=\([0-9.]*\).*/\1/p' "$T/out")
	mt_stop
	cpu=$(awk -v t="$ticks" -v n="$N" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f", t / hz * 1000 / n }')
	printf '| %-6s | %8s | %6s | %7s |\n' "$1" "$rate" "$cpu" "$hwm"
}

echo "Header block of $(sed '/^$/q' "$T/big.eml" | wc -c) bytes, $N messages per round, 2 connections, $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/')"
echo
echo '| daemon | msgs/s   | CPU ms | RSS KB  |'
echo '|--------|----------|--------|---------|'
for r in 1 2 3; do
	round this "$top_builddir/opendkim/opendkim"
	[ -z "$OTHER" ] || round other "$OTHER/opendkim/opendkim"
done
echo
echo "after: $(uptime | sed 's/.*load average/load average/')"
