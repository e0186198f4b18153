#!/bin/sh
# The daemon driven by Debian's miltertest (an MTA simulator that OpenDKIM's
# own test suite uses) with the Lua scripts in tests/milter/lua: signing,
# verification (pass, fail), forged Authentication-Results removal and
# PeerList.
. "$top_srcdir/tests/milter/lib.sh"

MILTERTEST=${MILTERTEST:-/usr/bin/miltertest}
[ -x "$MILTERTEST" ] || mt_fail "$MILTERTEST missing (apt-get install miltertest)"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
printf 'PeerList\t192.0.2.99\n' >> "$T/opendkim.conf"
mt_start "$T/opendkim.conf"

for script in sign-verify arremove; do
	"$MILTERTEST" -D socket="$MT_SOCKET" -D dir="$top_srcdir/tests/milter/lua" \
		-s "$top_srcdir/tests/milter/lua/$script.lua" > "$T/$script.out" 2>&1 ||
		{ cat "$T/$script.out" >&2; mt_fail "miltertest $script.lua"; }
	cat "$T/$script.out"
	grep -q '^ok: ' "$T/$script.out" || mt_fail "$script.lua printed no result"
done
mt_stop
exit 0
