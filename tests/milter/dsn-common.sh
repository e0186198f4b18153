# tests/milter/dsn-common.sh - what every "dsn:" backend test checks, through
# the milter protocol, with tables that exist only in the database (POSIX sh).
#
# The test sources lib.sh, starts its database, then defines
#     db_sql SQL...   run SQL statements in the test database (fails the
#                     test when they fail)
#     DSN             the data set name up to the database ("dsn:pgsql://
#                     user@PORT+127.0.0.1/dkim"), without a password
#     DSN_BAD         the same with a wrong password (or unreadable), for -n
#     DB_BIG          an SQL expression of a 1 MB string (DB_TEXT: a type
#                     that holds it, TEXT by default)
#     DB_NUL          an SQL expression of a string holding a NUL byte,
#                     when the database can store one
# and optionally db_stop / db_start (an outage), then sources this file and
# calls dsn_run.

# The tables, as README.SQL of OpenDKIM lays them out: a KeyTable keyed by an
# id, a SigningTable from author pattern to id, a host list.
dsn_schema() {
	db_sql "CREATE TABLE dkim_keys (id VARCHAR(64), domain_name VARCHAR(255), selector VARCHAR(63), private_key TEXT)" \
		"CREATE TABLE dkim_signing (author VARCHAR(255), dkim_id ${DB_TEXT:-TEXT})" \
		"CREATE TABLE dkim_internal (host VARCHAR(255))" \
		"INSERT INTO dkim_keys VALUES ('k1', 'example.com', 'sel', '$T/keys/sel.private')" \
		"INSERT INTO dkim_keys VALUES ('k2', 'example.org', 'sel', '$T/keys/sel.private')" \
		"INSERT INTO dkim_signing VALUES ('example.com', 'k1')" \
		"INSERT INTO dkim_internal VALUES ('192.0.2.0/24')"
}

# The configuration: every table from the database, read again each second
# (DataSetTTL for those naming no ttl=).
dsn_config() {
	mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile'
	cat <<EOF
DataSetTTL	1
KeyTable	$DSN/table=dkim_keys?keycol=id?datacol=domain_name,selector,private_key?timeout=2
SigningTable	$DSN/table=dkim_signing?keycol=author?datacol=dkim_id?timeout=2
InternalHosts	$DSN/table=dkim_internal?keycol=host?datacol=host?timeout=2
EOF
}

# Outage: the tables read before keep signing the domains they list; a
# domain they do not list may have been added since, so it is tempfail
# (On-InternalError), not accepted unsigned; each data set's failure is
# said once (FILE:LINE, the data set, the reason) and its recovery once;
# no message waits for the database; recovery without a restart.
dsn_outage() {
	db_stop
	sleep 2.5
	db_signed "$T/o1.eml" example.org -a 192.0.2.5 || mt_fail "example.org not signed while the database is down"
	_t0=$(date +%s%N)
	mt_send "$T/o2.eml" "$T/m-example.com.eml" -a 192.0.2.5
	_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
	[ "$_ms" -lt 1500 ] || mt_fail "a message took $_ms ms with the database down: it waited for it"
	[ "$(mt_fate "$T/o2.eml.result")" = tempfail ] ||
		{ cat "$T/o2.eml.result" >&2; mt_fail "a domain missing from a stale SigningTable is not tempfail"; }
	mt_nogrep "$T/o2.eml" '^DKIM-Signature:' "signed from a stale table"
	mt_grep "$MT_LOG" "SigningTable '.*' could not be read again and has no entry for 'example.com'.*action=tempfail" "the tempfail is logged with its cause"
	mt_send "$T/o3.eml" "$T/m-example.org.eml" -a 198.51.100.7
	[ "$(mt_fate "$T/o3.eml.result")" = tempfail ] ||
		mt_fail "a client missing from a stale InternalHosts, sending as a signed domain, is not tempfail"
	mt_message "$T/m-foreign.eml" foreign.example
	mt_send "$T/o4.eml" "$T/m-foreign.eml" -a 198.51.100.7
	[ "$(mt_fate "$T/o4.eml.result")" = accept ] || mt_fail "mail from outside for a domain not signed here is not verified as usual"
	sleep 2
	_n=$(grep -c 'using the copy read before' "$MT_LOG")
	[ "$_n" -eq 3 ] || mt_fail "the outage is said $_n times, not once per data set (3)"
	mt_grep "$MT_LOG" "^.*$T/dsn.conf:[0-9]+: data set '.*table=dkim_signing.*': .*using the copy read before" "the outage names FILE:LINE and the data set"
	db_start
	db_sql "INSERT INTO dkim_signing VALUES ('example.com', 'k1')"
	db_wait_signed example.com yes
	_n=$(grep -c 'data set read again: the outage is over' "$MT_LOG")
	[ "$_n" -eq 3 ] || mt_fail "the recovery is said $_n times, not once per data set (3)"
	mt_ok "database down: cached domains signed, others tempfail, no waiting, said once; recovers"
}

