# tests/milter: the milter daemon. Unit tests of its pure parts; black-box
# tests of the real daemon through the milter protocol (our client and
# Debian's miltertest), on loopback DNS (tests/lib/dns.sh); end to end
# through a private Postfix instance. Helpers: lib.sh (start the daemon,
# keys, checks), postfix.sh + smtpsink.py (Postfix and its SMTP sink),
# dkimverify.py (dkimpy as an independent verifier).

# Unit tests.
check_PROGRAMS += tests/milter/test_authres tests/milter/test_verdict \
	tests/milter/test_log
tests_milter_test_authres_SOURCES = tests/milter/test_authres.c \
	opendkim/authres.c opendkim/authres.h
tests_milter_test_authres_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
tests_milter_test_verdict_SOURCES = tests/milter/test_verdict.c \
	opendkim/verdict.c opendkim/verdict.h
tests_milter_test_verdict_LDADD = opendkim/libodkcore.a $(DKIM_LIBS) $(CRITERION_LIBS)
tests_milter_test_log_SOURCES = tests/milter/test_log.c \
	opendkim/log.c opendkim/log.h
tests_milter_test_log_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
TESTS += tests/milter/test_authres tests/milter/test_verdict tests/milter/test_log

# A milter protocol client playing the MTA (as Postfix does).
check_PROGRAMS += tests/milter/miltclient
tests_milter_miltclient_SOURCES = tests/milter/miltclient.c
tests_milter_miltclient_CPPFLAGS = $(MPROTO_CPPFLAGS)
tests_milter_miltclient_LDADD = $(MPROTO_LIBS)

# Black-box tests of the daemon.
milter_black_box_tests = tests/milter/sign.sh tests/milter/verify.sh tests/milter/actions.sh \
	tests/milter/arremove.sh tests/milter/reload.sh tests/milter/cli.sh \
	tests/milter/miltertest.sh tests/milter/postfix-e2e.sh tests/milter/postfix-macros.sh tests/milter/postfix-arc.sh \
	tests/milter/metrics.sh \
	tests/milter/notify.sh tests/milter/promconf.sh tests/milter/arc-cli.sh tests/milter/arc-seal.sh \
	tests/milter/dsn-sqlite.sh tests/milter/dsn-pgsql.sh tests/milter/dsn-mysql.sh \
	tests/milter/ldap.sh tests/milter/ldap-sasl.sh tests/milter/dsn-fleet.sh
TESTS += $(milter_black_box_tests)
EXTRA_DIST += $(milter_black_box_tests) tests/milter/lib.sh tests/milter/dkimverify.py \
	tests/milter/dsn-common.sh tests/milter/db-servers.sh tests/milter/lsan-sasl.supp \
	tests/milter/dkimsign.py \
	tests/milter/postfix.sh tests/milter/smtpsink.py \
	tests/milter/lua/common.lua tests/milter/lua/sign-verify.lua \
	tests/milter/lua/arremove.lua tests/milter/httphostile.py tests/milter/notify.py \
	tests/milter/alerts.test.yml

# The fuzz target for Authentication-Results, with seeds.
EXTRA_DIST += tests/fuzz/fuzz_authres.c tests/fuzz/corpus/authres

# The fuzz target for arcseal.c's readers of message fields, with seeds.
EXTRA_DIST += tests/fuzz/fuzz_arcseal.c tests/fuzz/corpus/arcseal
