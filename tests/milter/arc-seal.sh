#!/bin/sh
# ARC (RFC 8617) through the milter protocol.
# Verifying (ARCMode v): our Authentication-Results carry arc=pass|fail|none
# with smtp.remote-ip (RFC 8617 §10.1), in the same pass as dkim=.
# Sealing (ARCMode s), a mailing list: the message arrives from outside
# (verified: dkim=pass, arc=none), the list tags the subject and adds a
# footer, and sends it on from an internal client: it gets one ARC set,
# with the AAR stating what we saw on arrival (dkim=pass), cv=none, signed
# with an RSA and with an Ed25519 KeyTable key; dkimpy's arc_verify (RSA
# only: its ARC has no Ed25519) and our opendkim -t say pass while DKIM
# fails. A second pass at this hop adds
# no second set; a chain that arrived broken is sealed cv=fail; bad ARC
# keys are refused with FILE:LINE. A second list's set makes the receiver
# write header.oldest-pass=2.
. "$top_srcdir/tests/milter/lib.sh"

PYARC="$MT_PYTHON $top_srcdir/tests/interop/arc_dkimpy.py"
arc=$top_srcdir/tests/data/arc
while read -r name rec; do
	echo "txt $name $rec"
done < "$arc/keys.txt" >> "$T/records"
mt_keygen sel rsa 2048 example.com
mt_keygen author rsa 2048 author.example
mt_keygen arcrsa rsa 2048 lists.example.org
mt_keygen arced ed25519 "" lists.example.org
dns_start "$T/records"
# dkimpy's records: "NAME RECORD"
awk '$1 == "txt" { $1 = ""; sub(/^ /, ""); print }' "$T/records" > "$T/pyrecords"

cat > "$T/keytable" <<EOF
sel	example.com:sel:$T/keys/sel.private
arcr	lists.example.org:arcrsa:$T/keys/arcrsa.private
arce	lists.example.org:arced:$T/keys/arced.private
EOF
echo "*@example.com sel" > "$T/signingtable"
# conf KEY: a list host sealing with KeyTable entry KEY
conf() {
	mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile'
	cat <<EOF
KeyTable		$T/keytable
SigningTable		refile:$T/signingtable
ARCMode			sv
ARCSealKey		$1
EOF
}

# --- verifying: arc= in Authentication-Results ------------------------------
conf arcr > "$T/rsa.conf"
mt_start "$T/rsa.conf"
mt_send "$T/v1.eml" "$arc/i2_base.eml" -a 198.51.100.7
mt_grep "$T/v1.eml" '^	arc=pass smtp.remote-ip=198.51.100.7$' "a 3-hop suite chain"
mt_nogrep "$T/v1.eml" '^ARC-Seal: .*i=4' "an external client's mail is not sealed (ARCSealMail relayed)"
sed 's/This is a test message/This is a changed message/' "$arc/i1_base.eml" > "$T/changed.eml"
mt_send "$T/v2.eml" "$T/changed.eml" -a 2001:db8::7
mt_grep "$T/v2.eml" '^	arc=fail smtp.remote-ip="2001:db8::7"$' "a changed body"
mt_message "$T/plain.eml" author.example
mt_send "$T/v3.eml" "$T/plain.eml" -a 198.51.100.7
mt_grep "$T/v3.eml" '^	dkim=none;$' "no signature"
mt_grep "$T/v3.eml" '^	arc=none smtp.remote-ip=198.51.100.7$' "no chain"
mt_ok "arc=pass|fail|none with smtp.remote-ip in Authentication-Results"

# --- sealing: a mailing list ------------------------------------------------
"$MT_PYTHON" "$top_srcdir/tests/milter/dkimsign.py" "$T/keys/author.private" \
	author.example author "$T/plain.eml" > "$T/signed.eml" || mt_fail "dkimpy signing"
# seal KEY OUT: arrival from outside, the list's changes, distribution
seal() {
	mt_send "$T/$2.in.eml" "$T/signed.eml" -a 198.51.100.7
	mt_grep "$T/$2.in.eml" '^	dkim=pass ' "arrival: DKIM passes"
	mt_nogrep "$T/$2.in.eml" '^ARC-' "arrival: no ARC set from an external client"
	sed -e 's/^Subject: /Subject: [list] /' -e '$a\
--\
list footer' "$T/$2.in.eml" > "$T/$2.list.eml"
	mt_send "$T/$2.eml" "$T/$2.list.eml"
	[ "$(grep -c '^ARC-Seal:' "$T/$2.eml")" -eq 1 ] || mt_fail "$2: not one ARC-Seal"
	mt_grep "$T/$2.eml" '^	dkim=fail ' "$2: DKIM fails after the list's changes"
	tr -d '\n\t ' < "$T/$2.eml" | grep -q 'ARC-Authentication-Results:i=1;mx.example.net;dkim=pass' ||
		mt_fail "$2: the AAR does not state the arrival's dkim=pass"
	tr -d '\n\t ' < "$T/$2.eml" | grep -q 'ARC-Seal:a=[a-z0-9-]*;b=[^;]*;cv=none;d=lists.example.org;i=1;s=arc' ||
		mt_fail "$2: not a cv=none seal of lists.example.org"
	py=$($PYARC verify "$T/pyrecords" "$T/$2.eml")
	# dkimpy's ARC knows rsa-sha256 only (RFC 8617 §4.1.3 names no other)
	case $1:$py in
	arce:"fail unknown signature algorithm: b'ed25519-sha256'") ;;
	*) [ "${py%% *}" = pass ] || mt_fail "$2: dkimpy arc_verify says $py" ;;
	esac
	"$MT_DAEMON" -x "$T/rsa.conf" -t "$T/$2.eml" > "$T/$2.t" 2>&1
	mt_grep "$T/$2.t" "$2.eml: arc=pass$" "$2: opendkim -t"
}
seal arcr rsa
mt_grep "$T/rsa.eml" '^ARC-Seal: a=rsa-sha256;' "rsa-sha256 seal"
mt_grep "$MT_LOG" 'ARC set added \(d=lists.example.org, s=arcrsa\)' "log line"
mt_ok "list sealed with rsa-sha256: dkimpy and opendkim -t say arc=pass, DKIM fails"

