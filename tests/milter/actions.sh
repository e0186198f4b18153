#!/bin/sh
# What happens to a verified message, side by side with Debian's OpenDKIM
# 2.11: the same messages, through the milter protocol, to both daemons
# under the same configuration: the default one, then each On-* key set to
# reject. Each message's fate (accept, reject, tempfail) must be
# OpenDKIM's, except for the differences listed in `deviation` below with
# their reasons. Covers the drop-in issue's mail-loss case (an expired
# signature was rejected here by default), test-mode keys (RFC 6376
# §3.6.1), On-Default as a blanket setting, and the decisions OpenDKIM
# makes at the end of headers (no body sent): signatures that do not
# parse under On-BadSignature, DontSignMailTo.
. "$top_srcdir/tests/milter/lib.sh"

SIGN=$top_srcdir/tests/milter/dkimsign.py

mt_keygen sel rsa 2048 example.com
mt_keygen small rsa 512 example.com
mt_keygen tst rsa 1024 example.com
for k in revoked nokey badkey kmis; do
	cp "$T/keys/sel.private" "$T/keys/$k.private"
done
# tst: a key in test mode; revoked: empty p=; badkey: p= is not base64;
# kmis: an ed25519 record for RSA signatures; nokey: no record at all.
sed -i 's/^\(txt tst._domainkey.example.com\) v=DKIM1;/\1 v=DKIM1; t=y;/' "$T/records"
cat >> "$T/records" <<EOF2
txt revoked._domainkey.example.com v=DKIM1; k=rsa; p=
txt badkey._domainkey.example.com v=DKIM1; k=rsa; p=!!notbase64
txt kmis._domainkey.example.com v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
EOF2
dns_start "$T/records"

# The messages: m-CASE.eml, signed by dkimpy (tests/milter/dkimsign.py).
mt_message "$T/plain.eml"
sg() {
	_sel=$1
	shift
	"$SIGN" "$T/keys/$_sel.private" example.com "$_sel" "$@" || mt_fail "dkimsign $_sel $*"
}
M=$T/m
sg sel "$T/plain.eml" > "$M-pass.eml"
sg sel "$T/plain.eml" t=1000 x=2000 > "$M-expired.eml"
sg sel "$T/plain.eml" t=$(($(date +%s) + 100000)) > "$M-future.eml"
sg sel "$T/plain.eml" h=from:subject | sed '/^From:/a From: Mallory <m@evil.example>' > "$M-twofrom.eml"
sg badkey "$T/plain.eml" > "$M-badkey.eml"
sg kmis "$T/plain.eml" > "$M-keymismatch.eml"
sg sel "$T/plain.eml" l=99999 > "$M-longl.eml"
sg revoked "$T/plain.eml" > "$M-revoked.eml"
sg small "$T/plain.eml" > "$M-smallkey.eml"
sg nokey "$T/plain.eml" > "$M-nokey.eml"
sg sel "$T/plain.eml" i=@other.example > "$M-ioutside.eml"
sed 's/this is a test message/this is a forged message/' "$M-pass.eml" > "$M-badbody.eml"
sg tst "$T/plain.eml" | sed 's/this is a test message/this is a forged message/' > "$M-testmode.eml"
sig() { { echo "DKIM-Signature: $1"; cat "$T/plain.eml"; } > "$M-$2.eml"; }
sig "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=!!!; b=AAAA" bhbase64
sig "v=1; a=rsa-sha256; d=example.com; s=sel; garbage; h=from; bh=AAAA; b=AAAA" taglist
sig "v=1; a=rsa-sha256; d=example.com; s=sel; h=subject; bh=AAAA; b=AAAA" hnofrom
cp "$T/plain.eml" "$M-unsigned.eml"
# Malformed messages (no usable sender): OpenDKIM's permerror, accepted.
sed '/^From:/d' "$T/plain.eml" > "$M-nofrom.eml"
sed '/^From:/d' "$M-pass.eml" > "$M-signednofrom.eml"
sed 's/^From: .*/From: undisclosed-recipients:;/' "$T/plain.eml" > "$M-badfrom.eml"

# deviation CONFIG CASE: prints why this milter's fate differs from
# OpenDKIM's there, or nothing when they must be the same.
deviation() {
	case $1:$2 in
	NoSignature:unsigned | Default:unsigned)
		echo "OpenDKIM 2.11 accepts unsigned mail whatever On-NoSignature says; here it applies" ;;
	NoSignature:expired | NoSignature:future | NoSignature:badkey | \
	NoSignature:keymismatch | NoSignature:longl | NoSignature:smallkey | \
	NoSignature:testmode | Default:expired | Default:future | Default:badkey | \
	Default:keymismatch | Default:longl | Default:smallkey | Default:testmode)
		echo "a signature that cannot vouch for the message counts as none (On-NoSignature); OpenDKIM applies no action to it" ;;
	BadSignature:hnofrom | BadSignature:ioutside | Default:hnofrom | Default:ioutside)
		echo "a signature breaking RFC 6376 §3.5 (h= without From, i= outside d=) is a bad signature here; OpenDKIM only reports permerror" ;;
	esac
}

