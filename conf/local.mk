# conf: sample configuration, tables and Postfix lines (checked by
# tests/unit/test_config, which loads them).
EXTRA_DIST += conf/opendkim.conf conf/KeyTable conf/SigningTable \
	conf/TrustedHosts conf/postfix-main.cf.sample
