/*
 * test_config.c - opendkim.conf: defaults, every key, booleans, bad values
 * with FILE:LINE, OpenDKIM options we ignore, unknown keys, Include, the
 * socket syntax, KeyTable keys (files, inline, "%", missing, unsafe), keys
 * kept or read again on a reload, and the samples in conf/.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "odkconfig.h"
#include "dataset_ldap.h"
#include "dataset_backend.h"
#include "odk_testutil.h"

static diag_list d;

static void setup(void)
{
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	diag_list_free(&d);
	odk_cleanup();
}

TestSuite(config, .init = setup, .fini = teardown);

static config *parse(const char *text, unsigned flags)
{
	return config_parse_buffer("t.conf", text, strlen(text), NULL, flags, &d);
}

static bool has(const char *needle)
{
	size_t i;

	for (i = 0; i < d.count; i++)
		if (strstr(d.msgs[i].text, needle) != NULL)
			return true;
	return false;
}

static void dump(void)
{
	size_t i;

	for (i = 0; i < d.count; i++)
		fprintf(stderr, "diag: %s\n", d.msgs[i].text);
}

/* RFC 6376 §5.4.1 "Recommended Signature Content". */
static const char *const rfc6376_sign[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date",
	"Resent-From", "Resent-To", "Resent-Cc", "In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe",
	"List-Post", "List-Owner", "List-Archive"
};

Test(config, defaults)
{
	config *cfg = parse("", 0);
	dkim_options o;

	cr_assert_not_null(cfg);
	cr_assert(cfg->sign && cfg->verify);
	cr_assert_eq(cfg->header_canon, DKIM_CANON_SIMPLE);
	cr_assert_eq(cfg->body_canon, DKIM_CANON_SIMPLE);
	cr_assert_eq(cfg->sign_alg, DKIM_ALG_RSA_SHA256);
	cr_assert_eq(cfg->min_key_bits, 1024);
	cr_assert_eq(cfg->max_signatures, 3);
	cr_assert_eq(cfg->clock_drift, 300);
	cr_assert_eq(cfg->dns_timeout, 5);
	cr_assert_eq(cfg->max_headers, 65536);
	cr_assert(cfg->require_safe_keys);
	cr_assert_eq(cfg->on_default, CONFIG_ACT_ACCEPT);
	cr_assert_eq(cfg->on_bad_signature, CONFIG_ACT_ACCEPT);
	cr_assert_eq(cfg->on_no_signature, CONFIG_ACT_ACCEPT);
	cr_assert_eq(cfg->on_key_not_found, CONFIG_ACT_ACCEPT);
	cr_assert_eq(cfg->on_dns_error, CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(cfg->on_internal_error, CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(cfg->on_security, CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(cfg->on_signature_error, CONFIG_ACT_REJECT);
	cr_assert(config_names_has(&cfg->omit_headers, "received"));
	cr_assert(config_names_has(&cfg->omit_headers, "Return-Path"));
	cr_assert(config_names_has(&cfg->sign_headers, "subject"));
	cr_assert(config_names_has(&cfg->sign_headers, "List-Unsubscribe"));
	/* RFC 6376 §5.4.1: every recommended field is signed by default */
	for (size_t i = 0; i < sizeof(rfc6376_sign) / sizeof(*rfc6376_sign); i++)
		cr_assert(config_names_has(&cfg->sign_headers, rfc6376_sign[i]),
		          "%s not signed by default", rfc6376_sign[i]);
	cr_assert_eq(cfg->oversign_headers.count, 0);
	cr_assert_str_eq(cfg->sender_headers.names[0], "From");
	cr_assert(hostlist_match_ip(cfg->internal_hosts, "127.0.0.1"));
	cr_assert(hostlist_match_ip(cfg->internal_hosts, "::1"));
	cr_assert_null(cfg->peer_list);
	cr_assert_null(cfg->authserv_id);
	cr_assert_not(cfg->has_socket);
	cr_assert(cfg->syslog);
	cr_assert(cfg->background);
	cr_assert_str_eq(cfg->syslog_name, "opendkim");
	cr_assert_not(cfg->authserv_id_with_jobid);
	cr_assert_not(cfg->remove_old_signatures);
	cr_assert_null(cfg->exempt_domains);
	cr_assert_null(cfg->dont_sign_mail_to);
	cr_assert_eq(cfg->signature_ttl, 0);
	cr_assert_eq(cfg->syslog_facility, LOG_MAIL);
	cr_assert_null(cfg->keys);
	config_dkim_options(cfg, &o);
	cr_assert_eq(o.max_signatures, 3);
	cr_assert_eq(o.max_header_bytes, 65536);
	cr_assert_eq(d.count, 0);
	config_unref(cfg);
}

Test(config, every_key)
{
	static const char text[] =
		"  mode   v   # comment\n"
		"Socket inet:8891@[127.0.0.1]\n"
		"Domain example.com,example.net\n"
		"SubDomains yes\nMultipleSignatures true\n"
		"SenderHeaders Sender,From\n"
		"InternalHosts 10.0.0.0/8\n"
		"ExternalIgnoreList csl:192.0.2.1\n"
		"PeerList .peer.example\n"
		"Canonicalization relaxed/relaxed\n"
		"SignatureAlgorithm ed25519-sha256\n"
		"SignHeaders From,Subject,To\n"
		"OversignHeaders From,Subject\n"
		"OmitHeaders *,+X-Spam,-Bcc\n"
		"MinimumKeyBits 2048\nMaximumSignaturesToVerify 7\n"
		"AuthservID mx.example.net\n"
		"AlwaysAddARHeader 1\nRemoveARAll on\nRemoveARFrom .example.org\n"
		"SoftwareHeader yes\n"
		"On-Default r\nOn-BadSignature reject\nOn-DNSError accept\n"
		"On-InternalError d\nOn-KeyNotFound q\nOn-NoSignature Tempfail\n"
		"On-Security discard\nOn-SignatureError a\n"
		"Nameservers 192.0.2.53, 192.0.2.54@5353,[2001:db8::53]:53\n"
		"DNSTimeout 9\nQueryCache no\nPidFile /run/x.pid\n"
		"UserID root:root\nUMask 027\nSyslog no\nSyslogSuccess yes\n"
		"SyslogFacility local3\nLogWhy yes\nRequireSafeKeys false\n"
		"MaximumHeaders 1000\nClockDrift 60\nMTA csl:submission\n"
		"Background no\nSignatureTTL 604800\nSyslogName dkim-out\n"
		"AuthservIDWithJobID yes\nRemoveOldSignatures yes\n"
		"ExemptDomains example.net,example.org\n"
		"DontSignMailTo csl:bob@example.net\n";
	config *cfg = parse(text, 0);
	dkim_options o;

	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(d.count, 0);
	cr_assert(!cfg->sign && cfg->verify);
	cr_assert_eq(cfg->socket.family, CONFIG_SOCK_INET);
	cr_assert_eq(cfg->socket.port, 8891);
	cr_assert_str_eq(cfg->socket.host, "127.0.0.1");
	cr_assert(dataset_contains(cfg->domains, "example.net"));
	cr_assert(cfg->subdomains && cfg->multiple_signatures);
	cr_assert_str_eq(cfg->sender_headers.names[0], "Sender");
	cr_assert(hostlist_match_ip(cfg->internal_hosts, "10.1.1.1"));
	cr_assert_not(hostlist_match_ip(cfg->internal_hosts, "127.0.0.1"));
	cr_assert(hostlist_match_ip(cfg->external_ignore, "192.0.2.1"));
	cr_assert(hostlist_match_name(cfg->peer_list, "a.peer.example"));
	cr_assert_eq(cfg->header_canon, DKIM_CANON_RELAXED);
	cr_assert_eq(cfg->body_canon, DKIM_CANON_RELAXED);
	cr_assert_eq(cfg->sign_alg, DKIM_ALG_ED25519_SHA256);
	cr_assert_eq(cfg->sign_headers.count, 3);
	cr_assert(config_names_has(&cfg->oversign_headers, "subject"));
	cr_assert(config_names_has(&cfg->omit_headers, "X-Spam"));
	cr_assert(config_names_has(&cfg->omit_headers, "Received"));
	cr_assert_not(config_names_has(&cfg->omit_headers, "Bcc"));
	cr_assert_eq(cfg->min_key_bits, 2048);
	cr_assert_eq(cfg->max_signatures, 7);
	cr_assert_str_eq(cfg->authserv_id, "mx.example.net");
	cr_assert(cfg->always_add_ar && cfg->remove_ar_all);
	cr_assert(hostlist_match_name(cfg->remove_ar_from, "mx.example.org"));
	cr_assert(cfg->software_header);
	cr_assert_eq(cfg->on_default, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_bad_signature, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_dns_error, CONFIG_ACT_ACCEPT);
	cr_assert_eq(cfg->on_internal_error, CONFIG_ACT_DISCARD);
	cr_assert_eq(cfg->on_key_not_found, CONFIG_ACT_QUARANTINE);
	cr_assert_eq(cfg->on_no_signature, CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(cfg->on_security, CONFIG_ACT_DISCARD);
	cr_assert_eq(cfg->on_signature_error, CONFIG_ACT_ACCEPT);
	cr_assert_str_eq(cfg->nameservers,
	                 "192.0.2.53,192.0.2.54@5353,[2001:db8::53]:53");
	cr_assert_eq(cfg->dns_timeout, 9);
	cr_assert_not(cfg->query_cache);
	cr_assert_str_eq(cfg->pidfile, "/run/x.pid");
	cr_assert(cfg->has_user);
	cr_assert_str_eq(cfg->user, "root");
	cr_assert_str_eq(cfg->group, "root");
	cr_assert_eq(cfg->uid, 0);
	cr_assert(cfg->has_umask);
	cr_assert_eq(cfg->umask, 027);
	cr_assert_not(cfg->syslog);
	cr_assert_not(cfg->background);
	cr_assert_eq(cfg->signature_ttl, 604800);
	cr_assert_str_eq(cfg->syslog_name, "dkim-out");
	cr_assert(cfg->authserv_id_with_jobid);
	cr_assert(cfg->remove_old_signatures);
	cr_assert_eq(cfg->exempt_domains->count, 2);
	cr_assert_eq(cfg->dont_sign_mail_to->count, 1);
	cr_assert(cfg->syslog_success && cfg->log_why);
	cr_assert_eq(cfg->syslog_facility, LOG_LOCAL3);
	cr_assert_not(cfg->require_safe_keys);
	cr_assert_eq(cfg->max_headers, 1000);
	cr_assert_eq(cfg->clock_drift, 60);
	cr_assert(dataset_contains(cfg->mtas, "submission"));
	/* the verifier's settings reach the engine */
	config_dkim_options(cfg, &o);
	cr_assert_eq(o.min_key_bits, 2048);
	cr_assert_eq(o.max_signatures, 7);
	cr_assert_eq(o.clock_drift, 60);
	cr_assert_eq(o.max_header_bytes, 1000);
	config_unref(cfg);
}

/*
 * The engine's per-field and field-count limits follow MaximumHeaders:
 * a field as large as the whole block, as many fields as the smallest
 * field ("X:" CRLF, 4 bytes) allows. MaximumHeaders 0 is the 1 MB cap the
 * milter keeps. Library users keep dkim_options_init's own defaults.
 */
Test(config, dkim_options_follow_maximum_headers)
{
	static const struct {
		const char *text;
		size_t block, fields;
	} cases[] = {
		{ "", 65536, 16384 },
		{ "MaximumHeaders 4096\n", 4096, 1024 },
		{ "MaximumHeaders 131072\n", 131072, 32768 },
		{ "MaximumHeaders 1001\n", 1001, 250 },
		{ "MaximumHeaders 0\n", 1048576, 262144 },
	};
	dkim_options o, lib;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config *cfg = parse(cases[i].text, 0);

		cr_assert_not_null(cfg, "%s", cases[i].text);
		cr_assert_eq(config_header_limit(cfg), cases[i].block, "%s", cases[i].text);
		config_dkim_options(cfg, &o);
		cr_assert_eq(o.max_header_bytes, cases[i].block, "%s", cases[i].text);
		cr_assert_eq(o.max_field_bytes, cases[i].block, "%s", cases[i].text);
		cr_assert_eq(o.max_fields, cases[i].fields, "%s", cases[i].text);
		config_unref(cfg);
	}
	dkim_options_init(&lib);
	cr_assert_eq(lib.max_field_bytes, 16384);
	cr_assert_eq(lib.max_fields, 1000);
}

/* AuthservID HOSTNAME: gethostname(), as OpenDKIM */
Test(config, authserv_id_hostname)
{
	char host[256] = "";
	config *cfg = parse("AuthservID HOSTNAME\n", 0);

	cr_assert_not_null(cfg);
	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	cr_assert_str_eq(cfg->authserv_id, host);
	config_unref(cfg);
}

Test(config, booleans_and_case)
{
	static const char *const yes[] = { "yes", "YES", "true", "1", "True" };
	static const char *const no[] = { "no", "false", "0", "FALSE" };
	char text[64];
	size_t i;
	config *cfg;

	for (i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "subdomains %s\n", yes[i]);
		cfg = parse(text, 0);
		cr_assert(cfg && cfg->subdomains, "%s", yes[i]);
		config_unref(cfg);
	}
	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "SYSLOG\t%s", no[i]);
		cfg = parse(text, 0);
		cr_assert(cfg && !cfg->syslog, "%s", no[i]);
		config_unref(cfg);
	}
	cr_assert_null(parse("Syslog maybe\n", 0));
	cr_assert(has("t.conf:1: bad value 'maybe' for Syslog: expected yes/no"));
}

