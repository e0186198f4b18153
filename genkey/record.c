/*
 * record.c - formats the key record of a new DKIM key and the lines that
 * go with it (see record.h for the interface).
 *
 * The record value is RFC 6376 §3.6.1's tag list, with the tags in the
 * order OpenDKIM's opendkim-genkey writes them (v, n, h, k, t, s, p) and
 * the same "; " spacing, so that records from either tool read alike.
 *
 * Errors: DKIM_ERR_NOMEM from the buffers; DKIM_ERR_SYNTAX with a message
 * from the name and hash-list checks.
 */
#include "record.h"

#include <string.h>

/* ---- input checks --------------------------------------------------------- */

static bool genkey_label_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

dkim_status genkey_name_check(const char *what, const char *name,
                              dkim_error *err)
{
	size_t len = strlen(name), label = 0;

	/* RFC 1035 §2.3.4: names of at most 255 octets on the wire, that is
	 * 253 characters written out; labels of at most 63. */
	if (len == 0 || len > 253)
		return dkim_fail(err, DKIM_ERR_SYNTAX,
		                 "%s must be 1 to 253 characters", what);
	for (size_t i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			if (label == 0 || label > 63)
				return dkim_fail(err, DKIM_ERR_SYNTAX,
				    "%s \"%s\": each dot-separated label must be 1 to 63 characters",
				    what, name);
			label = 0;
		} else if (!genkey_label_char((unsigned char)name[i])) {
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			    "%s \"%s\": only letters, digits, '-', '_' and '.' are allowed",
			    what, name);
		} else {
			label++;
		}
	}
	return DKIM_OK;
}

dkim_status genkey_hashes_check(const char *hashes, dkim_error *err)
{
	const char *p = hashes;

	/* RFC 6376 §3.6.1: h= is a colon-separated list of hash names. */
	for (;;) {
		size_t n = strcspn(p, ":");

		if (!((n == 6 && strncmp(p, "sha256", 6) == 0) ||
		      (n == 4 && strncmp(p, "sha1", 4) == 0)))
			return dkim_fail(err, DKIM_ERR_SYNTAX,
			    "hash algorithms \"%s\": use sha256 (or sha1:sha256), separated by ':'",
			    hashes);
		if (p[n] == '\0')
			return DKIM_OK;
		p += n + 1;
	}
}

/* ---- the record value ----------------------------------------------------- */

/*
 * RFC 6376 §3.6.1: n= is a qp-section. Octets outside safe-char
 * (%x21-3A / %x3C / %x3E-7E) and SP are written =XX; '"' and '\' as well,
 * so that the value never needs quoting rules of its own.
 */
static dkim_status genkey_append_qp(dkim_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool safe = (c == ' ' || (c >= 0x21 && c <= 0x7e)) &&
		            c != ';' && c != '=' && c != '"' && c != '\\';
		dkim_status st = safe ? dkim_buf_append(out, s, 1)
		                      : dkim_buf_printf(out, "=%02X", c);
		if (st != DKIM_OK)
			return st;
	}
	return DKIM_OK;
}

/* t= flags (RFC 6376 §3.6.1): "y" testing, "s" no subdomains in i=. */
static const char *genkey_tflags(const genkey_record *r)
{
	if (r->testing && r->strict)
		return "t=y:s; ";
	if (r->testing)
		return "t=y; ";
	if (r->strict)
		return "t=s; ";
	return "";
}

dkim_status genkey_record_head(const genkey_record *r, dkim_buf *out)
{
	if (dkim_buf_append_str(out, "v=DKIM1; ") != DKIM_OK)
		return DKIM_ERR_NOMEM;
	/* OpenDKIM quotes the note: n="..." (the quotes are qp safe-chars). */
	if (r->note != NULL &&
	    (dkim_buf_append_str(out, "n=\"") != DKIM_OK ||
	     genkey_append_qp(out, r->note) != DKIM_OK ||
	     dkim_buf_append_str(out, "\"; ") != DKIM_OK))
		return DKIM_ERR_NOMEM;
	if (r->hashes != NULL && dkim_buf_printf(out, "h=%s; ", r->hashes) != DKIM_OK)
		return DKIM_ERR_NOMEM;
	if (dkim_buf_printf(out, "k=%s; %s%s", r->keytype, genkey_tflags(r),
	                    r->email_only ? "s=email; " : "") != DKIM_OK)
		return DKIM_ERR_NOMEM;
	return DKIM_OK;
}

