/*
 * dkimtool - a command-line signer and verifier over the public libdkim API
 * (dkim.h only), used by the interoperability tests to run libdkim against
 * independent implementations (dkimpy, OpenDKIM).
 *
 *   dkimtool sign -k KEYFILE -d DOMAIN -s SELECTOR [-c HEADER/BODY]
 *                 [-a ALG] [-H name:name:...] [-i IDENTITY] [-t TIMESTAMP]
 *                 [-l] [-C CHUNK] < message > signed
 *       Prints the message with a DKIM-Signature field prepended, its lines
 *       ending like the input's first line (CRLF or LF). -t adds t= with the
 *       given time (seconds since the epoch); -l adds l=.
 *
 *   dkimtool verify [-r RECORDSFILE] [-C CHUNK] < message
 *       RECORDSFILE lines are "selector._domainkey.domain RECORD" (blank
 *       lines and "#" comments ignored); the keys are looked up there by an
 *       in-process dkim_lookup_fn. Prints one line per signature:
 *           RESULT d=D s=S a=A kind=K REASON
 *       where K is none, body-hash or signature (from the dkim_cause).
 *
 *   dkimtool arc [-r RECORDSFILE] [-k KEYFILE -d DOMAIN -s SELECTOR
 *                -A AUTHSERV-ID [-H name:name:...]] < message
 *       Validates the ARC chain (RFC 8617 §5.2) and prints
 *       "arc=RESULT oldest-pass=N REASON" on stderr; with -k, also seals
 *       (§5.1) and prints the message with the new ARC set on top (exit 0
 *       when a set was added). Without -k, exit 0 when the chain passes.
 *
 *   dkimtool batch
 *       Runs many sign/verify commands in one process; see dkimtool_batch.
 *
 *   -C CHUNK feeds the message to the engine in pieces of CHUNK bytes, so
 *   that tests can put line ends and header boundaries across pieces.
 *
 * Exit status: 0 success (verify: at least one signature and all pass),
 * 1 verification did not pass (or no signature), 2 usage or engine error
 * (the message goes to stderr).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dkim.h"

/* The tool reads whole messages into memory; the tests stay far below. */
#define DKIMTOOL_MAX_INPUT (64u * 1024u * 1024u)
#define DKIMTOOL_MAX_HEADERS 256

enum { DKIMTOOL_EXIT_OK = 0, DKIMTOOL_EXIT_FAIL = 1, DKIMTOOL_EXIT_ERROR = 2 };

/* Where results and diagnostics go: stdout/stderr, or a batch reply. */
static FILE *dkimtool_out;
static FILE *dkimtool_err;

typedef struct {
	char *data;
	size_t len;
	size_t chunk;   /* feed in pieces of this size; 0: all at once */
} dkimtool_buf;

/* One "selector._domainkey.domain RECORD" line of a records file. */
typedef struct {
	char *name;
	char *record;
} dkimtool_record;

typedef struct {
	dkimtool_record *items;
	size_t n;
} dkimtool_records;

static int dkimtool_usage(void)
{
	fputs("usage: dkimtool sign -k KEYFILE -d DOMAIN -s SELECTOR"
	      " [-c relaxed/simple] [-a rsa-sha256|ed25519-sha256]"
	      " [-H from:to:subject] [-i IDENTITY] [-t TIMESTAMP] [-l]"
	      " [-C CHUNK] < msg\n"
	      "       dkimtool verify [-r RECORDSFILE] [-C CHUNK] < msg\n"
	      "       dkimtool arc [-r RECORDSFILE] [-k KEYFILE -d DOMAIN -s SELECTOR"
	      " -A AUTHSERV-ID [-H from:to]] < msg\n",
	      dkimtool_err);
	return DKIMTOOL_EXIT_ERROR;
}

