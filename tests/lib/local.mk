# tests/lib: helpers the tests and the benchmark share. libmproto is the
# MTA's side of the milter protocol (mproto) and the message it carries
# (mproto_msg), linked by tests/milter/miltclient and bench/milterload
# (dns.sh, the loopback DNS, is listed in tests/dns).
noinst_LIBRARIES += tests/lib/libmproto.a
tests_lib_libmproto_a_SOURCES = tests/lib/mproto.c tests/lib/mproto.h \
	tests/lib/mproto_msg.c tests/lib/mproto_msg.h
MPROTO_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/lib
MPROTO_LIBS = tests/lib/libmproto.a
