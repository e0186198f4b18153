#!/bin/sh
# Hostile messages through the real daemon (tests/hostile/messages.py): no
# From, several From, fields without a colon, NUL bytes, bare CR / LF, a body
# ending inside a CRLF, 1 MB lines, 100000 header fields, a header block
# past MaximumHeaders; fields of any size and number within MaximumHeaders
# (the default 65536, then 4096), and one byte past it. Each gets the right
# verdict; the daemon stays up,
# answers, and exits cleanly with no sanitizer report.
. "$top_srcdir/tests/hostile/lib.sh"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config > "$T/opendkim.conf"
mt_start "$T/opendkim.conf"
hs_python messages.py "$MT_PORT"
hs_alive "after hostile messages"
hs_finish

# A small MaximumHeaders: the engine's per-field and field-count limits
# follow it (a 5000-byte field is refused, 980 small fields are not).
MT_PORT=""
mt_config > "$T/small.conf"
echo "MaximumHeaders 4096" >> "$T/small.conf"
mt_start "$T/small.conf"
hs_python messages.py "$MT_PORT" 4096
hs_alive "after MaximumHeaders 4096"
hs_finish
exit 0
