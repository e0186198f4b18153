#!/bin/sh
# dsn:pgsql data sets: KeyTable, SigningTable and InternalHosts in a
# PostgreSQL 15 started here (initdb in a temporary directory, its own port
# on 127.0.0.1, password authentication), through the milter protocol
# (tests/milter/dsn-common.sh), and an outage of the database.
. "$top_srcdir/tests/milter/lib.sh"

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$PG_BIN/initdb" ] || { echo "SKIP: $PG_BIN/initdb missing (postgresql)"; exit 77; }
"$MT_DAEMON" -V | grep -q '^  dsn: databases:.*pgsql' || mt_fail "this build has no pgsql support (libpq-dev)"

# PostgreSQL refuses to run as root: as root it runs as nobody, in a
# directory of its own outside $T (which only root may enter).
PGT=$(mktemp -d "${TMPDIR:-/tmp}/dsn-pgsql.XXXXXX") || exit 1
as_db() { (cd "$PGT" && "$@"); }
if [ "$(id -u)" -eq 0 ]; then
	chown nobody "$PGT"
	as_db() { (cd "$PGT" && runuser -u nobody -- "$@"); }
fi
pg_cleanup() {
	as_db "$PG_BIN/pg_ctl" -D "$PGT/data" -m immediate stop > /dev/null 2>&1
	rm -rf "$PGT"
}
trap 'pg_cleanup; mt_cleanup' EXIT
MT_EXTRA_LOGS="postgresql:$PGT/pg.log"

PG_PORT=$(mt_free_port)
echo secret-pw-42 > "$PGT/pw"
as_db "$PG_BIN/initdb" -D "$PGT/data" -U dkim --pwfile="$PGT/pw" --auth=scram-sha-256 \
	> "$PGT/initdb.log" 2>&1 || { cat "$PGT/initdb.log" >&2; mt_fail "initdb"; }
db_start() {
	as_db "$PG_BIN/pg_ctl" -D "$PGT/data" -l "$PGT/pg.log" -w -t 30 \
		-o "-p $PG_PORT -k $PGT -c listen_addresses=127.0.0.1" start > /dev/null ||
		mt_fail "postgres did not start"
}
db_stop() {
	as_db "$PG_BIN/pg_ctl" -D "$PGT/data" -m fast -w stop > /dev/null || mt_fail "postgres did not stop"
}
db_start
export PGPASSWORD=secret-pw-42
psql -q -h 127.0.0.1 -p "$PG_PORT" -U dkim -d postgres -c "CREATE DATABASE dkim" > /dev/null ||
	mt_fail "CREATE DATABASE"

db_sql() {
	for _q in "$@"; do
		printf '%s;\n' "$_q"
	done | psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U dkim -d dkim > "$T/sql.out" 2>&1 ||
		{ cat "$T/sql.out" >&2; mt_fail "psql: $1"; }
}

DSN="dsn:pgsql://dkim:secret-pw-42@$PG_PORT+127.0.0.1/dkim"
DSN_BAD="dsn:pgsql://dkim:wrongpass@$PG_PORT+127.0.0.1/dkim"
DB_BIG="repeat('x', 1048576)"

. "$top_srcdir/tests/milter/dsn-common.sh"
dsn_run
mt_nogrep "$MT_LOG" 'secret-pw-42' "the password is not logged"
mt_nogrep "$T/n-bad.out" 'secret-pw-42' "the password is not in -n output"
mt_ok "the password appears nowhere"
