# tests/unit: the engine (libdkim/sig.c, libdkim/msg.c) and the RFC 8463
# Appendix A vectors through the whole engine. test_msg and test_rfc8463
# use the key helper tests/unit/testkeys.c and tests/data/.
check_PROGRAMS += tests/unit/test_sig tests/unit/test_msg tests/unit/test_rfc8463 \
	tests/unit/test_domain
TESTS += tests/unit/test_sig tests/unit/test_msg tests/unit/test_rfc8463 \
	tests/unit/test_domain

# ARC (RFC 8617) chain validation, driven by the ARC signing suite's
# scenarios in tests/data/arc/ (see make_vectors.py there).
check_PROGRAMS += tests/unit/test_arc
TESTS += tests/unit/test_arc
tests_unit_test_arc_SOURCES = tests/unit/test_arc.c \
	tests/unit/testkeys.c tests/unit/testkeys.h
tests_unit_test_arc_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_arc_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/data/arc tests/fuzz/fuzz_arc.c tests/fuzz/corpus/arc

tests_unit_test_sig_SOURCES = tests/unit/test_sig.c
tests_unit_test_sig_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)

# dkim_domain_valid (libdkim/domain.c), every form.
tests_unit_test_domain_SOURCES = tests/unit/test_domain.c
tests_unit_test_domain_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)

tests_unit_test_msg_SOURCES = tests/unit/test_msg.c \
	tests/unit/testkeys.c tests/unit/testkeys.h
tests_unit_test_msg_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_msg_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)

tests_unit_test_rfc8463_SOURCES = tests/unit/test_rfc8463.c \
	tests/unit/testkeys.c tests/unit/testkeys.h
tests_unit_test_rfc8463_CPPFLAGS = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_rfc8463_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)

EXTRA_DIST += tests/fuzz/fuzz_sig.c tests/fuzz/fuzz_msg.c \
	tests/fuzz/corpus/sig tests/fuzz/corpus/msg
EXTRA_DIST += tests/fuzz/fuzz_signverify.c tests/fuzz/corpus/signverify
