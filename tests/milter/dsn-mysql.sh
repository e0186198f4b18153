#!/bin/sh
# dsn:mysql data sets through libmariadb: KeyTable, SigningTable and
# InternalHosts in a MariaDB started here (mariadb-install-db into a
# temporary directory, its own port on 127.0.0.1 and its own socket, a user
# with a password), through the milter protocol (tests/milter/dsn-common.sh),
# and an outage of the database.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/db-servers.sh"

MY_SERVER=${MY_SERVER:-/usr/sbin/mariadbd}
MY_INSTALL=${MY_INSTALL:-/usr/bin/mariadb-install-db}
[ -x "$MY_SERVER" ] && [ -x "$MY_INSTALL" ] || { echo "SKIP: $MY_SERVER missing (mariadb-server)"; exit 77; }
"$MT_DAEMON" -V | grep -q '^  dsn: databases:.*mysql' || mt_fail "this build has no mysql support (libmariadb-dev)"

# As root the server runs as nobody, in a directory of its own outside $T.
MYT=$(mktemp -d "${TMPDIR:-/tmp}/dsn-mysql.XXXXXX") || exit 1
MY_USER=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	chown nobody "$MYT"
	MY_USER=nobody
fi
MY_PID=""
my_cleanup() {
	[ -z "$MY_PID" ] || { kill "$MY_PID" 2> /dev/null; wait "$MY_PID" 2> /dev/null; }
	rm -rf "$MYT"
}
db_trap my_cleanup
MT_EXTRA_LOGS="mariadb:$MYT/err.log"

MY_PORT=$(mt_free_port)
(cd "$MYT" && "$MY_INSTALL" --no-defaults --user="$MY_USER" --datadir="$MYT/data" \
	--auth-root-authentication-method=normal --skip-test-db > "$MYT/install.log" 2>&1) ||
	{ cat "$MYT/install.log" >&2; mt_fail "mariadb-install-db"; }
db_start() {
	(cd "$MYT" && exec "$MY_SERVER" --no-defaults --user="$MY_USER" --datadir="$MYT/data" \
		--socket="$MYT/sock" --port="$MY_PORT" --bind-address=127.0.0.1 \
		--pid-file="$MYT/pid" --log-error="$MYT/err.log" --skip-log-bin \
		--innodb-buffer-pool-size=16M --innodb-log-file-size=8M) &
	MY_PID=$!
	db_wait "$MY_PID" mariadbd mariadb --no-defaults -S "$MYT/sock" -u root -e 'SELECT 1'
}
db_stop() {
	kill "$MY_PID" && wait "$MY_PID"
	MY_PID=""
}
db_start
mariadb --no-defaults -S "$MYT/sock" -u root -e "CREATE DATABASE dkim;
	CREATE USER 'dkim'@'127.0.0.1' IDENTIFIED BY 'secret-pw-42';
	GRANT ALL ON dkim.* TO 'dkim'@'127.0.0.1';" || mt_fail "CREATE DATABASE"

db_sql() {
	for _q in "$@"; do
		printf '%s;\n' "$_q"
	done | mariadb --no-defaults -S "$MYT/sock" -u root dkim > "$T/sql.out" 2>&1 ||
		{ cat "$T/sql.out" >&2; mt_fail "mariadb: $1"; }
}

DSN="dsn:mysql://dkim:secret-pw-42@$MY_PORT+127.0.0.1/dkim"
DSN_BAD="dsn:mysql://dkim:wrongpass@$MY_PORT+127.0.0.1/dkim"
DB_TEXT=MEDIUMTEXT
DB_BIG="REPEAT('x', 1048576)"
DB_NUL="CONCAT('nul', CHAR(0), 'x.example')"

. "$top_srcdir/tests/milter/dsn-common.sh"
dsn_run
mt_nogrep "$MT_LOG" 'secret-pw-42' "the password is not logged"
mt_nogrep "$T/n-bad.out" 'secret-pw-42' "the password is not in -n output"
mt_ok "the password appears nowhere"
