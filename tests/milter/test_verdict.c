/*
 * test_verdict.c - Criterion tests for opendkim/verdict.c: which On-*
 * setting a message's verification results select, and the SMTP replies.
 */
#include <criterion/criterion.h>
#include <stddef.h>

#include "verdict.h"

static dkim_sig_result result(dkim_result res, const char *reason)
{
	dkim_sig_result r = { .result = res, .reason = reason };
	return r;
}

/* A result as libdkim gives it: the cause decides, the reason is for logs. */
static dkim_sig_result caused(dkim_result res, dkim_cause cause, const char *reason)
{
	dkim_sig_result r = { .result = res, .cause = cause, .reason = reason };
	return r;
}

static verdict_cause decide(dkim_sig_result *rs, size_t n, size_t *decisive)
{
	const dkim_sig_result *list[8];
	for (size_t i = 0; i < n; i++)
		list[i] = &rs[i];
	return verdict_from_results(list, n, decisive);
}

Test(verdict, unsigned_message)
{
	size_t d = 99;
	cr_assert_eq(verdict_from_results(NULL, 0, &d), VERDICT_NO_SIGNATURE);
	cr_assert_eq(d, 0);
}

Test(verdict, any_pass_wins)
{
	dkim_sig_result rs[] = { result(DKIM_RESULT_FAIL, "x"), result(DKIM_RESULT_PERMERROR, "y"),
	                         result(DKIM_RESULT_PASS, "") };
	size_t d;
	cr_assert_eq(decide(rs, 3, &d), VERDICT_PASS);
	cr_assert_eq(d, 2);
}

Test(verdict, topmost_decides_otherwise)
{
	size_t d;
	dkim_sig_result a[] = { result(DKIM_RESULT_FAIL, "body hash"), result(DKIM_RESULT_TEMPERROR, "t") };
	cr_assert_eq(decide(a, 2, &d), VERDICT_BAD_SIGNATURE);
	cr_assert_eq(d, 0);
	dkim_sig_result b[] = { result(DKIM_RESULT_TEMPERROR, "timeout"), result(DKIM_RESULT_FAIL, "") };
	cr_assert_eq(decide(b, 2, &d), VERDICT_DNS_ERROR);
}

Test(verdict, permerrors)
{
	size_t d;
	dkim_sig_result nokey[] = { caused(DKIM_RESULT_PERMERROR, DKIM_CAUSE_KEY_NOT_FOUND,
	                                   "no key for signature") };
	cr_assert_eq(decide(nokey, 1, &d), VERDICT_KEY_NOT_FOUND);
	dkim_sig_result revoked[] = { caused(DKIM_RESULT_FAIL, DKIM_CAUSE_KEY_REVOKED,
	                                     "key revoked") };
	cr_assert_eq(decide(revoked, 1, &d), VERDICT_BAD_SIGNATURE);
	dkim_sig_result syntax[] = { caused(DKIM_RESULT_PERMERROR, DKIM_CAUSE_SIG_SYNTAX,
	                                    "bad bh= tag") };
	cr_assert_eq(decide(syntax, 1, &d), VERDICT_BAD_SIGNATURE);
	/* A permanent error libdkim gives no known cause for: unsigned. */
	dkim_sig_result noreason[] = { result(DKIM_RESULT_PERMERROR, NULL) };
	cr_assert_eq(decide(noreason, 1, &d), VERDICT_UNUSABLE);
}

/* Every cause libdkim gives, with its result (dkim.h), to its On-* setting. */
Test(verdict, each_libdkim_cause)
{
	static const struct {
		dkim_result result;
		dkim_cause cause;
		verdict_cause want;
	} map[] = {
		{ DKIM_RESULT_PASS, DKIM_CAUSE_NONE, VERDICT_PASS },
		{ DKIM_RESULT_NONE, DKIM_CAUSE_NOT_EVALUATED, VERDICT_DEFAULT },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_SIG_SYNTAX, VERDICT_BAD_SIGNATURE },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_SIG_EXPIRED, VERDICT_UNUSABLE },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_SIG_FUTURE, VERDICT_UNUSABLE },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_FROM_FIELD, VERDICT_BAD_SIGNATURE },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_KEY_NOT_FOUND, VERDICT_KEY_NOT_FOUND },
		{ DKIM_RESULT_TEMPERROR, DKIM_CAUSE_KEY_TEMPFAIL, VERDICT_DNS_ERROR },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_KEY_INVALID, VERDICT_UNUSABLE },
		{ DKIM_RESULT_FAIL, DKIM_CAUSE_KEY_REVOKED, VERDICT_BAD_SIGNATURE },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_KEY_MISMATCH, VERDICT_UNUSABLE },
		{ DKIM_RESULT_POLICY, DKIM_CAUSE_ALG_REFUSED, VERDICT_UNUSABLE },
		{ DKIM_RESULT_POLICY, DKIM_CAUSE_KEY_TOO_SMALL, VERDICT_UNUSABLE },
		{ DKIM_RESULT_PERMERROR, DKIM_CAUSE_BODY_LENGTH, VERDICT_UNUSABLE },
		{ DKIM_RESULT_FAIL, DKIM_CAUSE_BODY_HASH, VERDICT_BAD_SIGNATURE },
		{ DKIM_RESULT_FAIL, DKIM_CAUSE_SIGNATURE, VERDICT_BAD_SIGNATURE },
	};
	size_t d;

	/* One row per cause: a new cause must be added here. */
	cr_assert_eq(sizeof(map) / sizeof(*map), (size_t)DKIM_CAUSE_SIGNATURE + 1);
	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++) {
		dkim_sig_result r[] = { caused(map[i].result, map[i].cause, "text") };
		verdict_cause got;

		cr_assert_eq(map[i].cause, (dkim_cause)i, "row %zu out of order", i);
		got = decide(r, 1, &d);
		cr_expect_eq(got, map[i].want, "%s gave %s", dkim_cause_name(map[i].cause),
		             verdict_cause_name(got));
	}
}

