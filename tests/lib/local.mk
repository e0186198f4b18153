# tests/lib: helpers the tests and the benchmark share. libmproto is the
# MTA's side of the milter protocol (mproto) and the message it carries
# (mproto_msg), linked by tests/milter/miltclient and bench/milterload
# (dns.sh, the loopback DNS, is listed in tests/dns).
noinst_LIBRARIES += tests/lib/libmproto.a
tests_lib_libmproto_a_SOURCES = tests/lib/mproto.c tests/lib/mproto.h \
	tests/lib/mproto_msg.c tests/lib/mproto_msg.h
MPROTO_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
MPROTO_LIBS = tests/lib/libmproto.a

# Its unit tests: a scripted milter on a socketpair.
check_PROGRAMS += tests/lib/test_mproto
tests_lib_test_mproto_SOURCES = tests/lib/test_mproto.c
tests_lib_test_mproto_CPPFLAGS = $(MPROTO_CPPFLAGS)
tests_lib_test_mproto_LDADD = $(MPROTO_LIBS) $(CRITERION_LIBS)
TESTS += tests/lib/test_mproto

# reach.py: can the user a server drops root to reach the files it needs?
# (tests say which directory stops it rather than only "Permission denied").
EXTRA_DIST += tests/lib/reach.py
