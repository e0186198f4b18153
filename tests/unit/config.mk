# tests/unit: configuration, data sets, host lists, keys and policy.
ODKCORE_TEST_LDADD = $(ODKCORE_LIBS) $(DKIM_LIBS) $(CRITERION_LIBS)

check_PROGRAMS += tests/unit/test_dataset tests/unit/test_hostlist \
	tests/unit/test_config
TESTS += tests/unit/test_dataset tests/unit/test_hostlist \
	tests/unit/test_config

tests_unit_test_dataset_SOURCES = tests/unit/test_dataset.c
tests_unit_test_dataset_LDADD = $(ODKCORE_TEST_LDADD)
tests_unit_test_hostlist_SOURCES = tests/unit/test_hostlist.c
tests_unit_test_hostlist_LDADD = $(ODKCORE_TEST_LDADD)
tests_unit_test_config_SOURCES = tests/unit/test_config.c \
	tests/unit/odk_testutil.c tests/unit/odk_testutil.h
tests_unit_test_config_LDADD = $(ODKCORE_TEST_LDADD)
tests_unit_test_config_CPPFLAGS = $(AM_CPPFLAGS) \
	-DODK_TOP_SRCDIR='"$(abs_top_srcdir)"'

check_PROGRAMS += tests/unit/test_policy
TESTS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c \
	tests/unit/odk_testutil.c tests/unit/odk_testutil.h
tests_unit_test_policy_LDADD = $(ODKCORE_TEST_LDADD)

# The per-message log line (opendkim/msglog.c), without a milter.
check_PROGRAMS += tests/unit/test_msglog
TESTS += tests/unit/test_msglog
tests_unit_test_msglog_SOURCES = tests/unit/test_msglog.c
tests_unit_test_msglog_LDADD = $(ODKCORE_TEST_LDADD)

check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_LDADD = $(ODKCORE_TEST_LDADD)

check_PROGRAMS += tests/unit/test_dsn
TESTS += tests/unit/test_dsn
tests_unit_test_dsn_SOURCES = tests/unit/test_dsn.c
tests_unit_test_dsn_LDADD = $(ODKCORE_TEST_LDADD)

# Fuzz targets for the configuration, data sets and host lists, with seeds.
EXTRA_DIST += tests/fuzz/fuzz_dsn.c tests/fuzz/corpus/dsn \
	tests/fuzz/fuzz_ldapfilter.c tests/fuzz/corpus/ldapfilter
EXTRA_DIST += tests/fuzz/fuzz_config.c tests/fuzz/fuzz_dataset.c \
	tests/fuzz/fuzz_hostlist.c tests/fuzz/corpus/config \
	tests/fuzz/corpus/dataset tests/fuzz/corpus/hostlist
