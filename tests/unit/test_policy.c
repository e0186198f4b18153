/*
 * test_policy.c - the signing decisions: client trust, sender selection,
 * SigningTable lookup order with and without SubDomains and
 * MultipleSignatures, refile order, the single-key form, "%" keys, i=, and
 * the h= list.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "odk_testutil.h"

static diag_list d;
static char *keyA, *keyB, *keyE;

static void setup(void)
{
	memset(&d, 0, sizeof(d));
	keyA = odk_write_key("a.private", "RSA", 0600);
	keyB = odk_write_key("b.private", "RSA", 0600);
	keyE = odk_write_key("example.org.private", "ED25519", 0600);
}

static void teardown(void)
{
	diag_list_free(&d);
	free(keyA);
	free(keyB);
	free(keyE);
	odk_cleanup();
}

TestSuite(policy, .init = setup, .fini = teardown);

/* A configuration with KeyTable keys A, B, E (ed25519), PER (%-file) and
 * the given SigningTable (spec prefix: "" or "refile:") and extra lines. */
static config *load(const char *prefix, const char *signingtable,
                    const char *extra)
{
	char kt[1024], text[1024], *ktpath, *stpath;
	config *cfg;
	size_t i;

	snprintf(kt, sizeof(kt), "A example.com:a:%s\nB %%:b:%s\n"
	         "E example.org:e:%s\nPER %%:p:%s/%%.private\n",
	         keyA, keyB, keyE, odk_tmpdir());
	ktpath = odk_write("KeyTable", kt, 0644);
	stpath = odk_write("SigningTable", signingtable, 0644);
	snprintf(text, sizeof(text), "KeyTable %s\nSigningTable %s%s\n%s",
	         ktpath, prefix, stpath, extra);
	cfg = config_parse_buffer("t.conf", text, strlen(text), NULL, 0, &d);
	for (i = 0; i < d.count; i++)
		fprintf(stderr, "diag: %s\n", d.msgs[i].text);
	cr_assert_not_null(cfg);
	free(ktpath);
	free(stpath);
	return cfg;
}

static policy_sender_addr sender(const char *local, const char *domain)
{
	policy_sender_addr s;

	memset(&s, 0, sizeof(s));
	snprintf(s.local, sizeof(s.local), "%s", local);
	snprintf(s.domain, sizeof(s.domain), "%s", domain);
	return s;
}

/* Key names of the signers for local@domain, joined with ",". */
static char *names(const config *cfg, const char *local, const char *domain)
{
	static char buf[256];
	policy_sender_addr s = sender(local, domain);
	policy_signers out;
	dkim_error err;
	size_t i;

	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK,
	             "%s", err.message);
	buf[0] = '\0';
	for (i = 0; i < out.count; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, out.v[i].keyname);
	}
	policy_signers_free(&out);
	return buf;
}

/* policy_decide with the facts given inline. */
static void decide(const config *cfg, policy_facts facts, policy_decision *dec)
{
	policy_decide(cfg, &facts, dec);
}

Test(policy, exact_table_order)
{
	config *cfg = load("", "*  B\nuser@*  A\n.example.com  E\n"
	                       "example.com  A\nboss@example.com  E\n", "");

	cr_assert_str_eq(names(cfg, "boss", "example.com"), "E");
	cr_assert_str_eq(names(cfg, "joe", "example.com"), "A");
	/* without SubDomains, parents are not tried: user@* then * */
	cr_assert_str_eq(names(cfg, "user", "a.example.com"), "A");
	cr_assert_str_eq(names(cfg, "joe", "a.example.com"), "B");
	config_unref(cfg);
}

Test(policy, subdomains_and_multiple)
{
	config *cfg = load("", "*  B\n.example.com  E\nuser@.example.com  A\n",
	                   "SubDomains yes\n");

	/* user@.example.com comes before .example.com */
	cr_assert_str_eq(names(cfg, "user", "a.b.example.com"), "A");
	cr_assert_str_eq(names(cfg, "joe", "a.b.example.com"), "E");
	cr_assert_str_eq(names(cfg, "joe", "example.net"), "B");
	config_unref(cfg);
	cfg = load("", "*  B\n.example.com  E\nuser@.example.com  A\n",
	           "SubDomains yes\nMultipleSignatures yes\n");
	cr_assert_str_eq(names(cfg, "user", "a.example.com"), "A,E,B");
	config_unref(cfg);
}

