#!/bin/sh
# Signing through the milter protocol: an internal client's message gets a
# DKIM-Signature at the top that dkimpy verifies; an authenticated external
# client too; an unauthenticated external one is verified instead; with a
# KeyTable/SigningTable and MultipleSignatures, RSA and Ed25519 signatures
# both verify; a header block over MaximumHeaders gets a clear reply; MTA
# daemon names; MacroList; LogWhy; SignatureTTL; SyslogName;
# RemoveOldSignatures; DontSignMailTo.
. "$top_srcdir/tests/milter/lib.sh"

mt_keygen sel rsa 2048 example.com
mt_keygen edsel ed25519 "" example.com
mt_keygen rsasel rsa 1024 example.com
dns_start "$T/records"

# --- single key (Domain, Selector, KeyFile) ---------------------------------
mt_config > "$T/single.conf"
mt_start "$T/single.conf"
mt_message "$T/msg.eml"

mt_send "$T/out1.eml" "$T/msg.eml"
mt_grep "$T/out1.eml.result" '^result: (accept|continue)$' "internal client"
head -n 1 "$T/out1.eml" | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel;' ||
	mt_fail "DKIM-Signature is not the first field: $(head -n 1 "$T/out1.eml")"
mt_verify "$T/out1.eml"
mt_nogrep "$T/out1.eml" '^Authentication-Results:' "signing adds no A-R"
mt_grep "$MT_LOG" 'action=accept signed domain=example.com selector=sel' "log line"
mt_ok "internal client signed, dkimpy verifies"
mt_nogrep "$T/out1.eml" '(^|[;[:space:]])x=[0-9]' "no x= without SignatureTTL"
mt_nogrep "$T/out1.eml" '^DKIM-Filter:' "SoftwareHeader off by default"

mt_send "$T/out2.eml" "$T/msg.eml" -a 198.51.100.7 -A alice
mt_verify "$T/out2.eml"
mt_ok "authenticated external client signed"

mt_send "$T/out3.eml" "$T/msg.eml" -a 198.51.100.7
mt_nogrep "$T/out3.eml" '^DKIM-Signature:' "external client"
mt_grep "$T/out3.eml" '^Authentication-Results: mx.example.net;$' "external client verified"
mt_grep "$T/out3.eml" '^	dkim=none$' "unsigned external message"
mt_ok "unauthenticated external client is verified, not signed"

# IPv6 clients: ::1 is internal by default, 2001:db8::5 is not.
mt_send "$T/out6a.eml" "$T/msg.eml" -a ::1
mt_verify "$T/out6a.eml"
mt_send "$T/out6b.eml" "$T/msg.eml" -a 2001:db8::5
mt_nogrep "$T/out6b.eml" '^DKIM-Signature:' "external IPv6 client"
mt_grep "$T/out6b.eml" '^Authentication-Results: mx.example.net;$' "external IPv6 client verified"
mt_ok "IPv6 clients: ::1 signed, 2001:db8::5 verified"

mt_message "$T/other.eml" other.example
mt_send "$T/out4.eml" "$T/other.eml"
mt_nogrep "$T/out4.eml" '^DKIM-Signature:' "foreign sender domain"
mt_grep "$MT_LOG" 'not signed or verified|dkim=none|result=none' "LogWhy / verify line"
mt_ok "sender domain not ours is not signed"

# Several messages over one connection, bodies in small chunks.
mt_send "$T/out5.eml" "$T/msg.eml" -c 5 -C 7
[ "$(grep -c '^result: ' "$T/out5.eml.result")" -eq 5 ] || mt_fail "5 results expected"
mt_verify "$T/out5.eml"
for i in 0 1 2 3 4; do
	[ "$(grep -c "4ABC123DEF$i: action=" "$MT_LOG")" -eq 1 ] || mt_fail "not one log line for message $i"
done
mt_ok "5 messages on one connection, 7-byte body chunks, one log line each"

# Over TCP, replies must not wait for delayed ACKs (Nagle): 200 messages
# on one connection take well under a second; with ~40 ms stalls per
# message they would take 8 s or more.
start=$(date +%s%N)
mt_send "$T/out6.eml" "$T/msg.eml" -c 200
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(grep -c '^result: ' "$T/out6.eml.result")" -eq 200 ] || mt_fail "200 results expected"
[ "$ms" -lt 6000 ] || mt_fail "200 messages took $ms ms: replies stall (TCP_NODELAY?)"
mt_ok "200 signed messages on one TCP connection in $ms ms"
mt_stop

