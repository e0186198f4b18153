#!/bin/sh
# Faults under load (tests/hostile/load.py keeps 30 workers busy meanwhile,
# every result checked):
#  1. DNS server stopped mid-run: verification answers On-DNSError
#     (451 4.4.3) and nothing else; restarted on the same port: passes again.
#  2. SIGHUP every second for 8 s while the SigningTable switches between
#     three keys (RSA, Ed25519, RSA): no message lost, every signature made
#     with one of them verifies (the daemon and dkimpy on a sample).
#  3. The signing key file removed while running, then SIGHUP: the reload is
#     refused with a logged error, the running keys keep signing.
#  4. A SigningTable line with no key name, then SIGHUP: refused with
#     file:line, the running tables keep signing.
#  Throughout, hostile clients hang up mid-message and write garbage. The
#  daemon exits cleanly at the end (no leak, no sanitizer report).
# Bigger runs: HOSTILE_FAULT_CONNS (workers, default 30), HOSTILE_HUPS
# (SIGHUPs, one a second, default 8); see tests/RELIABILITY.md.
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen a rsa 2048 example.com
mt_keygen b ed25519 "" example.com
mt_keygen c rsa 1024 example.com
dns_start "$T/records"
K=$T/keys
printf 'ka\texample.com:a:%s/a.private\nkb\texample.com:b:%s/b.private\nkc\texample.com:c:%s/c.private\n' \
	"$K" "$K" "$K" > "$T/keytable"
printf '*@example.com\tka\n' > "$T/signingtable"
MT_PORT=$(mt_free_port)
mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' -e '^DNSTimeout' > "$T/opendkim.conf"
cat >> "$T/opendkim.conf" <<EOC
KeyTable		$T/keytable
SigningTable		refile:$T/signingtable
QueryCache		no
DNSTimeout		1
EOC
mt_start "$T/opendkim.conf"
LOAD="$HS_PY $HS_DIR/load.py $MT_PORT --conns ${HOSTILE_FAULT_CONNS:-30} --selectors a,b,c"
HUPS=${HOSTILE_HUPS:-8}

total() {  # FILE KEY: a value from load.py's total: line
	sed -n "s/^total:.* $2=\([0-9.]*\).*/\1/p" "$1"
}

# 1. DNS down mid-run, then back.
$LOAD --duration 7 --allow-tempfail 4.4.3 --hostile 2 > "$T/dns.out" 2>&1 &
lp=$!
sleep 1.5
dns_stop
sleep 3
dns_launch 300 || mt_fail "dnsmasq did not restart on port $DNS_PORT"
wait "$lp" || { cat "$T/dns.out"; mt_fail "load with DNS down"; }
cat "$T/dns.out"
[ "$(total "$T/dns.out" tempfail)" -gt 0 ] || mt_fail "no 451 4.4.3 while DNS was down"
[ "$(total "$T/dns.out" passed)" -gt 0 ] || mt_fail "no pass around the outage"
$LOAD --pairs 5 > "$T/dns2.out" 2>&1 || { cat "$T/dns2.out"; mt_fail "no recovery after DNS came back"; }
mt_ok "DNS stopped mid-run: $(total "$T/dns.out" tempfail) x 451 4.4.3 (On-DNSError), $(total "$T/dns.out" passed) passed; after restart: $(total "$T/dns2.out" passed) of $(total "$T/dns2.out" signed) passed"
hs_alive "after DNS outage"

# 2. SIGHUP every second with the SigningTable changing.
mkdir "$T/sample"
$LOAD --duration $((HUPS + 1)) --hostile 2 --sample "$T/sample" > "$T/hup.out" 2>&1 &
lp=$!
i=0
while [ $i -lt "$HUPS" ]; do
	case $((i % 3)) in 0) k=kb ;; 1) k=kc ;; *) k=ka ;; esac
	i=$((i + 1))
	sleep 1
	printf '*@example.com\t%s\n' "$k" > "$T/signingtable.new"
	mv "$T/signingtable.new" "$T/signingtable"
	kill -HUP "$MT_PID" || mt_fail "daemon gone during SIGHUP $k"
done
wait "$lp" || { cat "$T/hup.out"; mt_fail "load during SIGHUPs"; }
cat "$T/hup.out"
for s in a b c; do
	mt_grep "$T/hup.out" "^total:.* selectors=.*$s:[0-9]" "selector $s used during reloads"
done
n=0
for f in "$T"/sample/*.eml; do
	[ -f "$f" ] || continue
	mt_verify "$f"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || mt_fail "no sample kept"
mt_ok "$HUPS SIGHUPs under load: $(total "$T/hup.out" signed) signed, $(total "$T/hup.out" passed) passed, 0 failures; $n samples verified by dkimpy"

# 3. Key file removed while running (the table points at kc now).
mv "$K/c.private" "$T/c.private.saved"
$LOAD --duration 3 > "$T/rm.out" 2>&1 &
lp=$!
sleep 1
kill -HUP "$MT_PID"
wait "$lp" || { cat "$T/rm.out"; mt_fail "load with the key file removed"; }
sleep 0.5
mt_grep "$MT_LOG" "c.private" "reload error naming the missing key file"
kill -0 "$MT_PID" || mt_fail "daemon died after the key file was removed"
mt_ok "key file removed + SIGHUP: reload refused, $(total "$T/rm.out" signed) signed with the running keys"
mv "$T/c.private.saved" "$K/c.private"

# 4. A malformed SigningTable line (no key name: OpenDKIM accepted that and
# crashed at signing time) reaches a running daemon: refused at reload,
# with file and line, and signing goes on with the running tables.
printf '*@example.com\tkb\n*@other.example\n' > "$T/signingtable.new"
mv "$T/signingtable.new" "$T/signingtable"
kill -HUP "$MT_PID"
$LOAD --pairs 3 > "$T/bad.out" 2>&1 || { cat "$T/bad.out"; mt_fail "load after a bad SigningTable"; }
mt_grep "$MT_LOG" "signingtable:2" "reload error with file:line"
mt_grep "$T/bad.out" "^total:.* selectors=c:[0-9]" "still signing with the running table (key c)"
mt_ok "malformed SigningTable line on SIGHUP: refused with file:line, signing goes on"

hs_alive "after faults"
hs_finish
exit 0
