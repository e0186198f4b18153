#!/bin/sh
# conf/prometheus.yml and conf/dkimd-alerts.yml: Prometheus's own checker
# accepts them, and the two alerts (signing failures, DNS temporary
# errors) fire when they should and not otherwise (alerts.test.yml, run by
# promtool test rules). Reads the source tree only.
command -v promtool > /dev/null ||
	{ echo "FAIL: promtool missing (Debian package prometheus)" >&2; exit 1; }
conf=$top_srcdir/conf
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
promtool check rules "$conf/dkimd-alerts.yml" || fail "promtool check rules"
echo "ok: promtool check rules conf/dkimd-alerts.yml"
promtool check config "$conf/prometheus.yml" || fail "promtool check config"
echo "ok: promtool check config conf/prometheus.yml"
# rule_files in the test are relative to its directory.
(cd "$top_srcdir/tests/milter" && promtool test rules alerts.test.yml) || fail "promtool test rules"
echo "ok: promtool test rules: the alerts fire when they should"
