#!/bin/sh
# dsn:sqlite3 data sets: KeyTable, SigningTable and InternalHosts in an
# SQLite file, through the milter protocol (tests/milter/dsn-common.sh).
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/db-servers.sh"

"$MT_DAEMON" -V | grep -q '^  dsn: databases:.*sqlite3' || {
	echo "SKIP: this build has no sqlite3 support"; exit 77; }
command -v sqlite3 > /dev/null || mt_fail "sqlite3 missing (scripts/install-deps)"

DB=$T/tables.db
DSN=dsn:sqlite3://$DB
DSN_BAD=dsn:sqlite3://user:wrongpass@$T/missing.db
DB_BIG="replace(hex(zeroblob(524288)), '0', 'x')"
DB_NUL="CAST(x'6e756c00782e6578616d706c65' AS TEXT)"

# The daemon reads the tables every second (ttl=1): a write that meets its
# read lock waits for it (.timeout) instead of failing "database is locked".
db_sql() {
	for _q in "$@"; do
		printf '%s;\n' "$_q"
	done | sqlite3 -cmd '.timeout 5000' "$DB" > "$T/sql.out" 2>&1 || { cat "$T/sql.out" >&2; mt_fail "sqlite3: $1"; }
}

. "$top_srcdir/tests/milter/dsn-common.sh"
dsn_run
