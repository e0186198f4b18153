#!/bin/sh
# opendkim -t reports the ARC chain (RFC 8617 §5.2) of a stored message,
# with the keys fetched from the configured Nameservers (the loopback DNS
# server): the ARC signing suite's sealed chains (tests/data/arc/) pass;
# a chain whose body was changed fails; a message without ARC sets gets no arc=
# line (OpenDKIM's output, unchanged).
. "$top_srcdir/tests/milter/lib.sh"

arc=$top_srcdir/tests/data/arc
while read -r name rec; do
	echo "txt $name $rec"
done < "$arc/keys.txt" >> "$T/records"
mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/arc.conf"
mt_message "$T/msg.eml"

"$MT_DAEMON" -x "$T/arc.conf" -t "$arc/i2_base.eml" > "$T/pass.out" 2>&1
mt_grep "$T/pass.out" "i2_base.eml: arc=pass$" "-t arc=pass on a 3-hop suite chain"
mt_grep "$T/pass.out" "i2_base.eml: message not signed" "-t still reports DKIM"

sed 's/This is a test message/This is a changed message/' "$arc/i1_base.eml" > "$T/changed.eml"
"$MT_DAEMON" -x "$T/arc.conf" -t "$T/changed.eml" > "$T/fail.out" 2>&1
mt_grep "$T/fail.out" "changed.eml: arc=fail: i=2: ARC-Message-Signature did not verify" \
	"-t arc=fail on a changed body"

"$MT_DAEMON" -x "$T/arc.conf" -t "$T/msg.eml" > "$T/none.out" 2>&1
grep -q "arc=" "$T/none.out" && mt_fail "-t printed arc= for a message without ARC sets"
mt_ok "-t ARC chain results"
