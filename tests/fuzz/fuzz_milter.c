/*
 * fuzz_milter.c - libFuzzer target for whole milter conversations: the
 * daemon's message handling (opendkim/milter.c, its real callbacks, through
 * milter_desc) fed negotiate / connect / MAIL / header... / end of headers /
 * body chunks / end of message (or abort) sequences built from the input,
 * with no libmilter and no network.
 *
 * How: milter.c is compiled into this file (tests/fuzz/run leaves it out of
 * the sources for that reason) with the few libmilter calls it makes
 * (smfi_getpriv, smfi_insheader, smfi_chgheader, smfi_setreply...) defined
 * here, on a fake SMFICTX; dkim_resolver_lookup is renamed to a fake lookup
 * that answers every key query with the RFC 8463 Appendix A Ed25519 key,
 * whose private half signs for example.com in the configuration written at
 * start-up.
 *
 * Input: byte 0 = options (bit 0: second configuration - relaxed/relaxed,
 * RemoveARAll, MaximumHeaders 4096, RemoveOldSignatures; bit 1: SMFIP_HDR_LEADSPC; bits 2-3:
 * body chunk size 1/7/64/65535; bit 4: abort after the headers; bit 5: no
 * SMFIP_NR_* offered; bit 6: two messages on the connection); the rest is a
 * message (header lines, continuation lines, a blank line, the body). A
 * header line without a colon is sent as a field name with an empty value,
 * as a hostile MTA could.
 *
 * Each input: signed as an internal client, verified as an external one;
 * and if it was signed, the signed message verified again.
 * Invariants (a violation traps): every field we insert is one field (no
 * CR, every LF followed by folding white space, no NUL); SMTP reply texts
 * have no line breaks; deletions name an existing Authentication-Results
 * or (RemoveOldSignatures) DKIM-Signature field; a message we signed, with exactly one From and under the limits,
 * verifies (dkim=pass in the field we add). FUZZ_MILTER_DEBUG=1 in the
 * environment prints the signature and the A-R when that one fails.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

/* The key lookup milter.c hands to the engine: ours, not the resolver's. */
#define dkim_resolver_lookup fuzz_milter_lookup
#include "../../opendkim/milter.c"
#undef dkim_resolver_lookup

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MAX_INSERTED 16

/* RFC 8463 Appendix A: the Ed25519 key pair (seed and record). */
static const unsigned char fuzz_seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4,
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const char fuzz_record[] =
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/* ---- the fake libmilter context ------------------------------------------ */

struct smfi_str {
	void *priv;
	size_t nar;                     /* A-R fields sent */
	size_t nsig;                    /* DKIM-Signature fields sent */
	char *ins_name[FUZZ_MAX_INSERTED];
	char *ins_value[FUZZ_MAX_INSERTED];
	size_t nins;
};

static void fuzz_ctx_clear(SMFICTX *ctx)
{
	for (size_t i = 0; i < ctx->nins; i++) {
		free(ctx->ins_name[i]);
		free(ctx->ins_value[i]);
	}
	ctx->nins = 0;
	ctx->nar = 0;
	ctx->nsig = 0;
}

void *smfi_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

int smfi_setpriv(SMFICTX *ctx, void *priv)
{
	ctx->priv = priv;
	return MI_SUCCESS;
}

char *smfi_getsymval(SMFICTX *ctx, char *name)
{
	(void)ctx;
	if (strcmp(name, "i") == 0)
		return "FUZZQID";
	if (strcmp(name, "j") == 0)
		return "mx.example.net";
	return NULL;
}

/* One field: no CR, no NUL (by construction), LF only as folding. */
static void fuzz_check_field(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\r')
			__builtin_trap();
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
			__builtin_trap();
	}
}

int smfi_insheader(SMFICTX *ctx, int idx, char *name, char *value)
{
	if (idx < 0 || name == NULL || value == NULL || name[0] == '\0')
		__builtin_trap();
	fuzz_check_field(name);
	fuzz_check_field(value);
	if (ctx->nins < FUZZ_MAX_INSERTED) {
		ctx->ins_name[ctx->nins] = strdup(name);
		ctx->ins_value[ctx->nins] = strdup(value);
		ctx->nins++;
	}
	return MI_SUCCESS;
}

int smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	return smfi_insheader(ctx, 0, name, value);
}