/* Reads a whole stream; false (with a message) on error or over the cap. */
static bool dkimtool_read_all(FILE *in, dkimtool_buf *buf)
{
	size_t cap = 65536;

	buf->len = 0;
	buf->data = malloc(cap);
	while (buf->data != NULL) {
		size_t got = fread(buf->data + buf->len, 1, cap - buf->len, in);

		buf->len += got;
		if (got == 0)
			return !ferror(in);
		if (buf->len == cap) {
			char *bigger;

			if (cap >= DKIMTOOL_MAX_INPUT) {
				fputs("dkimtool: input too large\n", dkimtool_err);
				return false;
			}
			cap *= 2;
			bigger = realloc(buf->data, cap);
			if (bigger == NULL)
				break;
			buf->data = bigger;
		}
	}
	fputs("dkimtool: out of memory\n", dkimtool_err);
	return false;
}

/* -C: a chunk size of 1 byte or more. */
static bool dkimtool_parse_chunk(const char *text, size_t *chunk)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > DKIMTOOL_MAX_INPUT) {
		fprintf(dkimtool_err, "dkimtool: bad chunk size %s\n", text);
		return false;
	}
	*chunk = (size_t)v;
	return true;
}

/* Feeds the whole message in buf->chunk pieces (all at once when 0). */
static dkim_status dkimtool_feed(dkim_msg *msg, const dkimtool_buf *buf,
                                 dkim_error *err)
{
	size_t step = buf->chunk != 0 ? buf->chunk : buf->len;
	size_t off = 0;

	do {
		size_t n = buf->len - off < step ? buf->len - off : step;
		dkim_status st = dkim_msg_feed_raw(msg, buf->data + off, n, err);

		if (st != DKIM_OK)
			return st;
		off += n;
	} while (off < buf->len);
	return DKIM_OK;
}

static int dkimtool_engine_error(const char *what, const dkim_error *err)
{
	fprintf(dkimtool_err, "dkimtool: %s: %s: %s\n", what,
	        dkim_status_name(err->status), err->message);
	return DKIMTOOL_EXIT_ERROR;
}

