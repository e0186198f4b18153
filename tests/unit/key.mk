# tests/unit: libdkim/key.c (private keys, key records, sign/verify).
# testkeys.c is a helper other unit tests may link too (see testkeys.h).
check_PROGRAMS += tests/unit/test_key
TESTS += tests/unit/test_key
tests_unit_test_key_SOURCES = tests/unit/test_key.c \
	tests/unit/testkeys.c tests/unit/testkeys.h
tests_unit_test_key_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_key_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/data/keys tests/data/rfc8463 tests/fuzz/fuzz_keyrec.c \
	tests/fuzz/corpus/keyrec