int smfi_chgheader(SMFICTX *ctx, char *name, int idx, char *value)
{
	/* RemoveOldSignatures deletes DKIM-Signature fields (never changes). */
	if (strcasecmp(name, "DKIM-Signature") == 0) {
		if (idx < 1 || (size_t)idx > ctx->nsig || value != NULL)
			__builtin_trap();
		return MI_SUCCESS;
	}
	if (strcasecmp(name, "Authentication-Results") != 0 || idx < 1 ||
	    (size_t)idx > ctx->nar)
		__builtin_trap();
	if (value != NULL)
		fuzz_check_field(value);
	return MI_SUCCESS;
}

int smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
	(void)ctx;
	if (rcode == NULL || (rcode[0] != '4' && rcode[0] != '5') || strlen(rcode) != 3)
		__builtin_trap();
	if ((xcode != NULL && strpbrk(xcode, "\r\n") != NULL) ||
	    (message != NULL && strpbrk(message, "\r\n") != NULL))
		__builtin_trap();
	return MI_SUCCESS;
}

int smfi_setmlreply(SMFICTX *ctx, const char *rcode, const char *xcode, ...)
{
	(void)ctx;
	(void)rcode;
	(void)xcode;
	return MI_SUCCESS;
}

int smfi_quarantine(SMFICTX *ctx, char *reason)
{
	(void)ctx;
	if (reason == NULL || strpbrk(reason, "\r\n") != NULL)
		__builtin_trap();
	return MI_SUCCESS;
}

int smfi_progress(SMFICTX *ctx)
{
	(void)ctx;
	return MI_SUCCESS;
}

/* ---- the key lookup --------------------------------------------------------- */

void fuzz_milter_lookup(void *ctx, dkim_key_query *q, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		dkim_error err;
		q[i].key = dkim_pubkey_parse(fuzz_record, strlen(fuzz_record), &err);
		q[i].status = q[i].key != NULL ? DKIM_LOOKUP_FOUND : DKIM_LOOKUP_TEMPFAIL;
	}
}

/* ---- start-up: a key file and two configurations ------------------------------- */

static config *fuzz_cfg[2];
static int fuzz_cfg_current = -1;

static void fuzz_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		abort();
}

static void fuzz_write_key(const char *path)
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, fuzz_seed,
	                                            sizeof(fuzz_seed));
	FILE *f = fopen(path, "w");
	if (pk == NULL || f == NULL || chmod(path, 0600) != 0 ||
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	fclose(f);
	EVP_PKEY_free(pk);
}

static config *fuzz_load(const char *dir, int variant)
{
	char path[512], text[2048];
	snprintf(text, sizeof(text),
	         "Socket inet:1@127.0.0.1\nSyslog no\nMode sv\nAuthservID mx.example.net\n"
	         "KeyTable %s/keytable\nSigningTable refile:%s/signingtable\n"
	         "AlwaysAddARHeader yes\nNameservers 127.0.0.1@1\n%s",
	         dir, dir, variant == 0 ? "Canonicalization relaxed/simple\n"
	         : "Canonicalization relaxed/relaxed\nRemoveARAll yes\nMaximumHeaders 4096\n"
	           "OversignHeaders From\nMaximumSignaturesToVerify 2\n"
	           "RemoveOldSignatures yes\n");
	snprintf(path, sizeof(path), "%s/opendkim%d.conf", dir, variant);
	fuzz_write(path, text);
	diag_list diag = { 0 };
	config *cfg = config_load(path, NULL, &diag);
	diag_list_free(&diag);
	if (cfg == NULL)
		abort();
	return cfg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/fuzz_milter.XXXXXX", path[512], text[1024];
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	fuzz_write_key(path);
	snprintf(text, sizeof(text), "k\texample.com:sel:%s\n", path);
	snprintf(path, sizeof(path), "%s/keytable", dir);
	fuzz_write(path, text);
	snprintf(path, sizeof(path), "%s/signingtable", dir);
	fuzz_write(path, "*@example.com\tk\n");
	log_setup("fuzz_milter", false, 0, false);
	fuzz_cfg[0] = fuzz_load(dir, 0);
	fuzz_cfg[1] = fuzz_load(dir, 1);
	return 0;
}

