#!/bin/sh
# ldap: data sets: KeyTable, SigningTable and InternalHosts in an OpenLDAP
# slapd started here (slapd.conf and an mdb database in a temporary
# directory, its own port on 127.0.0.1), read with LDAPBindUser and
# LDAPBindPassword, through the milter protocol: signed and verified; an
# entry added is signed for and one deleted is not, within the ttl; -n
# reports a bad password as FILE:LINE without it; an outage keeps the
# entries read before; recovery without a restart.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/db-servers.sh"

ldap_setup

mt_keygen sel rsa 2048 example.com
sed -n 's/^txt sel\._domainkey\.example\.com /txt sel._domainkey.example.org /p' \
	"$T/records" >> "$T/records"
dns_start "$T/records"

{
	ldap_base
	ldap_key k1 example.com
	ldap_key k2 example.org
	ldap_signing example.com k1
	printf 'dn: cn=192.0.2.0/24,ou=hosts,dc=test\nobjectClass: organizationalRole\ncn: 192.0.2.0/24\n\n'
} > "$LT/base.ldif"
ldap_add "$LT/base.ldif"

ldap_config() {
	mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile'
	printf 'KeyTable\t%s/ou=keys,dc=test?associatedDomain,ou,description?one?(cn=$d)?x-ttl=1\n' "$LDAP_URI"
	printf 'SigningTable\t%s/ou=signing,dc=test?description?one?(associatedDomain=$d)?x-ttl=1\n' "$LDAP_URI"
	printf 'InternalHosts\t%s/ou=hosts,dc=test?cn?one?(cn=$d)?x-ttl=1\n' "$LDAP_URI"
	printf 'LDAPBindUser\tcn=admin,dc=test\nLDAPBindPassword\t%s\nLDAPTimeout\t2\n' "$1"
	printf 'LDAPKeepaliveIdle\t30\nLDAPKeepaliveInterval\t5\nLDAPKeepaliveProbes\t3\n'
}
ldap_config secret-pw-42 > "$T/ldap.conf"
ldap_config wrongpass > "$T/bad.conf"

"$MT_DAEMON" -n -x "$T/ldap.conf" > "$T/n.out" 2>&1 || { cat "$T/n.out" >&2; mt_fail "-n on the LDAP configuration"; }
mt_nogrep "$T/n.out" 'LDAP' "LDAP keys are not reported as unsupported"
"$MT_DAEMON" -n -x "$T/bad.conf" > "$T/n-bad.out" 2>&1 && mt_fail "-n accepted a bad LDAP password"
mt_grep "$T/n-bad.out" "^$T/bad.conf:[0-9]+: data set 'ldap://.*cannot bind as cn=admin,dc=test: Invalid credentials" "-n: FILE:LINE, the data set, the reason"
mt_nogrep "$T/n-bad.out" 'wrongpass' "-n shows no password"
mt_ok "-n reads the directory; a bad password is FILE:LINE without the password"

# A key that does nothing here is said by -n (the SASL keys, which a simple
# bind does not use, are not); a bad keepalive value is an error.
{ cat "$T/ldap.conf"; printf 'LDAPAuthRealm\tEXAMPLE\nLDAPAuthName\tdkim\nLDAPDisableCache\tyes\n'; } > "$T/inert.conf"
"$MT_DAEMON" -n -x "$T/inert.conf" > "$T/n-inert.out" 2>&1 || { cat "$T/n-inert.out" >&2; mt_fail "-n with inert LDAP keys"; }
mt_grep "$T/n-inert.out" "inert.conf:[0-9]+: OpenDKIM option 'LDAPDisableCache' is not supported and is ignored" "-n warns about LDAPDisableCache yes"
mt_nogrep "$T/n-inert.out" "LDAPAuth" "-n takes the SASL keys"
sed 's/^LDAPKeepaliveIdle.*/LDAPKeepaliveIdle\tsoon/' "$T/ldap.conf" > "$T/ka.conf"
"$MT_DAEMON" -n -x "$T/ka.conf" > "$T/n-ka.out" 2>&1 && mt_fail "-n accepted LDAPKeepaliveIdle soon"
mt_grep "$T/n-ka.out" "LDAPKeepaliveIdle: 'soon' is not 1 to 86400" "bad keepalive value named"
mt_ok "keepalive keys applied; a key that does nothing is warned about at -n"

mt_start "$T/ldap.conf"
db_signed "$T/s1.eml" example.com -a 192.0.2.5 || mt_fail "example.com not signed"
db_signed "$T/s2.eml" example.com -a 198.51.100.7 && mt_fail "client outside the InternalHosts entries signed"
db_signed "$T/s3.eml" example.org -a 192.0.2.5 && mt_fail "example.org signed before it has an entry"
mt_ok "KeyTable, SigningTable and InternalHosts from slapd: signed, dkimpy verifies"

ldap_signing example.org k2 > "$LT/org.ldif"
ldap_add "$LT/org.ldif"
db_wait_signed example.org yes
ldap_delete cn=example.com,ou=signing,dc=test
db_wait_signed example.com no
mt_ok "an entry added is signed for, one deleted is not, within the ttl"

db_stop
sleep 2.5
db_signed "$T/o1.eml" example.org -a 192.0.2.5 || mt_fail "example.org not signed while slapd is down"
_t0=$(date +%s%N)
mt_send "$T/o3.eml" "$T/m-example.com.eml" -a 192.0.2.5
_ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
[ "$_ms" -lt 1500 ] || mt_fail "a message took $_ms ms with the directory down: it waited for it"
[ "$(mt_fate "$T/o3.eml.result")" = tempfail ] || mt_fail "a domain missing from a stale SigningTable is not tempfail"
sleep 2
_n=$(grep -c 'using the copy read before' "$MT_LOG")
[ "$_n" -eq 3 ] || mt_fail "the outage is said $_n times, not once per data set (3)"
db_start
ldap_signing example.com k1 > "$LT/com.ldif"
ldap_add "$LT/com.ldif"
db_wait_signed example.com yes
mt_grep "$MT_LOG" 'outage is over' "recovery said"
mt_nogrep "$MT_LOG" 'secret-pw-42' "the password is not logged"
mt_ok "slapd down: entries read before keep signing, others tempfail, said once; recovers"
mt_stop

# The directory down at start: an error naming FILE:LINE, unless
# LDAPSoftStart, which starts with empty, stale data sets (tempfail, not
# unsigned) and signs once slapd answers.
db_stop
"$MT_DAEMON" -n -x "$T/ldap.conf" > "$T/n-down.out" 2>&1 && mt_fail "-n accepted an unreachable directory"
mt_grep "$T/n-down.out" "^$T/ldap.conf:[0-9]+: data set 'ldap://" "-n: FILE:LINE of the unreachable data set"
{ grep -v '^InternalHosts' "$T/ldap.conf"; printf 'InternalHosts\t192.0.2.0/24\nLDAPSoftStart\tyes\n'; } > "$T/soft.conf"
mt_start "$T/soft.conf"
mt_grep "$MT_LOG" 'LDAPSoftStart: starting without its entries' "soft start said"
mt_message "$T/m-soft.eml" example.org
mt_send "$T/soft1.eml" "$T/m-soft.eml" -a 192.0.2.5
[ "$(mt_fate "$T/soft1.eml.result")" = tempfail ] || mt_fail "soft start: a message before the first read is not tempfail"
db_start
db_wait_signed example.org yes
mt_stop
mt_ok "LDAPSoftStart: starts with the directory down, tempfail until it is read, then signs"
