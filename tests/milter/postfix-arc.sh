#!/bin/sh
# ARC end to end through a private Postfix instance: three smtpd listeners,
# each with its own milter, stand for three hosts.
#   author  (port 1): signs author.example's mail (DKIM);
#   list    (port 2): lists.example.org's host (conf/arc-mailing-list.conf's
#                     setup): verifies what arrives from outside, and seals
#                     what the list sends on from 127.0.0.1;
#   receiver(port 3): verifies DKIM and ARC (ARCMode v).
# A message signed by the author arrives at the list (dkim=pass), the list
# tags its subject and adds a footer and sends it on (one ARC set, cv=none),
# and the receiver sees dkim=fail and arc=pass.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/postfix.sh"

mt_keygen author rsa 2048 author.example
mt_keygen arc rsa 2048 lists.example.org
dns_start "$T/records"

# author: the base configuration, for author.example
MT_PORT=$(mt_free_port)
mt_config | sed -e 's/^Domain.*/Domain author.example/' -e 's/^Selector.*/Selector author/' \
	-e "s|^KeyFile.*|KeyFile $T/keys/author.private|" -e 's/^AuthservID.*/AuthservID mx.author.example/' \
	> "$T/author.conf"
mt_start "$T/author.conf"
author=$MT_SOCKET
author_log=$MT_LOG
author_pid=$MT_PID

# list: verifies, seals relayed mail with its KeyTable entry
MT_PORT=$(mt_free_port)
echo "arc lists.example.org:arc:$T/keys/arc.private" > "$T/keytable"
echo "*@lists.example.org arc" > "$T/signingtable"
{ mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' -e '^AuthservID'
  cat <<EOF
AuthservID		lists.example.org
KeyTable		$T/keytable
SigningTable		refile:$T/signingtable
InternalHosts		127.0.0.1
ARCMode			sv
ARCSealKey		arc
ARCSealMail		relayed
EOF
} > "$T/list.conf"
mt_start "$T/list.conf"
list=$MT_SOCKET
list_log=$MT_LOG
list_pid=$MT_PID

# receiver: verifies only
MT_PORT=$(mt_free_port)
{ mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile' -e '^AuthservID' -e '^Mode'
  printf 'Mode\t\t\tv\nAuthservID\t\tmx.receiver.example\nARCMode\t\t\tv\n'
} > "$T/receiver.conf"
mt_start "$T/receiver.conf"
receiver=$MT_SOCKET
receiver_log=$MT_LOG
receiver_pid=$MT_PID

pf_sink_start
# Postfix writes inet milters as inet:HOST:PORT.
pf_milter() { _p=${1#inet:}; echo "inet:127.0.0.1:${_p%@*}"; }
pf_start "$(pf_milter "$author")"
port_author=$PF_PORT
port_list=$(mt_free_port)
port_receiver=$(mt_free_port)
printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_milters=%s\n' \
	"$port_list" "$(pf_milter "$list")" "$port_receiver" "$(pf_milter "$receiver")" \
	>> "$PF_DIR/etc/master.cf"
"$PF_POSTFIX" -c "$PF_DIR/etc" reload > /dev/null 2>&1 || mt_fail "postfix reload"
for p in $port_list $port_receiver; do
	i=0
	until "$MT_PYTHON" -c "import smtplib; smtplib.SMTP('127.0.0.1', $p, timeout=2).quit()" 2> /dev/null; do
		[ $i -lt 100 ] || mt_fail "smtpd on port $p not answering"
		sleep 0.1
		i=$((i + 1))
	done
done

# hop PORT SOURCE IN N: IN sent from SOURCE to PORT; the sink's Nth message
# (its X-Sink- fields removed) in $T/hopN.eml.
hop() {
	PF_PORT=$1
	pf_smtp "$2" alice@author.example list@lists.example.org "$3" > "$T/hop$4.reply" ||
		mt_fail "SMTP to port $1"
	pf_wait_sink "$4"
	grep -v '^X-Sink-' "$PF_SINK_DIR/$4.eml" > "$T/hop$4.eml"
}

mt_message "$T/msg.eml" author.example
hop "$port_author" 127.0.0.1 "$T/msg.eml" 1
mt_grep "$T/hop1.eml" '^DKIM-Signature: .*d=author.example;' "the author signs"

hop "$port_list" 127.0.0.2 "$T/hop1.eml" 2
mt_grep "$T/hop2.eml" '^Authentication-Results: lists.example.org;$' "the list verifies"
mt_grep "$T/hop2.eml" '^	dkim=pass ' "dkim=pass at the list"
mt_nogrep "$T/hop2.eml" '^ARC-' "no seal on arrival"

# the mailing list: subject tag, footer, sent on from 127.0.0.1
sed -e 's/^Subject: /Subject: [list] /' -e '$a\
-- \
list@lists.example.org - unsubscribe: list-leave@lists.example.org' "$T/hop2.eml" > "$T/list.eml"
hop "$port_list" 127.0.0.1 "$T/list.eml" 3
[ "$(grep -c '^ARC-Seal:' "$T/hop3.eml")" -eq 1 ] || mt_fail "not one ARC set from the list"
tr -d '\n\t ' < "$T/hop3.eml" | grep -q 'ARC-Authentication-Results:i=1;lists.example.org;dkim=pass' ||
	mt_fail "the AAR does not carry the arrival's dkim=pass"

hop "$port_receiver" 127.0.0.2 "$T/hop3.eml" 4
mt_grep "$T/hop4.eml" '^Authentication-Results: mx.receiver.example;$' "the receiver's A-R"
mt_grep "$T/hop4.eml" '^	dkim=fail reason="body hash did not verify" .*header.d=author.example' "dkim=fail at the receiver"
mt_grep "$T/hop4.eml" '^	arc=pass smtp.remote-ip=127.0.0.2$' "arc=pass at the receiver"
mt_ok "author -> list (subject tag, footer, ARC seal) -> receiver: dkim=fail, arc=pass"

pf_stop
# each daemon must exit cleanly (mt_stop: status 0, no sanitizer report)
stop_daemon() { MT_PID=$1; MT_LOG=$2; mt_stop; }
stop_daemon "$author_pid" "$author_log"
stop_daemon "$list_pid" "$list_log"
stop_daemon "$receiver_pid" "$receiver_log"
exit 0