/* "relaxed/simple", "simple", ... (RFC 6376 §3.5 c=; body defaults to simple). */
static bool dkimtool_parse_canon(const char *text, dkim_canon *hdr,
                                 dkim_canon *body)
{
	const char *slash = strchr(text, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	const char *btext = slash != NULL ? slash + 1 : "simple";

	if (hlen == 6 && strncmp(text, "simple", 6) == 0)
		*hdr = DKIM_CANON_SIMPLE;
	else if (hlen == 7 && strncmp(text, "relaxed", 7) == 0)
		*hdr = DKIM_CANON_RELAXED;
	else
		return false;
	if (strcmp(btext, "simple") == 0)
		*body = DKIM_CANON_SIMPLE;
	else if (strcmp(btext, "relaxed") == 0)
		*body = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

/* Splits "from:to:subject" in place into names; false when too many. */
static bool dkimtool_split_headers(char *list, const char **names, size_t *n)
{
	char *save = NULL;

	*n = 0;
	for (char *tok = strtok_r(list, ":", &save); tok != NULL;
	     tok = strtok_r(NULL, ":", &save)) {
		if (*n == DKIMTOOL_MAX_HEADERS)
			return false;
		names[(*n)++] = tok;
	}
	return *n > 0;
}

/* The line ending of the input's first line: CRLF or LF. */
static const char *dkimtool_eol_of(const dkimtool_buf *msg)
{
	const char *nl = memchr(msg->data, '\n', msg->len);

	if (nl != NULL && nl > msg->data && nl[-1] == '\r')
		return "\r\n";
	return "\n";
}

typedef struct {
	const char *keyfile;
	const char *canon;
	const char *alg;
	char *headers;
	const char *timestamp;
	const char *chunk;
	bool length;
	dkim_sign_params params;
} dkimtool_sign_args;

static bool dkimtool_sign_options(int argc, char **argv, dkimtool_sign_args *a)
{
	int c;

	while ((c = getopt(argc, argv, "k:d:s:c:a:H:i:t:lC:")) != -1) {
		switch (c) {
		case 'k': a->keyfile = optarg; break;
		case 'd': a->params.domain = optarg; break;
		case 's': a->params.selector = optarg; break;
		case 'c': a->canon = optarg; break;
		case 'a': a->alg = optarg; break;
		case 'H': a->headers = optarg; break;
		case 'i': a->params.identity = optarg; break;
		case 't': a->timestamp = optarg; break;
		case 'l': a->length = true; break;
		case 'C': a->chunk = optarg; break;
		default: return false;
		}
	}
	return optind == argc && a->keyfile != NULL &&
	       a->params.domain != NULL && a->params.selector != NULL;
}

/* Fills params from the parsed options; false with a message on dkimtool_err. */
static bool dkimtool_sign_setup(dkimtool_sign_args *a, const dkim_privkey *key,
                                dkim_options *opts, const char **names)
{
	char *list = a->headers;

	a->params.key = key;
	a->params.alg = dkim_privkey_type(key) == DKIM_KEY_ED25519 ?
	                DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256;
	if (a->alg != NULL &&
	    !dkim_alg_parse(a->alg, strlen(a->alg), &a->params.alg)) {
		fprintf(dkimtool_err, "dkimtool: unknown algorithm %s\n", a->alg);
		return false;
	}
	if (!dkimtool_parse_canon(a->canon != NULL ? a->canon : "simple/simple",
	                          &a->params.header_canon, &a->params.body_canon)) {
		fprintf(dkimtool_err, "dkimtool: bad canonicalization %s\n", a->canon);
		return false;
	}
	if (!dkimtool_split_headers(list, names, &a->params.nheaders)) {
		fputs("dkimtool: bad or too long -H list\n", dkimtool_err);
		return false;
	}
	a->params.headers = names;
	a->params.body_length = a->length;
	if (a->timestamp != NULL) {
		char *end;

		errno = 0;
		opts->now = (time_t)strtoll(a->timestamp, &end, 10);
		if (errno != 0 || *end != '\0' || opts->now <= 0) {
			fprintf(dkimtool_err, "dkimtool: bad timestamp %s\n", a->timestamp);
			return false;
		}
		a->params.timestamp = true;
	}
	return true;
}

/* Signs buf with the message context; prints the signed message. */
static int dkimtool_sign_message(const dkim_options *opts,
                                 const dkim_sign_params *params,
                                 const dkimtool_buf *buf)
{
	dkim_error err = { 0 };
	dkim_msg *msg = dkim_msg_new(opts, &err);
	const char *eol = dkimtool_eol_of(buf);
	const char *sig;
	int rc = DKIMTOOL_EXIT_ERROR;

	if (msg == NULL)
		return dkimtool_engine_error("dkim_msg_new", &err);
	if (dkim_msg_add_signer(msg, params, &err) < 0)
		rc = dkimtool_engine_error("add signer", &err);
	else if (dkimtool_feed(msg, buf, &err) != DKIM_OK)
		rc = dkimtool_engine_error("feed", &err);
	else if (dkim_msg_eom(msg, &err) != DKIM_OK)
		rc = dkimtool_engine_error("eom", &err);
	else if ((sig = dkim_msg_signature(msg, 0, eol)) == NULL)
		fputs("dkimtool: no signature produced\n", dkimtool_err);
	else {
		fprintf(dkimtool_out, "DKIM-Signature: %s%s", sig, eol);
		fwrite(buf->data, 1, buf->len, dkimtool_out);
		rc = fflush(dkimtool_out) == 0 ? DKIMTOOL_EXIT_OK : DKIMTOOL_EXIT_ERROR;
	}
	dkim_msg_free(msg);
	return rc;
}

/* sign: the message is in buf (read by the caller); -C sets buf->chunk. */
static int dkimtool_sign(int argc, char **argv, dkimtool_buf *buf)
{
	/* Without -H: the fields of RFC 6376 §5.4.1 most messages carry. */
	char default_headers[] = "from:to:cc:subject:date:message-id:"
	                         "mime-version:content-type";
	dkimtool_sign_args a = { .headers = default_headers };
	const char *names[DKIMTOOL_MAX_HEADERS];
	dkim_options opts;
	dkim_error err = { 0 };
	dkim_privkey *key;
	int rc = DKIMTOOL_EXIT_ERROR;

	if (!dkimtool_sign_options(argc, argv, &a))
		return dkimtool_usage();
	dkim_options_init(&opts);
	key = dkim_privkey_load_file(a.keyfile, &err);
	if (key == NULL)
		return dkimtool_engine_error("private key", &err);
	if (dkimtool_sign_setup(&a, key, &opts, names) &&
	    (a.chunk == NULL || dkimtool_parse_chunk(a.chunk, &buf->chunk)))
		rc = dkimtool_sign_message(&opts, &a.params, buf);
	dkim_privkey_free(key);
	return rc;
}

/* ---- verify --------------------------------------------------------------- */

static void dkimtool_records_free(dkimtool_records *recs)
{
	for (size_t i = 0; i < recs->n; i++) {
		free(recs->items[i].name);
		free(recs->items[i].record);
	}
	free(recs->items);
	recs->items = NULL;
	recs->n = 0;
}

/* Adds one "name record" line (already stripped of its line end). */
static bool dkimtool_records_add(dkimtool_records *recs, const char *line)
{
	size_t nlen = strcspn(line, " \t");
	const char *rec = line + nlen;
	dkimtool_record *items;

	while (*rec == ' ' || *rec == '\t')
		rec++;
	items = realloc(recs->items, (recs->n + 1) * sizeof(*items));
	if (items == NULL)
		return false;
	recs->items = items;
	items[recs->n].name = strndup(line, nlen);
	items[recs->n].record = strdup(rec);
	recs->n++;
	return items[recs->n - 1].name != NULL &&
	       items[recs->n - 1].record != NULL;
}

static bool dkimtool_records_load(const char *path, dkimtool_records *recs)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	bool ok = true;

	if (f == NULL) {
		fprintf(dkimtool_err, "dkimtool: %s: %s\n", path, strerror(errno));
		return false;
	}
	while (ok && (got = getline(&line, &cap, f)) != -1) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (got == 0 || line[0] == '#')
			continue;
		ok = dkimtool_records_add(recs, line);
	}
	free(line);
	fclose(f);
	if (!ok)
		fputs("dkimtool: out of memory reading records\n", dkimtool_err);
	return ok;
}