/* OpenDKIM's opendkim.conf(5): On-Default "is processed before the other
 * On- values so it can be used as a blanket setting followed by specific
 * overrides", wherever it is in the file. */
Test(config, on_default_is_a_blanket_setting)
{
	config *cfg = parse("On-BadSignature quarantine\nOn-Default reject\n", 0);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->on_bad_signature, CONFIG_ACT_QUARANTINE);
	cr_assert_eq(cfg->on_default, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_no_signature, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_key_not_found, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_dns_error, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_internal_error, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_security, CONFIG_ACT_REJECT);
	cr_assert_eq(cfg->on_signature_error, CONFIG_ACT_REJECT);
	config_unref(cfg);
	/* Without On-Default, each keeps OpenDKIM's default. */
	cfg = parse("On-BadSignature reject\n", 0);
	cr_assert_eq(cfg->on_dns_error, CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(cfg->on_no_signature, CONFIG_ACT_ACCEPT);
	config_unref(cfg);
}

/* A key given twice: the last value is used, as in OpenDKIM (Debian's
 * opendkim -n refuses "Mode s" then "Mode q", accepts the reverse), with
 * a warning naming both lines; the command line replaces quietly. */
Test(config, last_value_wins)
{
	config *cfg = parse("Mode s\nMode v\n", 0);

	cr_assert(!cfg->sign && cfg->verify);
	cr_assert_eq(d.warnings, 1);
	cr_assert(has("t.conf:2: Mode given again: this value replaces the one at t.conf:1"));
	config_unref(cfg);
	diag_list_free(&d);
	memset(&d, 0, sizeof(d));
	cfg = parse("MacroList daemon_name|smtpd\nmode sv\nMACROLIST {auth_type}\n", 0);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->nmacros, 1);
	cr_assert_str_eq(cfg->macros[0].name, "{auth_type}");
	cr_assert_eq(d.warnings, 1);
	cr_assert(has("t.conf:3: MacroList given again: this value replaces the one at t.conf:1"));
	config_unref(cfg);
}

