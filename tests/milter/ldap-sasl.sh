#!/bin/sh
# SASL binds to a directory (LDAPAuthMechanism, RFC 4513 §5.2) against an
# OpenLDAP slapd started here (db-servers.sh's ldap_setup) whose ACLs let
# no one read the tables but cn=reader,dc=test: anonymous reads, and reads
# as any other identity, find nothing. A SASL identity becomes cn=reader
# only through slapd's authz-regexp, so a table read proves the SASL bind:
#  - ldapi: with EXTERNAL: slapd maps the peer credentials
#    (gidNumber=G+uidNumber=U,cn=peercred,cn=external,cn=auth) to
#    cn=reader; signed and verified through the milter protocol;
#  - ldap: with DIGEST-MD5 as LDAPAuthName dkim (cn=dkim,dc=test, which may
#    not read) with LDAPBindPassword, acting as LDAPAuthUser
#    dn:cn=reader,dc=test (an authorization identity dkim may assume:
#    authzTo): signed; without LDAPAuthUser nothing is found; an
#    identity dkim may not assume, a wrong password and an unknown
#    mechanism are load errors at -n as FILE:LINE, without the password.
. "$top_srcdir/tests/milter/lib.sh"
. "$top_srcdir/tests/milter/db-servers.sh"

# Sanitizer builds: Cyrus SASL's DIGEST-MD5 plugin leaks at each bind
# (lsan-sasl.supp says what); the full unwinder lets the suppression see
# the plugin's frames below libcrypto's.
LSAN_OPTIONS="suppressions=$top_srcdir/tests/milter/lsan-sasl.supp:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

"$MT_DAEMON" -V | grep -q '^  ldap: .*SASL binds' || mt_fail "this build has no SASL binds (libsasl2-dev)"

# slapd.conf fragments (temporary files; nothing under /etc).
mkdir "$T/slapd"
cat > "$T/slapd/global.conf" <<'EOF'
authz-policy to
authz-regexp "^gidNumber=[0-9]+[+]uidNumber=[0-9]+,cn=peercred,cn=external,cn=auth$" "cn=reader,dc=test"
authz-regexp "^uid=([^,]+),cn=digest-md5,cn=auth$" "cn=$1,dc=test"
EOF
# auth: slapd's own SASL lookup of the password (its default auxprop reads
# a cleartext userPassword) happens as anonymous.
cat > "$T/slapd/db.conf" <<'EOF'
access to attrs=userPassword
	by anonymous auth
	by * none
access to dn.subtree="dc=test"
	by dn.exact="cn=reader,dc=test" read
	by anonymous auth
	by * none
EOF
ldap_setup "global:$T/slapd/global.conf" "db:$T/slapd/db.conf"

mt_keygen sel rsa 2048 example.com
dns_start "$T/records"
{
	ldap_base
	ldap_key k1 example.com
	ldap_signing example.com k1
	printf 'dn: cn=reader,dc=test\nobjectClass: organizationalRole\ncn: reader\n\n'
	printf 'dn: cn=dkim,dc=test\nobjectClass: person\ncn: dkim\nsn: dkim\nuserPassword: sasl-pw-17\nauthzTo: dn:cn=reader,dc=test\n\n'
} > "$LT/base.ldif"
ldap_add "$LT/base.ldif"

