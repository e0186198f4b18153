#!/bin/sh
# Verifying through the milter protocol: messages signed by the daemon
# itself (internal client), then fed back from an external client, give
# dkim=pass; tampered body or header: dkim=fail; revoked key, no key: the
# right result and On-KeyNotFound; DNS down: On-DNSError (tempfail, 451);
# On-BadSignature reject: 550; ExemptDomains; the external-host note.
. "$top_srcdir/tests/milter/lib.sh"

mt_keygen sel rsa 2048 example.com
mt_keygen revoked rsa 1024 example.com
mt_keygen nokey rsa 1024 example.com
# The revoked key's record has an empty p=; nokey has no record at all.
sed -i -e 's/^\(txt revoked._domainkey.example.com\) .*/\1 v=DKIM1; k=rsa; p=/' \
	-e '/^txt nokey\./d' "$T/records"
dns_start "$T/records"

cat > "$T/keytable" <<EOF
main	example.com:sel:$T/keys/sel.private
revoked	example.com:revoked:$T/keys/revoked.private
nokey	example.com:nokey:$T/keys/nokey.private
EOF
cat > "$T/signingtable" <<EOF
revoked@example.com	revoked
nokey@example.com	nokey
*@example.com		main
EOF
mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' > "$T/base.conf"
cat >> "$T/base.conf" <<EOF
KeyTable		$T/keytable
SigningTable		refile:$T/signingtable
EOF
mt_start "$T/base.conf"
EXT="-a 203.0.113.9 -n mail.outside.example"

# Sign three messages (internal client) with the three keys.
mt_message "$T/plain.eml"
mt_send "$T/signed.eml" "$T/plain.eml"
mt_verify "$T/signed.eml"
sed 's/alice@example.com/revoked@example.com/' "$T/plain.eml" > "$T/rev.eml"
mt_send "$T/rev-signed.eml" "$T/rev.eml"
mt_grep "$T/rev-signed.eml" 's=revoked;' "revoked key used"
sed 's/alice@example.com/nokey@example.com/' "$T/plain.eml" > "$T/nokey.eml"
mt_send "$T/nokey-signed.eml" "$T/nokey.eml"
mt_grep "$T/nokey-signed.eml" 's=nokey;' "nokey key used"

# pass
mt_send "$T/v-pass.eml" "$T/signed.eml" $EXT
head -n 1 "$T/v-pass.eml" | grep -q '^Authentication-Results: mx.example.net;$' ||
	mt_fail "A-R not first: $(head -n 1 "$T/v-pass.eml")"
mt_grep "$T/v-pass.eml" '^	dkim=pass \(2048-bit key\) header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=sel header.b=[A-Za-z0-9+/"]{8,}$' "pass A-R"
mt_grep "$T/v-pass.eml.result" '^result: (accept|continue)$' "pass action"
mt_grep "$MT_LOG" 'action=accept domain=example.com selector=sel result=pass' "pass log line"
mt_ok "dkim=pass"

# tampered body
sed 's/this is a test message/this is a forged message/' "$T/signed.eml" > "$T/tbody.eml"
mt_send "$T/v-tbody.eml" "$T/tbody.eml" $EXT
mt_grep "$T/v-tbody.eml" '^	dkim=fail reason="body hash did not verify" \(2048-bit key\) header.d=example.com' "body tampered"
mt_grep "$T/v-tbody.eml.result" '^result: (accept|continue)$' "On-BadSignature accept (default)"
mt_ok "tampered body: dkim=fail"

# tampered header
sed 's/^Subject: test message/Subject: Test message/' "$T/signed.eml" > "$T/thdr.eml"
mt_send "$T/v-thdr.eml" "$T/thdr.eml" $EXT
mt_grep "$T/v-thdr.eml" '^	dkim=fail reason="signature verification failed" \(2048-bit key\)' "header tampered"
mt_ok "tampered Subject: dkim=fail"