/* Nameservers: the resolver's grammar decides at load, naming the entry;
 * commas and white space between entries are dropped. */
Test(config, nameservers_use_the_resolver_grammar)
{
	static const char *const bad[][2] = {
		{ "192.0.2.1, bogus", "\"bogus\": not an IP address" },
		{ "[2001:db8::1", "\"[2001:db8::1\": bad brackets" },
		{ "192.0.2.1@0", "\"192.0.2.1@0\": bad port" },
		{ " , ", "no name server" },
	};
	char text[128];
	config *cfg = parse("Nameservers 192.0.2.1 ,, ::1 [::1]@53\n", 0);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg->nameservers, "192.0.2.1,::1,[::1]@53");
	config_unref(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "Nameservers %s\n", bad[i][0]);
		cr_assert_null(parse(text, 0), "%s", bad[i][0]);
		cr_assert(has(bad[i][1]), "%s", bad[i][0]);
	}
}

Test(config, every_error_is_reported_with_line)
{
	config *cfg = parse("Mode x\n"
	                    "Canonicalization relaxed/strange\n"
	                    "SignatureAlgorithm rsa-sha1\n"
	                    "On-BadSignature bounce\n"
	                    "UMask 999\n"
	                    "MinimumKeyBits lots\n"
	                    "Socket tcp:25\n"
	                    "NoSuchOption 1\n"
	                    "AutoRestart yes\n"
	                    "Nameservers 192.0.2.1,bogus\n"
	                    "UserID nosuchuser-xyz\n"
	                    "SyslogFacility mailx\n"
	                    "InternalHosts 192.168/16\n"
	                    "AuthservID bad;id\n"
	                    "Selector\n"
	                    "MaximumSignaturesToVerify 0\n"
	                    "DNSTimeout 0\n", 0);

	cr_assert_null(cfg);
	dump();
	cr_assert(has("t.conf:1: bad value 'x' for Mode"));
	cr_assert(has("t.conf:2: bad value 'relaxed/strange' for Canonicalization"));
	cr_assert(has("t.conf:3: bad value 'rsa-sha1' for SignatureAlgorithm"));
	cr_assert(has("t.conf:4: bad value 'bounce' for On-BadSignature"));
	cr_assert(has("t.conf:5: bad value '999' for UMask"));
	cr_assert(has("t.conf:6: bad value 'lots' for MinimumKeyBits"));
	cr_assert(has("t.conf:7: bad value 'tcp:25' for Socket"));
	cr_assert(has("t.conf:8: unknown option 'NoSuchOption'"));
	cr_assert(has("t.conf:9: OpenDKIM option 'AutoRestart' is not supported "
	              "and is ignored"));
	cr_assert(has("t.conf:10: bad value '192.0.2.1,bogus' for Nameservers"));
	cr_assert(has("t.conf:11: bad value 'nosuchuser-xyz' for UserID: unknown user"));
	cr_assert(has("t.conf:12: bad value 'mailx' for SyslogFacility"));
	cr_assert(has("192.168/16"));
	cr_assert(has("t.conf:14: bad value 'bad;id' for AuthservID"));
	cr_assert(has("t.conf:15: no value for Selector"));
	cr_assert(has("t.conf:16: bad value '0' for MaximumSignaturesToVerify"));
	cr_assert(has("t.conf:17: bad value '0' for DNSTimeout"));
	cr_assert_eq(d.errors, 16);
	cr_assert_eq(d.warnings, 1);
}

Test(config, opendkim_options_only_warn)
{
	config *cfg = parse("TrustAnchorFile /usr/share/dns/root.key\n"
	                    "autorestart yes\nX-Header yes\nLogResults yes\n"
	                    "BaseDirectory /var\nDiagnostics yes\n", 0);

	cr_assert_not_null(cfg);
	cr_assert_eq(d.errors, 0);
	cr_assert_eq(d.warnings, 6);
	cr_assert(has("t.conf:2: OpenDKIM option 'autorestart' is not supported"));
	cr_assert(config_is_opendkim_option("RESOLVERCONFIGURATION"));
	/* Keys of Debian's build (its binary accepts them): never fatal. */
	cr_assert(config_is_opendkim_option("ATPSDomains"));
	cr_assert(config_is_opendkim_option("ATPSHashAlgorithm"));
	cr_assert(config_is_opendkim_option("On-PolicyError"));
	cr_assert_not(config_is_opendkim_option("Frobnicate"));
	config_unref(cfg);
}

/* "*@example.com" in a plain-file SigningTable is taken literally (it
 * never matches): a warning pointing at refile:. "*" and "user@*" are
 * exact keys OpenDKIM looks up, and refile: lines are patterns. */
Test(config, signingtable_star_outside_refile)
{
	char *key = odk_write_key("st.private", "RSA", 0600);
	char kttext[512], text[1024];
	char *kt, *st;
	config *cfg;

	snprintf(kttext, sizeof(kttext), "k example.com:s:%s\n", key);
	kt = odk_write("KeyTable", kttext, 0644);
	st = odk_write("SigningTable", "*@example.com k\n*.example.com k\n"
	               "* k\npostmaster@* k\nbob@example.com k\n", 0644);
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s\n", kt, st);
	cfg = parse(text, 0);
	dump();
	cr_assert_not_null(cfg);
	/* and "*", "postmaster@*" match any sender domain with a fixed-domain
	 * key: an open signer, warned too */
	cr_assert_eq(d.warnings, 4);
	cr_assert(has("SigningTable:3: SigningTable pattern '*' matches any sender domain"));
	cr_assert(has("SigningTable:4: SigningTable pattern 'postmaster@*' matches any"));
	cr_assert(has("SigningTable:1: SigningTable entry '*@example.com' never "
	              "matches: '*' is a wildcard only in a refile: SigningTable "
	              "(SigningTable refile:"));
	cr_assert(has("SigningTable:2: SigningTable entry '*.example.com' never"));
	config_unref(cfg);
	diag_list_free(&d);
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable refile:%s\n",
	         kt, st);
	cfg = parse(text, 0);
	cr_assert_not_null(cfg);
	cr_assert_eq(d.warnings, 2);   /* the two catch-all patterns */
	cr_assert_not(has("never matches"));
	config_unref(cfg);
	free(key); free(kt); free(st);
}

/* A switch of an unsupported feature set off says what happens here
 * anyway: no warning. Set on, or any other key, it warns. */
Test(config, opendkim_switches_off_are_silent)
{
	config *cfg = parse("AutoRestart no\nX-Header false\nSendReports 0\n"
	                    "SoftStart off\nMilterDebug 0\nautorestart No\n"
	                    "AutoRestart yes\nX-Header maybe\n"
	                    "BaseDirectory no\n", 0);

	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(d.errors, 0);
	cr_assert_eq(d.warnings, 3);
	cr_assert(has("t.conf:7: OpenDKIM option 'AutoRestart' is not supported"));
	cr_assert(has("t.conf:8: OpenDKIM option 'X-Header' is not supported"));
	cr_assert(has("t.conf:9: OpenDKIM option 'BaseDirectory' is not supported"));
	config_unref(cfg);
}

/* OpenDKIM: "-" for a data set means an empty one: "InternalHosts -"
 * drops the default 127.0.0.1 (a configuration that starts there must
 * start here). */
Test(config, dash_is_an_empty_data_set)
{
	config *cfg = parse("InternalHosts -\nPeerList -\nExemptDomains -\n"
	                    "KeyTable -\nSigningTable -\n", 0);

	if (cfg == NULL)
		dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(d.errors, 0);
	cr_assert_not_null(cfg->internal_hosts);
	cr_assert_not(hostlist_match_ip(cfg->internal_hosts, "127.0.0.1"));
	cr_assert_not(hostlist_match_ip(cfg->internal_hosts, "::1"));
	config_unref(cfg);
}

