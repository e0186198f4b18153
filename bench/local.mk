# bench: the milter load client (bench/milterload), the side-by-side runner
# against Debian's OpenDKIM (bench/run, by hand: it takes minutes; results in
# bench/RESULTS.md), and a fast latency regression test in make check.
noinst_PROGRAMS += bench/milterload
bench_milterload_SOURCES = bench/milterload.c
bench_milterload_LDADD = $(PTHREAD_LIBS)

dist_noinst_SCRIPTS += bench/run
EXTRA_DIST += bench/RESULTS.md bench/latency.sh bench/naivemilter.py

# p50 under 5 ms over TCP with a client that, like Postfix, leaves Nagle on
# and does not force quick ACKs.
TESTS += bench/latency.sh