Test(policy, refile_in_file_order)
{
	config *cfg = load("refile:", "*@example.com  A\n*@*.example.com  E\n"
	                              "*  B\n", "");

	cr_assert_str_eq(names(cfg, "x", "example.com"), "A");
	cr_assert_str_eq(names(cfg, "x", "sub.example.com"), "E");
	cr_assert_str_eq(names(cfg, "x", "other.net"), "B");
	config_unref(cfg);
	cfg = load("refile:", "*@example.com  A\n*@example.com  E\n*  B\n"
	                      "*@example.com  A\n", "MultipleSignatures yes\n");
	cr_assert_str_eq(names(cfg, "x", "example.com"), "A,E,B");
	config_unref(cfg);
}

Test(policy, signer_fields)
{
	config *cfg = load("", "example.com  A  sales@example.com\n"
	                       "example.org  E  @evil.net\n"
	                       "example.net  B:%\n", "");
	policy_sender_addr s = sender("joe", "example.com");
	policy_signers out;
	dkim_error err;

	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_eq(out.count, 1);
	cr_assert_str_eq(out.v[0].domain, "example.com");
	cr_assert_str_eq(out.v[0].selector, "a");
	cr_assert_str_eq(out.v[0].identity, "sales@example.com");
	cr_assert_eq(out.v[0].alg, DKIM_ALG_RSA_SHA256);
	policy_signers_free(&out);
	/* an identity outside d= is dropped */
	s = sender("joe", "example.org");
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_null(out.v[0].identity);
	cr_assert_eq(out.v[0].alg, DKIM_ALG_ED25519_SHA256);
	policy_signers_free(&out);
	/* "%" domain and "KEY:SIGNER" with "%" */
	s = sender("joe", "example.net");
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_str_eq(out.v[0].domain, "example.net");
	cr_assert_str_eq(out.v[0].identity, "@example.net");
	policy_signers_free(&out);
	config_unref(cfg);
}

Test(policy, percent_key_name_and_file)
{
	config *cfg = load("", "example.org  %\nexample.biz  PER\n", "");
	policy_sender_addr s = sender("joe", "example.org");
	policy_signers out;
	dkim_error err;

	/* key name "%" = the key named after the sender domain: none here */
	cr_assert_str_eq(names(cfg, "joe", "example.org"), "");
	config_unref(cfg);
	cfg = load("", "example.org  PER\nexample.biz  PER\n", "");
	/* PER reads TMP/example.org.private for example.org */
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK,
	             "%s", err.message);
	cr_assert_eq(out.count, 1);
	cr_assert(out.v[0].key_owned);
	cr_assert_str_eq(out.v[0].domain, "example.org");
	cr_assert_eq(out.v[0].alg, DKIM_ALG_ED25519_SHA256);
	policy_signers_free(&out);
	s = sender("joe", "example.biz");
	cr_assert_neq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert(strstr(err.message, "example.biz.private") != NULL, "%s",
	          err.message);
	policy_signers_free(&out);
	config_unref(cfg);
}

Test(policy, single_key_domains)
{
	char text[256];
	config *cfg;
	policy_sender_addr s = sender("joe", "mail.example.com");
	policy_signers out;
	dkim_error err;

	snprintf(text, sizeof(text), "Domain example.com,example.net\n"
	         "Selector sel\nKeyFile %s\n", keyA);
	cfg = config_parse_buffer("t.conf", text, strlen(text), NULL, 0, &d);
	cr_assert_not_null(cfg);
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_eq(out.count, 0);
	s = sender("joe", "example.net");
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_eq(out.count, 1);
	cr_assert_str_eq(out.v[0].domain, "example.net");
	cr_assert_str_eq(out.v[0].selector, "sel");
	policy_signers_free(&out);
	config_unref(cfg);
	snprintf(text, sizeof(text), "Domain example.com\nSubDomains yes\n"
	         "Selector sel\nKeyFile %s\n", keyA);
	cfg = config_parse_buffer("t.conf", text, strlen(text), NULL, 0, &d);
	s = sender("joe", "mail.example.com");
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_eq(out.count, 1);
	cr_assert_str_eq(out.v[0].domain, "example.com");
	policy_signers_free(&out);
	config_unref(cfg);
}