Test(config, sockets)
{
	static const struct {
		const char *spec;
		config_socket_family family;
		unsigned port;
		const char *host, *path, *milter;
	} ok[] = {
		{ "inet:8891", CONFIG_SOCK_INET, 8891, NULL, NULL, "inet:8891" },
		{ "inet:8891@localhost", CONFIG_SOCK_INET, 8891, "localhost", NULL,
		  "inet:8891@localhost" },
		{ "inet:12345@[192.0.2.1]", CONFIG_SOCK_INET, 12345, "192.0.2.1",
		  NULL, "inet:12345@[192.0.2.1]" },
		{ "inet6:8891@[::1]", CONFIG_SOCK_INET6, 8891, "::1", NULL,
		  "inet6:8891@[::1]" },
		{ "local:/run/o.sock", CONFIG_SOCK_LOCAL, 0, NULL, "/run/o.sock",
		  "local:/run/o.sock" },
		{ "unix:/run/o.sock", CONFIG_SOCK_LOCAL, 0, NULL, "/run/o.sock",
		  "local:/run/o.sock" },
		{ "/run/o.sock", CONFIG_SOCK_LOCAL, 0, NULL, "/run/o.sock",
		  "local:/run/o.sock" },
	};
	static const char *const bad[] = {
		"inet:", "inet:0", "inet:65536", "inet:80@", "inet:80@[::1]",
		"inet6:80@[127.0.0.1]", "inet:80@[1.2.3.4", "local:", "tcp:80",
		"inet:x80", "inet:80@bad host",
	};
	config_socket s;
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		cr_assert(config_socket_parse(ok[i].spec, &s, why, sizeof(why)),
		          "%s: %s", ok[i].spec, why);
		cr_assert_eq(s.family, ok[i].family);
		cr_assert_eq(s.port, ok[i].port);
		if (ok[i].host)
			cr_assert_str_eq(s.host, ok[i].host);
		else
			cr_assert_null(s.host);
		if (ok[i].path)
			cr_assert_str_eq(s.path, ok[i].path);
		cr_assert_str_eq(s.spec, ok[i].milter);
		config_socket_free(&s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_not(config_socket_parse(bad[i], &s, why, sizeof(why)),
		              "%s accepted", bad[i]);
}

Test(config, overrides)
{
	config_overrides ov = { .socket = "inet:9999", .user = "root",
	                        .pidfile = "/tmp/p.pid" };
	config *cfg = config_parse_buffer("t.conf", "Socket inet:1\n", 14, &ov,
	                                  0, &d);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->socket.port, 9999);
	cr_assert_str_eq(cfg->user, "root");
	cr_assert_str_eq(cfg->pidfile, "/tmp/p.pid");
	config_unref(cfg);
	ov.socket = "bad";
	cr_assert_null(config_parse_buffer("t.conf", "", 0, &ov, 0, &d));
	cr_assert(has("command line (-p): bad value 'bad' for Socket"));
}

/* OpenDKIM's key flags (-b, -c, ...) reach the configuration as items. */
Test(config, override_items_replace_the_file)
{
	config_overrides ov = { .nitems = 2 };
	config *cfg;

	ov.items[0] = (config_override_item){ "Mode", "v", "command line (-b)" };
	ov.items[1] = (config_override_item){ "Canonicalization",
	                                      "relaxed/relaxed",
	                                      "command line (-c)" };
	cfg = config_parse_buffer("t.conf", "Mode sv\n", 8, &ov, 0, &d);
	cr_assert_not_null(cfg);
	cr_assert(!cfg->sign && cfg->verify);
	cr_assert_eq(cfg->body_canon, DKIM_CANON_RELAXED);
	config_unref(cfg);
	ov.items[1].value = "sideways";
	cr_assert_null(config_parse_buffer("t.conf", "", 0, &ov, 0, &d));
	cr_assert(has("command line (-c): bad value 'sideways' for "
	              "Canonicalization"));
	diag_list_free(&d);
	ov.items[0].key = "Frobnicate";
	cr_assert_null(config_parse_buffer("t.conf", "", 0, &ov, 0, &d));
	cr_assert(has("command line (-b): unknown option 'Frobnicate'"));
}

Test(config, include_and_depth)
{
	char *inc = odk_write("inc.conf", "Mode v\nBogus 1\n", 0644);
	char *loop, text[256];
	config *cfg;

	snprintf(text, sizeof(text), "Include %s\nSubDomains yes\n", inc);
	cfg = parse(text, 0);
	cr_assert_null(cfg);
	cr_assert(has("inc.conf:2: unknown option 'Bogus'"));
	diag_list_free(&d);
	free(odk_write("inc.conf", "Mode v\n", 0644));
	cfg = parse(text, 0);
	cr_assert_not_null(cfg);
	cr_assert(!cfg->sign && cfg->subdomains);
	cr_assert_eq(cfg->nsources, 2);
	config_unref(cfg);
	/* a file that includes itself stops at the depth limit */
	loop = odk_write("loop.conf", "", 0644);
	snprintf(text, sizeof(text), "Include %s\n", loop);
	free(odk_write("loop.conf", text, 0644));
	cr_assert_null(parse(text, 0));
	cr_assert(has("nested deeper than 5"));
	cr_assert_null(parse("Include /nonexistent.conf\n", 0));
	cr_assert(has("t.conf:1: Include /nonexistent.conf:"));
	free(inc);
	free(loop);
}

Test(config, load_from_file)
{
	char *path = odk_write("o.conf", "Mode s\n", 0644);
	config *cfg = config_load(path, NULL, &d);

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg->path, path);
	cr_assert_eq(config_ref(cfg), cfg);
	config_unref(cfg);
	config_unref(cfg);
	cr_assert_null(config_load("/nonexistent/o.conf", NULL, &d));
	cr_assert(has("/nonexistent/o.conf: cannot read configuration"));
	free(path);
}

Test(config, keytable_files_inline_and_percent)
{
	char *rsa = odk_write_key("rsa.private", "RSA", 0600);
	char *ed = odk_write_key("ed.private", "ED25519", 0600);
	char *inl = odk_inline_key();
	char *kt, *st, text[512];
	size_t len = strlen(inl) + 512;
	char *kttext = malloc(len);
	config *cfg;
	const keystore_entry *e;

	snprintf(kttext, len, "rsa example.com:sel:%s\ned %%:ed:%s\n"
	         "inl example.org:s2:%s\nper %%:s3:%s/%%.private\n",
	         rsa, ed, inl, odk_tmpdir());
	kt = odk_write("KeyTable", kttext, 0644);
	st = odk_write("SigningTable", "*@example.com rsa\n*@example.com ed\n"
	               "*@example.org inl user@example.org\n", 0644);
	snprintf(text, sizeof(text), "KeyTable file:%s\nSigningTable refile:%s\n",
	         kt, st);
	/* an inline key makes the KeyTable secret too */
	cr_assert_null(parse(text, 0));
	cr_assert(has("KeyTable:3: KeyTable holds a private key inline but the "
	              "file is not safe (RequireSafeKeys): readable"));
	diag_list_free(&d);
	free(odk_write("KeyTable", kttext, 0600));
	cfg = parse(text, 0);
	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->keys->count, 4);
	e = keystore_find(cfg->keys, "RSA");
	cr_assert_str_eq(e->domain, "example.com");
	cr_assert_str_eq(e->selector, "sel");
	cr_assert_str_eq(e->path, rsa);
	cr_assert_eq(dkim_privkey_type(e->key), DKIM_KEY_RSA);
	e = keystore_find(cfg->keys, "ed");
	cr_assert_str_eq(e->domain, "%");
	cr_assert_eq(keystore_key_alg(e->key), DKIM_ALG_ED25519_SHA256);
	e = keystore_find(cfg->keys, "inl");
	cr_assert_null(e->path);
	cr_assert_not_null(e->key);
	e = keystore_find(cfg->keys, "per");
	cr_assert_null(e->key);         /* read per message */
	cr_assert_eq(e->line, 4);
	config_unref(cfg);
	free(rsa); free(ed); free(inl); free(kt); free(st); free(kttext);
}

