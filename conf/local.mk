# conf: sample configuration, tables and Postfix lines (checked by
# tests/unit/test_config, which loads them).
EXTRA_DIST += conf/opendkim.conf conf/KeyTable conf/SigningTable \
	conf/TrustedHosts conf/postfix-main.cf.sample \
	conf/dkim-tables.sql conf/dkim-tables.ldif

# A mailing list's host with ARC (tests/unit/test_config loads it).
EXTRA_DIST += conf/arc-mailing-list.conf conf/arc-KeyTable conf/arc-SigningTable

# Prometheus: a scrape example and alert rules (tests/milter/promconf.sh).
EXTRA_DIST += conf/prometheus.yml conf/dkimd-alerts.yml

# The demo configuration and message of scripts/demo.
EXTRA_DIST += conf/demo/opendkim.conf.in conf/demo/sample.eml
