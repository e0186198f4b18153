# tests/lib/dns.sh - loopback DNS servers for tests (POSIX sh; source it).
#
# Starts Debian's dnsmasq on 127.0.0.1 with a free non-privileged port,
# serving TXT/CNAME/A records from a records file, answering NXDOMAIN for
# every other name (--local=/#/: nothing is forwarded), logging every query
# so that tests can count them. Also starts small fake servers (python3
# stdlib) that never answer, or answer SERVFAIL / REFUSED / for a wrong name.
#
# Usage:
#     . "$top_srcdir/tests/lib/dns.sh"      # installs an EXIT trap
#     dns_keygen "$tmp" sel rsa 2048 > "$tmp/sel.rec"   # key + record text
#     { echo "txt sel._domainkey.example.test $(cat "$tmp/sel.rec")"; } > "$tmp/records"
#     dns_start "$tmp/records" [TTL]        # sets DNS_PORT, DNS_LOG, DNS_PID
#     ... nameservers "127.0.0.1:$DNS_PORT" ...
#     dns_query_count sel._domainkey.example.test   # queries seen so far
#     dns_stop
#
# Records file: one record a line, '#' comments and blank lines ignored.
#     txt   NAME RECORD...   the rest of the line is ONE TXT record, split
#                            into strings of at most 255 bytes
#     txts  NAME S1|S2|...   one TXT record made of the strings given
#     cname ALIAS TARGET     ALIAS is a CNAME for TARGET
#     a     NAME IPV4        an A record (a name with no TXT: NODATA)
# A name given on several txt/txts lines gets several TXT records. dnsmasq
# splits TXT strings on commas, so a comma in a TXT value is an error here.
# Every record is served with TTL seconds (default 300; DNS_TTL overrides).
# With DNS_IPV6=1, dnsmasq listens on ::1 too (same port); dns_has_ipv6
# tells whether the host has an IPv6 loopback.
# Answers over 512 bytes are truncated over UDP and served over TCP.
#
# If your script sets its own EXIT trap, call dns_cleanup from it.

DNS_PYTHON=${DNS_PYTHON:-/usr/bin/python3}
DNS_DNSMASQ=${DNS_DNSMASQ:-/usr/sbin/dnsmasq}
DNS_LIB_DIR=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib
DNS_FAKE_SCRIPT=${DNS_FAKE_SCRIPT:-$DNS_LIB_DIR/../dns/fakedns.py}
DNS_ALL_PIDS=""
DNS_ALL_DIRS=""

dns_die() {
	echo "dns.sh: $*" >&2
	exit 1
}

# Prints a free UDP port on 127.0.0.1 (the kernel's choice).
dns_free_port() {
	"$DNS_PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# True when a socket can be bound to ::1.
dns_has_ipv6() {
	"$DNS_PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 0))' 2> /dev/null
}

# Prints RECORD split into strings of at most N (default 255) bytes, one a
# line (RFC 6376 §3.6.2.2: the verifier concatenates them again).
dns_split() {
	printf '%s' "$1" | fold -b -w "${2:-255}"
	echo
}

# Prints the dnsmasq option for one records-file line (or nothing).
dns_record_option() {
	_type=$1 _name=$2 _rest=$3
	case $_type in
	txt)
		case $_rest in *,*) dns_die "comma in TXT value of $_name (dnsmasq splits on it)";; esac
		_strings=$(dns_split "$_rest" | paste -s -d, -)
		printf -- '--txt-record=%s,%s\n' "$_name" "$_strings" ;;
	txts)
		case $_rest in *,*) dns_die "comma in TXT value of $_name (dnsmasq splits on it)";; esac
		printf -- '--txt-record=%s,%s\n' "$_name" "$(printf '%s' "$_rest" | tr '|' ',')" ;;
	cname)
		printf -- '--cname=%s,%s\n' "$_name" "$_rest" ;;
	a)
		printf -- '--host-record=%s,%s\n' "$_name" "$_rest" ;;
	*)
		dns_die "unknown record type '$_type' for $_name" ;;
	esac
}

# Writes the dnsmasq options for RECORDS_FILE to OUT, one a line.
dns_records_to_options() {
	: > "$2"
	while read -r _t _n _v || [ -n "$_t" ]; do
		case $_t in ''|'#'*) continue;; esac
		[ -n "$_v" ] || dns_die "bad records line: $_t $_n"
		dns_record_option "$_t" "$_n" "$_v" >> "$2" || exit 1
	done < "$1"
}

# dns_start RECORDS_FILE [TTL]: starts dnsmasq; exports DNS_PORT, DNS_LOG,
# DNS_PID, DNS_DIR. Several instances may run; the last one is "current".
dns_start() {
	[ -r "$1" ] || dns_die "no records file $1"
	[ -x "$DNS_DNSMASQ" ] || dns_die "$DNS_DNSMASQ missing (apt-get install dnsmasq-base)"
	DNS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dns.XXXXXX") || dns_die "mktemp failed"
	DNS_ALL_DIRS="$DNS_ALL_DIRS $DNS_DIR"
	dns_records_to_options "$1" "$DNS_DIR/options"
	DNS_LOG=$DNS_DIR/queries.log
	_ttl=${2:-${DNS_TTL:-300}}
	for _try in 1 2 3 4 5 6 7 8 9 10; do
		DNS_PORT=$(dns_free_port) || dns_die "no free port"
		if dns_launch "$_ttl"; then
			export DNS_PORT DNS_LOG DNS_PID DNS_DIR
			echo "dns.sh: dnsmasq on 127.0.0.1:$DNS_PORT (pid $DNS_PID, ttl $_ttl)" >&2
			return 0
		fi
	done
	cat "$DNS_DIR/stderr" >&2
	dns_die "dnsmasq did not start"
}