# --- KeyTable + SigningTable, MultipleSignatures: RSA and Ed25519 -----------
cat > "$T/keytable" <<EOF
rsa	example.com:rsasel:$T/keys/rsasel.private
ed	example.com:edsel:$T/keys/edsel.private
EOF
cat > "$T/signingtable" <<EOF
*@example.com	rsa
*@example.com	ed
EOF
mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' > "$T/dual.conf"
cat >> "$T/dual.conf" <<EOF
KeyTable		$T/keytable
SigningTable		refile:$T/signingtable
MultipleSignatures	yes
OversignHeaders		From
MaximumHeaders		4096
SoftwareHeader		yes
EOF
mt_start "$T/dual.conf"
mt_send "$T/dual.eml" "$T/msg.eml"
[ "$(grep -c '^DKIM-Signature:' "$T/dual.eml")" -eq 2 ] || mt_fail "two signatures expected"
mt_grep "$T/dual.eml" 'a=ed25519-sha256' "ed25519 signature"
mt_grep "$T/dual.eml" 'a=rsa-sha256' "rsa signature"
mt_verify "$T/dual.eml"
tr -d '\n\t' < "$T/dual.eml" > "$T/dual.unfolded"
mt_grep "$T/dual.unfolded" 'h=From:[^;]*:From;' "From oversigned"
# OpenDKIM inserts each signature at the top in SigningTable match order
# (rsa, then ed): ed's ends up first. Its log lines come in match order.
sed -n '/^DKIM-Signature:/,/^[^ 	]/p' "$T/dual.eml" | tr -d '\n\t ' | grep -q '^DKIM-Signature:v=1;a=ed25519-sha256' ||
	{ cat "$T/dual.eml"; mt_fail "the last SigningTable match's signature is not on top"; }
grep -o 'DKIM-Signature field added (s=[a-z]*' "$MT_LOG" | tail -n 2 | tr '\n' ' ' |
	grep -q '^DKIM-Signature field added (s=rsasel DKIM-Signature field added (s=edsel $' ||
	mt_fail "OpenDKIM's signing lines: $(grep 'field added' "$MT_LOG")"
mt_grep "$T/dual.eml" '^DKIM-Filter: dkimd \(OpenDKIM compatible\) v[0-9.]+ mx.example.net 4ABC123DEF$' "SoftwareHeader"
mt_ok "dual RSA + Ed25519 signatures verify with dkimpy; SoftwareHeader"

# Our own signed message, fed back from outside: both signatures pass.
mt_send "$T/dualv.eml" "$T/dual.eml" -a 198.51.100.7
[ "$(grep -c 'dkim=pass' "$T/dualv.eml")" -eq 2 ] || { cat "$T/dualv.eml"; mt_fail "two dkim=pass expected"; }
mt_grep "$T/dualv.eml" 'dkim=pass \(256-bit key\) header.d=example.com header.i=@example.com header.a=ed25519-sha256 header.s=edsel header.b=' "ed25519 A-R"
mt_ok "both signatures verify in the milter"

# A header block over MaximumHeaders (4096 bytes): On-Security (tempfail).
cp "$T/msg.eml" "$T/big.eml"
i=0
while [ $i -lt 100 ]; do
	sed -i "1i X-Filler-$i: $(printf '%060d' $i)" "$T/big.eml"
	i=$((i + 1))
done
mt_send "$T/bigout.eml" "$T/big.eml"
mt_grep "$T/bigout.eml.result" '^result: replycode 451 4.3.4 ' "oversized header block"
kill -0 "$MT_PID" || mt_fail "daemon died"
mt_ok "oversized header block: 451 4.3.4 reply"

