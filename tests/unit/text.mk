# tests/unit: the text layer of libdkim (util, taglist, canon, bodyhash,
# header) and its fuzz targets (built by tests/fuzz/run).
text_tests = tests/unit/test_util tests/unit/test_taglist tests/unit/test_canon \
	tests/unit/test_bodyhash tests/unit/test_header
check_PROGRAMS += $(text_tests)
TESTS += $(text_tests)
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
tests_unit_test_taglist_SOURCES = tests/unit/test_taglist.c
tests_unit_test_taglist_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
tests_unit_test_canon_SOURCES = tests/unit/test_canon.c
tests_unit_test_canon_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
tests_unit_test_bodyhash_SOURCES = tests/unit/test_bodyhash.c
tests_unit_test_bodyhash_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
tests_unit_test_header_SOURCES = tests/unit/test_header.c
tests_unit_test_header_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)

EXTRA_DIST += tests/fuzz/fuzz_taglist.c tests/fuzz/fuzz_canon.c \
	tests/fuzz/fuzz_header.c tests/fuzz/corpus/taglist \
	tests/fuzz/corpus/canon tests/fuzz/corpus/header

# Relaxed header canonicalization against dkimpy's (issue 16).
check_PROGRAMS += tests/unit/canon_tool
tests_unit_canon_tool_SOURCES = tests/unit/canon_tool.c
tests_unit_canon_tool_LDADD = $(DKIM_LIBS)
TESTS += tests/unit/canon_diff.sh
EXTRA_DIST += tests/unit/canon_diff.sh tests/unit/canon_diff.py
