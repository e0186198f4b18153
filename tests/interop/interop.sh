#!/bin/sh
# tests/interop/interop.sh - libdkim against independent DKIM implementations
# from Debian: dkimpy (python3-dkim, python3-nacl for Ed25519) and OpenDKIM
# 2.11 (opendkim's offline test mode). Runs interop.py over the corpus of
# gen_corpus.py: both algorithms, the four canonicalizations, both
# directions, plus tampering. See interop.py for the list of checks.
#
# Needs /usr/bin/python3 with dkim and nacl, /usr/sbin/opendkim and openssl
# (all from scripts/install-deps); a missing one is a failure, not a skip.
# On failure the messages involved are copied to
# $top_builddir/tests/interop/failed/ for reproduction.
set -eu

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"

# Debian's interpreter: the python3-* packages live there, whatever python3
# comes first in PATH.
python=/usr/bin/python3
opendkim=/usr/sbin/opendkim
dkimtool=$top_builddir/tests/interop/dkimtool

fail() {
	echo "interop: $*" >&2
	exit 1
}

"$python" -c 'import dkim, nacl.signing' 2>/dev/null ||
	fail "needs $python with python3-dkim and python3-nacl (scripts/install-deps)"
[ -x "$opendkim" ] || fail "needs $opendkim (package opendkim)"
command -v openssl >/dev/null || fail "needs openssl"
[ -x "$dkimtool" ] || fail "$dkimtool not built (make check builds it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/interop.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

status=0
timeout 600 "$python" "$top_srcdir/tests/interop/interop.py" \
	--dkimtool "$dkimtool" --opendkim "$opendkim" --workdir "$work" ||
	status=$?
if [ "$status" -ne 0 ] && [ -d "$work/failed" ]; then
	rm -rf "$top_builddir/tests/interop/failed"
	cp -r "$work/failed" "$top_builddir/tests/interop/failed"
	echo "interop: failing messages kept in $top_builddir/tests/interop/failed/"
fi
exit "$status"