/* Key names: case ignored, the first definition wins (a warning names
 * both lines), and a table of many keys is searched, not scanned. */
Test(config, keytable_names_duplicates_and_many)
{
	char *ed = odk_write_key("many.private", "ED25519", 0600);
	size_t n = 3000, len = n * 96 + 256, off = 0, i;
	char *kttext = malloc(len), *sttext = malloc(n * 48), text[512];
	char *kt, *st;
	config *cfg;
	const keystore_entry *e;

	cr_assert_not_null(kttext);
	cr_assert_not_null(sttext);
	off += (size_t)snprintf(kttext + off, len - off,
	                        "Dup d0.example:first:%s\n", ed);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(kttext + off, len - off,
		                        "key%zu d%zu.example:s:%s\n", i, i, ed);
	snprintf(kttext + off, len - off, "DUP d0.example:second:%s\n", ed);
	for (i = off = 0; i < n; i++)
		off += (size_t)sprintf(sttext + off, "d%zu.example key%zu\n", i, i);
	kt = odk_write("KeyTable", kttext, 0600);
	st = odk_write("SigningTable", sttext, 0644);
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s\n", kt, st);
	cfg = parse(text, 0);
	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->keys->count, n + 2);
	/* one key file for every domain: read once, shared by the others */
	cr_assert_eq(cfg->keys->read, n + 2);
	cr_assert_eq(cfg->keys->shared, n + 1);
	cr_assert(has("KeyTable:3002: key name 'DUP' already defined at "));
	cr_assert(has(":1; the first one is used"));
	e = keystore_find(cfg->keys, "dup");
	cr_assert_not_null(e);
	cr_assert_str_eq(e->selector, "first");
	for (i = 0; i < n; i += 97) {
		char name[32], domain[32];

		snprintf(name, sizeof(name), "KEY%zu", i);
		snprintf(domain, sizeof(domain), "d%zu.example", i);
		e = keystore_find(cfg->keys, name);
		cr_assert_not_null(e, "%s", name);
		cr_assert_str_eq(e->domain, domain);
	}
	cr_assert_null(keystore_find(cfg->keys, "key"));
	cr_assert_null(keystore_find(cfg->keys, "zzz"));
	config_unref(cfg);
	free(ed); free(kt); free(st); free(kttext); free(sttext);
}

/* A PEM key pasted on one KeyTable line (line breaks lost). */
Test(config, keytable_inline_pem)
{
	char *path = odk_write_key("p.private", "ED25519", 0600);
	char pem[1024], line[1200], *p, text[256];
	FILE *f = fopen(path, "r");
	size_t n = fread(pem, 1, sizeof(pem) - 1, f);
	config *cfg;

	fclose(f);
	pem[n] = '\0';
	for (p = pem; (p = strchr(p, '\n')) != NULL;)
		memmove(p, p + 1, strlen(p));
	snprintf(line, sizeof(line), "k example.com:s:%s\n", pem);
	free(odk_write("KeyTable", line, 0600));
	free(odk_write("SigningTable", "example.com k\n", 0644));
	snprintf(text, sizeof(text), "KeyTable %s/KeyTable\n"
	         "SigningTable %s/SigningTable\n", odk_tmpdir(), odk_tmpdir());
	cfg = parse(text, 0);
	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(dkim_privkey_type(keystore_find(cfg->keys, "k")->key),
	             DKIM_KEY_ED25519);
	config_unref(cfg);
	free(path);
}

/* ---- reload: unchanged key files are not read again ---------------------- */

/* Marks every key of cfg as read long enough ago to be reused. */
static void settle(config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->keys->count; i++)
		cfg->keys->entries[i].reusable = true;
}

static config *reload(const char *conf, config *previous)
{
	config *cfg = config_reload(conf, NULL, previous, &d);

	dump();
	return cfg;
}

Test(config, reload_reuses_unchanged_key_files)
{
	char *rsa = odk_write_key("r.private", "RSA", 0600);
	char *ed = odk_write_key("e.private", "ED25519", 0600);
	char *inl = odk_inline_key(), *kt, *st, *conf, text[512], *ktext;
	size_t len = strlen(inl) + 512;
	config *c1, *c2, *c3;

	ktext = malloc(len);
	snprintf(ktext, len, "r example.com:r:%s\ne example.com:e:%s\n"
	         "i example.org:i:%s\nr2 example.net:r:%s\n", rsa, ed, inl, rsa);
	kt = odk_write("KeyTable", ktext, 0600);
	st = odk_write("SigningTable", "*@example.com r\n", 0644);
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s\n", kt, st);
	conf = odk_write("o.conf", text, 0644);
	c1 = reload(conf, NULL);
	cr_assert_not_null(c1);
	cr_assert_eq(c1->keys->read, 4);
	cr_assert_eq(c1->keys->reused, 0);
	cr_assert_eq(c1->keys->shared, 1, "r2 shares r's file, read once");
	/* just written: read again, a second write could go unnoticed */
	cr_assert_not(keystore_find(c1->keys, "r")->reusable);
	c2 = reload(conf, c1);
	cr_assert_eq(c2->keys->read, 4);
	cr_assert_eq(c2->keys->reused, 0);
	settle(c2);
	config_unref(c1);
	c3 = reload(conf, c2);
	cr_assert_not_null(c3);
	cr_assert_eq(c3->keys->reused, 3, "r, e and r2 (the same file as r)");
	cr_assert_eq(c3->keys->read, 1, "the inline key is always parsed");
	cr_assert_eq(c3->keys->shared, 1);
	cr_assert(keystore_find(c3->keys, "e")->reusable);
	/* the shared keys outlive the configuration they came from */
	config_unref(c2);
	cr_assert_eq(dkim_privkey_type(keystore_find(c3->keys, "e")->key),
	             DKIM_KEY_ED25519);
	cr_assert_eq(dkim_privkey_bits(keystore_find(c3->keys, "r2")->key), 1024);
	config_unref(c3);
	free(rsa); free(ed); free(inl); free(kt); free(st); free(conf);
	free(ktext);
}

Test(config, reload_reads_changed_key_files)
{
	char *rsa = odk_write_key("r.private", "RSA", 0600);
	char *ed = odk_write_key("e.private", "ED25519", 0600);
	char *edn = odk_write_key("e.new", "ED25519", 0600), *kt, *conf;
	char text[512], ktext[512];
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	config *c1, *c2, *c3;

	snprintf(ktext, sizeof(ktext), "r example.com:r:%s\ne example.com:e:%s\n",
	         rsa, ed);
	kt = odk_write("KeyTable", ktext, 0644);
	free(odk_write("SigningTable", "*@example.com r\n", 0644));
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s/SigningTable\n",
	         kt, odk_tmpdir());
	conf = odk_write("o.conf", text, 0644);
	c1 = reload(conf, NULL);
	cr_assert_not_null(c1);
	settle(c1);
	/* e replaced by another file (a new inode), r's time changed in place */
	cr_assert_eq(rename(edn, ed), 0);
	cr_assert_eq(utimensat(AT_FDCWD, rsa, times, 0), 0);
	c2 = reload(conf, c1);
	cr_assert_not_null(c2);
	cr_assert_eq(c2->keys->read, 2);
	cr_assert_eq(c2->keys->reused, 0);
	settle(c2);
	/* a file that cannot be checked is an error, never the old key */
	cr_assert_eq(unlink(rsa), 0);
	c3 = reload(conf, c2);
	cr_assert_null(c3);
	cr_assert(has("cannot read key file"));
	cr_assert(has("r.private: No such file or directory"));
	config_unref(c1);
	config_unref(c2);
	free(rsa); free(ed); free(edn); free(kt); free(conf);
}