# Per-domain key files ("%" in the KeyTable, any sender in the SigningTable):
# internal senders of a domain with a key file are signed, of one without
# get On-InternalError; external senders are never tempfailed for it.
mt_stop
cp "$T/keys/sel.private" "$T/keys/example.com.private"
echo "pct	%:sel:$T/keys/%.private" > "$T/pct.keytable"
echo "*	pct" > "$T/pct.signingtable"
mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' > "$T/pct.conf"
printf 'KeyTable\t%s\nSigningTable\trefile:%s\n' "$T/pct.keytable" "$T/pct.signingtable" >> "$T/pct.conf"
mt_start "$T/pct.conf"
mt_send "$T/pct1.eml" "$T/msg.eml"
mt_grep "$T/pct1.eml" '^DKIM-Signature: .*d=example.com; s=sel;' "% key signed"
mt_verify "$T/pct1.eml"
mt_message "$T/nokeyfile.eml" nokeyfile.example
mt_send "$T/pct2.eml" "$T/nokeyfile.eml" -a 203.0.113.9
mt_grep "$T/pct2.eml.result" '^result: (accept|continue)$' "external sender, no key file: verified"
mt_grep "$T/pct2.eml" '^	dkim=none$' "external sender verified"
mt_send "$T/pct3.eml" "$T/nokeyfile.eml"
mt_grep "$T/pct3.eml.result" '^result: replycode 451 4.3.0 ' "internal sender, no key file: On-InternalError"
mt_ok "\"%\" key files: signed; missing file tempfails internal mail only"
mt_stop

# MTA: mail that a listed MTA daemon received ({daemon_name}, e.g. Postfix's
# submission service) is signed whatever the client. LogWhy: a message
# verified instead of signed is logged with the reason.
# SyslogSuccess no: the signed message gets no line of ours, only
# OpenDKIM's "DKIM-Signature field added" line, which OpenDKIM writes
# whatever SyslogSuccess says and log monitors count.
mt_config | sed 's/^SyslogSuccess.*/SyslogSuccess\tno/' > "$T/mta.conf"
printf 'MTA\tsubmission,msa\n' >> "$T/mta.conf"
mt_start "$T/mta.conf"
mt_send "$T/mta1.eml" "$T/msg.eml" -a 198.51.100.8 -D submission -i MTA1QID
mt_verify "$T/mta1.eml"
mt_send "$T/mta2.eml" "$T/msg.eml" -a 198.51.100.8 -i MTA2QID
mt_nogrep "$T/mta2.eml" '^DKIM-Signature:' "client of an unlisted MTA daemon"
mt_grep "$MT_LOG" 'MTA2QID: action=accept .*result=none not signed: client neither internal nor authenticated' "LogWhy reason"
mt_nogrep "$MT_LOG" 'MTA1QID: action' "SyslogSuccess no, yet a success was logged"
mt_grep "$MT_LOG" '^opendkim\[[0-9]+\]: MTA1QID: DKIM-Signature field added \(s=sel, d=example.com\)$' "OpenDKIM's signing line"
[ "$(grep -c MTA1QID "$MT_LOG")" -eq 1 ] || mt_fail "MTA1QID: more than OpenDKIM's line"
mt_ok "MTA submission: external client signed; smtpd: verified, LogWhy says why; SyslogSuccess no"
mt_stop

# MacroList: a listed macro value marks mail to sign whatever the client.
mt_config > "$T/macro.conf"
printf 'MacroList\tdaemon_name|ORIGINATING|SUBMISSION\n' >> "$T/macro.conf"
mt_start "$T/macro.conf"
mt_send "$T/macro1.eml" "$T/msg.eml" -a 198.51.100.8 -D ORIGINATING
mt_verify "$T/macro1.eml"
mt_grep "$T/macro1.eml" '^DKIM-Signature:' "MacroList daemon_name|ORIGINATING"
mt_send "$T/macro2.eml" "$T/msg.eml" -a 198.51.100.8 -D originating
mt_nogrep "$T/macro2.eml" '^DKIM-Signature:' "MacroList values compare with case"
mt_send "$T/macro3.eml" "$T/msg.eml" -a 198.51.100.8
mt_nogrep "$T/macro3.eml" '^DKIM-Signature:' "MacroList without the macro"
mt_ok "MacroList daemon_name|ORIGINATING|SUBMISSION: external client signed through ORIGINATING only"
mt_stop

