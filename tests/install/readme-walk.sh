#!/bin/sh
# Follows the README's "Installing" or "Migrating from OpenDKIM" section
# word for word on a disposable Debian 12 machine, up to a daemon that signs
# mail sent through Postfix, and checks the signature with dkimpy. It
# installs into /usr, removes Debian's opendkim and rewrites /etc: run it
# only where nothing else lives, e.g.
#
#   ../shared/tools/fresh-debian 'tests/install/readme-walk.sh --disposable switch'
#   ../shared/tools/fresh-debian 'tests/install/readme-walk.sh --disposable install'
#
# switch   a Debian host running Debian's OpenDKIM (stock opendkim.conf with
#          Domain/Selector/KeyFile, key in /etc/dkimkeys, Postfix wired over
#          TCP) follows "Check before switching" and "Switching on Debian";
# install  a host that never had OpenDKIM follows "Installing" and "The
#          first key".
#
# Each README command is looked up in README.md first (`step`), so the walk
# fails when the README no longer says what it runs. The machine has no
# systemd as PID 1, so each systemctl line is looked up likewise and then
# replaced by what the unit would do (`instead`), said in the output.
set -eu

[ "${1:-}" = --disposable ] || {
	echo "usage: $0 --disposable switch|install  (installs into /usr and rewrites /etc)" >&2
	exit 2
}
scenario=${2:-}
case $scenario in switch | install) ;; *) echo "$0: switch or install" >&2; exit 2 ;; esac

src=$(cd "$(dirname "$0")/../.." && pwd)
readme="$src/README.md"
work=$(mktemp -d /tmp/readme-walk.XXXXXX)
domain=example.com
selector=default

# Whatever the walk started goes when it ends, pass or fail: the chroot
# shares the host's network, so a leftover server holds its ports.
stop_all() {
	for f in "$work/daemon.pid" /run/opendkim/opendkim.pid "$work/dnsmasq.pid"; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	postfix stop >/dev/null 2>&1
	return 0
}
trap stop_all EXIT

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'readme-walk: FAIL: %s\n' "$*" >&2; exit 1; }

# in_readme LINE: the README holds LINE (an indented command line).
in_readme() {
	grep -qF -- "$1" "$readme" || die "README.md no longer says: $1"
}

# step CMD: a README command, run as written (from the current directory).
step() {
	in_readme "$1"
	printf '$ %s\n' "$1"
	sh -c "$1" || die "README command failed: $1"
}

# instead CMD REPLACEMENT: a README command this machine cannot run (no
# systemd as PID 1); REPLACEMENT, run in this shell, does what it would.
instead() {
	in_readme "$1"
	printf '$ %s\n  (no systemd as PID 1 here; instead: %s)\n' "$1" "$2"
	eval "$2" || die "stand-in for '$1' failed: $2"
}

# host_prepare: what a real Debian 12 host already has and a debootstrapped
# chroot lacks: "/" searchable by every user, systemd installed, Postfix
# delivering locally, a DNS server the host asks (serving the key's record
# once published), dkimpy to check the result independently.
host_prepare() {
	say "host: a Debian 12 mail server"
	chmod 0755 /
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
	echo "postfix postfix/mailname string mail.$domain" | debconf-set-selections
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends \
		postfix systemd dnsmasq-base python3-dkim python3-dnspython python3-nacl "$@" \
		>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; die "apt-get install"; }
	upstream=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
	: >"$work/records"
	dns_restart
	postconf -e "myhostname = mail.$domain" "mydestination = localhost" \
		"inet_interfaces = loopback-only" "milter_default_action = accept" \
		"milter_protocol = 6" "maillog_file = /var/log/mail.log"
	id walk >/dev/null 2>&1 || useradd -m walk
	newaliases
}

# dns_restart: dnsmasq on 127.0.0.1:53 serving $work/records (name TXT per
# line) and forwarding the rest upstream, the host's only resolver.
dns_restart() {
	[ -f "$work/dnsmasq.pid" ] && kill "$(cat "$work/dnsmasq.pid")" 2>/dev/null && sleep 0.5
	set -- --no-resolv --server="$upstream" --listen-address=127.0.0.1 \
		--port=53 --bind-interfaces --pid-file="$work/dnsmasq.pid" --user=root
	# TXT strings of at most 255 bytes (RFC 6376 §3.6.2.2), a comma between.
	while read -r name txt; do
		set -- "$@" "--txt-record=$name,$(printf '%s' "$txt" | fold -b -w 255 | paste -s -d, -)"
	done <"$work/records"
	dnsmasq "$@" || die "dnsmasq did not start"
	echo "nameserver 127.0.0.1" >/etc/resolv.conf
}