/* The reuse decision itself: same path, same identity, settled. */
Test(config, reload_reuse_decision)
{
	char *rsa = odk_write_key("r.private", "RSA", 0600), *conf, text[256];
	const keystore_entry *e;
	keystore_fileid id;
	struct timespec now;
	config *cfg;

	snprintf(text, sizeof(text), "KeyFile %s\nSelector s\nDomain example.com\n",
	         rsa);
	conf = odk_write("o.conf", text, 0644);
	cfg = reload(conf, NULL);
	cr_assert_not_null(cfg);
	e = keystore_find(cfg->keys, "default");
	id = e->id;
	cr_assert_null(keystore_reusable(cfg->keys, rsa, &id), "not settled");
	settle(cfg);
	cr_assert_eq(keystore_reusable(cfg->keys, rsa, &id), e);
	cr_assert_null(keystore_reusable(NULL, rsa, &id));
	cr_assert_null(keystore_reusable(cfg->keys, "/other/r.private", &id));
	id.ino++;
	cr_assert_null(keystore_reusable(cfg->keys, rsa, &id), "inode");
	id = e->id;
	id.dev++;
	cr_assert_null(keystore_reusable(cfg->keys, rsa, &id), "device");
	id = e->id;
	id.size++;
	cr_assert_null(keystore_reusable(cfg->keys, rsa, &id), "size");
	id = e->id;
	id.mtime.tv_nsec ^= 1;
	cr_assert_null(keystore_reusable(cfg->keys, rsa, &id), "mtime");
	id = e->id;
	id.ctime.tv_sec++;
	cr_assert_null(keystore_reusable(cfg->keys, rsa, &id), "ctime");
	/* settled: KEYSTORE_SETTLE_SECONDS after both times, not before */
	id = e->id;
	id.mtime = id.ctime = (struct timespec){ 1000, 500 };
	now = (struct timespec){ 1000 + KEYSTORE_SETTLE_SECONDS, 500 };
	cr_assert(keystore_fileid_settled(&id, &now));
	now.tv_nsec = 499;
	cr_assert_not(keystore_fileid_settled(&id, &now));
	now = (struct timespec){ 5000, 0 };
	id.mtime.tv_sec = 4999;
	cr_assert_not(keystore_fileid_settled(&id, &now), "mtime too recent");
	id.mtime.tv_sec = 6000;
	cr_assert_not(keystore_fileid_settled(&id, &now), "in the future");
	config_unref(cfg);
	free(rsa); free(conf);
}

Test(config, key_errors)
{
	char *rsa = odk_write_key("loose.private", "RSA", 0644);
	char *kt, *st, text[512], kttext[512];

	snprintf(kttext, sizeof(kttext),
	         "missing example.com:a:/nonexistent/key.private\n"
	         "loose example.com:b:%s\nshort example.com:c\n"
	         "garbage example.com:d:bm90IGEga2V5\n", rsa);
	kt = odk_write("KeyTable", kttext, 0644);
	st = odk_write("SigningTable", "example.com missing\nexample.net\n"
	               "example.org nokey\n", 0644);
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s\n", kt, st);
	cr_assert_null(parse(text, 0));
	dump();
	cr_assert(has("KeyTable:1: key 'missing' (/nonexistent/key.private)"));
	cr_assert(has("KeyTable:2: key 'loose'"));
	cr_assert(has("not safe (RequireSafeKeys): readable or writable by group "
	              "or other (mode 0644)"));
	cr_assert(has("KeyTable:3: key 'short': value must be DOMAIN:SELECTOR:KEY"));
	cr_assert(has("KeyTable:4: key 'garbage' (inline key)"));
	cr_assert(has("SigningTable:2: SigningTable entry 'example.net' must be"));
	/* the keystore failed, so key names are not checked further */
	diag_list_free(&d);
	/* unsafe keys are fine when RequireSafeKeys is off */
	snprintf(kttext, sizeof(kttext), "loose example.com:b:%s\n", rsa);
	free(odk_write("KeyTable", kttext, 0644));
	free(odk_write("SigningTable", "example.com loose\nexample.org nokey\n",
	                0644));
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s\n"
	         "RequireSafeKeys no\n", kt, st);
	cr_assert_null(parse(text, 0));
	cr_assert(has("SigningTable:2: SigningTable entry 'example.org': key name "
	              "'nokey' is not in the KeyTable"));
	cr_assert_eq(d.errors, 1);
	free(rsa); free(kt); free(st);
}

/* RequireSafeKeys: a key file owned by another user is refused, naming it
 * (only root can make such a file; others skip the check). */
Test(config, key_owned_by_someone_else)
{
	char *key = odk_write_key("other.private", "RSA", 0600);
	char text[512];

	if (geteuid() != 0 || chown(key, 12345, 12345) != 0) {
		free(key);
		cr_skip_test("needs root to give a file away");
	}
	snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
	         "KeyFile %s\n", key);
	cr_assert_null(parse(text, 0));
	dump();
	cr_assert(has("owned by uid 12345, not root or the user opendkim runs as"));
	cr_assert(has("other.private"));
	diag_list_free(&d);
	snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
	         "KeyFile %s\nRequireSafeKeys no\n", key);
	config *cfg = parse(text, 0);
	cr_assert_not_null(cfg);
	config_unref(cfg);
	free(key);
}

/* RequireSafeKeys checks every directory above the key: one that others
 * (or its group) can write without the sticky bit, or that belongs to
 * another user, lets them replace the key. The reason names the
 * directory. */
Test(config, key_directories_must_be_safe)
{
	char dir[512], key[600], link[600], text[1024];
	char *orig = odk_write_key("dirkey.private", "RSA", 0600);
	config *cfg;

	snprintf(dir, sizeof(dir), "%s/open", odk_tmpdir());
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(key, sizeof(key), "%s/k.private", dir);
	cr_assert_eq(rename(orig, key), 0);
	free(orig);
	snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
	         "KeyFile %s\n", key);

	cr_assert_eq(chmod(dir, 0777), 0);
	cr_assert_null(parse(text, 0));
	dump();
	cr_assert(has("not safe (RequireSafeKeys): directory "));
	cr_assert(has("/open is writable by others (mode 0777, no sticky "
	              "bit), who can replace the key; chmod go-w it"));
	diag_list_free(&d);

	cr_assert_eq(chmod(dir, 0770), 0);
	cr_assert_null(parse(text, 0));
	cr_assert(has("/open is writable by its group (mode 0770"));
	diag_list_free(&d);

	/* the sticky bit (as on /tmp): others cannot replace what they do
	 * not own */
	cr_assert_eq(chmod(dir, 01777), 0);
	cfg = parse(text, 0);
	cr_assert_not_null(cfg);
	config_unref(cfg);

	/* a symbolic link is only as safe as the directory holding it: the
	 * key's real directory is fine, the link's is not */
	cr_assert_eq(chmod(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/lnk", odk_tmpdir());
	cr_assert_eq(mkdir(link, 0700), 0);
	cr_assert_eq(chmod(link, 0777), 0);
	strcat(link, "/to");
	cr_assert_eq(symlink(dir, link), 0);
	snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
	         "KeyFile %s/k.private\n", link);
	cr_assert_null(parse(text, 0));
	cr_assert(has("/lnk is writable by others (mode 0777"));
	diag_list_free(&d);

	if (geteuid() == 0 && chown(dir, 12345, 12345) == 0) {
		snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
		         "KeyFile %s\n", key);
		cr_assert_null(parse(text, 0));
		cr_assert(has("/open is owned by uid 12345 (not root or the user "
		              "opendkim runs as), who can replace the key"));
		diag_list_free(&d);
		cr_assert_eq(chown(dir, 0, 0), 0);
	}
	snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
	         "KeyFile %s/k.private\nRequireSafeKeys no\n", link);
	cr_assert_eq(chmod(dir, 0777), 0);
	cfg = parse(text, 0);
	cr_assert_not_null(cfg, "RequireSafeKeys no checks no directory");
	config_unref(cfg);
}