# SignatureTTL: x= is t= plus the TTL; dkimpy and our verifier accept it.
mt_config > "$T/ttl.conf"
printf 'SignatureTTL\t604800\n' >> "$T/ttl.conf"
mt_start "$T/ttl.conf"
mt_send "$T/ttl.eml" "$T/msg.eml"
mt_verify "$T/ttl.eml"
tags=$(sed -n '/^DKIM-Signature:/,/^[^[:space:]D]/p' "$T/ttl.eml" | tr -d ' \t\r\n')
t=$(printf '%s' "$tags" | grep -o ';t=[0-9]*' | cut -d= -f2)
x=$(printf '%s' "$tags" | grep -o ';x=[0-9]*' | cut -d= -f2)
[ -n "$t" ] && [ -n "$x" ] && [ $((x - t)) -eq 604800 ] ||
	mt_fail "SignatureTTL 604800: t=$t x=$x in $tags"
mt_send "$T/ttl-v.eml" "$T/ttl.eml" -a 198.51.100.7
mt_grep "$T/ttl-v.eml" 'dkim=pass' "our verifier accepts a signature with x="
mt_ok "SignatureTTL 604800: x= = t= + 604800, dkimpy and our verifier pass it"
mt_stop

# SyslogName: every line carries it; a reload to another name takes effect.
mt_config > "$T/name.conf"
printf 'SyslogName\tdkim-out\n' >> "$T/name.conf"
mt_start "$T/name.conf"
mt_send "$T/name.eml" "$T/msg.eml"
mt_verify "$T/name.eml"
mt_grep "$MT_LOG" '^dkim-out\[[0-9]+\]: 4ABC123DEF: action=accept signed' "SyslogName on a message's line"
mt_nogrep "$MT_LOG" '^opendkim\[' "SyslogName dkim-out, yet a line says opendkim"
sed 's/^SyslogName.*/SyslogName\tdkim-in/' "$T/name.conf" > "$T/name2.conf"
cp "$T/name2.conf" "$T/name.conf"
kill -HUP "$MT_PID"
i=0
while ! grep -q '^dkim-in\[[0-9]*\]: configuration reloaded' "$MT_LOG"; do
	[ $i -lt 100 ] || mt_fail "SyslogName dkim-in not used after a reload"
	sleep 0.05
	i=$((i + 1))
done
mt_ok "SyslogName dkim-out names every line; a reload renames them"
mt_stop

# RemoveOldSignatures: a message we sign loses its DKIM-Signature fields
# (all of them, wherever they are), ours verifies; verified mail keeps them.
{
	printf 'DKIM-Signature: v=1; a=rsa-sha256; d=old1.example; s=x; h=from;\n\tbh=AAAA; b=BBBB\n'
	sed '/^$/q' "$T/msg.eml" | sed '$d'
	printf 'dkim-signature: v=1; a=rsa-sha256; d=old2.example; s=x; h=from; bh=AAAA; b=CCCC\n'
	printf 'DKIM-Signature: v=1; a=rsa-sha256; d=old3.example; s=x; h=from; bh=AAAA; b=DDDD\n\n'
	sed '1,/^$/d' "$T/msg.eml"
} > "$T/old.eml"
mt_config > "$T/old.conf"
mt_start "$T/old.conf"
mt_send "$T/old-keep.eml" "$T/old.eml"
[ "$(grep -ci '^dkim-signature:' "$T/old-keep.eml")" -eq 4 ] ||
	mt_fail "without RemoveOldSignatures: expected 3 old signatures and ours"
mt_stop
printf 'RemoveOldSignatures\tyes\n' >> "$T/old.conf"
mt_start "$T/old.conf"
mt_send "$T/old-rm.eml" "$T/old.eml"
mt_nogrep "$T/old-rm.eml" 'old[0-9]\.example' "RemoveOldSignatures left an old signature"
[ "$(grep -ci '^dkim-signature:' "$T/old-rm.eml")" -eq 1 ] || mt_fail "RemoveOldSignatures: not exactly our signature"
mt_grep "$T/old-rm.eml" 'd=example.com' "our signature"
mt_verify "$T/old-rm.eml"
mt_grep "$MT_LOG" '4ABC123DEF: action=accept signed .*removed=3 old DKIM-Signature' "log line"
mt_send "$T/old-v.eml" "$T/old.eml" -a 198.51.100.7
[ "$(grep -ci '^dkim-signature:' "$T/old-v.eml")" -eq 3 ] || mt_fail "RemoveOldSignatures removed signatures of verified mail"
mt_ok "RemoveOldSignatures: 3 old signatures removed when signing, ours verifies; kept when verifying"
mt_stop

