#!/bin/sh
# Hostile messages through the real daemon (tests/hostile/messages.py): no
# From, several From, fields without a colon, NUL bytes, bare CR / LF, a body
# ending inside a CRLF, 1 MB lines, 100000 header fields, a header block
# past MaximumHeaders. Each gets the right verdict; the daemon stays up,
# answers, and exits cleanly with no sanitizer report.
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
hs_python messages.py "$MT_PORT"
hs_alive "after hostile messages"
hs_finish
exit 0