Test(config, single_key_form)
{
	char *key = odk_write_key("k.private", "RSA", 0600);
	char text[256];
	config *cfg;

	snprintf(text, sizeof(text), "Domain example.com\nSelector s1\n"
	         "KeyFile %s\n", key);
	cfg = parse(text, 0);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->keys->count, 1);
	cr_assert_str_eq(cfg->keys->entries[0].selector, "s1");
	cr_assert_str_eq(cfg->keys->entries[0].file, "t.conf");
	cr_assert_eq(cfg->keys->entries[0].line, 3);
	config_unref(cfg);
	snprintf(text, sizeof(text), "Domain example.com\nSelector s\n"
	         "KeyFile %s\nSignatureAlgorithm ed25519-sha256\n"
	         "UserID 0:0\n", key);
	cfg = parse(text, 0);
	cr_assert_not_null(cfg);
	cr_assert(has("t.conf:4: SignatureAlgorithm ed25519-sha256 does not suit"));
	cr_assert_eq(cfg->uid, 0);
	config_unref(cfg);
	snprintf(text, sizeof(text), "Domain example.com\nKeyFile %s\n", key);
	cr_assert_null(parse(text, 0));
	cr_assert(has("t.conf:2: KeyFile needs a Selector"));
	cr_assert_null(parse("SigningTable csl:a=b\n", 0));
	cr_assert(has("t.conf:1: SigningTable needs a KeyTable"));
	free(key);
}

Test(config, parse_only_reads_nothing)
{
	config *cfg = parse("KeyTable /nonexistent/kt\nInclude /nonexistent\n"
	                    "InternalHosts /nonexistent/h\nUserID nosuchuser-q\n"
	                    "PeerList 10.0.0.0/8\n", CONFIG_PARSE_ONLY);

	cr_assert_not_null(cfg);
	cr_assert_null(cfg->keytable);
	cr_assert_not_null(cfg->internal_hosts);
	cr_assert(hostlist_match_ip(cfg->peer_list, "10.0.0.1"));
	config_unref(cfg);
}

/* conf/: the samples load cleanly once their /etc paths point here. */
Test(config, sample_configuration_loads)
{
	const char *top = ODK_TOP_SRCDIR;
	const char *files[] = { "opendkim.conf", "KeyTable", "SigningTable",
	                        "TrustedHosts" };
	char cmd[1024], conf[512];
	size_t i;
	config *cfg;
	int rc;

	snprintf(cmd, sizeof(cmd), "mkdir -p %s/keys/example.com", odk_tmpdir());
	cr_assert_eq(system(cmd), 0);
	for (i = 0; i < 4; i++) {
		snprintf(cmd, sizeof(cmd), "sed -e 's|/etc/opendkim/|%s/|g' "
		         "-e 's|^UserID.*|UserID root|' %s/conf/%s > %s/%s",
		         odk_tmpdir(), top, files[i], odk_tmpdir(), files[i]);
		rc = system(cmd);
		cr_assert_eq(rc, 0);
	}
	free(odk_write_key("keys/example.com/default.private", "RSA", 0600));
	free(odk_write_key("keys/example.com/ed25519.private", "ED25519", 0600));
	snprintf(conf, sizeof(conf), "%s/opendkim.conf", odk_tmpdir());
	cfg = config_load(conf, NULL, &d);
	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(d.count, 0, "the sample must load without warnings");
	cr_assert_eq(cfg->keys->count, 2);
	cr_assert_eq(cfg->header_canon, DKIM_CANON_RELAXED);
	cr_assert_eq(cfg->body_canon, DKIM_CANON_SIMPLE);
	cr_assert(config_names_has(&cfg->oversign_headers, "From"));
	cr_assert_eq(cfg->signingtable->kind, DATASET_REFILE);
	cr_assert(hostlist_match_ip(cfg->internal_hosts, "127.0.0.1"));
	cr_assert_eq(cfg->socket.family, CONFIG_SOCK_LOCAL);
	cr_assert_eq(cfg->umask, 007);
	config_unref(cfg);
}

/* conf/arc-mailing-list.conf: the ARC example loads cleanly and seals
 * what the list relays with its KeyTable entry. */
Test(config, arc_mailing_list_sample_loads)
{
	const char *files[] = { "arc-mailing-list.conf", "arc-KeyTable",
	                        "arc-SigningTable" };
	char cmd[1024], conf[512];
	config *cfg;

	snprintf(cmd, sizeof(cmd), "mkdir -p %s/keys/lists.example.org", odk_tmpdir());
	cr_assert_eq(system(cmd), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "sed -e 's|/etc/opendkim/|%s/|g' "
		         "-e 's|^UserID.*|UserID root|' %s/conf/%s > %s/%s",
		         odk_tmpdir(), ODK_TOP_SRCDIR, files[i], odk_tmpdir(), files[i]);
		cr_assert_eq(system(cmd), 0);
	}
	free(odk_write_key("keys/lists.example.org/arc.private", "RSA", 0600));
	snprintf(conf, sizeof(conf), "%s/arc-mailing-list.conf", odk_tmpdir());
	cfg = config_load(conf, NULL, &d);
	dump();
	cr_assert_not_null(cfg);
	cr_assert_eq(d.count, 0, "the sample must load without warnings");
	cr_assert(cfg->arc_seal && cfg->arc_verify);
	cr_assert_eq(cfg->arc_seal_mail, CONFIG_ARC_RELAYED);
	cr_assert_not_null(cfg->arc_key);
	cr_assert_str_eq(cfg->arc_key->domain, "lists.example.org");
	cr_assert(config_names_has(&cfg->arc_sign_headers, "List-Id"));
	config_unref(cfg);
}

/* ARC keys: defaults and the errors -n reports with FILE:LINE. */
Test(config, arc_keys)
{
	config *cfg = parse("Mode v\n", 0);

	cr_assert_not_null(cfg);
	cr_assert(!cfg->arc_seal && !cfg->arc_verify);
	cr_assert(config_names_has(&cfg->arc_sign_headers, "Subject"));
	config_unref(cfg);
	diag_list_free(&d);
	cr_assert_null(parse("ARCMode q\n", 0));
	cr_assert(has("t.conf:1: bad value 'q' for ARCMode: expected s, v or sv"));
	diag_list_free(&d);
	cr_assert_null(parse("ARCSealMail often\n", 0));
	cr_assert(has("t.conf:1: bad value 'often' for ARCSealMail"));
	diag_list_free(&d);
	cr_assert_null(parse("ARCSignHeaders From,Authentication-Results\n", 0));
	cr_assert(has("t.conf:1: ARCSignHeaders must not list Authentication-Results"));
}

Test(config, signature_ttl_bounds)
{
	config *cfg = parse("SignatureTTL 315360000\n", 0);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->signature_ttl, 315360000u);
	config_unref(cfg);
	diag_list_free(&d);
	cr_assert_null(parse("SignatureTTL 315360001\n", 0));
	cr_assert(has("t.conf:1: bad value '315360001' for SignatureTTL: "
	              "expected a number from 0 to 315360000"));
	diag_list_free(&d);
	cr_assert_null(parse("SignatureTTL -1\n", 0));
	cr_assert(has("t.conf:1: bad value '-1' for SignatureTTL"));
	diag_list_free(&d);
	cr_assert_null(parse("SignatureTTL 1w\n", 0));
	cr_assert(has("t.conf:1: bad value '1w' for SignatureTTL"));
}