/* OpenDKIM's "Domain *": every sender domain, signed as itself (d=). */
Test(policy, single_key_any_domain)
{
	char text[256];
	config *cfg;
	policy_sender_addr s = sender("joe", "mail.example.org");
	policy_signers out;
	dkim_error err;

	snprintf(text, sizeof(text), "Domain *\nSelector sel\nKeyFile %s\n", keyA);
	cfg = config_parse_buffer("t.conf", text, strlen(text), NULL, 0, &d);
	cr_assert_not_null(cfg);
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_OK);
	cr_assert_eq(out.count, 1);
	cr_assert_str_eq(out.v[0].domain, "mail.example.org");
	cr_assert_str_eq(out.v[0].selector, "sel");
	policy_signers_free(&out);
	config_unref(cfg);
}

Test(policy, sender_headers)
{
	config *cfg = load("", "* A\n", "SenderHeaders Sender,From\n");
	policy_header h[] = {
		{ "From", "Joe <joe@From.example>" },
		{ "Sender", "list-bounces@Lists.Example" },
	};
	policy_sender_addr s;

	cr_assert(policy_sender(cfg, h, 2, &s));
	cr_assert_str_eq(s.domain, "lists.example");
	cr_assert_str_eq(s.local, "list-bounces");
	cr_assert(policy_sender(cfg, h, 1, &s));
	cr_assert_str_eq(s.domain, "from.example");
	cr_assert_not(policy_sender(cfg, h + 1, 0, &s));
	h[0].value = "undisclosed";
	cr_assert_not(policy_sender(cfg, h, 1, &s));
	config_unref(cfg);
}

/* RFC 5322 §3.6: one From; "From :" (obs-optional) is a From field too. */
Test(policy, sender_needs_one_from)
{
	config *cfg = load("", "* A\n", "");
	policy_header h[] = {
		{ "From ", "Joe <joe@example.com>" },
		{ "Subject", "hello" },
		{ "FROM", "Mallory <mallory@evil.example>" },
	};
	policy_sender_addr s;

	cr_assert(policy_sender(cfg, h, 2, &s), "\"From :\" alone is the sender");
	cr_assert_str_eq(s.domain, "example.com");
	cr_assert_not(policy_sender(cfg, h, 3, &s), "two From fields: no sender");
	cr_assert(policy_sender(cfg, h + 1, 2, &s));
	cr_assert_str_eq(s.domain, "evil.example");
	config_unref(cfg);
}

Test(policy, clients_and_decision)
{
	config *cfg = load("", "* A\n", "InternalHosts 10.0.0.0/8\n"
	                   "PeerList 192.0.2.1\nExternalIgnoreList .ok.example\n"
	                   "MTA submission,msa\n");
	struct sockaddr_in sin;
	policy_client c = { .addr = (struct sockaddr *)&sin };
	policy_decision dec;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.2.3.4", &sin.sin_addr);
	cr_assert(policy_client_is_internal(cfg, &c));
	cr_assert_not(policy_client_is_peer(cfg, &c));
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	cr_assert(policy_client_is_peer(cfg, &c));
	cr_assert_not(policy_client_is_internal(cfg, &c));
	/* MTA: the daemon that received the message makes it trusted */
	c.daemon_name = "submission";
	cr_assert(policy_client_is_internal(cfg, &c));
	c.daemon_name = "smtpd";
	cr_assert_not(policy_client_is_internal(cfg, &c));
	c.daemon_name = NULL;
	c.authenticated = true;
	cr_assert(policy_client_is_internal(cfg, &c));
	c.hostname = "mx.ok.example";
	cr_assert(policy_client_is_ignored_external(cfg, &c));

	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 1 }, &dec);
	cr_assert(dec.sign && !dec.verify);
	decide(cfg, (policy_facts){
	       .internal = false, .have_sender = true, .nsigners = 1 }, &dec);
	cr_assert(!dec.sign && dec.verify && dec.log_external);
	cr_assert_eq(dec.why, POLICY_WHY_EXTERNAL);
	decide(cfg, (policy_facts){
	       .internal = false, .have_sender = true, .nsigners = 1, .ignored_external = true }, &dec);
	cr_assert_not(dec.log_external);
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 0 }, &dec);
	cr_assert_eq(dec.why, POLICY_WHY_NOT_OURS);
	cr_assert(dec.verify);
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = false, .nsigners = 0 }, &dec);
	cr_assert_eq(dec.why, POLICY_WHY_NO_SENDER);
	cr_assert_str_eq(policy_why_text(POLICY_WHY_NO_SENDER),
	                 "no sender address found");
	config_unref(cfg);
	cfg = config_new_defaults();
	cfg->sign = false;
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 1 }, &dec);
	cr_assert_eq(dec.why, POLICY_WHY_MODE);
	cfg->sign = true;
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 0 }, &dec);
	cr_assert_eq(dec.why, POLICY_WHY_NO_KEYS);
	config_unref(cfg);
}

