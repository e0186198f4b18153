#!/bin/sh
# tests/install/seccomp.sh - does the daemon survive the systemd unit's
# sandbox? systemd cannot run here (it is not PID 1 in a test), so the
# unit's SystemCallFilter=@system-service with SystemCallErrorNumber=EPERM
# is emulated with strace: every system call outside the set (the list
# comes from "systemd-analyze syscall-filter @system-service", so it is the
# installed systemd's own) fails with EPERM, as under the unit. The daemon
# then starts on a UNIX socket with a PID file, signs a message, verifies
# it (DNS through a loopback dnsmasq), reloads on SIGHUP, verifies again
# and stops on SIGTERM: every step must work and no call may be refused.
# The same trace checks MemoryDenyWriteExecute (no writable+executable
# mapping, no mprotect to executable) and RestrictAddressFamilies
# (sockets are AF_UNIX, AF_INET or AF_INET6 only).
# Needs strace and systemd-analyze (Debian: strace, systemd).
. "$top_srcdir/tests/milter/lib.sh"

for tool in strace systemd-analyze; do
	command -v "$tool" > /dev/null 2>&1 || {
		echo "SKIP: $tool is not installed (apt-get install ${tool%-analyze})" >&2
		exit 77
	}
done

# The set, with nested groups expanded; "?" lets strace pass over names
# that do not exist on this architecture.
sc_expand() {
	systemd-analyze syscall-filter "$1" |
		awk 'NR > 1 && /^ +[@a-z_0-9]/ { print $1 }' |
		while read -r _sc; do
			case $_sc in
			@*) sc_expand "$_sc" ;;
			*) echo "$_sc" ;;
			esac
		done
}
sc_expand @system-service | sort -u > "$T/allowed"
[ "$(wc -l < "$T/allowed")" -gt 100 ] || mt_fail "cannot list @system-service"
ALLOWED=$(sed 's/^/?/' "$T/allowed" | paste -sd, -)

cat > "$T/traced-opendkim" <<EOF
#!/bin/sh
exec strace -f -qq -o "$T/strace.log" \
	-e trace=all \
	-e inject="!$ALLOWED":error=EPERM \
	"$top_builddir/opendkim/opendkim" "\$@"
EOF
chmod +x "$T/traced-opendkim"
MT_DAEMON=$T/traced-opendkim
# LeakSanitizer (--enable-sanitizers) cannot work under ptrace.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
mt_config | sed "s|^Socket.*|Socket local:$T/odk.sock|" > "$T/odk.conf"
printf 'PidFile %s\nUMask 007\n' "$T/odk.pid" >> "$T/odk.conf"
mt_start "$T/odk.conf"
[ -S "$T/odk.sock" ] || mt_fail "no socket $T/odk.sock"
DPID=$(cat "$T/odk.pid") || mt_fail "no PID file"
mt_ok "started under the filter: socket and PID file"

mt_message "$T/msg.eml"
mt_send "$T/signed.eml" "$T/msg.eml"
mt_grep "$T/signed.eml" '^DKIM-Signature: v=1; a=rsa-sha256' "signed under the filter"
mt_send "$T/verified.eml" "$T/signed.eml" -a 198.51.100.7
mt_grep "$T/verified.eml" 'dkim=pass' "verified under the filter"
mt_ok "signs and verifies (DNS lookup) under the filter"

kill -HUP "$DPID"
_i=0
while ! grep -q 'configuration reloaded' "$MT_LOG"; do
	[ $_i -lt 100 ] || mt_fail "no reload after SIGHUP"
	sleep 0.05
	_i=$((_i + 1))
done
mt_send "$T/verified2.eml" "$T/signed.eml" -a 198.51.100.7
mt_grep "$T/verified2.eml" 'dkim=pass' "verified after the reload"
mt_ok "reloads on SIGHUP under the filter"

kill -TERM "$DPID"
wait "$MT_PID"
rc=$?
MT_PID=""
[ $rc -eq 0 ] || mt_fail "exit status $rc after SIGTERM"
mt_grep "$MT_LOG" 'terminating' "clean stop"
[ ! -e "$T/odk.pid" ] || mt_fail "PID file left behind"
mt_ok "stops on SIGTERM with status 0 under the filter"

if grep -q 'INJECTED' "$T/strace.log"; then
	grep 'INJECTED' "$T/strace.log" >&2
	mt_fail "system calls outside @system-service"
fi
mt_ok "no system call outside @system-service"
if grep -E '^[0-9]+ +mmap\(.*PROT_WRITE\|PROT_EXEC|^[0-9]+ +(pkey_)?mprotect\(.*PROT_EXEC' "$T/strace.log" >&2; then
	mt_fail "a mapping MemoryDenyWriteExecute would refuse"
fi
mt_ok "no writable and executable memory (MemoryDenyWriteExecute)"
if grep -E '^[0-9]+ +socket\(' "$T/strace.log" | grep -Ev 'socket\(AF_(UNIX|INET|INET6),' >&2; then
	mt_fail "a socket family outside AF_UNIX AF_INET AF_INET6"
fi
mt_ok "sockets are AF_UNIX, AF_INET, AF_INET6 only (RestrictAddressFamilies)"
