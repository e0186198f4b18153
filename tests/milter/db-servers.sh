# tests/milter/db-servers.sh - the database servers the data-set tests
# start (POSIX sh, sourced after lib.sh). Each server runs from a temporary
# directory of its own, on a free loopback port, and is stopped by the
# trap that db_trap installs, even when the test fails.
#
#     db_wait PID WHAT CMD...   polls CMD (up to 30 s) until it succeeds;
#                               fails the test when PID exits first
#     pg_setup                  PostgreSQL 15: initdb with the password
#                               secret-pw-42 for user dkim, a database
#                               "dkim"; defines db_start, db_stop, db_sql,
#                               PG_PORT and DSN / DSN_BAD (dsn:pgsql://...)
#     ldap_setup [INCLUDE...]   OpenLDAP slapd: slapd.conf and an mdb
#                               database "dc=test" (rootdn cn=admin,dc=test,
#                               password secret-pw-42) in $T/ldap, on
#                               LDAP_URI (ldap://127.0.0.1:PORT) and
#                               LDAPI_URI (ldapi://, a socket in $T/ldap);
#                               each INCLUDE is a slapd.conf fragment read
#                               before (global) or after (database) the
#                               "database" line: "global:FILE" or "db:FILE".
#                               Defines db_start, db_stop, ldap_add LDIF,
#                               ldap_delete DN..., ldap_base (the LDIF of
#                               dc=test and ou=keys, signing, hosts),
#                               ldap_key NAME DOMAIN, ldap_signing DOMAIN KEY
#     db_trap CLEANUP           trap: CLEANUP, then mt_cleanup
#     db_signed, db_wait_signed  did the milter sign (below)

db_trap() {
	trap "$1; mt_cleanup" EXIT
}

db_wait() {
	_pid=$1
	_what=$2
	shift 2
	_i=0
	until "$@" > /dev/null 2>&1; do
		kill -0 "$_pid" 2> /dev/null || mt_fail "$_what exited at start"
		[ $_i -lt 300 ] || mt_fail "$_what did not start"
		sleep 0.1
		_i=$((_i + 1))
	done
}

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# PostgreSQL refuses to run as root: as root it runs as nobody, in a
# directory of its own outside $T (which only root may enter).
pg_setup() {
	[ -x "$PG_BIN/initdb" ] || { echo "SKIP: $PG_BIN/initdb missing (postgresql)"; exit 77; }
	"$MT_DAEMON" -V | grep -q '^  dsn: databases:.*pgsql' || mt_fail "this build has no pgsql support (libpq-dev)"
	PGT=$(mktemp -d "${TMPDIR:-/tmp}/dsn-pgsql.XXXXXX") || exit 1
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$PGT"
		as_db() { (cd "$PGT" && runuser -u nobody -- "$@"); }
	else
		as_db() { (cd "$PGT" && "$@"); }
	fi
	pg_cleanup() {
		as_db "$PG_BIN/pg_ctl" -D "$PGT/data" -m immediate stop > /dev/null 2>&1
		rm -rf "$PGT"
	}
	db_trap pg_cleanup
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
	db_sql() {
		for _q in "$@"; do
			printf '%s;\n' "$_q"
		done | psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U dkim -d dkim > "$T/sql.out" 2>&1 ||
			{ cat "$T/sql.out" >&2; mt_fail "psql: $1"; }
	}
	db_start
	export PGPASSWORD=secret-pw-42
	psql -q -h 127.0.0.1 -p "$PG_PORT" -U dkim -d postgres -c "CREATE DATABASE dkim" > /dev/null ||
		mt_fail "CREATE DATABASE"
	DSN="dsn:pgsql://dkim:secret-pw-42@$PG_PORT+127.0.0.1/dkim"
	DSN_BAD="dsn:pgsql://dkim:wrongpass@$PG_PORT+127.0.0.1/dkim"
}

SLAPD=${SLAPD:-/usr/sbin/slapd}