# Runs dnsmasq on DNS_PORT; waits until it is serving. Fails if it exits.
dns_launch() {
	_lttl=$1
	: > "$DNS_LOG"
	# The options file holds one option a line; the big TXT records go on
	# the command line because dnsmasq's config files limit line length.
	_oldifs=$IFS
	IFS='
'
	# shellcheck disable=SC2046
	set -- $(cat "$DNS_DIR/options")
	IFS=$_oldifs
	_listen=127.0.0.1
	[ -z "${DNS_IPV6:-}" ] || _listen=127.0.0.1,::1
	"$DNS_DNSMASQ" --keep-in-foreground --conf-file=/dev/null \
		--listen-address="$_listen" --bind-interfaces --port="$DNS_PORT" \
		--no-resolv --no-hosts --no-poll --local=/#/ --local-ttl="$_lttl" \
		--log-queries --log-facility="$DNS_LOG" --pid-file="$DNS_DIR/pid" \
		--cache-size=0 --user="$(id -un)" --group="$(id -gn)" \
		"$@" 2> "$DNS_DIR/stderr" &
	DNS_PID=$!
	DNS_ALL_PIDS="$DNS_ALL_PIDS $DNS_PID"
	_i=0
	while [ $_i -lt 100 ]; do
		kill -0 "$DNS_PID" 2> /dev/null || { wait "$DNS_PID" 2> /dev/null || :; return 1; }
		grep -q 'started, version' "$DNS_LOG" 2> /dev/null && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# Stops the current dnsmasq (or the one whose pid is given).
dns_stop() {
	_pid=${1:-$DNS_PID}
	[ -n "$_pid" ] || return 0
	kill "$_pid" 2> /dev/null || :
	wait "$_pid" 2> /dev/null || :
	return 0
}

# dns_query_count NAME [LOG]: queries (any type, UDP and TCP) for NAME the
# server logged. Case-insensitive.
dns_query_count() {
	sleep 0.05    # let dnsmasq's log catch up
	awk -v name="$1" '
		$5 ~ /^query\[/ && tolower($6) == tolower(name) { n++ }
		END { print n + 0 }' "${2:-$DNS_LOG}"
}

# dns_fake_start MODE: a fake UDP+TCP server on 127.0.0.1. MODE: silent
# (reads and never answers), servfail, refused, wrongname (a TXT answer for
# another owner name), garbage (random bytes), slow (answers FAKEDNS_TXT
# after FAKEDNS_DELAY seconds). With FAKEDNS_LOG set, every query name is
# appended to that file. Exports DNS_FAKE_PORT, DNS_FAKE_PID.
dns_fake_start() {
	_dir=$(mktemp -d "${TMPDIR:-/tmp}/dnsfake.XXXXXX") || dns_die "mktemp failed"
	DNS_ALL_DIRS="$DNS_ALL_DIRS $_dir"
	"$DNS_PYTHON" "$DNS_FAKE_SCRIPT" "$1" "$_dir/port" 2> "$_dir/stderr" &
	DNS_FAKE_PID=$!
	DNS_ALL_PIDS="$DNS_ALL_PIDS $DNS_FAKE_PID"
	_i=0
	while [ ! -s "$_dir/port" ] && [ $_i -lt 100 ]; do
		kill -0 "$DNS_FAKE_PID" 2> /dev/null || break
		sleep 0.05
		_i=$((_i + 1))
	done
	[ -s "$_dir/port" ] || { cat "$_dir/stderr" >&2; dns_die "fake DNS server ($1) did not start"; }
	DNS_FAKE_PORT=$(cat "$_dir/port")
	export DNS_FAKE_PORT DNS_FAKE_PID
	echo "dns.sh: fake DNS ($1) on 127.0.0.1:$DNS_FAKE_PORT" >&2
}

# dns_keygen DIR SELECTOR rsa|ed25519 [BITS]: writes DIR/SELECTOR.private
# (PEM, PKCS#8) and prints the key record "v=DKIM1; k=...; p=...".
dns_keygen() {
	_key=$1/$2.private
	case $3 in
	rsa)
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${4:-2048}" \
			-out "$_key" 2> /dev/null || dns_die "openssl genpkey failed"
		_p=$(openssl pkey -in "$_key" -pubout -outform DER | base64 -w0) ;;
	ed25519)
		openssl genpkey -algorithm ED25519 -out "$_key" 2> /dev/null \
			|| dns_die "openssl genpkey failed"
		# RFC 8463 §4.2: p= is the raw 32-byte public key, not the SPKI.
		_p=$(openssl pkey -in "$_key" -pubout -outform DER | tail -c 32 | base64 -w0) ;;
	*)
		dns_die "dns_keygen: unknown key type $3" ;;
	esac
	chmod 600 "$_key"
	printf 'v=DKIM1; k=%s; p=%s\n' "$3" "$_p"
}

# Stops every server started here and removes their directories.
dns_cleanup() {
	for _pid in $DNS_ALL_PIDS; do
		kill "$_pid" 2> /dev/null || :
	done
	for _pid in $DNS_ALL_PIDS; do
		wait "$_pid" 2> /dev/null || :
	done
	DNS_ALL_PIDS=""
	for _d in $DNS_ALL_DIRS; do
		[ -n "${DNS_KEEP:-}" ] || rm -rf "$_d"
	done
	DNS_ALL_DIRS=""
}

trap dns_cleanup EXIT
trap 'exit 1' INT TERM HUP