/* dkim_lookup_fn over the records file; names compare case-insensitively. */
static void dkimtool_lookup(void *ctx, dkim_key_query *queries, size_t n)
{
	const dkimtool_records *recs = ctx;

	for (size_t q = 0; q < n; q++) {
		char name[512];
		const char *record = NULL;
		dkim_error err = { 0 };

		queries[q].key = NULL;
		queries[q].status = DKIM_LOOKUP_NOTFOUND;
		snprintf(queries[q].reason, sizeof(queries[q].reason),
		         "no key for signature");
		if (snprintf(name, sizeof(name), "%s._domainkey.%s",
		             queries[q].selector, queries[q].domain) >=
		    (int)sizeof(name))
			continue;
		for (size_t i = 0; i < recs->n && record == NULL; i++)
			if (strcasecmp(recs->items[i].name, name) == 0)
				record = recs->items[i].record;
		if (record == NULL)
			continue;
		queries[q].key = dkim_pubkey_parse(record, strlen(record), &err);
		queries[q].status = queries[q].key != NULL ? DKIM_LOOKUP_FOUND :
		                    DKIM_LOOKUP_PERMFAIL;
		/* Truncating a long parse error into reason[] is fine here. */
		snprintf(queries[q].reason, sizeof(queries[q].reason), "%.*s",
		         (int)sizeof(queries[q].reason) - 1,
		         queries[q].key != NULL ? "" : err.message);
	}
}

/* The check a failed signature failed (K in the usage above). */
static const char *dkimtool_kind_name(dkim_cause cause)
{
	switch (cause) {
	case DKIM_CAUSE_BODY_HASH: return "body-hash";
	case DKIM_CAUSE_SIGNATURE: return "signature";
	default: return "none";
	}
}