static char *hlist(const config *cfg, const char *const *hdrs, size_t n)
{
	static char buf[512];
	const char **out;
	size_t nout, i;
	dkim_error err;

	cr_assert_eq(policy_sign_headers(cfg, hdrs, n, &out, &nout, &err),
	             DKIM_OK);
	buf[0] = '\0';
	for (i = 0; i < nout; i++) {
		strcat(buf, i ? ":" : "");
		strcat(buf, out[i]);
	}
	free(out);
	return buf;
}

/* Each configuration text is refused, its last message containing what. */
static void refused_with(const char *const *texts, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		cr_assert_null(config_parse_buffer("t.conf", texts[i],
		                                   strlen(texts[i]), NULL, 0, &d),
		               "%s accepted", texts[i]);
		cr_assert(d.count >= 1 && strstr(d.msgs[d.count - 1].text, what)
		                          != NULL,
		          "%s: %s", texts[i], d.count ? d.msgs[0].text : "");
		diag_list_free(&d);
	}
}

/* A fake MTA for MacroList: macros as "name=value" pairs. */
static const char *fake_macro(void *arg, const char *name)
{
	const char *const *m = arg;
	size_t len = strlen(name);

	for (; *m != NULL; m++)
		if (strncmp(*m, name, len) == 0 && (*m)[len] == '=')
			return *m + len + 1;
	return NULL;
}

Test(policy, macro_list)
{
	config *cfg = load("", "* A\n", "MacroList daemon_name|ORIGINATING|"
	                   "SUBMISSION,{auth_author},j|mx.example\n");
	const char *originating[] = { "{daemon_name}=ORIGINATING", NULL };
	const char *submission[] = { "{daemon_name}=SUBMISSION", NULL };
	const char *smtpd[] = { "{daemon_name}=smtpd", NULL };
	const char *lower[] = { "{daemon_name}=originating", NULL };
	const char *author[] = { "{auth_author}=", NULL };
	const char *j[] = { "j=mx.example", NULL };
	const char *none[] = { NULL };
	policy_client c = { .addr = NULL };

	cr_assert(policy_macro_listed(cfg, fake_macro, originating));
	cr_assert(policy_macro_listed(cfg, fake_macro, submission));
	cr_assert_not(policy_macro_listed(cfg, fake_macro, smtpd));
	/* values compare with case, as OpenDKIM's */
	cr_assert_not(policy_macro_listed(cfg, fake_macro, lower));
	/* no values listed: set to anything, even empty */
	cr_assert(policy_macro_listed(cfg, fake_macro, author));
	cr_assert(policy_macro_listed(cfg, fake_macro, j));
	cr_assert_not(policy_macro_listed(cfg, fake_macro, none));
	cr_assert_not(policy_client_is_internal(cfg, &c));
	c.macro_listed = true;
	cr_assert(policy_client_is_internal(cfg, &c));
	config_unref(cfg);
}

Test(policy, macro_list_bad_entries)
{
	static const char *const bad[] = {
		"MacroList daemon_name|\n", "MacroList daemon_name||x\n",
		"MacroList |x\n", "MacroList da$mon\n", "MacroList {}\n",
	};

	refused_with(bad, sizeof(bad) / sizeof(*bad), "bad MacroList entry");
}

