#!/bin/sh
# Forged Authentication-Results (our authserv-id in every form, number and
# position, some very long) are all removed; hostile d=/s=/i= values cannot
# inject text into the field we add (tests/hostile/authres.py).
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
hs_python authres.py "$MT_PORT"
hs_alive "after forged A-R"
hs_finish
exit 0