static void fuzz_use_config(int variant)
{
	if (variant == fuzz_cfg_current)
		return;
	dkim_error err;
	if (!runtime_set_config(config_ref(fuzz_cfg[variant]), &err))
		abort();
	fuzz_cfg_current = variant;
}

/* ---- the message: header fields and body ----------------------------------- */

typedef struct {
	char **name, **value;
	size_t n;
	const uint8_t *body;
	size_t body_len;
	size_t nfrom;
} fuzz_message;

static void fuzz_add(fuzz_message *m, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen)
{
	m->name = realloc(m->name, (m->n + 1) * sizeof(*m->name));
	m->value = realloc(m->value, (m->n + 1) * sizeof(*m->value));
	if (m->name == NULL || m->value == NULL)
		abort();
	m->name[m->n] = strndup((const char *)name, nlen);
	m->value[m->n] = strndup((const char *)value, vlen);
	/* As the engine counts them: "From " (space before the colon) too. */
	size_t l = strlen(m->name[m->n]);
	while (l > 0 && (m->name[m->n][l - 1] == ' ' || m->name[m->n][l - 1] == '\t'))
		l--;
	if (l == 4 && strncasecmp(m->name[m->n], "From", 4) == 0)
		m->nfrom++;
	m->n++;
}

/* Appends a continuation line to the last field ("\n" + the line). */
static void fuzz_continue(fuzz_message *m, const uint8_t *line, size_t len)
{
	char *v = NULL;
	if (asprintf(&v, "%s\n%.*s", m->value[m->n - 1], (int)len, (const char *)line) < 0)
		abort();
	free(m->value[m->n - 1]);
	m->value[m->n - 1] = v;
}

static void fuzz_parse(fuzz_message *m, const uint8_t *d, size_t len)
{
	size_t pos = 0;
	memset(m, 0, sizeof(*m));
	while (pos < len) {
		const uint8_t *nl = memchr(d + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - d) : len, l = end - pos;
		const uint8_t *line = d + pos;
		pos = nl != NULL ? end + 1 : len;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l == 0)
			break;      /* the blank line: the body follows */
		if ((line[0] == ' ' || line[0] == '\t') && m->n > 0) {
			fuzz_continue(m, line, l);
			continue;
		}
		const uint8_t *colon = memchr(line, ':', l);
		if (colon == NULL)
			fuzz_add(m, line, l, (const uint8_t *)"", 0);
		else
			fuzz_add(m, line, (size_t)(colon - line), colon + 1, l - (size_t)(colon - line) - 1);
	}
	m->body = d + pos;
	m->body_len = len - pos;
}

static void fuzz_message_free(fuzz_message *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->name[i]);
		free(m->value[i]);
	}
	free(m->name);
	free(m->value);
}

/* ---- one conversation ------------------------------------------------------- */

typedef struct {
	uint8_t opts;
	const char *client;             /* IPv4 address */
	const char *prefix_name;        /* a field sent before the message's */
	const char *prefix_value;
} fuzz_conv;

static bool fuzz_sfsistat_goes_on(sfsistat st)
{
	return st == SMFIS_CONTINUE || st == SMFIS_NOREPLY;
}

static bool fuzz_send_header(SMFICTX *ctx, const fuzz_conv *c, const char *name,
                             const char *value)
{
	char *v = NULL;
	/* Without SMFIP_HDR_LEADSPC the MTA drops the space after the colon. */
	const char *send = value;
	if (!(c->opts & 0x02) && value[0] == ' ')
		send = value + 1;
	if (asprintf(&v, "%s", send) < 0)
		abort();
	if (strcasecmp(name, "Authentication-Results") == 0)
		ctx->nar++;
	if (strcasecmp(name, "DKIM-Signature") == 0)
		ctx->nsig++;
	sfsistat st = milter_desc.xxfi_header(ctx, (char *)name, v);
	free(v);
	return fuzz_sfsistat_goes_on(st);
}