/* The reason text is for people: it can say anything without changing the
 * decision. */
Test(verdict, reason_text_does_not_decide)
{
	size_t d;
	dkim_sig_result lying[] = { caused(DKIM_RESULT_PERMERROR, DKIM_CAUSE_SIG_EXPIRED,
	                                   "no key for signature") };
	cr_assert_eq(decide(lying, 1, &d), VERDICT_UNUSABLE);
	dkim_sig_result revoked[] = { caused(DKIM_RESULT_FAIL, DKIM_CAUSE_KEY_REVOKED,
	                                     "key revoked") };
	revoked[0].reason = "the key record has an empty p=";
	cr_assert_eq(decide(revoked, 1, &d), VERDICT_BAD_SIGNATURE);
	dkim_sig_result nxdomain[] = { caused(DKIM_RESULT_PERMERROR, DKIM_CAUSE_KEY_NOT_FOUND,
	                                      NULL) };
	cr_assert_eq(decide(nxdomain, 1, &d), VERDICT_KEY_NOT_FOUND);
}

Test(verdict, policy_neutral_none)
{
	size_t d;
	dkim_sig_result pol[] = { result(DKIM_RESULT_POLICY, "key too small") };
	cr_assert_eq(decide(pol, 1, &d), VERDICT_UNUSABLE);
	dkim_sig_result neu[] = { result(DKIM_RESULT_NEUTRAL, "") };
	cr_assert_eq(decide(neu, 1, &d), VERDICT_DEFAULT);
	dkim_sig_result none[] = { result(DKIM_RESULT_NONE, "") };
	cr_assert_eq(decide(none, 1, &d), VERDICT_DEFAULT);
}

