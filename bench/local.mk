# bench: the milter load client (bench/milterload), the side-by-side runner
# against Debian's OpenDKIM (bench/run, by hand: it takes minutes; results in
# bench/RESULTS.md), and fast regression tests in make check (latency,
# replies).
noinst_PROGRAMS += bench/milterload
bench_milterload_SOURCES = bench/milterload.c
bench_milterload_CPPFLAGS = $(MPROTO_CPPFLAGS)
bench_milterload_LDADD = $(MPROTO_LIBS) $(PTHREAD_LIBS)

dist_noinst_SCRIPTS += bench/run bench/metrics bench/arc.sh bench/dataset bench/headers.sh
EXTRA_DIST += bench/RESULTS.md bench/latency.sh bench/naivemilter.py bench/replies.sh \
	bench/replies.py

# p50 under 5 ms over TCP with a client that, like Postfix, leaves Nagle on
# and does not force quick ACKs.
TESTS += bench/latency.sh

# The milter answers only the protocol steps it must (each reply is a write
# and an MTA round trip per message).
TESTS += bench/replies.sh