/* ExemptDomains: exact domains (any case) or refile: patterns. */
Test(policy, exempt_domains)
{
	char *re = odk_write("exempt.re", "*.lists.example\n# comment\n"
	                     "partner.example\n", 0644);
	char text[512];
	config *cfg = load("", "* A\n", "ExemptDomains example.net,Example.ORG\n");
	policy_sender_addr a = sender("u", "example.net");
	policy_sender_addr b = sender("u", "example.org");
	policy_sender_addr c = sender("u", "sub.example.net");
	policy_sender_addr e = sender("u", "");
	policy_decision dec;

	cr_assert(policy_sender_exempt(cfg, &a));
	cr_assert(policy_sender_exempt(cfg, &b));
	cr_assert_not(policy_sender_exempt(cfg, &c), "exact, not subdomains");
	cr_assert_not(policy_sender_exempt(cfg, &e));
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 1, .exempt = true }, &dec);
	cr_assert(!dec.sign && !dec.verify && dec.why == POLICY_WHY_EXEMPT);
	cr_assert_str_eq(policy_why_text(dec.why), "sender domain in ExemptDomains");
	config_unref(cfg);
	snprintf(text, sizeof(text), "ExemptDomains refile:%s\n", re);
	cfg = load("", "* A\n", text);
	a = sender("u", "a.lists.example");
	b = sender("u", "lists.example");
	c = sender("u", "partner.example");
	cr_assert(policy_sender_exempt(cfg, &a));
	cr_assert_not(policy_sender_exempt(cfg, &b));
	cr_assert(policy_sender_exempt(cfg, &c));
	config_unref(cfg);
	cfg = config_new_defaults();
	cr_assert_not(policy_sender_exempt(cfg, &c), "none by default");
	config_unref(cfg);
	free(re);
}

Test(policy, exempt_domains_bad_entries)
{
	static const char *const bad[] = {
		"ExemptDomains user@example.com\n", "ExemptDomains *.example.com\n",
		"ExemptDomains .example.com\n", "ExemptDomains ex ample.com\n",
		"ExemptDomains example.com,exa$mple.net\n",
	};

	refused_with(bad, sizeof(bad) / sizeof(*bad), "bad ExemptDomains entry");
}

/* DontSignMailTo: exact addresses (any case, with or without the
 * brackets of RCPT TO) or refile: patterns; a match stops signing only. */
Test(policy, dont_sign_mail_to)
{
	char *re = odk_write("nosign.re", "*@partner.example\nlist-*@example.com\n", 0644);
	char text[512];
	config *cfg = load("", "* A\n", "DontSignMailTo csl:Bob@Example.NET,carol@example.org\n");
	policy_decision dec;

	cr_assert(policy_rcpt_no_sign(cfg, "<bob@example.net>"));
	cr_assert(policy_rcpt_no_sign(cfg, "BOB@example.net"));
	cr_assert(policy_rcpt_no_sign(cfg, "<carol@example.org>"));
	cr_assert_not(policy_rcpt_no_sign(cfg, "<bob@example.org>"));
	cr_assert_not(policy_rcpt_no_sign(cfg, "<bob@example.net"));
	cr_assert_not(policy_rcpt_no_sign(cfg, "<>"));
	cr_assert_not(policy_rcpt_no_sign(cfg, "example.net"));
	cr_assert_not(policy_rcpt_no_sign(cfg, NULL));
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 1, .no_sign_rcpt = true }, &dec);
	/* OpenDKIM accepts it at the end of headers: not verified either */
	cr_assert(!dec.sign && !dec.verify && dec.why == POLICY_WHY_RCPT);
	cr_assert_str_eq(policy_why_text(dec.why), "a recipient is in DontSignMailTo");
	/* a message not signed anyway keeps its reason */
	decide(cfg, (policy_facts){
	       .internal = false, .have_sender = true, .nsigners = 1, .no_sign_rcpt = true }, &dec);
	cr_assert(!dec.sign && dec.verify && dec.why == POLICY_WHY_EXTERNAL);
	config_unref(cfg);
	snprintf(text, sizeof(text), "DontSignMailTo refile:%s\nMode s\n", re);
	cfg = load("", "* A\n", text);
	cr_assert(policy_rcpt_no_sign(cfg, "<anyone@PARTNER.example>"));
	cr_assert(policy_rcpt_no_sign(cfg, "<list-dev@example.com>"));
	cr_assert_not(policy_rcpt_no_sign(cfg, "<dev@example.com>"));
	cr_assert_not(policy_rcpt_no_sign(cfg, "<x@sub.partner.example.net>"));
	decide(cfg, (policy_facts){
	       .internal = true, .have_sender = true, .nsigners = 1, .no_sign_rcpt = true }, &dec);
	cr_assert(!dec.sign && !dec.verify, "Mode s: neither");
	config_unref(cfg);
	cfg = config_new_defaults();
	cr_assert_not(policy_rcpt_no_sign(cfg, "<bob@example.net>"), "none by default");
	config_unref(cfg);
	free(re);
}

