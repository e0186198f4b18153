#!/bin/sh
# SIGHUP reloads the configuration under traffic: while several clients send
# messages, the daemon is told to reload many times, switching between two
# selectors. No message fails, the daemon stays up, the new selector is
# used afterwards. A configuration with errors is refused and the running
# one stays. SIGUSR1 reloads too (OpenDKIM's signal). SIGTERM stops it.
# Keys at reload: unchanged key files are kept (root-owned 0600 keys with
# UserID nobody when run as root), changed ones read again.
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
mt_reload
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
mt_reload USR1
mt_send "$T/after3.eml" "$T/msg.eml"
mt_grep "$T/after3.eml" 's=sel;' "SIGUSR1 reload"
mt_ok "SIGUSR1 reloads"

# A reload that keeps the DNS settings keeps the resolver and its key cache:
# verifying the same signature after a reload sends no new query.
mt_send "$T/v1.eml" "$T/after3.eml" -a 198.51.100.20
mt_grep "$T/v1.eml" 'dkim=pass' "verify before reload"
q1=$(dns_query_count sel._domainkey.example.com)
mt_reload
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

# --- Keys at reload -------------------------------------------------------------
# Deployments keep keys root-owned with mode 0600 and run the daemon as an
# unprivileged UserID: once it has dropped root it cannot read them, so a
# reload keeps the keys whose files did not change (same path, same stat).
# A key file that changed is read again: as the daemon user, so a new key
# it cannot read is refused (the old configuration stays) until it is
# given to that user. A key file it cannot even stat is refused too.

# rl_hup: SIGHUP, then wait until the reload is logged (done or refused).
rl_hup() {
	_before=$(grep -Ec 'configuration reloaded|reload refused' "$MT_LOG")
	kill -HUP "$MT_PID" || mt_fail "daemon gone"
	_i=0
	while [ "$(grep -Ec 'configuration reloaded|reload refused' "$MT_LOG")" -eq "$_before" ]; do
		[ $_i -lt 200 ] || mt_fail "reload not done"
		sleep 0.05
		_i=$((_i + 1))
	done
}

# rl_sign OUT FROMDOMAIN SELECTOR RECORDS: a message signed with SELECTOR
# that dkimpy verifies with the key records of RECORDS.
rl_sign() {
	mt_message "$T/rl.eml" "$2"
	mt_send "$1" "$T/rl.eml"
	mt_grep "$1" "s=$3;" "signed with $3"
	"$MT_VERIFY" "$4" "$1" > "$1.dkimpy" || { cat "$1.dkimpy" >&2; mt_fail "$1 does not verify with $4"; }
}

as_root=false
[ "$(id -u)" -eq 0 ] && as_root=true
mkdir -m 711 "$T/rk"
echo "txt rka._domainkey.example.com $(dns_keygen "$T/rk" rka rsa 2048)" > "$T/rk.records"
echo "txt rkb._domainkey.example.org $(dns_keygen "$T/rk" rkb ed25519)" >> "$T/rk.records"
chmod 600 "$T/rk/rka.private" "$T/rk/rkb.private"
printf 'ka example.com:rka:%s\nkb example.org:rkb:%s\n' "$T/rk/rka.private" \
	"$T/rk/rkb.private" > "$T/rk.keytable"
printf 'example.com ka\nexample.org kb\n' > "$T/rk.signingtable"
{
	mt_config | grep -Ev '^(Domain|Selector|KeyFile)'
	echo "KeyTable $T/rk.keytable"
	echo "SigningTable $T/rk.signingtable"
	if $as_root; then echo "UserID nobody"; fi
} > "$T/rk.conf"
# After dropping root the daemon reads its configuration again as nobody at
# each reload: the files and every directory above them must let it,
# whatever the umask this test was started with.
chmod 755 "$T"
chmod 644 "$T/rk.conf" "$T/rk.keytable" "$T/rk.signingtable"
if $as_root; then
	mt_user_can nobody r:"$T/rk.conf" r:"$T/rk.keytable" r:"$T/rk.signingtable" x:"$T/rk"
fi
# Started at once after the keys were written, as provisioning scripts do.
# A key read less than 2 s after its file changed would be read again at
# the next reload (a second change could leave the same size and times):
# as nobody, refused. So the daemon, about to drop root, waits for the
# keys to settle and reads them again first. The keys are touched here, not
# only when written above, so that the checks in between (slow on a loaded
# machine) cannot use up those 2 s before the daemon starts.
touch "$T/rk/rka.private" "$T/rk/rkb.private"
mt_start "$T/rk.conf"
if $as_root; then
	[ "$(ps -o user= -p "$MT_PID")" = nobody ] || mt_fail "daemon not running as nobody"
	[ "$(stat -c %U:%a "$T/rk/rka.private")" = root:600 ] || mt_fail "key not root-owned 0600"
	mt_grep "$MT_LOG" "a key file changed in the last 2 seconds: reading it again in [0-9]* ms, before dropping root" \
		"waits for freshly written keys before dropping root"
fi
rl_hup
mt_grep "$MT_LOG" 'configuration reloaded: 2 key\(s\) unchanged and reused, 0 read' "keys reused"
rl_sign "$T/rk1.eml" example.com rka "$T/rk.records"
rl_sign "$T/rk2.eml" example.org rkb "$T/rk.records"
mt_ok "reload as $(ps -o user= -p "$MT_PID") with root-owned 0600 keys written just before the start: both unchanged keys kept, signatures verify"

# The key of rka replaced in place by a new one.
cp "$T/rk.records" "$T/rk.records.old"
rec=$(dns_keygen "$T/rk" rka rsa 2048) || mt_fail "keygen"
chmod 600 "$T/rk/rka.private"
{ grep -v '^txt rka\.' "$T/rk.records.old"; echo "txt rka._domainkey.example.com $rec"; } > "$T/rk.records"
if $as_root; then
	rl_hup
	mt_grep "$MT_LOG" "reload refused" "new key unreadable by nobody: reload refused"
	mt_grep "$MT_LOG" "rka.private.*Permission denied" "the error names the file and the reason"
	rl_sign "$T/rk3.eml" example.com rka "$T/rk.records.old"
	mt_ok "a changed key the daemon user cannot read: reload refused ($(grep -m1 'rka.private' "$MT_LOG")), old key kept"
	chown nobody "$T/rk/rka.private"
fi
rl_hup
mt_grep "$MT_LOG" 'configuration reloaded: 1 key\(s\) unchanged and reused, 1 read' "changed key read again"
rl_sign "$T/rk4.eml" example.com rka "$T/rk.records"
! "$MT_VERIFY" "$T/rk.records.old" "$T/rk4.eml" > /dev/null 2>&1 || mt_fail "signed with the old key after reload"
rl_sign "$T/rk5.eml" example.org rkb "$T/rk.records"
mt_ok "a key file replaced by a new key is read again at reload: the new key signs"

if $as_root; then
	chmod 700 "$T/rk"
	rl_hup
	mt_grep "$MT_LOG" "cannot read key file $T/rk/rkb.private: Permission denied" "stat refused"
	rl_sign "$T/rk6.eml" example.org rkb "$T/rk.records"
	chmod 711 "$T/rk"
	mt_ok "a key file the daemon user cannot stat: reload refused, running keys kept"
fi
mt_stop
exit 0