dkim_status genkey_record_value(const genkey_record *r, dkim_buf *out)
{
	if (genkey_record_head(r, out) != DKIM_OK ||
	    dkim_buf_printf(out, "p=%s", r->pubkey) != DKIM_OK)
		return DKIM_ERR_NOMEM;
	return DKIM_OK;
}

/* ---- splitting into <character-string>s ----------------------------------- */

/*
 * Walks the value in pieces of at most 255 bytes (RFC 1035 §3.3). Like
 * OpenDKIM: the tags before p= in one string (cut every 250 bytes if a long
 * note makes them longer), then "p=" with 250 key characters, then 250 at a
 * time. RFC 6376 §3.6.2.2: the strings are concatenated with nothing in
 * between, so where the cuts fall does not change the record.
 */
typedef struct {
	size_t len;         /* whole value */
	size_t headlen;     /* bytes before "p=" */
	size_t pos;         /* next piece starts here */
} genkey_chunker;

static bool genkey_chunk_next(genkey_chunker *c, size_t *off, size_t *n)
{
	size_t end, max;

	if (c->pos >= c->len)
		return false;
	if (c->pos < c->headlen) {
		end = c->headlen;
		max = GENKEY_TXT_CHUNK;
	} else {
		end = c->len;
		max = c->pos == c->headlen ? GENKEY_TXT_CHUNK + 2 : GENKEY_TXT_CHUNK;
	}
	*off = c->pos;
	*n = end - c->pos < max ? end - c->pos : max;
	c->pos += *n;
	return true;
}

/*
 * Appends s[0..n) as a quoted string: '"' and '\' get a backslash in both
 * syntaxes; control bytes become \DDD (RFC 1035 §5.1) or \u00XX (JSON).
 */
static dkim_status genkey_append_quoted(dkim_buf *out, const char *s, size_t n,
                                        bool json)
{
	dkim_status st = dkim_buf_append(out, "\"", 1);

	for (size_t i = 0; st == DKIM_OK && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			st = json ? dkim_buf_printf(out, "\\u%04x", c)
			          : dkim_buf_printf(out, "\\%03u", c);
		else if (c == '"' || c == '\\')
			st = dkim_buf_printf(out, "\\%c", c);
		else
			st = dkim_buf_append(out, s + i, 1);
	}
	return st == DKIM_OK ? dkim_buf_append(out, "\"", 1) : st;
}

/* Builds the value and a chunker over it. */
static dkim_status genkey_value_chunks(const genkey_record *r, dkim_buf *value,
                                       genkey_chunker *c)
{
	if (genkey_record_head(r, value) != DKIM_OK)
		return DKIM_ERR_NOMEM;
	c->headlen = value->len;
	if (dkim_buf_printf(value, "p=%s", r->pubkey) != DKIM_OK)
		return DKIM_ERR_NOMEM;
	c->len = value->len;
	c->pos = 0;
	return DKIM_OK;
}

/* ---- presentations -------------------------------------------------------- */

/* The record's value as quoted pieces of at most 255 bytes, SEP between
 * them: the zone file's strings and the JSON "strings" array alike. */
static dkim_status genkey_append_pieces(const genkey_record *r, const char *sep,
                                        bool json, dkim_buf *out)
{
	dkim_buf value;
	genkey_chunker c = { 0, 0, 0 };
	size_t off, n;
	bool first = true;
	dkim_status st;

	dkim_buf_init(&value);
	st = genkey_value_chunks(r, &value, &c);
	while (st == DKIM_OK && genkey_chunk_next(&c, &off, &n)) {
		if (!first)
			st = dkim_buf_append_str(out, sep);
		if (st == DKIM_OK)
			st = genkey_append_quoted(out, value.data + off, n, json);
		first = false;
	}
	dkim_buf_free(&value);
	return st;
}

