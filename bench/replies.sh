#!/bin/sh
# The milter answers only the protocol steps it must (bench/replies.py):
# no reply to connect, MAIL, header fields or body chunks, one to DATA (the
# last write of Postfix's smtpd must get one, issue 12); connect still
# answered when a PeerList needs it; the temporary failure that MAIL used to
# give while the daemon drains at SIGTERM now comes at end of headers.
. "$top_srcdir/tests/milter/lib.sh"

REPLIES="$MT_PYTHON $top_srcdir/bench/replies.py"
export top_srcdir

mt_keygen sel ed25519 "" example.com
dns_start "$T/records"
mt_config > "$T/plain.conf"
mt_start "$T/plain.conf"
port=${MT_SOCKET##*:}
port=${port%@*}
$REPLIES "$port" plain || mt_fail "replies without a PeerList"
mt_ok "no PeerList: connect, MAIL, header fields and body unanswered, DATA answered"
$REPLIES "$port" drain "$MT_PID" || mt_fail "replies while draining"
mt_ok "SIGTERM: a new message gets 451 4.3.2 at end of headers"
i=0
while kill -0 "$MT_PID" 2> /dev/null; do
	[ $i -lt 200 ] || mt_fail "daemon did not exit after SIGTERM"
	sleep 0.05
	i=$((i + 1))
done
wait "$MT_PID" || mt_fail "exit status after SIGTERM"
MT_PID=""

MT_PORT=$(mt_free_port)
{ mt_config; printf 'PeerList\t127.0.0.1\n'; } > "$T/peer.conf"
mt_start "$T/peer.conf"
port=${MT_SOCKET##*:}
port=${port%@*}
$REPLIES "$port" peerlist || mt_fail "replies with a PeerList"
mt_ok "PeerList: connect answered (accept)"
exit 0