/* The end of headers decides a message whose every signature fails to
 * parse when On-BadSignature refuses it; accept and quarantine need the
 * end of the message (Authentication-Results, the quarantine request). */
Test(policy, eoh_action)
{
	static const struct {
		const char *setting;
		bool early;
		config_action action;
	} cases[] = {
		{ "", false, CONFIG_ACT_ACCEPT },       /* default: accept */
		{ "On-BadSignature accept\n", false, CONFIG_ACT_ACCEPT },
		{ "On-BadSignature quarantine\n", false, CONFIG_ACT_ACCEPT },
		{ "On-BadSignature reject\n", true, CONFIG_ACT_REJECT },
		{ "On-BadSignature tempfail\n", true, CONFIG_ACT_TEMPFAIL },
		{ "On-BadSignature discard\n", true, CONFIG_ACT_DISCARD },
		{ "On-Default reject\n", true, CONFIG_ACT_REJECT },
	};
	policy_decision verify = { .verify = true }, sign = { .sign = true }, none = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		config *cfg = load("", "* A\n", cases[i].setting);
		config_action a = CONFIG_ACT_ACCEPT;

		cr_expect_eq(policy_eoh_action(cfg, &verify, true, &a), cases[i].early,
		             "%s", cases[i].setting);
		cr_expect_eq(a, cases[i].action, "%s", cases[i].setting);
		cr_expect_not(policy_eoh_action(cfg, &verify, false, &a), "a signature parses");
		cr_expect_not(policy_eoh_action(cfg, &sign, true, &a), "signing");
		cr_expect_not(policy_eoh_action(cfg, &none, true, &a), "left alone");
		config_unref(cfg);
	}
}

Test(policy, dont_sign_mail_to_bad_entries)
{
	static const char *const bad[] = {
		"DontSignMailTo example.com\n", "DontSignMailTo @example.com\n",
		"DontSignMailTo bob@\n", "DontSignMailTo a@b.example,*@c.example\n",
	};

	refused_with(bad, sizeof(bad) / sizeof(*bad), "bad DontSignMailTo entry");
}

/* RemoveOldSignatures: the fields deleted as we sign are never in h=. */
Test(policy, remove_old_signatures_header_list)
{
	static const char *const hdrs[] = {
		"DKIM-Signature", "From", "dkim-signature", "Subject"
	};
	config *cfg = load("", "* A\n", "OmitHeaders Received\n"
	                   "SignHeaders *,+DKIM-Signature\n"
	                   "OversignHeaders From,DKIM-Signature\n");

	/* without it, a site may sign old signatures if it asks to */
	cr_assert_str_eq(hlist(cfg, hdrs, 4), "DKIM-Signature:From:"
	                 "dkim-signature:Subject:From:DKIM-Signature");
	config_unref(cfg);
	cfg = load("", "* A\n", "OmitHeaders Received\n"
	           "SignHeaders *,+DKIM-Signature\n"
	           "OversignHeaders From,DKIM-Signature\n"
	           "RemoveOldSignatures yes\n");
	cr_assert(cfg->remove_old_signatures);
	cr_assert_str_eq(hlist(cfg, hdrs, 4), "From:Subject:From");
	cr_assert(policy_is_signature_field("DKIM-SIGNATURE"));
	cr_assert_not(policy_is_signature_field("DKIM-Signatures"));
	config_unref(cfg);
}

