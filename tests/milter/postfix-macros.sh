#!/bin/sh
# The macros the milter asks of the MTA (smfi_setsymlist, issue 12),
# through a private Postfix instance (tests/milter/postfix.sh): Postfix
# then sends only those, stage by stage, instead of its defaults. MacroList
# must still see every macro it names, whichever stage Postfix evaluates it
# at; here from an external client (127.0.0.2, outside InternalHosts):
#   - a MAIL-stage macro ({mail_addr}) with a listed value: signed;
#   - a RCPT-stage macro ({rcpt_addr}, a step the milter negotiates away)
#     with a listed value: signed;
#   - neither: not signed (verified: an Authentication-Results field);
#   - the authserv-id still comes from the connect-stage j macro;
#   - the daemon did not fall back to the MTA's defaults (no warning).
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/postfix.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
{
	mt_config | grep -v '^AuthservID'
	printf 'MacroList\tmail_addr|boss@example.com,{rcpt_addr}|signme@example.net\n'
} > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
pf_sink_start
port=${MT_SOCKET#inet:}
pf_start "inet:127.0.0.1:${port%@*}"
mt_message "$T/msg.eml"

# send N MAIL_FROM RCPT: one message from 127.0.0.2, its copy from the
# sink in $T/gotN.eml.
send() {
	sed "s/^Message-ID: .*/Message-ID: <macros-$1@example.com>/" "$T/msg.eml" > "$T/msg$1.eml"
	pf_smtp 127.0.0.2 "$2" "$3" "$T/msg$1.eml" > "$T/smtp$1.reply" ||
		mt_fail "SMTP transaction $1"
	pf_wait_sink "$1"
	got=$(grep -l "macros-$1@example.com" "$PF_SINK_DIR"/*.eml | head -n 1)
	[ -n "$got" ] || mt_fail "message $1 not found in the sink"
	cp "$got" "$T/got$1.eml"
}

send 1 boss@example.com bob@example.net
mt_grep "$T/got1.eml" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel;' \
	"MacroList {mail_addr} (MAIL stage)"
mt_verify "$T/got1.eml"
mt_ok "MacroList mail_addr|boss@example.com through Postfix: signed"

send 2 alice@example.com signme@example.net
mt_grep "$T/got2.eml" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel;' \
	"MacroList {rcpt_addr} (RCPT stage, negotiated away)"
mt_ok "MacroList {rcpt_addr}|signme@example.net through Postfix: signed"

send 3 alice@example.com bob@example.net
mt_nogrep "$T/got3.eml" '^DKIM-Signature:' "no listed macro value: not signed"
mt_grep "$T/got3.eml" '^Authentication-Results: mx.example.net;' "authserv-id from the j macro"
mt_ok "no listed value: verified, not signed; authserv-id from j"

if grep -q 'cannot ask the MTA' "$MT_LOG"; then
	mt_fail "the daemon could not ask Postfix for its macros"
fi
mt_ok "Postfix took the macro lists"
