/*
 * verify_dns.c - verifies stored messages with keys fetched over DNS.
 *
 *     verify_dns NAMESERVERS MESSAGE... 
 *
 * Each MESSAGE is verified in turn through dkim_msg_verify with
 * dkim_resolver_lookup (one resolver, so its cache is shared across the
 * messages). Prints one line per signature:
 *     FILE: RESULT d=DOMAIN s=SELECTOR bits=N [reason]
 * then "queries_sent=N cache_hits=N". Exit status 0 unless a message could
 * not be processed at all. Used by tests/dns/e2e.sh.
 */
#include "dkim.h"
#include "dkim_resolver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int verify_file(dkim_resolver *res, const char *path)
{
	dkim_error err;
	char buf[8192];
	dkim_msg *msg;
	size_t n, i;
	FILE *f;
	int rc = 0;

	memset(&err, 0, sizeof(err));
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return 1;
	}
	msg = dkim_msg_new(NULL, &err);
	if (msg == NULL || dkim_msg_verify(msg, dkim_resolver_lookup, res, &err) != DKIM_OK)
		rc = 1;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		rc = dkim_msg_feed_raw(msg, buf, n, &err) != DKIM_OK;
	if (rc == 0)
		rc = dkim_msg_eom(msg, &err) != DKIM_OK;
	fclose(f);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		dkim_msg_free(msg);
		return 1;
	}
	for (i = 0; i < dkim_msg_result_count(msg); i++) {
		const dkim_sig_result *r = dkim_msg_result(msg, i);

		printf("%s: %s d=%s s=%s bits=%u%s%s\n", path, dkim_result_name(r->result),
		       r->domain != NULL ? r->domain : "-",
		       r->selector != NULL ? r->selector : "-", r->key_bits,
		       r->reason[0] != '\0' ? " " : "", r->reason);
	}
	dkim_msg_free(msg);
	return 0;
}

int main(int argc, char **argv)
{
	dkim_resolver_options opts;
	dkim_resolver_stats st;
	dkim_resolver *res;
	dkim_error err;
	int i, rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: verify_dns NAMESERVERS MESSAGE...\n");
		return 2;
	}
	memset(&err, 0, sizeof(err));
	dkim_resolver_options_init(&opts);
	opts.nameservers = argv[1];
	opts.timeout_ms = 3000;
	res = dkim_resolver_new(&opts, &err);
	if (res == NULL) {
		fprintf(stderr, "verify_dns: %s\n", err.message);
		return 2;
	}
	for (i = 2; i < argc; i++)
		rc |= verify_file(res, argv[i]);
	dkim_resolver_stats_get(res, &st);
	printf("queries_sent=%llu cache_hits=%llu\n",
	       (unsigned long long)st.queries_sent, (unsigned long long)st.cache_hits);
	dkim_resolver_free(res);
	return rc;
}