Test(policy, header_list)
{
	static const char *const hdrs[] = {
		"Received", "From", "To", "Subject", "X-Mailer", "Received",
		"Date", "Bcc", "subject"
	};
	config *cfg = config_new_defaults();

	cr_assert_str_eq(hlist(cfg, hdrs, 9), "From:To:Subject:Date:subject");
	config_unref(cfg);
	cfg = load("", "* A\n", "OversignHeaders From,Reply-To\n"
	           "SignHeaders *,+X-Mailer\nOmitHeaders *,+To\n");
	cr_assert_str_eq(hlist(cfg, hdrs, 9),
	                 "From:Subject:X-Mailer:Date:subject:From:Reply-To");
	/* From is signed even when absent (RFC 6376 §5.4) */
	cr_assert_str_eq(hlist(cfg, hdrs + 2, 2), "Subject:From:Reply-To");
	config_unref(cfg);
	cfg = load("", "* A\n", "SignHeaders Subject\nOmitHeaders From\n");
	cr_assert_str_eq(hlist(cfg, hdrs, 4), "From:Subject");
	config_unref(cfg);
}

/* policy_evaluate for a client at addr (dotted quad) with one From field. */
static dkim_status evaluate(const config *cfg, const char *addr,
                            const char *from, policy_evaluation *ev)
{
	struct sockaddr_in sin;
	policy_client c = { .addr = (struct sockaddr *)&sin };
	policy_header h[] = { { "From", from }, { "Subject", " x" } };
	dkim_error err;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin.sin_addr);
	return policy_evaluate(cfg, &c, h, 2, false, ev, &err);
}

/*
 * The untrusted-domain rule: for a client that is not internal, the sender
 * domain is looked up (only to log "external host sent as our domain")
 * when it is plain; any other never reaches the tables or a "%" key path.
 */
Test(policy, evaluate_untrusted_domain)
{
	config *cfg = load("", "* PER\n", "InternalHosts 10.0.0.0/8\n");
	policy_evaluation ev;

	/* internal: "%" key file example.org.private exists, so it signs */
	cr_assert_eq(evaluate(cfg, "10.1.1.1", " <u@example.org>", &ev), DKIM_OK);
	cr_assert(ev.internal && ev.have_sender && ev.decision.sign);
	cr_assert_eq(ev.signers.count, 1);
	policy_signers_free(&ev.signers);
	/* internal, "%" key file missing: the lookup's error is reported */
	cr_assert_neq(evaluate(cfg, "10.1.1.1", " <u@nokey.example>", &ev), DKIM_OK);
	cr_assert_eq(ev.signers.count, 0);
	/* external, plain domain: looked up, not signed, logged */
	cr_assert_eq(evaluate(cfg, "192.0.2.9", " <u@example.org>", &ev), DKIM_OK);
	cr_assert(!ev.internal && !ev.decision.sign && ev.decision.verify);
	cr_assert_eq(ev.decision.why, POLICY_WHY_EXTERNAL);
	cr_assert(ev.decision.log_external);
	cr_assert_eq(ev.signers.count, 0);
	/* external, lookup failure ("%" file missing): just no signers */
	cr_assert_eq(evaluate(cfg, "192.0.2.9", " <u@nokey.example>", &ev), DKIM_OK);
	cr_assert_eq(ev.decision.why, POLICY_WHY_NOT_OURS);
	cr_assert_not(ev.decision.log_external);
	config_unref(cfg);

	/* external, a domain that is not plain: never looked up, even though
	 * "* A" matches every sender */
	cfg = load("", "* A\n", "InternalHosts 10.0.0.0/8\n");
	cr_assert_eq(evaluate(cfg, "192.0.2.9", " <u@example.com>", &ev), DKIM_OK);
	cr_assert(ev.decision.log_external);
	cr_assert_eq(evaluate(cfg, "192.0.2.9", " <u@ex..ample.com>", &ev), DKIM_OK);
	cr_assert(ev.have_sender && ev.decision.verify);
	cr_assert_eq(ev.decision.why, POLICY_WHY_NOT_OURS);
	cr_assert_not(ev.decision.log_external);
	cr_assert_eq(evaluate(cfg, "192.0.2.9", " <u@.example.com>", &ev), DKIM_OK);
	cr_assert_eq(ev.decision.why, POLICY_WHY_NOT_OURS);
	/* the same senders from an internal client are signed */
	cr_assert_eq(evaluate(cfg, "10.1.1.1", " <u@ex..ample.com>", &ev), DKIM_OK);
	cr_assert(ev.decision.sign);
	policy_signers_free(&ev.signers);
	/* no sender: neither signed nor looked up */
	cr_assert_eq(evaluate(cfg, "10.1.1.1", " undisclosed", &ev), DKIM_OK);
	cr_assert(!ev.have_sender && !ev.decision.sign);
	cr_assert_eq(ev.decision.why, POLICY_WHY_NO_SENDER);
	config_unref(cfg);
}

