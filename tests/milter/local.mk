# tests/milter: the milter daemon tested through the milter protocol (our
# client and Debian's miltertest) and end to end through a private Postfix.

check_PROGRAMS += tests/milter/test_authres
tests_milter_test_authres_SOURCES = tests/milter/test_authres.c \
	opendkim/authres.c opendkim/authres.h
tests_milter_test_authres_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
TESTS += tests/milter/test_authres

check_PROGRAMS += tests/milter/test_verdict
tests_milter_test_verdict_SOURCES = tests/milter/test_verdict.c \
	opendkim/verdict.c opendkim/verdict.h
tests_milter_test_verdict_LDADD = opendkim/libodkconf.a $(DKIM_LIBS) $(CRITERION_LIBS)
TESTS += tests/milter/test_verdict

# A milter protocol client playing the MTA (as Postfix does).
check_PROGRAMS += tests/milter/miltclient
tests_milter_miltclient_SOURCES = tests/milter/miltclient.c

EXTRA_DIST += tests/milter/lib.sh tests/milter/dkimverify.py

# Black-box tests of the daemon through the milter protocol.
TESTS += tests/milter/sign.sh
EXTRA_DIST += tests/milter/sign.sh
TESTS += tests/milter/verify.sh tests/milter/arremove.sh tests/milter/reload.sh
EXTRA_DIST += tests/milter/verify.sh tests/milter/arremove.sh tests/milter/reload.sh

# End to end through a private Postfix instance.
TESTS += tests/milter/postfix-e2e.sh
EXTRA_DIST += tests/milter/postfix-e2e.sh tests/milter/postfix.sh \
	tests/milter/smtpsink.py

# The same daemon driven by Debian's miltertest and Lua scripts.
TESTS += tests/milter/miltertest.sh
EXTRA_DIST += tests/milter/miltertest.sh tests/milter/lua/common.lua \
	tests/milter/lua/sign-verify.lua tests/milter/lua/arremove.lua
TESTS += tests/milter/cli.sh
EXTRA_DIST += tests/milter/cli.sh
