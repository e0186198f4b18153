#!/bin/sh
# dsn:pgsql data sets: KeyTable, SigningTable and InternalHosts in a
# PostgreSQL 15 started here (initdb in a temporary directory, its own port
# on 127.0.0.1, password authentication), through the milter protocol
# (tests/milter/dsn-common.sh), and an outage of the database.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/db-servers.sh"

pg_setup
DB_BIG="repeat('x', 1048576)"

. "$top_srcdir/tests/milter/dsn-common.sh"
dsn_run
mt_nogrep "$MT_LOG" 'secret-pw-42' "the password is not logged"
mt_nogrep "$T/n-bad.out" 'secret-pw-42' "the password is not in -n output"
mt_ok "the password appears nowhere"
