# tests/lib: helpers the tests and the benchmark share. mproto is the MTA's
# side of the milter protocol, linked by tests/milter/miltclient and
# bench/milterload (dns.sh, the loopback DNS, is listed in tests/dns).
noinst_LIBRARIES += tests/lib/libmproto.a
tests_lib_libmproto_a_SOURCES = tests/lib/mproto.c tests/lib/mproto.h
MPROTO_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
MPROTO_LIBS = tests/lib/libmproto.a
