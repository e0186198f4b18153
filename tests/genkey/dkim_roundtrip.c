/*
 * dkim_roundtrip.c - test driver: signs a message with a key file, or
 * verifies a message's signatures with keys from a DNS server, through
 * libdkim only (the milter is not needed to test a key pair).
 *
 *   dkim_roundtrip sign KEYFILE DOMAIN SELECTOR < message > signed
 *       prepends "DKIM-Signature: ..." (relaxed/relaxed, the algorithm of
 *       the key) to the message read from stdin.
 *   dkim_roundtrip verify NAMESERVERS < signed
 *       prints one "RESULT d=D s=S reason" line per signature; exits 0
 *       only when there is a signature and every one passes.
 *
 * Errors: a line on stderr, exit 2.
 */
#include "dkim.h"
#include "dkim_resolver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RT_MAX_MESSAGE (1u << 20)

static char *rt_read_stdin(size_t *len)
{
	char *buf = malloc(RT_MAX_MESSAGE);

	if (buf == NULL)
		return NULL;
	*len = fread(buf, 1, RT_MAX_MESSAGE, stdin);
	return buf;
}

static int rt_fail(const char *what, const dkim_error *err)
{
	fprintf(stderr, "dkim_roundtrip: %s: %s\n", what, err ? err->message : "");
	return 2;
}

static int rt_sign(const char *keyfile, const char *domain, const char *selector)
{
	static const char *const headers[] = { "From", "To", "Subject", "Date",
	                                       "Message-ID" };
	dkim_error err = { DKIM_OK, "" };
	dkim_privkey *key = dkim_privkey_load_file(keyfile, &err);
	dkim_sign_params p;
	dkim_msg *msg;
	size_t len;
	char *data;
	int rc = 2;

	if (key == NULL)
		return rt_fail(keyfile, &err);
	memset(&p, 0, sizeof(p));
	p.key = key;
	p.alg = dkim_privkey_type(key) == DKIM_KEY_ED25519 ? DKIM_ALG_ED25519_SHA256
	                                                   : DKIM_ALG_RSA_SHA256;
	p.domain = domain;
	p.selector = selector;
	p.header_canon = p.body_canon = DKIM_CANON_RELAXED;
	p.headers = headers;
	p.nheaders = sizeof(headers) / sizeof(headers[0]);
	p.timestamp = true;
	data = rt_read_stdin(&len);
	msg = dkim_msg_new(NULL, &err);
	if (data != NULL && msg != NULL &&
	    dkim_msg_add_signer(msg, &p, &err) >= 0 &&
	    dkim_msg_feed_raw(msg, data, len, &err) == DKIM_OK &&
	    dkim_msg_eom(msg, &err) == DKIM_OK) {
		printf("DKIM-Signature: %s\n", dkim_msg_signature(msg, 0, "\n"));
		fwrite(data, 1, len, stdout);
		rc = 0;
	} else {
		rt_fail("sign", &err);
	}
	if (msg != NULL)
		dkim_msg_free(msg);
	free(data);
	dkim_privkey_free(key);
	return rc;
}

static int rt_report(const dkim_msg *msg)
{
	size_t n = dkim_msg_result_count(msg);
	int rc = n > 0 ? 0 : 1;

	for (size_t i = 0; i < n; i++) {
		const dkim_sig_result *r = dkim_msg_result(msg, i);

		printf("%s d=%s s=%s %s\n", dkim_result_name(r->result),
		       r->domain ? r->domain : "-", r->selector ? r->selector : "-",
		       r->reason ? r->reason : "");
		if (r->result != DKIM_RESULT_PASS)
			rc = 1;
	}
	if (n == 0)
		printf("none\n");
	return rc;
}

static int rt_verify(const char *nameservers)
{
	dkim_error err = { DKIM_OK, "" };
	dkim_resolver_options ro;
	dkim_resolver *res;
	dkim_msg *msg = NULL;
	size_t len;
	char *data;
	int rc = 2;

	dkim_resolver_options_init(&ro);
	ro.nameservers = nameservers;
	ro.timeout_ms = 3000;
	res = dkim_resolver_new(&ro, &err);
	if (res == NULL)
		return rt_fail("resolver", &err);
	data = rt_read_stdin(&len);
	if (data != NULL && (msg = dkim_msg_new(NULL, &err)) != NULL &&
	    dkim_msg_verify(msg, dkim_resolver_lookup, res, &err) == DKIM_OK &&
	    dkim_msg_feed_raw(msg, data, len, &err) == DKIM_OK &&
	    dkim_msg_eom(msg, &err) == DKIM_OK)
		rc = rt_report(msg);
	else
		rt_fail("verify", &err);
	if (msg != NULL)
		dkim_msg_free(msg);
	free(data);
	dkim_resolver_free(res);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "sign") == 0)
		return rt_sign(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return rt_verify(argv[2]);
	fprintf(stderr, "usage: dkim_roundtrip sign KEYFILE DOMAIN SELECTOR | "
	                "verify NAMESERVERS\n");
	return 2;
}