# DontSignMailTo: one listed recipient among many stops signing (the
# message is then left alone, accepted at the end of headers as OpenDKIM
# does: actions.sh compares); others are signed. The daemon asks for
# recipients only when DontSignMailTo is set, and does not answer them.
mt_config > "$T/rcpt.conf"
mt_start "$T/rcpt.conf"
mt_send "$T/rcpt0.eml" "$T/msg.eml" -v -r bob@example.net
mt_nogrep "$T/rcpt0.eml.result" "> 'R'" "recipients sent without DontSignMailTo (SMFIP_NORCPT)"
mt_stop
printf 'DontSignMailTo\tcsl:Bob@Example.NET,carol@example.org\n' >> "$T/rcpt.conf"
mt_start "$T/rcpt.conf"
mt_send "$T/rcpt1.eml" "$T/msg.eml" -v -r alice@example.net -r dave@example.org
mt_grep "$T/rcpt1.eml" '^DKIM-Signature:' "DontSignMailTo: unlisted recipients, signed"
mt_verify "$T/rcpt1.eml"
mt_grep "$T/rcpt1.eml.result" "> 'R'" "recipients not sent with DontSignMailTo"
awk "/> 'R'/ { r = 1; next } r && /< 'c'/ { bad = 1 } { r = 0 } END { exit bad }" \
	"$T/rcpt1.eml.result" || mt_fail "RCPT answered (SMFIP_NR_RCPT not used)"
set --
i=0
while [ $i -lt 63 ]; do
	set -- "$@" -r "user$i@example.net"
	i=$((i + 1))
done
mt_send "$T/rcpt2.eml" "$T/msg.eml" -v "$@" -r BOB@example.net -i RCPTQID
mt_nogrep "$T/rcpt2.eml" '^DKIM-Signature:' "DontSignMailTo: the 64th recipient is listed, yet signed"
mt_nogrep "$T/rcpt2.eml" '^Authentication-Results:' "DontSignMailTo: verified"
mt_nogrep "$T/rcpt2.eml.result" "> 'B'" "DontSignMailTo: body sent"
mt_grep "$T/rcpt2.eml.result" '^result: accept$' "DontSignMailTo: accepted"
mt_grep "$MT_LOG" 'RCPTQID: not signed or verified: a recipient is in DontSignMailTo' "LogWhy line"
mt_send "$T/rcpt3.eml" "$T/msg.eml" -r carol@example.org -r other@example.org
mt_nogrep "$T/rcpt3.eml" '^DKIM-Signature:' "DontSignMailTo: first recipient listed, yet signed"
mt_ok "DontSignMailTo: any listed recipient (any case, 1st or 64th) stops signing; RCPT only asked for then"
mt_stop

# OpenDKIM's "Domain *" signs any sender domain as itself; "InternalHosts -"
# is an empty list (no default 127.0.0.1): then only authenticated
# clients are signed.
mt_keygen sel rsa 2048 other.example
mt_config | sed 's/^Domain.*/Domain\t*/' > "$T/any.conf"
mt_start "$T/any.conf"
mt_message "$T/other.eml" other.example
mt_send "$T/any1.eml" "$T/other.eml"
mt_grep "$T/any1.eml" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=other.example; s=sel;' "Domain *"
mt_stop
printf 'InternalHosts\t-\n' >> "$T/any.conf"
mt_start "$T/any.conf"
mt_send "$T/any2.eml" "$T/other.eml"
mt_nogrep "$T/any2.eml" '^DKIM-Signature:' "InternalHosts -: 127.0.0.1 still internal"
mt_grep "$T/any2.eml" '^Authentication-Results: mx.example.net;' "InternalHosts -: verified instead"
mt_send "$T/any3.eml" "$T/other.eml" -A alice
mt_grep "$T/any3.eml" '^DKIM-Signature: .*d=other.example' "InternalHosts -: authenticated client"
mt_ok "Domain * signs any sender domain as itself; InternalHosts - is no host at all"
mt_stop
exit 0
