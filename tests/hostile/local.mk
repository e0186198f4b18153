# tests/hostile: the daemon under hostile input, faults and load (see
# tests/RELIABILITY.md). Each script starts its own loopback DNS and daemon.
HOSTILE_TESTS = tests/hostile/config.sh tests/hostile/keys.sh \
	tests/hostile/authres.sh tests/hostile/load.sh tests/hostile/faults.sh \
	tests/hostile/messages.sh tests/hostile/signatures.sh
TESTS += $(HOSTILE_TESTS)
EXTRA_DIST += $(HOSTILE_TESTS) tests/hostile/lib.sh tests/hostile/mclient.py \
	tests/hostile/messages.py tests/hostile/signatures.py \
	tests/hostile/authres.py tests/hostile/keyrecords.py tests/hostile/load.py

# fuzz_milter's entry point, linked without libFuzzer, over its corpus.
# fuzz_milter.c compiles opendkim/milter.c in: the modules milter.c calls
# besides libodkcore.a must be listed here (as in opendkim/local.mk).
check_PROGRAMS += tests/hostile/milter_replay
tests_hostile_milter_replay_SOURCES = tests/hostile/replay.c tests/fuzz/fuzz_milter.c \
	opendkim/authres.c opendkim/verdict.c opendkim/log.c opendkim/runtime.c opendkim/arcseal.c
tests_hostile_milter_replay_LDADD = opendkim/libodkcore.a $(DKIM_LIBS) $(MILTER_LIBS)
TESTS += tests/hostile/fuzz_replay.sh
EXTRA_DIST += tests/hostile/fuzz_replay.sh tests/fuzz/fuzz_milter.c tests/fuzz/corpus/milter

EXTRA_DIST += tests/RELIABILITY.md