# sasl_config URI KEY VALUE...: the tables at URI, and the LDAP keys.
sasl_config() {
	mt_config | grep -v -e '^Domain' -e '^Selector' -e '^KeyFile'
	printf 'KeyTable\t%s/ou=keys,dc=test?associatedDomain,ou,description?one?(cn=$d)\n' "$1"
	printf 'SigningTable\t%s/ou=signing,dc=test?description?one?(associatedDomain=$d)\n' "$1"
	printf 'InternalHosts\t192.0.2.0/24\nLDAPTimeout\t2\n'
	shift
	while [ $# -ge 2 ]; do
		printf '%s\t%s\n' "$1" "$2"
		shift 2
	done
}

# Anonymous: the directory shows nothing (the proof below rests on it).
sasl_config "$LDAPI_URI" > "$T/anon.conf"
"$MT_DAEMON" -n -x "$T/anon.conf" > "$T/n-anon.out" 2>&1 && mt_fail "-n read the tables anonymously: the ACLs prove nothing"
mt_grep "$T/n-anon.out" "^$T/anon.conf:[0-9]+: data set 'ldapi://.*search failed: (No such object|Insufficient access)" "anonymous: nothing found"

sasl_config "$LDAPI_URI" LDAPAuthMechanism EXTERNAL > "$T/ext.conf"
"$MT_DAEMON" -n -x "$T/ext.conf" > "$T/n-ext.out" 2>&1 || { cat "$T/n-ext.out" >&2; mt_fail "-n with EXTERNAL over ldapi:"; }
mt_nogrep "$T/n-ext.out" 'LDAP' "LDAP keys are not reported"
mt_start "$T/ext.conf"
db_signed "$T/e1.eml" example.com -a 192.0.2.5 || mt_fail "example.com not signed with the tables read over EXTERNAL"
mt_stop
mt_ok "ldapi: with LDAPAuthMechanism EXTERNAL: peer credentials mapped by slapd, tables read, signed, dkimpy verifies"

digest() {
	sasl_config "$LDAP_URI" LDAPAuthMechanism DIGEST-MD5 LDAPAuthName dkim \
		LDAPBindPassword "$@"
}
digest sasl-pw-17 LDAPAuthUser dn:cn=reader,dc=test > "$T/digest.conf"
"$MT_DAEMON" -n -x "$T/digest.conf" > "$T/n-digest.out" 2>&1 || { cat "$T/n-digest.out" >&2; mt_fail "-n with DIGEST-MD5"; }
mt_nogrep "$T/n-digest.out" 'LDAP' "LDAP keys are not reported"
mt_start "$T/digest.conf"
db_signed "$T/d1.eml" example.com -a 192.0.2.5 || mt_fail "example.com not signed with the tables read over DIGEST-MD5"
mt_stop
mt_nogrep "$MT_LOG" 'sasl-pw-17' "the password is not logged"
mt_ok "ldap: with DIGEST-MD5, LDAPAuthName, LDAPBindPassword, LDAPAuthUser: tables read, signed"

digest sasl-pw-17 > "$T/noauthz.conf"
"$MT_DAEMON" -n -x "$T/noauthz.conf" > "$T/n-noauthz.out" 2>&1 && mt_fail "-n read the tables as dkim, which may not read them"
mt_grep "$T/n-noauthz.out" "^$T/noauthz.conf:[0-9]+: data set 'ldap://.*search failed: (No such object|Insufficient access)" "without LDAPAuthUser: nothing found"
digest sasl-pw-17 LDAPAuthUser dn:cn=admin,dc=test > "$T/badauthz.conf"
"$MT_DAEMON" -n -x "$T/badauthz.conf" > "$T/n-badauthz.out" 2>&1 && mt_fail "-n accepted an authorization identity dkim may not assume"
mt_grep "$T/n-badauthz.out" "^$T/badauthz.conf:[0-9]+: data set 'ldap://.*cannot bind with SASL DIGEST-MD5 as dkim: Insufficient access" "an authorization identity refused: FILE:LINE, the reason"
mt_ok "LDAPAuthUser is the authorization identity: without it nothing is read, one refused is a load error"

digest wrong-pw-99 LDAPAuthUser dn:cn=reader,dc=test > "$T/badpw.conf"
"$MT_DAEMON" -n -x "$T/badpw.conf" > "$T/n-badpw.out" 2>&1 && mt_fail "-n accepted a wrong SASL password"
mt_grep "$T/n-badpw.out" "^$T/badpw.conf:[0-9]+: data set 'ldap://.*cannot bind with SASL DIGEST-MD5 as dkim: Invalid credentials" "a wrong password: FILE:LINE, the mechanism, the name, the reason"
mt_nogrep "$T/n-badpw.out" 'wrong-pw-99' "-n shows no password"
sasl_config "$LDAP_URI" LDAPAuthMechanism NO-SUCH-MECH > "$T/nomech.conf"
"$MT_DAEMON" -n -x "$T/nomech.conf" > "$T/n-nomech.out" 2>&1 && mt_fail "-n accepted an unknown SASL mechanism"
mt_grep "$T/n-nomech.out" "^$T/nomech.conf:[0-9]+: data set 'ldap://.*cannot bind with SASL NO-SUCH-MECH" "an unknown mechanism: FILE:LINE"
sasl_config "$LDAP_URI" LDAPAuthMechanism 'DIGEST MD5' > "$T/badmech.conf"
"$MT_DAEMON" -n -x "$T/badmech.conf" > "$T/n-badmech.out" 2>&1 && mt_fail "-n accepted a malformed mechanism name"
mt_grep "$T/n-badmech.out" "^$T/badmech.conf:[0-9]+: data set 'ldap://.*LDAPAuthMechanism 'DIGEST MD5' is neither simple nor a SASL mechanism name" "a malformed mechanism: FILE:LINE"
mt_ok "a wrong password, an unknown or malformed mechanism: load errors at -n as FILE:LINE, without the password"
