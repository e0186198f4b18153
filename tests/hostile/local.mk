# tests/hostile: the daemon under hostile input, faults and load (see
# tests/RELIABILITY.md). Each script starts its own loopback DNS and daemon.
HOSTILE_TESTS = tests/hostile/config.sh tests/hostile/keys.sh \
	tests/hostile/authres.sh tests/hostile/load.sh tests/hostile/faults.sh \
	tests/hostile/messages.sh tests/hostile/signatures.sh
TESTS += $(HOSTILE_TESTS)
EXTRA_DIST += $(HOSTILE_TESTS) tests/hostile/lib.sh tests/hostile/mclient.py \
	tests/hostile/messages.py tests/hostile/signatures.py \
	tests/hostile/authres.py tests/hostile/keyrecords.py tests/hostile/load.py