static sfsistat fuzz_one_message(SMFICTX *ctx, const fuzz_conv *c, const fuzz_message *m)
{
	static const size_t chunks[4] = { 1, 7, 64, 65535 };
	char *argv[] = { "<sender@example.com>", NULL };
	ctx->nar = 0;
	ctx->nsig = 0;
	if (!fuzz_sfsistat_goes_on(milter_desc.xxfi_envfrom(ctx, argv)))
		return SMFIS_ACCEPT;
	bool on = c->prefix_name == NULL || fuzz_send_header(ctx, c, c->prefix_name, c->prefix_value);
	for (size_t i = 0; on && i < m->n; i++)
		on = fuzz_send_header(ctx, c, m->name[i], m->value[i]);
	if (!on || !fuzz_sfsistat_goes_on(milter_desc.xxfi_eoh(ctx)))
		return SMFIS_ACCEPT;
	if (c->opts & 0x10) {
		milter_desc.xxfi_abort(ctx);
		return SMFIS_ACCEPT;
	}
	size_t chunk = chunks[(c->opts >> 2) & 3];
	for (size_t off = 0; off < m->body_len; off += chunk) {
		size_t n = m->body_len - off < chunk ? m->body_len - off : chunk;
		if (!fuzz_sfsistat_goes_on(milter_desc.xxfi_body(ctx, (unsigned char *)m->body + off, n)))
			return SMFIS_ACCEPT;
	}
	return milter_desc.xxfi_eom(ctx);
}

static sfsistat fuzz_conversation(SMFICTX *ctx, const fuzz_conv *c, const fuzz_message *m)
{
	unsigned long f0 = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE, f1 = 0x1FFFFF;
	unsigned long p0, p1, p2, p3;
	if (!(c->opts & 0x02))
		f1 &= ~(unsigned long)SMFIP_HDR_LEADSPC;
	if (c->opts & 0x20)
		f1 &= ~(unsigned long)(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
		                       SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN |
		                       SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_HDR);
	memset(ctx, 0, sizeof(*ctx));
	sfsistat st = milter_desc.xxfi_negotiate(ctx, f0, f1, 0, 0, &p0, &p1, &p2, &p3);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(25) };
	inet_pton(AF_INET, c->client, &sin.sin_addr);
	if (st == SMFIS_CONTINUE)
		st = milter_desc.xxfi_connect(ctx, "client.example", (struct sockaddr *)&sin);
	if (st == SMFIS_NOREPLY)
		st = SMFIS_CONTINUE;    /* SMFIP_NR_CONN negotiated */
	int rounds = (c->opts & 0x40) ? 2 : 1;
	for (int i = 0; st == SMFIS_CONTINUE && i < rounds; i++) {
		if (i > 0)
			fuzz_ctx_clear(ctx);
		st = fuzz_one_message(ctx, c, m);
		st = st == SMFIS_ACCEPT || st == SMFIS_REJECT || st == SMFIS_TEMPFAIL
		     || st == SMFIS_DISCARD ? SMFIS_CONTINUE : st;
	}
	milter_desc.xxfi_close(ctx);
	if (ctx->priv != NULL)
		__builtin_trap();       /* mlfi_close must release the connection */
	return st;
}

static const char *fuzz_inserted(const SMFICTX *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->nins; i++)
		if (strcasecmp(ctx->ins_name[i], name) == 0)
			return ctx->ins_value[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opts = data[0];
	fuzz_use_config(opts & 1);
	fuzz_message m;
	fuzz_parse(&m, data + 1, size - 1);
	SMFICTX sign = { 0 }, verify = { 0 }, again = { 0 };

	fuzz_conv c = { .opts = opts, .client = "127.0.0.1" };
	fuzz_conversation(&sign, &c, &m);
	c.client = "203.0.113.9";
	fuzz_conversation(&verify, &c, &m);

	/* What we signed verifies (one From, not aborted, no oversigning
	 * trouble: configuration 0, one message). */
	const char *sig = fuzz_inserted(&sign, "DKIM-Signature");
	if (sig != NULL && !(opts & 0x10)) {
		c.prefix_name = "DKIM-Signature";
		c.prefix_value = sig;
		fuzz_conversation(&again, &c, &m);
		const char *ar = fuzz_inserted(&again, "Authentication-Results");
		if ((opts & 0x51) == 0 && m.nfrom == 1 && ar != NULL &&
		    strstr(ar, "dkim=pass") == NULL && strstr(ar, "dkim=") != NULL &&
		    (getenv("FUZZ_MILTER_DEBUG") == NULL || fprintf(stderr, "sig: %s\nA-R: %s\n", sig, ar) > 0))
			__builtin_trap();
	}
	fuzz_ctx_clear(&sign);
	fuzz_ctx_clear(&verify);
	fuzz_ctx_clear(&again);
	fuzz_message_free(&m);
	return 0;
}