# revoked key
mt_send "$T/v-rev.eml" "$T/rev-signed.eml" $EXT
# RFC 6376 §6.1.2 PERMFAIL (key revoked): fail, as OpenDKIM says it.
mt_grep "$T/v-rev.eml" '^	dkim=fail reason="key revoked" header.d=example.com' "revoked key"
mt_ok "revoked key: $(grep -o 'dkim=[a-z]* reason="[^"]*"' "$T/v-rev.eml")"

# no key
mt_send "$T/v-nokey.eml" "$T/nokey-signed.eml" $EXT
mt_grep "$T/v-nokey.eml" '^	dkim=permerror reason="[^"]*" header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=nokey' "no key"
mt_grep "$T/v-nokey.eml.result" '^result: (accept|continue)$' "On-KeyNotFound accept (default)"
mt_ok "no key: $(grep -o 'dkim=[a-z]* reason="[^"]*"' "$T/v-nokey.eml")"

# A malformed signature: a bad signature (On-BadSignature, default accept,
# as OpenDKIM; On-SignatureError is for signing only).
{
	echo "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=!!!; b=AAAA"
	cat "$T/plain.eml"
} > "$T/malformed.eml"
mt_send "$T/v-mal.eml" "$T/malformed.eml" $EXT
mt_grep "$T/v-mal.eml.result" '^result: (accept|continue)$' "On-BadSignature accept (default)"
mt_grep "$T/v-mal.eml" '^	dkim=permerror reason=' "malformed signature: permerror"
mt_ok "malformed signature: dkim=permerror, accepted (On-BadSignature accept)"
mt_stop

# Stricter actions: On-BadSignature reject, On-KeyNotFound tempfail.
cp "$T/base.conf" "$T/strict.conf"
printf 'On-Default\treject\nOn-BadSignature\treject\nOn-KeyNotFound\ttempfail\nOn-NoSignature\treject\n' >> "$T/strict.conf"
mt_start "$T/strict.conf"
mt_send "$T/s-tbody.eml" "$T/tbody.eml" $EXT
mt_grep "$T/s-tbody.eml.result" '^result: replycode 550 5.7.20 ' "On-BadSignature reject"
mt_send "$T/s-nokey.eml" "$T/nokey-signed.eml" $EXT
mt_grep "$T/s-nokey.eml.result" '^result: replycode 451 4.7.20 ' "On-KeyNotFound tempfail"
mt_send "$T/s-none.eml" "$T/plain.eml" $EXT
mt_grep "$T/s-none.eml.result" '^result: replycode 550 5.7.20 ' "On-NoSignature reject"
mt_send "$T/s-pass.eml" "$T/signed.eml" $EXT
mt_grep "$T/s-pass.eml.result" '^result: (accept|continue)$' "pass still accepted with On-Default reject"
mt_send "$T/s-rev.eml" "$T/rev-signed.eml" $EXT
mt_grep "$T/s-rev.eml.result" '^result: replycode 550 5.7.20 ' "revoked key: On-BadSignature reject"
mt_send "$T/s-mal.eml" "$T/malformed.eml" $EXT
mt_grep "$T/s-mal.eml.result" '^result: replycode 550 5.7.20 ' "malformed signature: On-BadSignature reject"
mt_ok "On-BadSignature reject (also revoked keys), On-KeyNotFound tempfail, On-NoSignature reject; pass accepted"
mt_stop

# Quarantine: the message is held (SMFIR_QUARANTINE) and accepted.
cp "$T/base.conf" "$T/quar.conf"
printf 'On-BadSignature\tquarantine\nAlwaysAddARHeader\tno\n' >> "$T/quar.conf"
mt_start "$T/quar.conf"
# AlwaysAddARHeader no: an unsigned message gets no Authentication-Results.
mt_send "$T/q-none.eml" "$T/plain.eml" $EXT
mt_nogrep "$T/q-none.eml" '^Authentication-Results:' "AlwaysAddARHeader no, unsigned message"
mt_grep "$T/q-none.eml.result" '^result: (accept|continue)$' "unsigned message accepted"
mt_send "$T/q-tbody.eml" "$T/tbody.eml" $EXT
mt_grep "$T/q-tbody.eml.result" '^result: quarantine DKIM signature verification failed$' "quarantine"
mt_grep "$T/q-tbody.eml.result" '^result: accept$' "quarantined message accepted"
mt_ok "On-BadSignature quarantine; AlwaysAddARHeader no adds no A-R to unsigned mail"
mt_stop

# DNS down: a server that never answers. Default On-DNSError is tempfail.
dns_fake_start silent
sed "s/^Nameservers.*/Nameservers 127.0.0.1@$DNS_FAKE_PORT/; s/^DNSTimeout.*/DNSTimeout 1/" \
	"$T/base.conf" > "$T/dnsdown.conf"
mt_start "$T/dnsdown.conf"
start=$(date +%s)
mt_send "$T/d-pass.eml" "$T/signed.eml" $EXT
took=$(($(date +%s) - start))
# DNSTimeout 1 bounds the whole lookup (the default of 5 s would fail this)
[ $took -le 3 ] || mt_fail "DNS down: the reply took ${took}s with DNSTimeout 1"
mt_grep "$T/d-pass.eml.result" '^result: replycode 451 4.4.3 ' "On-DNSError tempfail"
mt_grep "$MT_LOG" 'action=tempfail domain=example.com selector=sel result=temperror' "DNS error log line"
mt_ok "DNS down: 451 4.4.3 (On-DNSError tempfail)"
mt_stop
printf 'On-DNSError\taccept\n' >> "$T/dnsdown.conf"
mt_start "$T/dnsdown.conf"
mt_send "$T/d2.eml" "$T/signed.eml" $EXT
mt_grep "$T/d2.eml.result" '^result: (accept|continue)$' "On-DNSError accept"
mt_grep "$T/d2.eml" '^	dkim=temperror' "temperror in A-R"
mt_ok "DNS down with On-DNSError accept: dkim=temperror"
mt_stop

# ExemptDomains: mail from an exempt sender domain is neither verified (a
# bad signature passes, no A-R) nor signed; forged A-R fields claiming our
# authserv-id still go; other senders are verified as before.
cp "$T/base.conf" "$T/exempt.conf"
printf 'ExemptDomains\tcsl:Example.COM,lists.example\nOn-BadSignature\treject\n' >> "$T/exempt.conf"
mt_start "$T/exempt.conf"
mt_send "$T/ex-bad.eml" "$T/tbody.eml" $EXT -i EXQID1
mt_grep "$T/ex-bad.eml.result" '^result: accept$' "ExemptDomains: bad signature accepted untouched"
mt_nogrep "$T/ex-bad.eml" '^Authentication-Results:' "ExemptDomains: A-R added"
mt_grep "$MT_LOG" 'EXQID1: not signed or verified: sender domain in ExemptDomains' "LogWhy line"
mt_send "$T/ex-int.eml" "$T/plain.eml" -i EXQID2
mt_nogrep "$T/ex-int.eml" '^DKIM-Signature:' "ExemptDomains: internal mail signed"
{ printf 'Authentication-Results: mx.example.net; dkim=pass header.d=forged1\n'; cat "$T/tbody.eml"; } > "$T/ex-forged.eml"
mt_send "$T/ex-forged-out.eml" "$T/ex-forged.eml" $EXT
mt_nogrep "$T/ex-forged-out.eml" 'forged1|^Authentication-Results:' "ExemptDomains: forged A-R kept or A-R added"
mt_message "$T/other.eml" other.example
mt_send "$T/ex-other.eml" "$T/other.eml" $EXT
mt_grep "$T/ex-other.eml" '^	dkim=none' "ExemptDomains: other senders still verified"
mt_ok "ExemptDomains: exempt mail neither verified nor signed, forged A-R removed, others verified"
mt_stop

# An external host sending as one of our signing domains is logged even
# when its signature passes and successes are not logged (as OpenDKIM).
sed -e 's/^SyslogSuccess.*/SyslogSuccess\tno/' -e 's/^LogWhy.*/LogWhy\tno/' "$T/base.conf" > "$T/quiet.conf"
mt_start "$T/quiet.conf"
mt_send "$T/quiet.eml" "$T/signed.eml" $EXT -i QUIETQID
mt_grep "$T/quiet.eml" 'dkim=pass' "quiet: external signed message passes"
mt_grep "$MT_LOG" 'QUIETQID: .*result=pass.*\(external host mail\.outside\.example sent as a signing domain\)' "external host note on a passing message"
mt_ok "SyslogSuccess no: a passing message from an external host sending as our domain is still logged"
mt_stop

# A valid signature with a 40 KB z= (diagnostic only) passes, as at dkimpy
# and OpenDKIM. 300 junk signatures and a forged Authentication-Results
# over a valid one (about 115 KB: over MaximumHeaders): On-Security
# tempfail by default; with On-Security accept the message still gets a
# result, never silence, and the forged field past the limit still goes.
Z=$(head -c 40000 /dev/zero | tr '\0' 'Z')
"$top_srcdir/tests/milter/dkimsign.py" "$T/keys/sel.private" example.com sel "$T/plain.eml" "z=$Z" > "$T/z.eml" ||
	mt_fail "dkimsign z="
mt_verify "$T/z.eml"
{
	i=0
	while [ $i -lt 300 ]; do
		echo "DKIM-Signature: v=1; a=rsa-sha256; d=junk$i.example; s=sel; h=from; bh=AAAA; b=$(printf '%0300d' 0)"
		i=$((i + 1))
	done
	echo "Authentication-Results: mx.example.net; dkim=pass header.d=forged2"
	cat "$T/signed.eml"
} > "$T/padded.eml"
mt_start "$T/base.conf"
mt_send "$T/v-z.eml" "$T/z.eml" $EXT
mt_grep "$T/v-z.eml" '^	dkim=pass \(2048-bit key\) header.d=example.com' "40 KB z="
mt_send "$T/v-pad.eml" "$T/padded.eml" $EXT
mt_grep "$T/v-pad.eml.result" '^result: replycode 451 4.3.4 ' "over MaximumHeaders: On-Security tempfail"
mt_stop
printf 'On-Security\taccept\n' >> "$T/base.conf"
mt_start "$T/base.conf"
mt_send "$T/v-pad2.eml" "$T/padded.eml" $EXT -i PADQID
mt_grep "$T/v-pad2.eml.result" '^result: (accept|continue)$' "On-Security accept"
mt_grep "$T/v-pad2.eml" '^	dkim=permerror \(header block over MaximumHeaders\)$' "over MaximumHeaders: a result"
mt_nogrep "$T/v-pad2.eml" 'forged2' "forged A-R past MaximumHeaders kept"
mt_grep "$MT_LOG" 'PADQID: action=accept result=permerror reason="header block over MaximumHeaders"' "log line"
mt_ok "40 KB z= passes; over MaximumHeaders: 451, or with On-Security accept a permerror result (never silence)"
mt_stop

# No AuthservID: the MTA's j macro; without one, this host's name (OpenDKIM
# writes "unknown-host": a documented difference, opendkim.conf(5)).
grep -v '^AuthservID' "$T/base.conf" > "$T/noid.conf"
mt_message "$T/j.eml"
mt_start "$T/noid.conf"
mt_send "$T/v-j.eml" "$T/j.eml" $EXT -j mta.example.org
mt_grep "$T/v-j.eml" '^Authentication-Results: mta\.example\.org;' "authserv-id from j"
mt_send "$T/v-noj.eml" "$T/j.eml" $EXT -j ''
mt_grep "$T/v-noj.eml" "^Authentication-Results: $(hostname | sed 's/\./\\./g');" "authserv-id without j: the host name"
mt_stop
mt_ok "no AuthservID: j, else this host's name"
exit 0
