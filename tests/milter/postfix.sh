# tests/milter/postfix.sh - a private Postfix instance for end-to-end tests
# (POSIX sh; source it after tests/milter/lib.sh).
#
#     pf_sink_start                   # SMTP sink: PF_SINK_PORT, PF_SINK_DIR
#     pf_start MILTER_SOCKET          # Postfix: PF_DIR, PF_PORT (smtpd)
#     pf_smtp FROM_ADDR MAIL_FROM RCPT MESSAGE   # one SMTP transaction
#     pf_sendmail MAIL_FROM RCPT MESSAGE         # Postfix's sendmail command
#     pf_wait_sink N                  # until N messages arrived (or fail)
#     pf_add_smtpd VAR MILTERS        # another smtpd (port in VAR), mail discarded
#     pf_rate PORT N                  # msgs/s of N messages through PORT
#     pf_stop                         # also done at exit
#
# The instance has its own config, queue and data directories under $T,
# listens on 127.0.0.1:PF_PORT only, relays everything to the sink, and
# runs the milter for SMTP (smtpd_milters) and for the sendmail command
# (non_smtpd_milters), with milter_default_action = tempfail. Postfix must
# be started as root (its daemons run as mail_owner "postfix").

PF_POSTFIX=${PF_POSTFIX:-/usr/sbin/postfix}
PF_SENDMAIL=${PF_SENDMAIL:-/usr/sbin/sendmail}
PF_SMTP_SOURCE=${PF_SMTP_SOURCE:-/usr/sbin/smtp-source}
PF_SINK_SCRIPT=$top_srcdir/tests/milter/smtpsink.py

pf_cleanup() {
	pf_stop
	mt_cleanup
}
trap pf_cleanup EXIT

pf_sink_start() {
	PF_SINK_DIR=$T/sink
	mkdir -p "$PF_SINK_DIR"
	"$MT_PYTHON" "$PF_SINK_SCRIPT" "$T/sink.port" "$PF_SINK_DIR" 2> "$T/sink.log" &
	_sink=$!
	MT_PIDS="$MT_PIDS $_sink"
	MT_EXTRA_LOGS="$MT_EXTRA_LOGS SMTP-sink:$T/sink.log"
	_i=0
	while [ ! -s "$T/sink.port" ]; do
		kill -0 "$_sink" 2> /dev/null || mt_fail "SMTP sink exited at start"
		[ $_i -lt 100 ] || mt_fail "SMTP sink did not start"
		sleep 0.05
		_i=$((_i + 1))
	done
	PF_SINK_PORT=$(cat "$T/sink.port")
}

# Writes main.cf and master.cf for the instance into $PF_DIR/etc.
pf_write_config() {
	_milter=$1
	cat > "$PF_DIR/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.net
mydomain = example.net
myorigin = example.com
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = smtp:[127.0.0.1]:$PF_SINK_PORT
relay_transport = smtp:[127.0.0.1]:$PF_SINK_PORT
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
smtpd_milters = $_milter
non_smtpd_milters = $_milter
milter_default_action = tempfail
milter_protocol = 6
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
EOF
	cat > "$PF_DIR/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# pf_start MILTER: starts the instance; waits until smtpd answers.
pf_start() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: Postfix needs root" >&2; exit 77; }
	[ -x "$PF_POSTFIX" ] || mt_fail "$PF_POSTFIX missing (apt-get install postfix)"
	# Postfix's daemons (user postfix) must reach their queue under $T.
	chmod 755 "$T"
	PF_DIR=$T/postfix
	mkdir -p "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data"
	chmod 755 "$PF_DIR" "$PF_DIR/etc" "$PF_DIR/queue"
	chown postfix "$PF_DIR/data"
	PF_PORT=$(mt_free_port)
	pf_write_config "$1"
	chmod 644 "$PF_DIR/etc/main.cf" "$PF_DIR/etc/master.cf"
	# Postfix logs to $PF_DIR/maillog (maillog_file, through its postlogd,
	# since a container has no syslog): shown when the test fails.
	MT_EXTRA_LOGS="$MT_EXTRA_LOGS postfix-start:$T/postfix-start.log Postfix:$PF_DIR/maillog"
	# The master takes its lock in data/ as postfix: say which directory
	# stops it, if one does, rather than only "startup failed".
	mt_user_can postfix x:"$PF_DIR/queue" w:"$PF_DIR/data" r:"$PF_DIR/etc/main.cf"
	"$PF_POSTFIX" -c "$PF_DIR/etc" check > "$T/postfix-check.log" 2>&1 ||
		{ cat "$T/postfix-check.log" >&2; mt_fail "postfix check"; }
	"$PF_POSTFIX" -c "$PF_DIR/etc" start > "$T/postfix-start.log" 2>&1 ||
		mt_fail "postfix start (its log and output below)"
	PF_RUNNING=1
	_i=0
	until "$MT_PYTHON" -c "import smtplib; smtplib.SMTP('127.0.0.1', $PF_PORT, timeout=2).quit()" 2> /dev/null; do
		[ $_i -lt 100 ] || mt_fail "Postfix smtpd not answering"
		sleep 0.1
		_i=$((_i + 1))
	done
}