#define DKIMTOOL_STR(s) ((s) != NULL ? (s) : "-")

/* Prints the results; true when there is at least one and all pass. */
static bool dkimtool_print_results(const dkim_msg *msg)
{
	size_t n = dkim_msg_result_count(msg);
	bool all_pass = n > 0;

	for (size_t i = 0; i < n; i++) {
		const dkim_sig_result *r = dkim_msg_result(msg, i);

		if (r == NULL)
			break;
		fprintf(dkimtool_out, "%s d=%s s=%s a=%s kind=%s %s\n",
		       dkim_result_name(r->result), DKIMTOOL_STR(r->domain),
		       DKIMTOOL_STR(r->selector), DKIMTOOL_STR(r->algorithm),
		       dkimtool_kind_name(r->cause), DKIMTOOL_STR(r->reason));
		if (r->result != DKIM_RESULT_PASS)
			all_pass = false;
	}
	if (n == 0)
		fputs("none\n", dkimtool_out);
	return all_pass;
}

static int dkimtool_verify_message(dkimtool_records *recs,
                                   const dkimtool_buf *buf)
{
	dkim_error err = { 0 };
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	int rc = DKIMTOOL_EXIT_ERROR;

	if (msg == NULL)
		return dkimtool_engine_error("dkim_msg_new", &err);
	if (dkim_msg_verify(msg, dkimtool_lookup, recs, &err) != DKIM_OK)
		rc = dkimtool_engine_error("verify", &err);
	else if (dkimtool_feed(msg, buf, &err) != DKIM_OK)
		rc = dkimtool_engine_error("feed", &err);
	else if (dkim_msg_eom(msg, &err) != DKIM_OK)
		rc = dkimtool_engine_error("eom", &err);
	else
		rc = dkimtool_print_results(msg) ? DKIMTOOL_EXIT_OK :
		     DKIMTOOL_EXIT_FAIL;
	dkim_msg_free(msg);
	return rc;
}

/* verify: the message is in buf (read by the caller); -C sets buf->chunk. */
static int dkimtool_verify(int argc, char **argv, dkimtool_buf *buf)
{
	dkimtool_records recs = { 0 };
	const char *records = NULL;
	int rc = DKIMTOOL_EXIT_ERROR;
	int c;

	while ((c = getopt(argc, argv, "r:C:")) != -1) {
		if (c == 'r')
			records = optarg;
		else if (c != 'C' || !dkimtool_parse_chunk(optarg, &buf->chunk))
			return dkimtool_usage();
	}
	if (optind != argc)
		return dkimtool_usage();
	if (records == NULL || dkimtool_records_load(records, &recs))
		rc = dkimtool_verify_message(&recs, buf);
	dkimtool_records_free(&recs);
	return rc;
}

/* ---- arc ------------------------------------------------------------------ */

typedef struct {
	const char *records, *keyfile, *authserv;
	char *headers;
	dkim_arc_seal_params sp;
} dkimtool_arc_args;

static bool dkimtool_arc_options(int argc, char **argv, dkimtool_arc_args *a)
{
	int c;

	while ((c = getopt(argc, argv, "r:k:d:s:A:H:")) != -1) {
		switch (c) {
		case 'r': a->records = optarg; break;
		case 'k': a->keyfile = optarg; break;
		case 'd': a->sp.domain = optarg; break;
		case 's': a->sp.selector = optarg; break;
		case 'A': a->sp.authserv_id = optarg; break;
		case 'H': a->headers = optarg; break;
		default: return false;
		}
	}
	return optind == argc && (a->keyfile == NULL ||
	       (a->sp.domain != NULL && a->sp.selector != NULL && a->sp.authserv_id != NULL));
}