/* RFC 8601 §5: which received Authentication-Results fields are forged. */
Test(policy, ar_forged)
{
	config *cfg = load("", "* A\n", "RemoveARFrom other.example\n");
	config *all = load("", "* A\n", "RemoveARAll yes\n");
	config *none = load("", "* A\n", "");

	cr_assert(policy_ar_forged(none, "mx.example", " mx.example; dkim=pass"));
	cr_assert(policy_ar_forged(none, "mx.example", "MX.Example; dkim=pass"));
	cr_assert_not(policy_ar_forged(none, "mx.example", " far.example; dkim=pass"));
	cr_assert_not(policy_ar_forged(none, "mx.example", " other.example; dkim=pass"));
	/* RemoveARFrom, with or without AuthservIDWithJobID's "/job" */
	cr_assert(policy_ar_forged(cfg, "mx.example", " other.example; dkim=pass"));
	cr_assert(policy_ar_forged(cfg, "mx.example", " other.example/1A2B; dkim=pass"));
	cr_assert(policy_ar_forged(cfg, "mx.example", " mx.example; none"));
	cr_assert_not(policy_ar_forged(cfg, "mx.example", " far.example; dkim=pass"));
	cr_assert_not(policy_ar_forged(cfg, "mx.example", " ;;;"));
	/* RemoveARAll: every one */
	cr_assert(policy_ar_forged(all, "mx.example", " far.example; dkim=pass"));
	cr_assert(policy_ar_forged(all, "mx.example", " ;;;"));
	config_unref(cfg);
	config_unref(all);
	config_unref(none);
}

/* The one "%" expander (KeyTable paths, d=, SigningTable signers). */
Test(policy, percent_expansion)
{
	char *s = keystore_expand("%/keys/%.private", "example.org");

	cr_assert_str_eq(s, "example.org/keys/example.org.private");
	free(s);
	s = keystore_expand("plain", "example.org");
	cr_assert_str_eq(s, "plain");
	free(s);
	s = keystore_expand("", "example.org");
	cr_assert_str_eq(s, "");
	free(s);
}

/*
 * A SigningTable or KeyTable whose database could not be read again
 * (stale): what it lists is still signed; what it lacks is an internal
 * error (the row may have been added during the outage), never "no
 * signer".
 */
Test(policy, stale_tables_miss_is_an_error)
{
	config *cfg = load("", "example.com A\nexample.net %\n", "");
	policy_sender_addr s = sender("joe", "example.org");
	policy_signers out;
	dkim_error err;

	dataset_set_stale(cfg->signingtable, true);
	cr_assert_str_eq(names(cfg, "joe", "example.com"), "A");
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_ERR_IO);
	cr_assert(strstr(err.message, "SigningTable") != NULL &&
	          strstr(err.message, "'example.org'") != NULL, "%s",
	          err.message);
	dataset_set_stale(cfg->signingtable, false);
	cr_assert_str_eq(names(cfg, "joe", "example.org"), "");
	/* a key name the stale KeyTable lacks */
	s = sender("joe", "example.net");
	cr_assert_str_eq(names(cfg, "joe", "example.net"), "");
	dataset_set_stale(cfg->keytable, true);
	cr_assert_eq(policy_find_signers(cfg, &s, &out, &err), DKIM_ERR_IO);
	cr_assert(strstr(err.message, "KeyTable") != NULL, "%s", err.message);
	config_unref(cfg);
}
