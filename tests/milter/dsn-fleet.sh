#!/bin/sh
# A fleet: two milter instances share one PostgreSQL KeyTable and
# SigningTable of 100 000 domains (a key per domain, as a provider keeps
# them); both sign for a domain inserted while they run, within the ttl,
# without a reload. Prints how long a read of the tables takes and the
# milter's resident memory with them.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/db-servers.sh"

pg_setup
N=100000
mt_keygen sel rsa 2048 example.com
# Every domain of the table publishes the same key (one TXT record for the
# domains the test sends as).
for _d in d99999.example new.example; do
	sed -n "s/^txt sel\._domainkey\.example\.com /txt sel._domainkey.$_d /p" \
		"$T/records" >> "$T/records"
done
dns_start "$T/records"
db_sql "CREATE TABLE dkim_keys (id VARCHAR(255) PRIMARY KEY, domain_name VARCHAR(255), selector VARCHAR(63), private_key TEXT)" \
	"CREATE TABLE dkim_signing (author VARCHAR(255), dkim_id VARCHAR(255))" \
	"INSERT INTO dkim_keys SELECT 'd' || i || '.example', 'd' || i || '.example', 'sel', '$T/keys/sel.private' FROM generate_series(1, $N - 1) AS i" \
	"INSERT INTO dkim_keys VALUES ('example.com', 'example.com', 'sel', '$T/keys/sel.private')" \
	"INSERT INTO dkim_signing SELECT id, id FROM dkim_keys"

fleet_config() {
	MT_PORT=$(mt_free_port)
	mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile'
	cat <<CONF
KeyTable	$DSN/table=dkim_keys?keycol=id?datacol=domain_name,selector,private_key?ttl=2
SigningTable	$DSN/table=dkim_signing?keycol=author?datacol=dkim_id?ttl=2
CONF
}
fleet_config > "$T/a.conf"
fleet_config > "$T/b.conf"

# The time of one read of both tables (and of parsing the keys): -n.
_t0=$(date +%s%N)
"$MT_DAEMON" -n -x "$T/a.conf" > "$T/n.out" 2>&1 || { cat "$T/n.out" >&2; mt_fail "-n"; }
_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
echo "figure: -n reads $N KeyTable and $N SigningTable rows in $_ms ms"

mt_start "$T/a.conf"
A_PID=$MT_PID A_SOCKET=$MT_SOCKET A_LOG=$MT_LOG
mt_start "$T/b.conf"
B_PID=$MT_PID B_SOCKET=$MT_SOCKET B_LOG=$MT_LOG

# fleet_signed SOCKET DOMAIN: true when that instance signs for DOMAIN.
fleet_signed() {
	MT_SOCKET=$1
	mt_message "$T/m-$2.eml" "$2"
	mt_send "$T/out-$2-${1##*:}.eml" "$T/m-$2.eml"
	grep -q '^DKIM-Signature:' "$T/out-$2-${1##*:}.eml" || return 1
	mt_verify "$T/out-$2-${1##*:}.eml"
}
for _s in "$A_SOCKET" "$B_SOCKET"; do
	fleet_signed "$_s" d99999.example || mt_fail "$_s does not sign for a domain of the table"
	fleet_signed "$_s" new.example && mt_fail "$_s signs for new.example before it is in the table"
done
mt_ok "two instances sign from the shared $N-domain tables"

_t0=$(date +%s)
db_sql "INSERT INTO dkim_keys VALUES ('new.example', 'new.example', 'sel', '$T/keys/sel.private')" \
	"INSERT INTO dkim_signing VALUES ('new.example', 'new.example')"
for _s in "$A_SOCKET" "$B_SOCKET"; do
	_i=0
	until fleet_signed "$_s" new.example; do
		_i=$((_i + 1))
		[ $_i -lt 60 ] || mt_fail "$_s: new.example not signed 30 s after its insert (ttl 2 s)"
		sleep 0.5
	done
done
echo "figure: both instances signed for the inserted domain after $(( $(date +%s) - _t0 )) s (ttl 2 s)"
mt_ok "a domain inserted while both run is signed by both within the ttl"

for _p in "$A_PID" "$B_PID"; do
	echo "figure: milter $_p resident memory with $N rows: $(awk '/^VmRSS/ { print $2, $3 }' /proc/$_p/status)"
done
mt_nogrep "$A_LOG" 'secret-pw-42' "the password is not logged"
MT_PID=$B_PID MT_LOG=$B_LOG
mt_stop
MT_PID=$A_PID MT_LOG=$A_LOG
mt_stop