Test(verdict, actions_follow_the_configuration)
{
	config *cfg = config_new_defaults();
	cr_assert_not_null(cfg);
	/* OpenDKIM's defaults (OPENDKIM-COMPAT.md). */
	cr_assert_eq(verdict_action(cfg, VERDICT_BAD_SIGNATURE), CONFIG_ACT_ACCEPT);
	cr_assert_eq(verdict_action(cfg, VERDICT_DNS_ERROR), CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(verdict_action(cfg, VERDICT_INTERNAL), CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(verdict_action(cfg, VERDICT_SECURITY), CONFIG_ACT_TEMPFAIL);
	cr_assert_eq(verdict_action(cfg, VERDICT_SIGNATURE_ERROR), CONFIG_ACT_REJECT);
	cr_assert_eq(verdict_action(cfg, VERDICT_KEY_NOT_FOUND), CONFIG_ACT_ACCEPT);
	cr_assert_eq(verdict_action(cfg, VERDICT_NO_SIGNATURE), CONFIG_ACT_ACCEPT);
	/* On-Default never turns a pass into a rejection. */
	cfg->on_default = CONFIG_ACT_REJECT;
	cr_assert_eq(verdict_action(cfg, VERDICT_PASS), CONFIG_ACT_ACCEPT);
	cr_assert_eq(verdict_action(cfg, VERDICT_DEFAULT), CONFIG_ACT_REJECT);
	cfg->on_bad_signature = CONFIG_ACT_QUARANTINE;
	cr_assert_eq(verdict_action(cfg, VERDICT_BAD_SIGNATURE), CONFIG_ACT_QUARANTINE);
	config_unref(cfg);
}

/* Each On-* key drives its own cause and no other. */
Test(verdict, each_cause_has_its_own_key)
{
	static const struct {
		verdict_cause cause;
		size_t offset;
	} map[] = {
		{ VERDICT_BAD_SIGNATURE, offsetof(config, on_bad_signature) },
		{ VERDICT_NO_SIGNATURE, offsetof(config, on_no_signature) },
		{ VERDICT_KEY_NOT_FOUND, offsetof(config, on_key_not_found) },
		{ VERDICT_DNS_ERROR, offsetof(config, on_dns_error) },
		{ VERDICT_SIGNATURE_ERROR, offsetof(config, on_signature_error) },
		{ VERDICT_INTERNAL, offsetof(config, on_internal_error) },
		{ VERDICT_SECURITY, offsetof(config, on_security) },
		{ VERDICT_DEFAULT, offsetof(config, on_default) },
	};
	size_t n = sizeof(map) / sizeof(*map);
	for (size_t i = 0; i < n; i++) {
		config *cfg = config_new_defaults();
		cr_assert_not_null(cfg);
		for (size_t j = 0; j < n; j++)
			*(config_action *)((char *)cfg + map[j].offset) = CONFIG_ACT_ACCEPT;
		*(config_action *)((char *)cfg + map[i].offset) = CONFIG_ACT_DISCARD;
		for (size_t j = 0; j < n; j++)
			cr_assert_eq(verdict_action(cfg, map[j].cause),
			             i == j ? CONFIG_ACT_DISCARD : CONFIG_ACT_ACCEPT,
			             "On-* for %s", verdict_cause_name(map[i].cause));
		cr_assert_eq(verdict_action(cfg, VERDICT_PASS), CONFIG_ACT_ACCEPT);
		config_unref(cfg);
	}
}

Test(verdict, replies)
{
	verdict_reply r = verdict_reply_for(VERDICT_BAD_SIGNATURE, CONFIG_ACT_REJECT);
	cr_assert_str_eq(r.code, "550");
	cr_assert_str_eq(r.xcode, "5.7.20");   /* RFC 7372 */
	r = verdict_reply_for(VERDICT_DNS_ERROR, CONFIG_ACT_TEMPFAIL);
	cr_assert_str_eq(r.code, "451");
	cr_assert_str_eq(r.xcode, "4.4.3");
	r = verdict_reply_for(VERDICT_SECURITY, CONFIG_ACT_TEMPFAIL);
	cr_assert_str_eq(r.xcode, "4.3.4");
	r = verdict_reply_for(VERDICT_BAD_SIGNATURE, CONFIG_ACT_QUARANTINE);
	cr_assert_null(r.code);
	cr_assert_str_eq(r.text, "DKIM signature verification failed");
	/* Every cause has a reply of the right class for both actions. */
	for (int c = VERDICT_PASS; c <= VERDICT_DEFAULT; c++) {
		verdict_reply rej = verdict_reply_for((verdict_cause)c, CONFIG_ACT_REJECT);
		verdict_reply tmp = verdict_reply_for((verdict_cause)c, CONFIG_ACT_TEMPFAIL);
		cr_assert(rej.xcode[0] == '5' && tmp.xcode[0] == '4', "cause %d", c);
		cr_assert_not_null(verdict_cause_name((verdict_cause)c));
	}
}

/* RFC 6376 §3.6.1: a key in test mode (t=y) makes a failing signature
 * count as no signature (On-NoSignature), whatever went wrong; a pass
 * is still a pass. */
Test(verdict, test_mode_keys_are_unsigned_mail)
{
	size_t d;
	dkim_sig_result fail[] = { caused(DKIM_RESULT_FAIL, DKIM_CAUSE_BODY_HASH, "bh") };
	fail[0].testing = true;
	cr_assert_eq(decide(fail, 1, &d), VERDICT_UNUSABLE);
	dkim_sig_result revoked[] = { caused(DKIM_RESULT_FAIL, DKIM_CAUSE_KEY_REVOKED, "") };
	revoked[0].testing = true;
	cr_assert_eq(decide(revoked, 1, &d), VERDICT_UNUSABLE);
	dkim_sig_result pass[] = { caused(DKIM_RESULT_PASS, DKIM_CAUSE_NONE, "") };
	pass[0].testing = true;
	cr_assert_eq(decide(pass, 1, &d), VERDICT_PASS);
	config *cfg = config_new_defaults();
	cr_assert_not_null(cfg);
	cfg->on_bad_signature = CONFIG_ACT_REJECT;
	cr_assert_eq(verdict_action(cfg, decide(fail, 1, &d)), CONFIG_ACT_ACCEPT);
	cfg->on_no_signature = CONFIG_ACT_TEMPFAIL;
	cr_assert_eq(verdict_action(cfg, decide(fail, 1, &d)), CONFIG_ACT_TEMPFAIL);
	config_unref(cfg);
}
