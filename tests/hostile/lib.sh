# tests/hostile/lib.sh - common part of the hostile-input tests (POSIX sh).
# Sources tests/milter/lib.sh (temp dir $T, loopback DNS, the daemon) and
# adds:
#     hs_python SCRIPT ARGS...   runs a tests/hostile Python script with
#                                mclient.py importable; fails the test on
#                                a non-zero exit
#     hs_alive WHAT              the daemon is still running and answers a
#                                plain message
#     hs_finish                  SIGTERM; the daemon must exit 0 within
#                                10 s (under ASan: no leak) and its log
#                                must hold no sanitizer report
. "$top_srcdir/tests/milter/lib.sh"

HS_DIR=$top_srcdir/tests/hostile
HS_PY="env PYTHONPATH=$HS_DIR $MT_PYTHON"

hs_python() {
	_s=$1
	shift
	$HS_PY "$HS_DIR/$_s" "$@" || mt_fail "$_s $*"
}

hs_sanitizer_clean() {
	! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$1" ||
		{ grep -E -A 30 'Sanitizer|runtime error' "$1" | head -n 60 >&2; mt_fail "sanitizer report in $1"; }
}

hs_alive() {
	kill -0 "$MT_PID" 2> /dev/null || mt_fail "daemon died ($1)"
	[ -f "$T/alive.eml" ] || mt_message "$T/alive.eml"
	mt_send "$T/alive.out" "$T/alive.eml"
	mt_grep "$T/alive.out" '^DKIM-Signature:' "daemon still signs ($1)"
	hs_sanitizer_clean "$MT_LOG"
}

hs_finish() {
	[ -n "${MT_PID:-}" ] || return 0
	kill -TERM "$MT_PID" 2> /dev/null
	# Prompt: no message may stay "in flight" after its client hung up.
	_i=0
	while kill -0 "$MT_PID" 2> /dev/null; do
		# exited but not reaped yet (a zombie) counts as exited
		[ "$(cut -d' ' -f3 "/proc/$MT_PID/stat" 2> /dev/null)" != Z ] || break
		[ $_i -lt 200 ] || mt_fail "daemon still running 10 s after SIGTERM"
		sleep 0.05
		_i=$((_i + 1))
	done
	_st=0
	wait "$MT_PID" 2> /dev/null || _st=$?
	MT_PID=""
	hs_sanitizer_clean "$MT_LOG"
	[ "$_st" -eq 0 ] || mt_fail "daemon exit status $_st after SIGTERM"
}
