# tests/genkey: opendkim-genkey and opendkim-testkey.
check_PROGRAMS += tests/genkey/test_record
tests_genkey_test_record_SOURCES = tests/genkey/test_record.c
tests_genkey_test_record_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/genkey
tests_genkey_test_record_LDADD = genkey/libgenkey.a $(DKIM_LIBS) $(CRITERION_LIBS)

TESTS += tests/genkey/test_record tests/genkey/genkey.sh
dist_noinst_SCRIPTS += tests/genkey/genkey.sh

# The round trip: genkey -> DNS -> sign/verify (dkimpy, libdkim) -> testkey.
check_PROGRAMS += tests/genkey/dkim_roundtrip
tests_genkey_dkim_roundtrip_SOURCES = tests/genkey/dkim_roundtrip.c
tests_genkey_dkim_roundtrip_LDADD = $(DKIM_LIBS)
TESTS += tests/genkey/roundtrip.sh tests/genkey/testkey.sh
dist_noinst_SCRIPTS += tests/genkey/roundtrip.sh tests/genkey/testkey.sh
