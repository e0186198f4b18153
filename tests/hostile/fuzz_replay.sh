#!/bin/sh
# The fuzz_milter target (whole milter conversations into the daemon's
# message handling) replayed over its seed corpus with the regular
# compiler: its invariants hold in make check, and under ASan in the
# sanitizer build.
exec "$top_builddir/tests/hostile/milter_replay" "$top_srcdir/tests/fuzz/corpus/milter"