ldap_setup() {
	[ -x "$SLAPD" ] || { echo "SKIP: $SLAPD missing (slapd)"; exit 77; }
	"$MT_DAEMON" -V | grep -q '^  data sets:.* ldap:' || mt_fail "this build has no LDAP support (libldap-dev)"
	command -v ldapadd > /dev/null || mt_fail "ldapadd missing (ldap-utils)"
	LT=$T/ldap
	mkdir "$LT" "$LT/db"
	LDAP_PORT=$(mt_free_port)
	LDAP_URI=ldap://127.0.0.1:$LDAP_PORT
	LDAPI_URI=ldapi://$(printf '%s' "$LT/ldapi" | sed 's,/,%2F,g')
	SLAPD_PID=""
	ldap_cleanup() {
		[ -z "$SLAPD_PID" ] || { kill "$SLAPD_PID" 2> /dev/null; wait "$SLAPD_PID" 2> /dev/null; }
	}
	db_trap ldap_cleanup
	MT_EXTRA_LOGS="slapd:$LT/slapd.log"
	{
		printf 'include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n'
		printf 'pidfile %s/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n' "$LT"
		for _inc in "$@"; do
			case $_inc in global:*) printf 'include %s\n' "${_inc#global:}" ;; esac
		done
		printf 'database mdb\nmaxsize 10485760\nsuffix "dc=test"\n'
		printf 'rootdn "cn=admin,dc=test"\nrootpw secret-pw-42\ndirectory %s/db\n' "$LT"
		for _inc in "$@"; do
			case $_inc in db:*) printf 'include %s\n' "${_inc#db:}" ;; esac
		done
	} > "$LT/slapd.conf"
	db_start() {
		"$SLAPD" -f "$LT/slapd.conf" -h "$LDAP_URI/ $LDAPI_URI/" -d 0 >> "$LT/slapd.log" 2>&1 &
		SLAPD_PID=$!
		db_wait "$SLAPD_PID" slapd ldapsearch -x -H "$LDAP_URI" -b "" -s base
	}
	db_stop() {
		kill "$SLAPD_PID" && wait "$SLAPD_PID"
		SLAPD_PID=""
	}
	ldap_add() {
		ldapadd -x -H "$LDAP_URI" -D cn=admin,dc=test -w secret-pw-42 -f "$1" > "$LT/add.out" 2>&1 ||
			{ cat "$LT/add.out" >&2; mt_fail "ldapadd $1"; }
	}
	ldap_delete() {
		ldapdelete -x -H "$LDAP_URI" -D cn=admin,dc=test -w secret-pw-42 "$@" > "$LT/del.out" 2>&1 ||
			{ cat "$LT/del.out" >&2; mt_fail "ldapdelete $*"; }
	}
	# Standard schema only: a key entry is an organizationalRole named for
	# the key with associatedDomain (d=), ou (s=) and description (the key
	# file); a signing entry maps associatedDomain to the key's name in
	# description.
	ldap_signing() {
		printf 'dn: cn=%s,ou=signing,dc=test\nobjectClass: organizationalRole\nobjectClass: domainRelatedObject\ncn: %s\nassociatedDomain: %s\ndescription: %s\n\n' \
			"$1" "$1" "$1" "$2"
	}
	ldap_key() {
		printf 'dn: cn=%s,ou=keys,dc=test\nobjectClass: organizationalRole\nobjectClass: domainRelatedObject\ncn: %s\nassociatedDomain: %s\nou: sel\ndescription: %s\n\n' \
			"$1" "$1" "$2" "$T/keys/sel.private"
	}
	ldap_base() {
		printf 'dn: dc=test\nobjectClass: dcObject\nobjectClass: organization\no: test\ndc: test\n\n'
		for _ou in keys signing hosts; do
			printf 'dn: ou=%s,dc=test\nobjectClass: organizationalUnit\nou: %s\n\n' "$_ou" "$_ou"
		done
	}
	db_start
}

# db_signed OUT FROM-DOMAIN [miltclient options]: sends a message, true
# when it came back signed (and then dkimpy verifies it).
db_signed() {
	_o=$1
	_d=$2
	shift 2
	mt_message "$T/m-$_d.eml" "$_d"
	mt_send "$_o" "$T/m-$_d.eml" "$@"
	grep -q '^DKIM-Signature:' "$_o" || return 1
	mt_verify "$_o"
}

# db_wait_signed FROM-DOMAIN yes|no: polls (up to 15 s) until messages from
# the domain are (yes) or are not (no) signed.
db_wait_signed() {
	_i=0
	while :; do
		_i=$((_i + 1))
		if db_signed "$T/w-$1-$_i.eml" "$1" -a 192.0.2.9; then _s=yes; else _s=no; fi
		[ "$_s" = "$2" ] && return 0
		[ $_i -lt 60 ] || mt_fail "$1: still signed=$_s after 15 s, want $2"
		sleep 0.25
	done
}