dsn_run() {
	mt_keygen sel rsa 2048 example.com
	sed -n 's/^txt sel\._domainkey\.example\.com /txt sel._domainkey.example.org /p' \
		"$T/records" >> "$T/records"
	dns_start "$T/records"
	dsn_schema
	dsn_config > "$T/dsn.conf"

	# -n reads the tables; a bad password is FILE:LINE and never printed.
	"$MT_DAEMON" -n -x "$T/dsn.conf" > "$T/n.out" 2>&1 ||
		{ cat "$T/n.out" >&2; mt_fail "-n on the database configuration"; }
	sed "s|$DSN/|$DSN_BAD/|" "$T/dsn.conf" > "$T/bad.conf"
	"$MT_DAEMON" -n -x "$T/bad.conf" > "$T/n-bad.out" 2>&1 &&
		mt_fail "-n accepted a data set it cannot read"
	mt_grep "$T/n-bad.out" "^$T/bad.conf:[0-9]+: data set 'dsn:" "-n names FILE:LINE and the data set"
	mt_nogrep "$T/n-bad.out" 'wrongpass' "-n shows no password"
	mt_ok "-n reads the tables; a failure is FILE:LINE without the password"

	mt_start "$T/dsn.conf"
	db_signed "$T/s1.eml" example.com -a 192.0.2.5 || mt_fail "example.com not signed for an InternalHosts client from the table"
	mt_grep "$MT_LOG" 'signed domain=example.com selector=sel' "log line"
	db_signed "$T/s2.eml" example.com -a 198.51.100.7 && mt_fail "client outside the InternalHosts table signed"
	db_signed "$T/s3.eml" example.org -a 192.0.2.5 && mt_fail "example.org signed before it is in the SigningTable"
	mt_ok "KeyTable, SigningTable and InternalHosts from the database: signed, dkimpy verifies"

	# A domain added while the milter runs is signed within the ttl (1 s);
	# one removed stops being signed. No reload, no restart.
	db_sql "INSERT INTO dkim_signing VALUES ('example.org', 'k2')"
	db_wait_signed example.org yes
	db_sql "DELETE FROM dkim_signing WHERE author = 'example.com'"
	db_wait_signed example.com no
	mt_ok "a row added is signed for, a row removed is not, within the ttl"

	# The refresh reads the data sets, not opendkim.conf: an edit waits
	# for SIGHUP (operators expect that of OpenDKIM).
	echo "Canonicalization	simple/simple" >> "$T/dsn.conf"
	sleep 2.5
	db_signed "$T/c1.eml" example.org -a 192.0.2.5 || mt_fail "example.org not signed"
	mt_grep "$T/c1.eml" 'c=relaxed/simple;' "an edited opendkim.conf is not read by the refresh"
	mt_reload
	db_signed "$T/c2.eml" example.org -a 192.0.2.5 || mt_fail "example.org not signed after SIGHUP"
	mt_grep "$T/c2.eml" 'c=simple/simple;' "SIGHUP reads the edited opendkim.conf"
	mt_ok "the ttl refresh reads the tables only; SIGHUP reads opendkim.conf"

	# The looked-up address never reaches SQL: an address that would drop
	# the table if it were pasted into a query is only a key.
	cat > "$T/evil.eml" <<'EOF'
From: <"x'; DROP TABLE dkim_signing; --"@example.org>
To: bob@example.net
Subject: hostile

body
EOF
	mt_send "$T/evil.out" "$T/evil.eml" -a 192.0.2.5
	mt_grep "$T/evil.out" '^DKIM-Signature:' "hostile address of a signed domain"
	sleep 1.5
	db_signed "$T/s4.eml" example.org -a 192.0.2.5 || mt_fail "the SigningTable is gone"
	mt_ok "an address with '; DROP TABLE is just a key"

	# Hostile rows: a malformed key refuses the new tables, the ones read
	# before keep signing; a NUL byte or a 1 MB value is skipped.
	db_sql "INSERT INTO dkim_keys VALUES ('k3', 'example.net', 'sel', 'not-a-key')"
	sleep 2.5
	db_signed "$T/s5.eml" example.org -a 192.0.2.5 || mt_fail "a malformed key row stopped the signing"
	mt_grep "$MT_LOG" "key 'k3'" "the malformed row is named"
	[ "$(grep -c 'could not be read again' "$MT_LOG")" -eq 1 ] || mt_fail "the failure is not said exactly once"
	db_sql "DELETE FROM dkim_keys WHERE id = 'k3'"
	db_sql "INSERT INTO dkim_signing VALUES ('big.example', $DB_BIG)"
	[ -z "${DB_NUL:-}" ] || db_sql "INSERT INTO dkim_signing VALUES ($DB_NUL, 'k1')" \
		"INSERT INTO dkim_signing VALUES ('nul.example', $DB_NUL)"
	db_sql "INSERT INTO dkim_signing VALUES ('example.net', 'k1')"
	db_wait_signed example.net yes
	mt_grep "$MT_LOG" 'outage is over' "recovery said"
	mt_ok "malformed key: tables read before stay; 1 MB value skipped"

	if command -v db_stop > /dev/null 2>&1; then
		dsn_outage
	fi
	mt_stop
}
