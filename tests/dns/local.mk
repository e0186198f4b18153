# tests/dns: the c-ares key resolver against loopback DNS servers.
# tests/dns/dns.sh starts dnsmasq and the fake servers, then runs
# test_resolver (which needs them, so it is not itself in TESTS).
check_PROGRAMS += tests/dns/test_resolver
tests_dns_test_resolver_SOURCES = tests/dns/test_resolver.c
tests_dns_test_resolver_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
TESTS += tests/dns/dns.sh
EXTRA_DIST += tests/dns/dns.sh tests/dns/fakedns.py tests/dns/answer_seeds.py \
	tests/lib/dns.sh tests/fuzz/corpus/dnsanswer

# dkim_resolver_answer on stored answers (the fuzzer's seeds): no network.
check_PROGRAMS += tests/dns/test_answer
tests_dns_test_answer_SOURCES = tests/dns/test_answer.c
tests_dns_test_answer_LDADD = $(DKIM_LIBS) $(CRITERION_LIBS)
TESTS += tests/dns/test_answer

# End to end: dkimpy-signed messages, keys from dnsmasq through c-ares.
check_PROGRAMS += tests/dns/verify_dns
tests_dns_verify_dns_SOURCES = tests/dns/verify_dns.c
tests_dns_verify_dns_LDADD = $(DKIM_LIBS)
TESTS += tests/dns/e2e.sh
EXTRA_DIST += tests/dns/e2e.sh

# The fuzz target for DNS answers (its corpus is listed above).
EXTRA_DIST += tests/fuzz/fuzz_dnsanswer.c