# The same hop again: no second set (§5.1: one per hop).
mt_send "$T/again.eml" "$T/rsa.eml"
[ "$(grep -c '^ARC-Seal:' "$T/again.eml")" -eq 1 ] || mt_fail "a second set at the same hop"
mt_ok "one ARC set per hop"
mt_stop

conf arce > "$T/ed.conf"
mt_start "$T/ed.conf"
seal arce ed
mt_grep "$T/ed.eml" '^ARC-Seal: a=ed25519-sha256;' "ed25519-sha256 seal"
mt_grep "$MT_LOG" 'ARCSealKey arce is an Ed25519 key' "the Ed25519 warning"
mt_ok "list sealed with ed25519-sha256: opendkim -t says arc=pass (dkimpy's ARC has no Ed25519)"
mt_stop

# --- a forwarder (ARCSealMail all): a broken chain is sealed cv=fail ----------
{ conf arcr; echo "ARCSealMail all"; } > "$T/all.conf"
mt_start "$T/all.conf"
mt_send "$T/f1.eml" "$T/changed.eml" -a 198.51.100.7
tr -d '\n\t ' < "$T/f1.eml" | grep -q 'ARC-Seal:a=rsa-sha256;b=[^;]*;cv=fail;d=lists.example.org;i=3;' ||
	mt_fail "a broken chain is not sealed i=3 cv=fail"
tr -d '\n\t ' < "$T/f1.eml" | grep -q 'ARC-Authentication-Results:i=3;mx.example.net;dkim=none;arc=failsmtp.remote-ip=198.51.100.7' ||
	mt_fail "the AAR does not state arc=fail"
mt_send "$T/f2.eml" "$T/plain.eml" -a 198.51.100.7
py=$($PYARC verify "$T/pyrecords" "$T/f2.eml")
[ "${py%% *}" = pass ] || mt_fail "forwarded: dkimpy arc_verify says $py"
mt_ok "ARCSealMail all: a broken chain sealed cv=fail, a new one passes in dkimpy"
mt_stop

# --- a second list: header.oldest-pass (RFC 8617 §5.2 step 5) ---------------
# Another list host (its own authserv-id) gets the first list's message,
# sees arc=pass, adds its own footer and seals i=2 with cv=pass. The
# receiver's AMS i=2 still passes but i=1 no longer does (the body changed
# after it): the oldest instance still passing is 2.
conf arcr | sed 's/^AuthservID.*/AuthservID		lists2.example.net/' > "$T/hop2.conf"
mt_start "$T/hop2.conf"
mt_send "$T/h2.in.eml" "$T/rsa.eml" -a 198.51.100.8
mt_grep "$T/h2.in.eml" '^	arc=pass smtp.remote-ip=198.51.100.8$' "hop 2 arrival: arc=pass, no oldest-pass"
sed -e '$a\
--\
second list footer' "$T/h2.in.eml" > "$T/h2.list.eml"
mt_send "$T/h2.eml" "$T/h2.list.eml"
tr -d '\n\t ' < "$T/h2.eml" | grep -q 'ARC-Seal:a=rsa-sha256;b=[^;]*;cv=pass;d=lists.example.org;i=2;' ||
	mt_fail "hop 2 not sealed i=2 cv=pass"
mt_stop
mt_start "$T/rsa.conf"
mt_send "$T/h3.eml" "$T/h2.eml" -a 198.51.100.9
mt_grep "$T/h3.eml" '^	arc=pass smtp.remote-ip=198.51.100.9 header.oldest-pass=2$' "receiver: header.oldest-pass=2"
py=$($PYARC verify "$T/pyrecords" "$T/h2.eml")
[ "${py%% *}" = pass ] || mt_fail "two lists: dkimpy arc_verify says $py"
mt_ok "two lists: arc=pass with header.oldest-pass=2 in Authentication-Results; dkimpy says pass"
mt_stop

# --- configuration errors, with FILE:LINE ------------------------------------
bad() { # bad WHAT LINES... : opendkim -n refuses and names the line
	_what=$1
	shift
	conf arcr > "$T/bad.conf"
	printf '%s\n' "$@" >> "$T/bad.conf"
	_n=$(wc -l < "$T/bad.conf")
	"$MT_DAEMON" -n -x "$T/bad.conf" > "$T/bad.out" 2>&1 && mt_fail "$_what accepted"
	mt_grep "$T/bad.out" "bad.conf:$_n: " "$_what: FILE:LINE"
}
bad "ARCMode x" "ARCMode x"
bad "unknown ARCSealKey" "ARCSealKey nosuch"
bad "ARCSealMail bogus" "ARCSealMail sometimes"
bad "ARCSignHeaders with an ARC field" "ARCSignHeaders From,Subject,ARC-Seal"
"$MT_DAEMON" -n -x "$T/rsa.conf" > "$T/good.out" 2>&1 || { cat "$T/good.out"; mt_fail "-n refuses a good ARC configuration"; }
mt_ok "bad ARC keys refused with FILE:LINE"
