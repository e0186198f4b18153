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
#   - the same message tampered with arrives with dkim=fail.
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

pf_stop
mt_stop
exit 0