Test(config, syslog_name_values)
{
	static const char *const bad[] = {
		"SyslogName dkim out\n", "SyslogName dkim:out\n",
		"SyslogName dkim[1]\n", "SyslogName caf\xc3\xa9\n",
		"SyslogName x12345678901234567890123456789012345678901234567890"
		"12345678901234\n",
	};
	config *cfg = parse("SyslogName opendkim-out_2.mx/a\n", 0);
	size_t i;

	cr_assert_not_null(cfg);
	cr_assert_str_eq(cfg->syslog_name, "opendkim-out_2.mx/a");
	config_unref(cfg);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		diag_list_free(&d);
		cr_assert_null(parse(bad[i], 0), "%s accepted", bad[i]);
		cr_assert(has("t.conf:1: bad value '"), "%s", bad[i]);
		cr_assert(has("for SyslogName: expected a name of letters"),
		          "%s", bad[i]);
	}
}

/* MetricsSocket: off by default; Socket's syntax, inet: and inet6: only. */
Test(config, metrics_socket)
{
	config *cfg = parse("", 0);

	cr_assert_not_null(cfg);
	cr_assert_not(cfg->has_metrics_socket);
	config_unref(cfg);
	cfg = parse("MetricsSocket inet:9100@[127.0.0.1]\n", 0);
	cr_assert_not_null(cfg);
	cr_assert(cfg->has_metrics_socket);
	cr_assert_eq(cfg->metrics_socket.family, CONFIG_SOCK_INET);
	cr_assert_eq(cfg->metrics_socket.port, 9100);
	cr_assert_str_eq(cfg->metrics_socket.host, "127.0.0.1");
	config_unref(cfg);
	cfg = parse("MetricsSocket inet6:9100@[::1]\n", 0);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->metrics_socket.family, CONFIG_SOCK_INET6);
	config_unref(cfg);
	cr_assert_null(parse("MetricsSocket local:/run/m.sock\n", 0));
	cr_assert(has("t.conf:1: bad value 'local:/run/m.sock' for MetricsSocket: "
	              "must be inet:PORT@ADDRESS or inet6:PORT@ADDRESS"));
	cr_assert_null(parse("MetricsSocket inet:99999\n", 0));
	cr_assert(has("t.conf:1: bad value 'inet:99999' for MetricsSocket"));
}

/* Runs sql on the SQLite file db with the sqlite3 program. */
static void sqlite_run(const char *db, const char *sql)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\"", db, sql);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/*
 * The ttl refresh (config_refresh) parses the text read at the last load:
 * edits to opendkim.conf and its Include files wait for a reload; file
 * data sets and host lists are shared with the running configuration;
 * only database data sets are read, and when they give the same rows
 * nothing is rebuilt. One that cannot be read keeps its copy, stale.
 */
Test(config, refresh_reads_only_databases)
{
	char *inc = odk_write("rinc.conf", "SubDomains yes\n", 0644);
	char *peers = odk_write("peers", "192.0.2.1\n", 0644);
	char *nosign = odk_write("nosign", "bob@example.net\n", 0644);
	char text[1024], db[512], *path;
	config *cfg, *again;
	bool unchanged;

	if (strstr(dataset_dsn_backends(), "sqlite3") == NULL ||
	    system("command -v sqlite3 > /dev/null") != 0)
		cr_skip_test("no sqlite3 backend or sqlite3 program");
	snprintf(db, sizeof(db), "%s/r.db", odk_tmpdir());
	sqlite_run(db, "CREATE TABLE t (k TEXT, v TEXT); "
	           "INSERT INTO t VALUES ('example.org', 'x')");
	snprintf(text, sizeof(text), "Mode s\nInclude %s\nPeerList %s\n"
	         "DontSignMailTo %s\nExemptDomains dsn:sqlite3:///%s/table=t"
	         "?keycol=k?datacol=v\n", inc, peers, nosign, db);
	path = odk_write("r.conf", text, 0644);
	cfg = config_load(path, NULL, &d);
	cr_assert_not_null(cfg);
	free(odk_write("r.conf", "Mode v\n", 0644));
	free(odk_write("rinc.conf", "SubDomains no\n", 0644));
	/* the same rows: nothing to do */
	cr_assert_null(config_refresh(cfg, NULL, &unchanged, &d));
	cr_assert(unchanged);
	cr_assert_eq(d.errors, 0);
	/* a row added: a new configuration from the old text */
	sqlite_run(db, "INSERT INTO t VALUES ('example.com', 'y')");
	again = config_refresh(cfg, NULL, &unchanged, &d);
	cr_assert_not_null(again);
	cr_assert(!unchanged);
	cr_assert(again->sign && !again->verify && again->subdomains);
	cr_assert_eq(again->peer_list, cfg->peer_list);
	cr_assert_eq(again->dont_sign_mail_to, cfg->dont_sign_mail_to);
	cr_assert_eq(again->nsources, 2);
	cr_assert(dataset_contains(again->exempt_domains, "example.com"));
	cr_assert(!dataset_contains(cfg->exempt_domains, "example.com"));
	config_unref(cfg);
	/* shared, not freed with the first configuration */
	cr_assert(dataset_contains(again->dont_sign_mail_to, "bob@example.net"));
	/* the database gone: the copy stays, stale, said once */
	cr_assert_eq(unlink(db), 0);
	cr_assert_null(config_refresh(again, NULL, &unchanged, &d));
	cr_assert(unchanged);
	cr_assert(dataset_is_stale(again->exempt_domains));
	cr_assert(dataset_contains(again->exempt_domains, "example.com"));
	cr_assert(d.count > 0 && d.msgs[d.count - 1].severity == DIAG_OUTAGE,
	          "no outage message");
	cr_assert(strstr(d.msgs[d.count - 1].text, "using the copy read before"));
	diag_list_free(&d);
	cr_assert_null(config_refresh(again, NULL, &unchanged, &d));
	cr_assert_eq(d.count, 0, "the outage said twice");
	config_unref(again);
	cr_assert_null(config_refresh(NULL, NULL, &unchanged, &d));
	cr_assert(!unchanged);
	free(inc);
	free(peers);
	free(nosign);
	free(path);
}

/* DataSetTTL (ours): the ttl of dsn:/ldap: data sets naming none. */
Test(config, dataset_ttl)
{
	config *cfg = parse("DataSetTTL 30\n", 0);

	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->dataset_ttl, 30);
	cr_assert_eq(dataset_default_ttl(), 30);
	config_unref(cfg);
	cfg = parse("Mode s\n", 0);
	cr_assert_eq(cfg->dataset_ttl, 60);
	cr_assert_eq(dataset_default_ttl(), 60);
	config_unref(cfg);
	cr_assert_null(parse("DataSetTTL 0\n", 0));
	cr_assert_null(parse("DataSetTTL 86401\n", 0));
}

/* OpenDKIM's SASL keys serve LDAPAuthMechanism (dataset_ldap.c): taken,
 * not warned about; LDAPDisableCache still does nothing here. */
Test(config, ldap_sasl_keys)
{
	config *cfg = parse("LDAPAuthMechanism EXTERNAL\nLDAPAuthName dkim\n"
	                    "LDAPAuthRealm EXAMPLE\nLDAPAuthUser dn:cn=r\n"
	                    "LDAPDisableCache yes\n", 0);

	cr_assert_not_null(cfg);
	cr_assert(!has("'LDAPAuth"));
	cr_assert(has("t.conf:5: OpenDKIM option 'LDAPDisableCache' is not "
	              "supported"));
	cr_assert(dataset_ldap_is_option("ldapauthuser"));
	cr_assert(!dataset_ldap_is_option("LDAPDisableCache"));
	config_unref(cfg);
}