# publish TXTFILE: the record a genkey .txt file holds goes into the zone.
publish() {
	txt=$(tr -d '\n' <"$1" | sed 's/^[^(]*(//; s/)[^)]*$//' | tr -d '"\t ' )
	echo "$selector._domainkey.$domain $txt" >>"$work/records"
	dns_restart
	python3 -c "import dns.resolver; print('published:', dns.resolver.resolve('$selector._domainkey.$domain', 'TXT')[0].to_text()[:60], '...')"
}

# mail_through_postfix TAG: a message from alice@$domain, submitted with
# sendmail, must arrive in the user walk's mailbox signed by d=$domain, and
# dkimpy must verify it against the published record.
mail_through_postfix() {
	printf 'From: alice@%s\nTo: walk@localhost\nSubject: readme walk %s\nMessage-ID: <%s.%s@%s>\n\nHello from the README walk.\n' \
		"$domain" "$1" "$1" "$$" "$domain" | /usr/sbin/sendmail -f "alice@$domain" walk@localhost
	i=0
	until grep -q "readme walk $1" /var/mail/walk 2>/dev/null; do
		[ $i -lt 60 ] || { tail -20 /var/log/mail.log 2>/dev/null; postqueue -p; die "message '$1' not delivered"; }
		sleep 0.5
		i=$((i + 1))
	done
	python3 - "$1" <<'EOF' || die "dkimpy does not verify the message '$1'"
import mailbox, sys, dkim
box = mailbox.mbox('/var/mail/walk')
for key, m in box.items():
    if m['Subject'] == 'readme walk ' + sys.argv[1]:
        raw = box.get_bytes(key)
        sig = m['DKIM-Signature']
        print('DKIM-Signature:', ' '.join((sig or 'none').split())[:100], '...')
        sys.exit(0 if sig and dkim.verify(raw) else 1)
sys.exit(1)
EOF
	echo "message '$1': signed, dkimpy verifies"
}

# start_as_unit: the installed unit's ExecStart, as its user, with its
# runtime directory, as `systemctl start opendkim` would.
start_as_unit() {
	unit=/usr/lib/systemd/system/opendkim.service
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	install -d -o opendkim -g opendkim -m 0750 /run/opendkim
	echo "  ExecStart=$exec_start (as opendkim, UMask 0007)"
	(umask 0007 && exec runuser -u opendkim -- sh -c "exec $exec_start" \
		>"$work/daemon.log" 2>&1) &
	echo $! >"$work/daemon.pid"
	sleep 2
	kill -0 "$(cat "$work/daemon.pid")" 2>/dev/null || { cat "$work/daemon.log"; die "the daemon did not stay up"; }
}

