# tests/unit: configuration, data sets, host lists, keys and policy.
ODKCONF_TEST_LDADD = $(ODKCONF_LIBS) $(DKIM_LIBS) $(CRITERION_LIBS)

check_PROGRAMS += tests/unit/test_dataset
TESTS += tests/unit/test_dataset

tests_unit_test_dataset_SOURCES = tests/unit/test_dataset.c
tests_unit_test_dataset_LDADD = $(ODKCONF_TEST_LDADD)
