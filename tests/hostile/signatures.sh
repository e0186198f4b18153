#!/bin/sh
# Malformed DKIM-Signature fields through the real daemon
# (tests/hostile/signatures.py): every tag missing, duplicated, empty,
# overlong, with bad values; h= with thousands of names; hundreds of
# signatures; huge z= and b=. None passes, the invalid ones are permerror,
# the work is bounded, the daemon survives with no sanitizer report.
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
hs_python signatures.py "$MT_PORT" "$DNS_LOG"
hs_alive "after malformed signatures"
hs_finish
exit 0
