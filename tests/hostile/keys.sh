#!/bin/sh
# Hostile keys and DNS answers through the real daemon: oversized TXT
# answers, huge RSA moduli, Ed25519 keys of the wrong length, keys that are
# not keys (tests/hostile/keyrecords.py): permerror with a reason, quickly.
# DNS servers that never answer, SERVFAIL, answer garbage or for another
# name: temperror and On-DNSError (451 4.4.3 by default), never a pass.
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen sel rsa 2048 example.com
$HS_PY "$HS_DIR/keyrecords.py" records "$T/records" >> "$T/records.hostile" ||
	mt_fail "keyrecords.py records"
cat "$T/records.hostile" >> "$T/records"
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
hs_python keyrecords.py run "$MT_PORT"
hs_alive "after hostile key records"
hs_finish

# DNS misbehaving. The signed message comes from a daemon with working DNS.
mt_message "$T/plain.eml"
mt_start "$T/opendkim.conf"
mt_send "$T/signed.eml" "$T/plain.eml"
mt_grep "$T/signed.eml" '^DKIM-Signature:' "signed"
hs_finish
for mode in silent servfail refused garbage wrongname; do
	dns_fake_start "$mode"
	sed "s/^Nameservers.*/Nameservers 127.0.0.1@$DNS_FAKE_PORT/; s/^DNSTimeout.*/DNSTimeout 1/" \
		"$T/opendkim.conf" > "$T/$mode.conf"
	mt_start "$T/$mode.conf"
	mt_send "$T/$mode.out" "$T/signed.eml" -a 203.0.113.9
	case $mode in
	wrongname)
		# An answer for another name is no key (permerror) or an error
		# (temperror): never a pass.
		mt_nogrep "$T/$mode.out" 'dkim=pass' "DNS $mode" ;;
	*)
		mt_grep "$T/$mode.out.result" '^result: replycode 451 4.4.3 ' "DNS $mode: On-DNSError" ;;
	esac
	mt_ok "DNS $mode: $(cat "$T/$mode.out.result")"
	hs_alive "DNS $mode"
	hs_finish
done
exit 0