# conf WHO NAME KEY [MORE]: a verify-only configuration for our daemon (mt)
# or OpenDKIM (od), the same keys for both: KEY set to reject, MORE lines.
conf() {
	{
		printf 'Socket\tinet:%s@127.0.0.1\n' "$(mt_free_port)"
		printf 'Mode\tv\nAuthservID\tmx.example.net\nAlwaysAddARHeader\tyes\n'
		printf 'Nameservers\t127.0.0.1@%s\nSyslog\tno\n' "$DNS_PORT"
		[ -z "$3" ] || printf '%s\treject\n' "$3"
		[ -z "${4:-}" ] || printf '%s\n' "$4"
	} > "$T/$1-$2.conf"
	echo "$T/$1-$2.conf"
}

# fates WHO NAME SOCKET: "CASE FATE" lines for every message.
fates() {
	for _m in "$M"-*.eml; do
		_case=$(basename "$_m" .eml)
		_case=${_case#m-}
		_out=$T/out-$1-$2-$_case.eml
		"$MT_CLIENT" -t 20 -o "$_out" -a 203.0.113.9 -n mail.outside.example \
			"$3" "$_m" 2> "$_out.result" || mt_fail "miltclient $1 $2 $_case"
		echo "$_case $(mt_fate "$_out.result")"
	done
}

compared=0
for setting in default Default BadSignature DNSError InternalError KeyNotFound \
	NoSignature Security SignatureError; do
	key=""
	[ "$setting" = default ] || key=On-$setting
	mt_od_start "$(conf od "$setting" "$key")"
	fates od "$setting" "$OD_SOCKET" > "$T/fates-od-$setting"
	mt_od_stop
	mt_start "$(conf mt "$setting" "$key")"
	fates mt "$setting" "$MT_SOCKET" > "$T/fates-mt-$setting"
	mt_stop
	while read -r case od; do
		mt=$(awk -v c="$case" '$1 == c { print $2 }' "$T/fates-mt-$setting")
		why=$(deviation "$setting" "$case")
		if [ -n "$why" ]; then
			echo "known difference: $setting $case: OpenDKIM $od, here $mt: $why"
			continue
		fi
		[ "$mt" = "$od" ] || mt_fail "${key:-default configuration}: $case: OpenDKIM ${od:-?}, here ${mt:-?}"
		compared=$((compared + 1))
	done < "$T/fates-od-$setting"
	mt_ok "${key:-default configuration}: every fate as OpenDKIM's"
done
[ "$compared" -gt 100 ] || mt_fail "only $compared fates compared"

# The default configuration accepts every one of these messages (OpenDKIM
# does); each gets its result in Authentication-Results, not a rejection.
A=$T/out-mt-default
mt_grep "$A-expired.eml" '^	dkim=permerror reason="signature expired"' "expired: result"
mt_grep "$A-future.eml" '^	dkim=permerror reason="signature timestamp is in the future"' "future t=: result"
mt_grep "$A-badkey.eml" '^	dkim=permerror reason="key syntax error' "bad key record: result"
mt_grep "$A-taglist.eml" '^	dkim=permerror reason="tag-list' "tag-list: result"
mt_grep "$A-testmode.eml" '^	dkim=fail ' "test mode: result"
# RFC 6376 §6.1.2 PERMFAIL (key revoked): fail, the word OpenDKIM writes.
mt_grep "$A-revoked.eml" '^	dkim=fail reason="key revoked" header.d=example.com' "revoked: result"
mt_grep "$T/out-od-default-revoked.eml" 'dkim=fail reason="key revoked"' "OpenDKIM's revoked result"
while read -r case fate; do
	[ "$fate" = accept ] || mt_fail "default configuration: $case: $fate"
done < "$T/fates-mt-default"
mt_ok "default configuration: every message accepted, with its result"

# Malformed messages: OpenDKIM's result, the same word for word.
for c in nofrom signednofrom badfrom; do
	mt_grep "$A-$c.eml" '^	dkim=permerror \(bad message/signature format\)$' "$c: result"
	mt_grep "$T/out-od-default-$c.eml" 'dkim=permerror \(bad message/signature format\)' "$c: OpenDKIM's result"
	mt_nogrep "$A-$c.eml" 'dkim=none' "$c: a second result"
done
mt_ok "malformed messages: dkim=permerror (bad message/signature format), accepted whatever On-* says"

# StrictHeaders: a field RFC 5322 §3.6 allows once, twice, makes the
# message malformed, signed or not; IgnoreMalformedMail: accepted with no
# result. Side by side again, with On-Default reject.
rm -f "$M"-*.eml
sed '/^From:/a From: Mallory <m@evil.example>' "$T/plain.eml" > "$M-twofrom.eml"
sg sel "$T/plain.eml" h=from:subject | sed '/^Subject:/a Subject: again' > "$M-twosubject.eml"
sg sel "$T/plain.eml" > "$M-pass.eml"
for setting in strict ignore; do
	more="StrictHeaders	yes"
	[ $setting = strict ] || more="$more
IgnoreMalformedMail	yes"
	mt_od_start "$(conf od "$setting" On-Default "$more")"
	fates od "$setting" "$OD_SOCKET" > "$T/fates-od-$setting"
	mt_od_stop
	mt_start "$(conf mt "$setting" On-Default "$more")"
	fates mt "$setting" "$MT_SOCKET" > "$T/fates-mt-$setting"
	mt_stop
	cmp -s "$T/fates-od-$setting" "$T/fates-mt-$setting" ||
		{ paste "$T/fates-od-$setting" "$T/fates-mt-$setting" >&2; mt_fail "$setting: fates differ"; }
	for c in twofrom twosubject; do
		if [ $setting = strict ]; then
			mt_grep "$T/out-mt-$setting-$c.eml" '^	dkim=permerror \(bad message/signature format\)$' "StrictHeaders $c"
		else
			mt_nogrep "$T/out-mt-$setting-$c.eml" '^Authentication-Results:' "IgnoreMalformedMail $c"
			mt_nogrep "$T/out-od-$setting-$c.eml" '^Authentication-Results:' "OpenDKIM IgnoreMalformedMail $c"
		fi
	done
	mt_grep "$T/out-mt-$setting-pass.eml" '^	dkim=pass ' "$setting: a good message"
done
mt_ok "StrictHeaders, IgnoreMalformedMail: as OpenDKIM"

# RFC 6376 §3.6.1: with On-BadSignature reject, the failing signature
# whose key is in test mode is accepted like unsigned mail; the same
# failure with a normal key is rejected.
grep -qx 'testmode accept' "$T/fates-mt-BadSignature" || mt_fail "t=y: On-BadSignature applied"
grep -qx 'badbody reject' "$T/fates-mt-BadSignature" || mt_fail "bad body: On-BadSignature not applied"
grep -qx 'testmode reject' "$T/fates-mt-NoSignature" || mt_fail "t=y: not treated as unsigned"
mt_ok "t=y: a failing signature is unsigned mail (On-NoSignature), not On-BadSignature"

# Decided at the end of headers, as OpenDKIM decides them there: the MTA
# sends neither daemon the body (no 'B' packet) and the fate is the same.
# A message whose every signature fails tag-list parsing, under
# On-BadSignature reject, tempfail or discard; and a message an internal
# client sends to a DontSignMailTo recipient, that would otherwise be
# signed (Mode sv): accepted, neither signed nor verified.
# early WHO NAME SOCKET CASE [client options]: "FATE BODY" (BODY: body,
# or nobody when the reply came at the end of headers).
early() {
	_out=$T/early-$1-$2-$4.eml
	_sock=$3
	_m=$M-$4.eml
	shift 4
	"$MT_CLIENT" -v -t 20 -o "$_out" "$@" "$_sock" "$_m" 2> "$_out.result" ||
		mt_fail "miltclient $_out"
	_body=nobody
	! grep -q "> 'B'" "$_out.result" || _body=body
	echo "$(mt_fate "$_out.result") $_body"
}
rm -f "$M"-*.eml
sig "v=1; a=rsa-sha256; d=example.com; s=sel; garbage; h=from; bh=AAAA; b=AAAA" taglist
{ echo "DKIM-Signature: v=1 a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA"
	cat "$M-taglist.eml"; } > "$M-taglist2.eml"
sg sel "$M-taglist.eml" > "$M-taglistgood.eml"
for action in reject tempfail discard accept; do
	for who in od mt; do
		c=$(conf $who "early-$action" "" "On-BadSignature	$action")
		if [ $who = od ]; then mt_od_start "$c"; s=$OD_SOCKET; else mt_start "$c"; s=$MT_SOCKET; fi
		for case in taglist taglist2 taglistgood; do
			echo "$case $(early $who "$action" "$s" "$case" -a 203.0.113.9)"
		done > "$T/early-$who-$action"
		if [ $who = od ]; then mt_od_stop; else mt_stop; fi
	done
	if [ $action = accept ]; then
		# OpenDKIM accepts at the end of headers with no result at all;
		# here the message goes on to the end for its Authentication-Results
		# (only added there: milter protocol), body and all.
		grep -qx 'taglist accept nobody' "$T/early-od-accept" || mt_fail "OpenDKIM: $(cat "$T/early-od-accept")"
		grep -qx 'taglist accept body' "$T/early-mt-accept" || mt_fail "accept: $(cat "$T/early-mt-accept")"
		mt_grep "$T/early-mt-accept-taglist.eml" '^	dkim=permerror reason="tag-list' "accept: the result"
		echo "known difference: On-BadSignature accept: tag-list: OpenDKIM accepts at end of headers with no result; here at the end, with dkim=permerror"
		continue
	fi
	grep -v '^taglistgood ' "$T/early-od-$action" > "$T/early-od-$action.cmp"
	grep -v '^taglistgood ' "$T/early-mt-$action" > "$T/early-mt-$action.cmp"
	cmp -s "$T/early-od-$action.cmp" "$T/early-mt-$action.cmp" ||
		{ paste "$T/early-od-$action" "$T/early-mt-$action" >&2; mt_fail "On-BadSignature $action: not as OpenDKIM"; }
	grep -qx "taglist $action nobody" "$T/early-mt-$action" || mt_fail "$action: $(cat "$T/early-mt-$action")"
	grep -qx "taglist2 $action nobody" "$T/early-mt-$action" || mt_fail "$action: two bad signatures"
	# A valid signature above one that does not parse: OpenDKIM decides
	# on the bad one at the end of headers; here the body is needed, and
	# the valid signature accepts (verdict.h: any pass accepts; RFC 6376
	# §6.1: a signature that fails is ignored, the others still count).
	grep -qx "taglistgood $action nobody" "$T/early-od-$action" || mt_fail "OpenDKIM taglistgood: $(cat "$T/early-od-$action")"
	grep -qx "taglistgood accept body" "$T/early-mt-$action" || mt_fail "$action: a valid signature refused"
	echo "known difference: On-BadSignature $action: a valid signature above one that does not parse: OpenDKIM $action at end of headers, here accepted (it passes)"
done
mt_ok "tag-list syntax errors: On-BadSignature reject/tempfail/discard at the end of headers, no body, as OpenDKIM"

# DontSignMailTo, side by side: an internal client's message that would be
# signed, to a listed recipient among others.
mt_message "$M-dst.eml"
echo bob@example.net > "$T/dontsign"
for who in od mt; do
	c=$T/$who-dst.conf
	{
		printf 'Socket\tinet:%s@127.0.0.1\n' "$(mt_free_port)"
		printf 'Mode\tsv\nAuthservID\tmx.example.net\nAlwaysAddARHeader\tyes\nSyslog\tno\n'
		printf 'Nameservers\t127.0.0.1@%s\nInternalHosts\t127.0.0.1\n' "$DNS_PORT"
		printf 'Domain\texample.com\nSelector\tsel\nKeyFile\t%s\n' "$T/keys/sel.private"
		printf 'RequireSafeKeys\tno\nDontSignMailTo\t%s\n' "$T/dontsign"
	} > "$c"
	if [ $who = od ]; then mt_od_start "$c"; s=$OD_SOCKET; else mt_start "$c"; s=$MT_SOCKET; fi
	echo "listed $(early $who dst "$s" dst -a 127.0.0.1 -r carol@example.org -r bob@example.net)" > "$T/dst-$who"
	mv "$T/early-$who-dst-dst.eml" "$T/dst-$who-listed.eml"
	echo "unlisted $(early $who dst "$s" dst -a 127.0.0.1 -r carol@example.org)" >> "$T/dst-$who"
	mv "$T/early-$who-dst-dst.eml" "$T/dst-$who-unlisted.eml"
	if [ $who = od ]; then mt_od_stop; else mt_stop; fi
	mt_nogrep "$T/dst-$who-listed.eml" '^(DKIM-Signature|Authentication-Results):' "$who: DontSignMailTo: signed or verified"
	mt_grep "$T/dst-$who-unlisted.eml" '^DKIM-Signature:' "$who: unlisted recipient: not signed"
done
cmp -s "$T/dst-od" "$T/dst-mt" || { paste "$T/dst-od" "$T/dst-mt" >&2; mt_fail "DontSignMailTo: not as OpenDKIM"; }
grep -qx 'listed accept nobody' "$T/dst-mt" || mt_fail "DontSignMailTo: $(cat "$T/dst-mt")"
mt_ok "DontSignMailTo: accepted at the end of headers, not signed nor verified, no body, as OpenDKIM"
exit 0
