#!/bin/sh
# Load through the real milter protocol (tests/hostile/load.py): 200
# workers, each with an internal and an external connection open at the
# same time (400 connections), 8 message pairs per worker and round, 5
# rounds: 16000 messages, each signed message checked (d=, s=) and verified
# by the daemon (dkim=pass), a sample verified by dkimpy. Meanwhile 4
# hostile clients hang up mid-message and write garbage on the socket.
# VmRSS must stay flat from round 2 on (not under ASan, whose quarantine
# holds freed memory); LeakSanitizer checks the exit under ASan.
# Bigger runs: HOSTILE_CONNS, HOSTILE_PAIRS, HOSTILE_ROUNDS (tests/RELIABILITY.md).
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
flat=--rss-flat
grep -q __asan_init "$MT_DAEMON" 2> /dev/null && flat=""
mkdir "$T/sample"
hs_python load.py "$MT_PORT" --pid "$MT_PID" $flat --hostile 4 --sample "$T/sample" \
	--conns "${HOSTILE_CONNS:-200}" --pairs "${HOSTILE_PAIRS:-8}" --rounds "${HOSTILE_ROUNDS:-5}"
n=0
for f in "$T"/sample/*.eml; do
	mt_verify "$f"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || mt_fail "no sample kept"
mt_ok "$n sampled signed messages verified by dkimpy"
hs_alive "after load"
hs_finish
exit 0
