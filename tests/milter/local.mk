# tests/milter: the milter daemon tested through the milter protocol (our
# client and Debian's miltertest) and end to end through a private Postfix.

check_PROGRAMS += tests/milter/test_authres
tests_milter_test_authres_SOURCES = tests/milter/test_authres.c \
	opendkim/authres.c opendkim/authres.h
tests_milter_test_authres_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
TESTS += tests/milter/test_authres