/* Prints the new set (AS, AMS, AAR) and the message; false when none. */
static bool dkimtool_arc_print(const dkim_msg *msg, const dkimtool_buf *buf)
{
	static const char *const names[] = {
		"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"
	};
	const char *eol = dkimtool_eol_of(buf);
	int k;

	if (dkim_msg_arc_seal_field(msg, DKIM_ARC_FIELD_AS) == NULL)
		return false;
	for (k = 2; k >= 0; k--) {
		const char *v = dkim_msg_arc_seal_field(msg, (dkim_arc_field)k);

		fprintf(dkimtool_out, "%s: ", names[k]);
		for (; *v; v++) {
			if (*v == '\r' && v[1] == '\n')
				continue;
			if (*v == '\n')
				fputs(eol, dkimtool_out);
			else
				fputc(*v, dkimtool_out);
		}
		fputs(eol, dkimtool_out);
	}
	fwrite(buf->data, 1, buf->len, dkimtool_out);
	return fflush(dkimtool_out) == 0;
}

static int dkimtool_arc_message(dkimtool_records *recs, dkimtool_arc_args *a,
                                const dkimtool_buf *buf)
{
	dkim_error err = { 0 };
	dkim_msg *msg = dkim_msg_new(NULL, &err);
	int rc = DKIMTOOL_EXIT_ERROR;
	unsigned oldest = 0;
	const char *why = "";
	dkim_arc_result r;

	if (msg == NULL)
		return dkimtool_engine_error("dkim_msg_new", &err);
	if (dkim_msg_arc_verify(msg, dkimtool_lookup, recs, &err) != DKIM_OK)
		rc = dkimtool_engine_error("arc verify", &err);
	else if (a->sp.key != NULL && dkim_msg_arc_seal(msg, &a->sp, &err) != DKIM_OK)
		rc = dkimtool_engine_error("arc seal", &err);
	else if (dkimtool_feed(msg, buf, &err) != DKIM_OK)
		rc = dkimtool_engine_error("feed", &err);
	else if (dkim_msg_eom(msg, &err) != DKIM_OK)
		rc = dkimtool_engine_error("eom", &err);
	else {
		r = dkim_msg_arc_result(msg, &oldest, &why);
		fprintf(dkimtool_err, "arc=%s oldest-pass=%u %s\n", dkim_arc_result_name(r),
		        oldest, why);
		if (a->sp.key != NULL)
			rc = dkimtool_arc_print(msg, buf) ? DKIMTOOL_EXIT_OK : DKIMTOOL_EXIT_FAIL;
		else
			rc = r == DKIM_ARC_PASS ? DKIMTOOL_EXIT_OK : DKIMTOOL_EXIT_FAIL;
	}
	dkim_msg_free(msg);
	return rc;
}

static int dkimtool_arc(int argc, char **argv, dkimtool_buf *buf)
{
	char default_headers[] = "from:to:subject:date:message-id";
	dkimtool_arc_args a = { .headers = default_headers };
	const char *names[DKIMTOOL_MAX_HEADERS];
	dkimtool_records recs = { 0 };
	dkim_error err = { 0 };
	dkim_privkey *key = NULL;
	int rc = DKIMTOOL_EXIT_ERROR;

	if (!dkimtool_arc_options(argc, argv, &a))
		return dkimtool_usage();
	if (a.keyfile != NULL) {
		key = dkim_privkey_load_file(a.keyfile, &err);
		if (key == NULL)
			return dkimtool_engine_error("private key", &err);
		a.sp.key = key;
		a.sp.alg = dkim_privkey_type(key) == DKIM_KEY_ED25519 ?
		           DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256;
		if (!dkimtool_split_headers(a.headers, names, &a.sp.nheaders)) {
			dkim_privkey_free(key);
			return dkimtool_usage();
		}
		a.sp.headers = names;
	}
	if (a.records == NULL || dkimtool_records_load(a.records, &recs))
		rc = dkimtool_arc_message(&recs, &a, buf);
	dkimtool_records_free(&recs);
	dkim_privkey_free(key);
	return rc;
}