walk_switch() {
	host_prepare opendkim opendkim-tools
	say "before: Debian's OpenDKIM signs, configured as Debian's opendkim.conf suggests"
	opendkim -V | head -1
	opendkim-genkey -D /etc/dkimkeys -d "$domain" -s "$selector"
	chown opendkim:opendkim /etc/dkimkeys/$selector.private
	publish /etc/dkimkeys/$selector.txt
	cat >>/etc/opendkim.conf <<EOF
Domain			$domain
Selector		$selector
KeyFile			/etc/dkimkeys/$selector.private
EOF
	sed -i 's|^Socket.*|Socket\t\t\tinet:8891@localhost|' /etc/opendkim.conf
	# This machine reaches no DNS but its own server (dnsmasq serving the
	# test record): Debian's OpenDKIM (libunbound) recurses from the root
	# unless told its forwarder, and cannot validate from the root zone.
	sed -i 's|^TrustAnchorFile|#TrustAnchorFile|' /etc/opendkim.conf
	echo 'Nameservers		127.0.0.1' >>/etc/opendkim.conf
	postconf -e "smtpd_milters = inet:localhost:8891" 'non_smtpd_milters = $smtpd_milters'
	install -d -o opendkim -g opendkim /run/opendkim
	opendkim -x /etc/opendkim.conf
	sleep 2         # its socket is up before the first message
	postfix start
	mail_through_postfix debian-opendkim
	mkdir -p /path/to/saved
	python3 -c "
import mailbox
box = mailbox.mbox('/var/mail/walk')
for key in box.keys():
    open('/path/to/saved/%s.eml' % key, 'wb').write(box.get_bytes(key))"

	say "README: Installing (the build packages), then Check before switching"
	cd "$src"
	step './scripts/install-deps --build && autoreconf -fi'
	mkdir -p build/walk
	(cd build/walk && ../../configure --prefix=/usr --sysconfdir=/etc && make -j2) \
		>"$work/make.log" 2>&1 || { tail -20 "$work/make.log"; die "the build of opendkim.new"; }
	cp build/walk/opendkim/opendkim /usr/sbin/opendkim.new
	in_readme 'runuser -u opendkim -- /usr/sbin/opendkim.new -n -x /etc/opendkim.conf; echo $?'
	out=$(runuser -u opendkim -- /usr/sbin/opendkim.new -n -x /etc/opendkim.conf 2>&1; echo "exit $?")
	printf '$ runuser -u opendkim -- /usr/sbin/opendkim.new -n -x /etc/opendkim.conf; echo $?\n%s\n' "$out"
	[ "$out" = "exit 0" ] || echo "  (the check above is not clean: each line is for review, as the README says)"
	case $out in *"exit 0") ;; *) die "opendkim.new -n refuses Debian's configuration" ;; esac
	step 'opendkim-testkey -x /etc/opendkim.conf -v'
	step '/usr/sbin/opendkim.new -x /etc/opendkim.conf -t /path/to/saved/*.eml'
	rm /usr/sbin/opendkim.new

	say "README: Switching on Debian"
	instead 'systemctl stop opendkim' 'kill $(cat /run/opendkim/opendkim.pid) && sleep 2'
	step 'apt-get remove -y opendkim opendkim-tools'
	step 'autoreconf -fi && ./configure --prefix=/usr --sysconfdir=/etc && make && make install'
	step 'systemd-sysusers && systemd-tmpfiles --create'
	say "README: Debian's leftovers"
	for f in /etc/default/opendkim /etc/systemd/system/opendkim.service.d/override.conf /etc/tmpfiles.d/opendkim.conf; do
		if [ -e "$f" ]; then echo "left over: $f"; else echo "not here: $f"; fi
	done
	[ ! -e /etc/tmpfiles.d/opendkim.conf ] || die "Debian left /etc/tmpfiles.d/opendkim.conf: the README says what to do, this walk does not"
	in_readme 'chown opendkim:opendkim /etc/opendkim/keys/*.private    # wherever KeyTable/KeyFile point'
	echo '$ chown opendkim:opendkim /etc/dkimkeys/*.private    (where KeyFile points)'
	chown opendkim:opendkim /etc/dkimkeys/*.private
	step 'runuser -u opendkim -- opendkim -n -x /etc/opendkim.conf'
	instead 'systemctl daemon-reload && systemctl enable --now opendkim' start_as_unit
}

walk_install() {
	host_prepare
	say "README: Installing"
	cd "$src"
	step './scripts/install-deps --build && autoreconf -fi'
	step './configure --prefix=/usr --sysconfdir=/etc'
	in_readme 'make && make install            # or: make install DESTDIR=/tmp/stage'
	echo '$ make && make install'
	{ make && make install; } >"$work/make.log" 2>&1 || { tail -20 "$work/make.log"; die "make && make install"; }
	step 'systemd-sysusers && systemd-tmpfiles --create'
	step 'usermod -a -G opendkim postfix           # Postfix may then use the socket'
	step 'runuser -u opendkim -- opendkim -n -x /etc/opendkim.conf   # silent: all well'
	say "README: The first key"
	step 'mkdir -p /etc/opendkim/keys && cd /etc/opendkim/keys'
	cd /etc/opendkim/keys
	step 'opendkim-genkey -d example.com -s default --keytable >> /etc/opendkim/KeyTable'
	step "echo '*@example.com default._domainkey.example.com' >> /etc/opendkim/SigningTable"
	step 'chown opendkim:opendkim default.private'
	step 'cat default.txt'
	publish /etc/opendkim/keys/default.txt
	step 'runuser -u opendkim -- opendkim-testkey -x /etc/opendkim.conf -v    # key OK, exit 0'
	say "README: Postfix wiring (TCP socket)"
	in_readme 'Socket   inet:8891@[127.0.0.1]                          # opendkim.conf'
	in_readme 'smtpd_milters = inet:127.0.0.1:8891                     # main.cf (host:port, not port@host)'
	sed -i 's|^Socket.*|Socket inet:8891@[127.0.0.1]|' /etc/opendkim.conf
	grep -q '^Socket' /etc/opendkim.conf || echo 'Socket inet:8891@[127.0.0.1]' >>/etc/opendkim.conf
	postconf -e "smtpd_milters = inet:127.0.0.1:8891" 'non_smtpd_milters = $smtpd_milters'
	instead 'systemctl daemon-reload && systemctl enable --now opendkim' start_as_unit
	postfix start
}

case $scenario in
switch) walk_switch ;;
install) walk_install ;;
esac
say "after: the daemon installed from this tree signs"
mail_through_postfix "dkimd-$scenario"
grep -E 'signed|DKIM-Signature field added' "$work/daemon.log" | tail -2 || true
say "readme-walk $scenario: every step as the README says, and the mail was signed"
