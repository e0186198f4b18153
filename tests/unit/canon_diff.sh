#!/bin/sh
# tests/unit/canon_diff.sh - differential test of relaxed header
# canonicalization: libdkim (through canon_tool) against dkimpy on 5000
# random fields; see canon_diff.py. dkimpy is Debian's python3-dkim (from
# scripts/install-deps); its absence is a failure, not a skip.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
python=/usr/bin/python3
"$python" -c 'import dkim' 2>/dev/null || {
	echo "canon_diff: needs $python with python3-dkim" >&2
	exit 1
}
exec "$python" "$top_srcdir/tests/unit/canon_diff.py" \
	"$top_builddir/tests/unit/canon_tool" "${CANON_DIFF_COUNT:-5000}"