/* Runs "sign ..." or "verify ..." (argv[0] is the command) on buf. */
static int dkimtool_command(int argc, char **argv, dkimtool_buf *buf)
{
	optind = 0;     /* glibc: full getopt reset, as each run is a new argv */
	if (strcmp(argv[0], "sign") == 0)
		return dkimtool_sign(argc, argv, buf);
	if (strcmp(argv[0], "verify") == 0)
		return dkimtool_verify(argc, argv, buf);
	if (strcmp(argv[0], "arc") == 0)
		return dkimtool_arc(argc, argv, buf);
	return dkimtool_usage();
}

/* ---- batch mode ------------------------------------------------------------ */

#define DKIMTOOL_MAX_ARGS 64

/*
 * Splits a request line "LEN\targ\targ..." in place; false when malformed.
 */
static bool dkimtool_batch_parse(char *line, size_t *len, int *argc,
                                 char **argv)
{
	char *save = NULL;
	char *tok = strtok_r(line, "\t\n", &save);
	char *end;

	if (tok == NULL)
		return false;
	errno = 0;
	*len = (size_t)strtoull(tok, &end, 10);
	if (errno != 0 || *end != '\0' || *len > DKIMTOOL_MAX_INPUT)
		return false;
	*argc = 0;
	while ((tok = strtok_r(NULL, "\t\n", &save)) != NULL) {
		if (*argc == DKIMTOOL_MAX_ARGS - 1)
			return false;
		argv[(*argc)++] = tok;
	}
	argv[*argc] = NULL;
	return *argc > 0;
}

/* Runs one command with its output and diagnostics captured; replies
 * "STATUS OUTLEN ERRLEN\n" then the two byte strings. */
static bool dkimtool_batch_run(int argc, char **argv, dkimtool_buf *buf)
{
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	int rc;

	dkimtool_out = open_memstream(&out, &outlen);
	dkimtool_err = open_memstream(&err, &errlen);
	if (dkimtool_out == NULL || dkimtool_err == NULL)
		return false;
	rc = dkimtool_command(argc, argv, buf);
	fclose(dkimtool_out);
	fclose(dkimtool_err);
	printf("%d %zu %zu\n", rc, outlen, errlen);
	fwrite(out, 1, outlen, stdout);
	fwrite(err, 1, errlen, stdout);
	free(out);
	free(err);
	return fflush(stdout) == 0;
}

/*
 * dkimtool batch: requests on stdin, each a line "LEN\tCOMMAND\tARG..."
 * (tab-separated, COMMAND sign or verify) followed by LEN bytes of message;
 * a reply per request on stdout (see dkimtool_batch_run). One process for
 * thousands of runs keeps the interop tests fast under sanitizers.
 */
static int dkimtool_batch(void)
{
	char *line = NULL;
	size_t cap = 0;
	bool ok = true;

	while (ok && getline(&line, &cap, stdin) != -1) {
		char *argv[DKIMTOOL_MAX_ARGS];
		int argc;
		dkimtool_buf buf = { 0 };

		ok = dkimtool_batch_parse(line, &buf.len, &argc, argv);
		if (ok)
			ok = (buf.data = malloc(buf.len + 1)) != NULL &&
			     fread(buf.data, 1, buf.len, stdin) == buf.len &&
			     dkimtool_batch_run(argc, argv, &buf);
		free(buf.data);
	}
	free(line);
	if (!ok)
		fputs("dkimtool: bad batch request\n", stderr);
	return ok ? DKIMTOOL_EXIT_OK : DKIMTOOL_EXIT_ERROR;
}

int main(int argc, char **argv)
{
	dkimtool_buf buf = { 0 };
	int rc;

	dkimtool_out = stdout;
	dkimtool_err = stderr;
	if (argc < 2)
		return dkimtool_usage();
	if (strcmp(argv[1], "batch") == 0 && argc == 2)
		return dkimtool_batch();
	if (!dkimtool_read_all(stdin, &buf)) {
		free(buf.data);
		return DKIMTOOL_EXIT_ERROR;
	}
	rc = dkimtool_command(argc - 1, argv + 1, &buf);
	free(buf.data);
	return rc;
}
