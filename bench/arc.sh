#!/bin/sh
# bench/arc.sh - what ARC costs per message beside DKIM (by hand, not in
# make check; results in bench/RESULTS.md). From a build directory:
#     top_srcdir=/path/to/src top_builddir=. sh /path/to/src/bench/arc.sh [N]
# One daemon per configuration, loopback DNS, one connection at a time
# (milterload --ack quick: the milter's work, not TCP), N messages of ~1 KB
# (default 500) per case, three rounds, the median round's rate and the
# daemon's CPU per message over all rounds (utime + stime from
# /proc/PID/stat, 10 ms ticks):
#   sign          DKIM rsa-2048 signing (internal client)
#   sign+seal     the same plus an ARC set (rsa-2048 seal)
#   seal          an ARC set only (a list relaying a foreign domain's mail;
#                 Mode v verifies its DKIM signature too)
#   verify        DKIM verification of a signed message (external client)
#   verify+arc    the same message with a one-hop ARC chain, ARCMode v
#                 (the chain validated in the same pass: AMS + AS)
. "$top_srcdir/tests/milter/lib.sh"

LOAD=$top_builddir/bench/milterload
N=${1:-500}
mt_keygen sel rsa 2048 example.com
mt_keygen author rsa 2048 author.example
mt_keygen arc rsa 2048 lists.example.org
dns_start "$T/records"

cat > "$T/keytable" <<EOF
sel	example.com:sel:$T/keys/sel.private
author	author.example:author:$T/keys/author.private
arc	lists.example.org:arc:$T/keys/arc.private
EOF
echo '*@example.com sel' > "$T/signingtable"
echo '*@author.example author' > "$T/prep-signingtable"
# conf EXTRA...: the base with a KeyTable and extra lines
conf() {
	mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' -e '^SyslogSuccess' -e '^LogWhy'
	printf 'KeyTable\t%s\nSigningTable\trefile:%s\n' "$T/keytable" "$T/signingtable"
	for l in "$@"; do echo "$l"; done
}

# run NAME CONF MESSAGE KIND EXPECT...: three rounds (each message must get
# the fields EXPECT names, milterload --expect); prints the row
run() {
	MT_PORT=$(mt_free_port)
	(IFS='|'; conf $2) > "$T/$1.conf"
	mt_start "$T/$1.conf"
	stat0=$(awk '{ print $14 + $15 }' "/proc/$MT_PID/stat")
	: > "$T/$1.rates"
	_name=$1 _msg=$3 _kind=$4
	shift 4
	_expect=""
	for e in "$@"; do _expect="$_expect --expect $e"; done
	for r in 1 2 3; do
		# shellcheck disable=SC2086 # the --expect words (no spaces)
		"$LOAD" -q --ack quick -n "$N" -k "$_kind" $_expect "$MT_SOCKET" "$_msg" > "$T/$_name.out" ||
			mt_fail "$_name: milterload (or a field missing: $*)"
		sed -n 's/^result: .*msgs_per_s=\([0-9.]*\).*/\1/p' "$T/$_name.out" >> "$T/$_name.rates"
	done
	stat1=$(awk '{ print $14 + $15 }' "/proc/$MT_PID/stat")
	mt_stop
	rate=$(sort -n "$T/$_name.rates" | sed -n 2p)
	tck=$(getconf CLK_TCK)
	cpu=$(awk -v a="$stat0" -v b="$stat1" -v n="$N" -v t="$tck" \
		'BEGIN { printf "%.3f", (b - a) / t * 1000 / (3 * n) }')
	printf '| %-11s | %8s | %6s |\n' "$_name" "$rate" "$cpu"
}

# The messages: a signed one, and the same sealed once (by the daemon).
mt_message "$T/msg.eml"
mt_message "$T/foreign.eml" author.example
MT_PORT=$(mt_free_port)
conf 'Mode s' | sed "s|$T/signingtable|$T/prep-signingtable|" > "$T/prep.conf"
mt_start "$T/prep.conf"
mt_send "$T/signed.eml" "$T/foreign.eml"
mt_stop
MT_PORT=$(mt_free_port)
conf 'ARCMode s' 'ARCSealKey arc' 'ARCSealMail all' > "$T/prep2.conf"
mt_start "$T/prep2.conf"
mt_send "$T/sealed.eml" "$T/signed.eml" -a 198.51.100.7
mt_stop
grep -q '^ARC-Seal:' "$T/sealed.eml" || mt_fail "no sealed message"
# without the sealer's own Authentication-Results field (and its folds)
awk '/^[^ \t]/ { skip = /^Authentication-Results:/ } !skip' "$T/sealed.eml" > "$T/sealed2.eml"

echo "ARC cost per message, $N messages x 3 rounds, one connection at a time, $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/')"
echo
echo '| case        | msgs/s   | CPU ms |'
echo '|-------------|----------|--------|'
run sign "" "$T/msg.eml" internal DKIM-Signature
run sign+seal "ARCMode s|ARCSealKey arc|ARCSealMail signed" "$T/msg.eml" internal \
	DKIM-Signature ARC-Seal:cv=none
run seal "ARCMode s|ARCSealKey arc" "$T/signed.eml" internal ARC-Seal:cv=none
run verify "" "$T/signed.eml" external Authentication-Results:dkim=pass
run verify+arc "ARCMode v" "$T/sealed2.eml" external Authentication-Results:arc=pass
echo
echo "after: $(uptime | sed 's/.*load average/load average/')"
