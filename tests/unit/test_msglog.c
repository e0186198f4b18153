/*
 * test_msglog.c - the per-message log line (msglog_format): when it is
 * written, at which priority, and each of its parts, without a milter.
 */
#include "msglog.h"

#include <criterion/criterion.h>
#include <string.h>
#include <syslog.h>

static policy_signer signer = { .domain = "example.com", .selector = "sel" };
static policy_signers one_signer = { &signer, 1 };
static policy_signers no_signers = { NULL, 0 };

static msglog_facts facts(const policy_decision *d, const dkim_sig_result *r)
{
	msglog_facts f = {
		.qid = "4AbC", .action = CONFIG_ACT_ACCEPT, .decision = d,
		.signers = d->sign ? &one_signer : &no_signers, .result = r,
		.client_host = "mx.example.org",
	};
	return f;
}

Test(msglog, signed_success_only_with_syslog_success)
{
	policy_decision d = { .sign = true };
	msglog_facts f = facts(&d, NULL);
	char line[256];

	cr_assert_eq(msglog_format(&f, line, sizeof(line)), -1);
	f.log_success = true;
	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_INFO);
	cr_assert_str_eq(line, "4AbC: action=accept signed domain=example.com selector=sel");
}

Test(msglog, verified_pass_and_fail)
{
	policy_decision d = { .verify = true };
	dkim_sig_result r = { .result = DKIM_RESULT_PASS, .reason = "",
	                      .domain = "example.net", .selector = "s1" };
	msglog_facts f = facts(&d, &r);
	char line[256];

	cr_assert_eq(msglog_format(&f, line, sizeof(line)), -1);
	f.log_success = true;
	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_INFO);
	cr_assert_str_eq(line, "4AbC: action=accept domain=example.net selector=s1 result=pass");
	r.result = DKIM_RESULT_FAIL;
	r.reason = "body hash did not verify";
	f.log_success = false;
	f.action = CONFIG_ACT_REJECT;
	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_NOTICE);
	cr_assert_str_eq(line, "4AbC: action=reject domain=example.net selector=s1 "
	                 "result=fail reason=\"body hash did not verify\"");
}

/* Verified but unsigned, no result at all: a failure to say. */
Test(msglog, verify_without_result)
{
	policy_decision d = { .verify = true };
	msglog_facts f = facts(&d, NULL);
	char line[256];

	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_NOTICE);
	cr_assert_str_eq(line, "4AbC: action=accept domain=- selector=- result=none");
}

Test(msglog, log_why_and_removals)
{
	policy_decision d = { .verify = true, .why = POLICY_WHY_NOT_OURS };
	dkim_sig_result r = { .result = DKIM_RESULT_PASS, .reason = "",
	                      .domain = "example.net", .selector = "s1" };
	msglog_facts f = facts(&d, &r);
	char line[512];

	f.log_why = true;
	f.ar_removed = 2;
	f.sig_removed = 1;
	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_INFO);
	cr_assert_str_eq(line, "4AbC: action=accept domain=example.net selector=s1 result=pass"
	                 " not signed: sender domain not in SigningTable or Domain"
	                 " removed=2 forged Authentication-Results"
	                 " removed=1 old DKIM-Signature");
}

Test(msglog, external_host_always_logged_as_notice)
{
	policy_decision d = { .verify = true, .log_external = true };
	dkim_sig_result r = { .result = DKIM_RESULT_PASS, .reason = "" };
	msglog_facts f = facts(&d, &r);
	char line[256];

	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_NOTICE);
	cr_assert(strstr(line, " (external host mx.example.org sent as a signing domain)") != NULL,
	          "%s", line);
}

/* A long reason is cut to the buffer, NUL-terminated. */
Test(msglog, cut_to_the_buffer)
{
	policy_decision d = { .verify = true };
	char reason[600];
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	dkim_sig_result r = { .result = DKIM_RESULT_PERMERROR, .reason = reason };
	msglog_facts f = facts(&d, &r);
	char line[64];

	cr_assert_eq(msglog_format(&f, line, sizeof(line)), LOG_NOTICE);
	cr_assert_eq(strlen(line), sizeof(line) - 1);
	cr_assert(strncmp(line, "4AbC: action=accept domain=- selector=- result=permerror",
	                  56) == 0, "%s", line);
}
