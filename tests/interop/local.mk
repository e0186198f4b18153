# tests/interop: libdkim against dkimpy and OpenDKIM over a generated corpus
# of awkward messages. dkimtool is a small signer/verifier CLI over the
# public API (dkim.h) that the harness drives.
check_PROGRAMS += tests/interop/dkimtool
tests_interop_dkimtool_SOURCES = tests/interop/dkimtool.c
tests_interop_dkimtool_LDADD = $(DKIM_LIBS)
TESTS += tests/interop/interop.sh tests/interop/relaxed_tail.sh tests/interop/arc.sh
EXTRA_DIST += tests/interop/interop.sh tests/interop/relaxed_tail.sh tests/interop/interop.py \
	tests/interop/arc.sh tests/interop/arc_dkimpy.py \
	tests/interop/gen_corpus.py