dkim_status genkey_record_zone(const genkey_record *r, bool append_domain,
                               dkim_buf *out)
{
	dkim_status st;

	st = dkim_buf_printf(out, "%s._domainkey%s%s%s\tIN\tTXT\t( ",
	                     r->selector, append_domain ? "." : "",
	                     append_domain ? r->domain : "",
	                     append_domain ? "." : "");
	if (st == DKIM_OK)
		st = genkey_append_pieces(r, "\n\t  ", false, out);
	if (st == DKIM_OK)
		st = dkim_buf_printf(out, " )  ; ----- DKIM key %s for %s\n",
		                     r->selector, r->domain);
	return st;
}

/* The JSON "strings" array: the same pieces as the zone file. */
static dkim_status genkey_json_strings(const genkey_record *r, dkim_buf *out)
{
	dkim_status st = dkim_buf_append_str(out, "[");

	if (st == DKIM_OK)
		st = genkey_append_pieces(r, ", ", true, out);
	if (st == DKIM_OK)
		st = dkim_buf_append_str(out, "]");
	return st;
}

/* "key": "string", escaped for JSON (a key path may hold any byte but NUL;
 * non-ASCII bytes pass through, as JSON text is UTF-8). */
static dkim_status genkey_json_member(dkim_buf *out, const char *key,
                                      const char *val, bool last)
{
	if (dkim_buf_printf(out, "  \"%s\": ", key) != DKIM_OK ||
	    genkey_append_quoted(out, val, strlen(val), true) != DKIM_OK ||
	    dkim_buf_append_str(out, last ? "\n" : ",\n") != DKIM_OK)
		return DKIM_ERR_NOMEM;
	return DKIM_OK;
}

dkim_status genkey_record_json(const genkey_record *r, unsigned bits,
                               const char *keypath, dkim_buf *out)
{
	dkim_buf tmp;
	dkim_status st;

	dkim_buf_init(&tmp);
	st = dkim_buf_printf(&tmp, "%s._domainkey.%s", r->selector, r->domain);
	if (st == DKIM_OK)
		st = dkim_buf_append_str(out, "{\n");
	if (st == DKIM_OK)
		st = genkey_json_member(out, "name", tmp.data, false);
	if (st == DKIM_OK)
		st = dkim_buf_append_str(out, "  \"type\": \"TXT\",\n");
	dkim_buf_reset(&tmp);
	if (st == DKIM_OK)
		st = genkey_record_value(r, &tmp);
	if (st == DKIM_OK)
		st = genkey_json_member(out, "value", tmp.data, false);
	if (st == DKIM_OK)
		st = dkim_buf_append_str(out, "  \"strings\": ");
	if (st == DKIM_OK)
		st = genkey_json_strings(r, out);
	if (st == DKIM_OK)
		st = dkim_buf_append_str(out, ",\n");
	if (st == DKIM_OK)
		st = genkey_json_member(out, "selector", r->selector, false);
	if (st == DKIM_OK)
		st = genkey_json_member(out, "domain", r->domain, false);
	if (st == DKIM_OK)
		st = genkey_json_member(out, "key_type", r->keytype, false);
	if (st == DKIM_OK)
		st = dkim_buf_printf(out, "  \"bits\": %u,\n", bits);
	if (st == DKIM_OK)
		st = genkey_json_member(out, "private_key", keypath, true);
	if (st == DKIM_OK)
		st = dkim_buf_append_str(out, "}\n");
	dkim_buf_free(&tmp);
	return st;
}

dkim_status genkey_keytable_line(const genkey_record *r, const char *keypath,
                                 dkim_buf *out)
{
	return dkim_buf_printf(out, "%s._domainkey.%s %s:%s:%s\n", r->selector,
	                       r->domain, r->domain, r->selector, keypath);
}

dkim_status genkey_signingtable_line(const genkey_record *r, dkim_buf *out)
{
	return dkim_buf_printf(out, "*@%s %s._domainkey.%s\n", r->domain,
	                       r->selector, r->domain);
}