pf_stop() {
	[ -n "${PF_RUNNING:-}" ] || return 0
	"$PF_POSTFIX" -c "$PF_DIR/etc" stop > /dev/null 2>&1
	PF_RUNNING=""
	# master exits after its children; wait so that $T can be removed.
	_i=0
	while [ -f "$PF_DIR/data/master.lock" ] && pgrep -f "master -c $PF_DIR/etc" > /dev/null 2>&1; do
		[ $_i -lt 50 ] || break
		sleep 0.1
		_i=$((_i + 1))
	done
}

# pf_add_smtpd VAR MILTERS: one more smtpd on a free loopback port (set in
# VAR) whose smtpd_milters are MILTERS (empty: none) and whose mail is
# discarded once queued (content_filter: nothing reaches the sink); the
# instance is reloaded and the new port answers when this returns.
pf_add_smtpd() {
	_port=$(mt_free_port)
	printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_milters=%s -o content_filter=discard:silently\n' \
		"$_port" "$2" >> "$PF_DIR/etc/master.cf"
	"$PF_POSTFIX" -c "$PF_DIR/etc" reload > /dev/null 2>&1 || mt_fail "postfix reload"
	_i=0
	until "$MT_PYTHON" -c "import smtplib; smtplib.SMTP('127.0.0.1', $_port, timeout=2).quit()" 2> /dev/null; do
		[ $_i -lt 100 ] || mt_fail "smtpd on port $_port not answering"
		sleep 0.1
		_i=$((_i + 1))
	done
	eval "$1=\$_port"
}

# pf_rate PORT N: sends N small messages, one SMTP session after another,
# with Postfix's smtp-source to 127.0.0.1:PORT; prints messages per second.
pf_rate() {
	_t0=$(date +%s%N)
	"$PF_SMTP_SOURCE" -s 1 -m "$2" -l 1000 -M client.example -f alice@example.com \
		-t bob@example.net "127.0.0.1:$1" || mt_fail "smtp-source to port $1"
	_t1=$(date +%s%N)
	awk -v n="$2" -v t0="$_t0" -v t1="$_t1" 'BEGIN { printf "%.1f\n", n / ((t1 - t0) / 1e9) }'
}

# pf_smtp SOURCE_ADDR MAIL_FROM RCPT MESSAGE: one SMTP transaction from
# SOURCE_ADDR (a loopback address) to the instance. Prints the reply to
# DATA; fails when the transaction fails unless PF_EXPECT_FAIL is set.
pf_smtp() {
	"$MT_PYTHON" - "$1" "$2" "$3" "$4" "$PF_PORT" <<'EOF'
import re, smtplib, sys
src, mail_from, rcpt, path, port = sys.argv[1:6]
with open(path, "rb") as f:
    data = re.sub(rb"\r?\n", b"\r\n", f.read())
s = smtplib.SMTP("127.0.0.1", int(port), source_address=(src, 0), timeout=30)
s.ehlo("client.example")
s.mail(mail_from)
s.rcpt(rcpt)
code, msg = s.data(data)
print(code, msg.decode())
s.quit()
EOF
}

# pf_sendmail MAIL_FROM RCPT MESSAGE: submission with Postfix's sendmail.
pf_sendmail() {
	"$PF_SENDMAIL" -C "$PF_DIR/etc" -f "$1" "$2" < "$3" ||
		mt_fail "sendmail submission failed"
}

# pf_wait_sink N: waits until the sink holds N messages.
pf_wait_sink() {
	_i=0
	while [ "$(find "$PF_SINK_DIR" -name '*.eml' | wc -l)" -lt "$1" ]; do
		if [ $_i -ge 300 ]; then
			mt_fail "only $(find "$PF_SINK_DIR" -name '*.eml' | wc -l) of $1 messages reached the sink"
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
}
