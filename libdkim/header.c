/*
 * header.c - the header block of a message (RFC 5322 §2.2, §3.4).
 *
 * Interface:
 *   dkim_splitter_*       (internal.h) a push parser that splits a stored
 *                         message, fed in chunks of any size, into header
 *                         fields, the end of the header block and the body.
 *   dkim_field_name_len   (internal.h) the name part of a field.
 *   dkim_header_address   (dkim.h) the first address of From:/Sender:.
 *
 * The splitter stores only the field being assembled, up to
 * max_field_bytes. Line ends may be CRLF or bare LF; a line that starts with
 * WSP continues the previous field (§2.2.3 folding); the first empty line
 * ends the header block and everything after it is body, passed through
 * unchanged. A line without a colon is still passed on as a field: whether
 * that is acceptable is the engine's decision.
 *
 * Errors: DKIM_ERR_LIMIT for a field over max_field_bytes; whatever a
 * callback returns is passed back unchanged. dkim_header_address returns
 * false for anything it cannot use.
 */
#include "internal.h"

#include <string.h>

/* ---- splitting a stored message ------------------------------------------------ */

enum {
	DKIM_SPLIT_LINE_START = 0,  /* at the first byte of a header line */
	DKIM_SPLIT_START_CR,        /* a line began with CR: blank line if LF follows */
	DKIM_SPLIT_IN_LINE,         /* inside a header line */
	DKIM_SPLIT_BODY,            /* after the blank line */
	DKIM_SPLIT_DONE             /* finished, or failed */
};

void dkim_splitter_init(dkim_splitter *sp, size_t max_field_bytes)
{
	memset(sp, 0, sizeof(*sp));
	sp->max_field_bytes = max_field_bytes;
	dkim_buf_init(&sp->field);
	sp->state = DKIM_SPLIT_LINE_START;
}

void dkim_splitter_free(dkim_splitter *sp)
{
	dkim_buf_free(&sp->field);
}

/* The error for an oversized field names its start, so it can be found. */
static dkim_status dkim_splitter_too_long(dkim_splitter *sp, const char *more,
                                          size_t more_len, dkim_error *err)
{
	const char *start = sp->field.len > 0 ? sp->field.data : more;
	size_t show = sp->field.len > 0 ? sp->field.len : more_len, i;

	if (show > 40)
		show = 40;
	for (i = 0; i < show; i++)
		if (start[i] == '\r' || start[i] == '\n')
			break;
	sp->state = DKIM_SPLIT_DONE;
	return dkim_fail(err, DKIM_ERR_LIMIT,
	                 "header field longer than %zu bytes (begins \"%.*s\")",
	                 sp->max_field_bytes, (int)i, start);
}

/* Adds raw bytes of the current field, within the limit. */
static dkim_status dkim_splitter_append(dkim_splitter *sp, const void *data,
                                        size_t len, dkim_error *err)
{
	/* The limit is on the field; its line break may come on top. */
	size_t max = sp->max_field_bytes > SIZE_MAX - 2 ? SIZE_MAX : sp->max_field_bytes + 2;

	if (len > max || sp->field.len > max - len) {
		return dkim_splitter_too_long(sp, (const char *)data, len, err);
	}
	if (dkim_buf_append(&sp->field, data, len) != DKIM_OK) {
		sp->state = DKIM_SPLIT_DONE;
		return dkim_error_nomem(err);
	}
	return DKIM_OK;
}

/* Passes the assembled field on, without its final line break. */
static dkim_status dkim_splitter_emit(dkim_splitter *sp, dkim_error *err)
{
	size_t len = sp->field.len;
	dkim_status st = DKIM_OK;

	if (len == 0)
		return DKIM_OK;
	if (sp->field.data[len - 1] == '\n') {
		len--;
		if (len > 0 && sp->field.data[len - 1] == '\r')
			len--;
	}
	if (len > sp->max_field_bytes)
		return dkim_splitter_too_long(sp, NULL, 0, err);
	if (sp->on_field != NULL)
		st = sp->on_field(sp->ctx, sp->field.data, len, err);
	dkim_buf_reset(&sp->field);
	return st;
}

/* The blank line: the last field is complete and the body begins. */
static dkim_status dkim_splitter_eoh(dkim_splitter *sp, dkim_error *err)
{
	dkim_status st = dkim_splitter_emit(sp, err);

	if (st == DKIM_OK && sp->on_eoh != NULL)
		st = sp->on_eoh(sp->ctx, err);
	sp->state = st == DKIM_OK ? DKIM_SPLIT_BODY : DKIM_SPLIT_DONE;
	dkim_buf_free(&sp->field);
	return st;
}

/*
 * The first byte of a header line decides what the line is: folding
 * (RFC 5322 §2.2.3: a line starting with WSP continues the field), the end
 * of the header block (an empty line), or a new field.
 */
static dkim_status dkim_splitter_line_start(dkim_splitter *sp, unsigned char c,
                                            dkim_error *err)
{
	if (c == '\n')
		return dkim_splitter_eoh(sp, err);
	if (c == '\r') {
		sp->state = DKIM_SPLIT_START_CR;
		return DKIM_OK;
	}
	sp->state = DKIM_SPLIT_IN_LINE;
	if (dkim_is_wsp(c))
		return DKIM_OK;
	return dkim_splitter_emit(sp, err);
}

/* Consumes header bytes from *p; returns when the body starts or on error. */
static dkim_status dkim_splitter_header(dkim_splitter *sp, const unsigned char **p,
                                        const unsigned char *end, dkim_error *err)
{
	dkim_status st = DKIM_OK;

	while (*p < end && st == DKIM_OK && sp->state != DKIM_SPLIT_BODY) {
		const unsigned char *lf;
		size_t n;

		if (sp->state == DKIM_SPLIT_LINE_START) {
			st = dkim_splitter_line_start(sp, **p, err);
			if (sp->state == DKIM_SPLIT_START_CR || sp->state == DKIM_SPLIT_BODY)
				(*p)++;
			continue;
		}
		if (sp->state == DKIM_SPLIT_START_CR) {
			if (**p == '\n') {
				(*p)++;
				st = dkim_splitter_eoh(sp, err);
				continue;
			}
			/* A lone CR opening a line: data of a new (odd) field. */
			st = dkim_splitter_emit(sp, err);
			if (st == DKIM_OK)
				st = dkim_splitter_append(sp, "\r", 1, err);
			sp->state = DKIM_SPLIT_IN_LINE;
			continue;
		}
		lf = memchr(*p, '\n', (size_t)(end - *p));
		n = lf != NULL ? (size_t)(lf - *p) + 1 : (size_t)(end - *p);
		st = dkim_splitter_append(sp, *p, n, err);
		*p += n;
		if (lf != NULL)
			sp->state = DKIM_SPLIT_LINE_START;
	}
	if (st != DKIM_OK)
		sp->state = DKIM_SPLIT_DONE;
	return st;
}

dkim_status dkim_splitter_feed(dkim_splitter *sp, const void *data, size_t len,
                               dkim_error *err)
{
	const unsigned char *p = data, *end = p + len;
	dkim_status st;

	if (sp->state == DKIM_SPLIT_DONE)
		return dkim_fail(err, DKIM_ERR_STATE, "message splitter already finished");
	if (sp->state != DKIM_SPLIT_BODY) {
		st = dkim_splitter_header(sp, &p, end, err);
		if (st != DKIM_OK)
			return st;
	}
	if (p < end && sp->on_body != NULL) {
		st = sp->on_body(sp->ctx, p, (size_t)(end - p), err);
		if (st != DKIM_OK)
			sp->state = DKIM_SPLIT_DONE;
		return st;
	}
	return DKIM_OK;
}

dkim_status dkim_splitter_finish(dkim_splitter *sp, dkim_error *err)
{
	dkim_status st = DKIM_OK;

	if (sp->state == DKIM_SPLIT_DONE)
		return dkim_fail(err, DKIM_ERR_STATE, "message splitter already finished");
	/* A message with no blank line: it is all header (RFC 5322 §3.5). */
	if (sp->state != DKIM_SPLIT_BODY)
		st = dkim_splitter_eoh(sp, err);
	sp->state = DKIM_SPLIT_DONE;
	return st;
}

size_t dkim_field_name_len(const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len);
	size_t n;

	if (colon == NULL)
		return 0;
	n = (size_t)(colon - field);
	while (n > 0 && dkim_is_wsp((unsigned char)field[n - 1]))
		n--;
	return n;
}

/* ---- addresses (RFC 5322 §3.4) ---------------------------------------------------- */

typedef enum {
	DKIM_TOK_END = 0,
	DKIM_TOK_ATOM,              /* atext and "." runs (dot-atom, obs-phrase) */
	DKIM_TOK_QUOTED,            /* quoted-string, quotes included */
	DKIM_TOK_LITERAL,           /* domain-literal, brackets included */
	DKIM_TOK_SPECIAL,           /* one of < > @ : ; , */
	DKIM_TOK_ERROR              /* unterminated or stray character */
} dkim_tok_type;

typedef struct {
	dkim_tok_type type;
	const char *start;
	size_t len;
} dkim_tok;

/* atext (§3.2.3), "." and UTF-8 bytes (RFC 6532 §3.2). */
static bool dkim_addr_is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* Skips CFWS (§3.2.2): whitespace, line breaks, nested comments. */
static bool dkim_addr_skip_cfws(const char **p, const char *end)
{
	int depth = 0;

	for (; *p < end; (*p)++) {
		char c = **p;

		if (depth > 0 && c == '\\' && *p + 1 < end)
			(*p)++;                     /* quoted-pair in a comment */
		else if (c == '(')
			depth++;
		else if (depth > 0 && c == ')')
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return true;
	}
	return depth == 0;
}

/* Scans a quoted-string or domain-literal ending with close; false if open. */
static bool dkim_addr_scan_quoted(const char **p, const char *end, char close)
{
	for ((*p)++; *p < end; (*p)++) {
		if (**p == '\\' && *p + 1 < end)
			(*p)++;
		else if (**p == close) {
			(*p)++;
			return true;
		}
	}
	return false;
}

static dkim_tok dkim_addr_next(const char **p, const char *end)
{
	dkim_tok tok = { DKIM_TOK_END, NULL, 0 };

	if (!dkim_addr_skip_cfws(p, end)) {
		tok.type = DKIM_TOK_ERROR;
		return tok;
	}
	if (*p >= end)
		return tok;
	tok.start = *p;
	if (**p == '"' || **p == '[') {
		tok.type = **p == '"' ? DKIM_TOK_QUOTED : DKIM_TOK_LITERAL;
		if (!dkim_addr_scan_quoted(p, end, **p == '"' ? '"' : ']'))
			tok.type = DKIM_TOK_ERROR;
	} else if (strchr("<>@:;,", **p) != NULL) {
		tok.type = DKIM_TOK_SPECIAL;
		(*p)++;
	} else if (dkim_addr_is_atext((unsigned char)**p)) {
		tok.type = DKIM_TOK_ATOM;
		while (*p < end && dkim_addr_is_atext((unsigned char)**p))
			(*p)++;
	} else {
		tok.type = DKIM_TOK_ERROR;
		(*p)++;
	}
	tok.len = (size_t)(*p - tok.start);
	return tok;
}

static bool dkim_addr_is(const dkim_tok *tok, char special)
{
	return tok->type == DKIM_TOK_SPECIAL && tok->start[0] == special;
}

/* An output buffer that refuses to overflow. */
typedef struct {
	char *data;
	size_t size, len;
	bool lower;
} dkim_addr_out;

static bool dkim_addr_put(dkim_addr_out *out, char c)
{
	if (out->len + 1 >= out->size)
		return false;
	out->data[out->len++] = out->lower ? (char)dkim_lower((unsigned char)c) : c;
	out->data[out->len] = '\0';
	return true;
}

/* Appends a word; a quoted-string loses its quotes and backslashes. */
static bool dkim_addr_put_tok(dkim_addr_out *out, const dkim_tok *tok)
{
	size_t i, from = 0, to = tok->len;

	if (tok->type == DKIM_TOK_QUOTED) {
		from = 1;
		to = tok->len - 1;
	}
	for (i = from; i < to; i++) {
		if (tok->type == DKIM_TOK_QUOTED && tok->start[i] == '\\')
			i++;
		if (!dkim_addr_put(out, tok->start[i]))
			return false;
	}
	return true;
}

/*
 * Reads words (atoms, quoted strings, and for a domain literals) from *p
 * up to the next special, concatenated: "john . doe" and "john.doe" are the
 * same local part (§4.4 obs-local-part). *stop gets the special, or END.
 */
static bool dkim_addr_words(const char **p, const char *end, dkim_addr_out *out,
                            bool domain, dkim_tok *stop)
{
	bool first = true, dot = false;

	for (;;) {
		dkim_tok tok = dkim_addr_next(p, end);

		if (tok.type == DKIM_TOK_END || tok.type == DKIM_TOK_SPECIAL) {
			*stop = tok;
			return true;
		}
		if (tok.type == DKIM_TOK_ERROR ||
		    tok.type == (domain ? DKIM_TOK_QUOTED : DKIM_TOK_LITERAL))
			return false;
		/* Words join only at a dot: "a . b" is "a.b", "a b" is no address. */
		if (!first && !dot && tok.start[0] != '.')
			return false;
		if (!dkim_addr_put_tok(out, &tok))
			return false;
		first = false;
		dot = tok.start[tok.len - 1] == '.';
	}
}

/* addr-spec (§3.4.1) from *p: local-part "@" domain. */
static bool dkim_addr_spec(const char **p, const char *end, dkim_addr_out *local,
                           dkim_addr_out *domain, dkim_tok *stop)
{
	dkim_tok tok;

	local->len = 0;
	domain->len = 0;
	local->data[0] = '\0';
	domain->data[0] = '\0';
	if (!dkim_addr_words(p, end, local, false, &tok) || !dkim_addr_is(&tok, '@'))
		return false;
	if (!dkim_addr_words(p, end, domain, true, stop))
		return false;
	return domain->len > 0;
}

/* angle-addr (§3.4) after "<": [obs-route] addr-spec ">". */
static bool dkim_addr_angle(const char **p, const char *end, dkim_addr_out *local,
                            dkim_addr_out *domain)
{
	const char *save = *p;
	dkim_tok tok = dkim_addr_next(p, end), stop;

	if (dkim_addr_is(&tok, '@')) {
		/* §4.4 obs-route "@a,@b:" is skipped up to its colon. */
		do
			tok = dkim_addr_next(p, end);
		while (tok.type != DKIM_TOK_END && tok.type != DKIM_TOK_ERROR &&
		       !dkim_addr_is(&tok, ':') && !dkim_addr_is(&tok, '>'));
		if (!dkim_addr_is(&tok, ':'))
			return false;
	} else {
		*p = save;
	}
	return dkim_addr_spec(p, end, local, domain, &stop) && dkim_addr_is(&stop, '>');
}

/*
 * Finds the "<" of the first mailbox, if it has one: looks ahead to the
 * first top-level "," or ";" (a display name may hold "@" when a sender
 * writes "a@b <c@d>"; the angle address is the real one).
 */
static const char *dkim_addr_find_angle(const char *p, const char *end)
{
	for (;;) {
		dkim_tok tok = dkim_addr_next(&p, end);

		if (tok.type == DKIM_TOK_END || tok.type == DKIM_TOK_ERROR ||
		    dkim_addr_is(&tok, ',') || dkim_addr_is(&tok, ';') ||
		    dkim_addr_is(&tok, '>'))
			return NULL;
		if (dkim_addr_is(&tok, '<'))
			return p;
		if (dkim_addr_is(&tok, ':'))
			return NULL;                /* a group: its members come after */
	}
}

/* Skips a display name up to a group's ":" if there is one (§3.4 group). */
static const char *dkim_addr_skip_group(const char *p, const char *end, bool *group)
{
	const char *q = p;

	*group = false;
	for (;;) {
		dkim_tok tok = dkim_addr_next(&q, end);

		if (tok.type != DKIM_TOK_ATOM && tok.type != DKIM_TOK_QUOTED) {
			if (dkim_addr_is(&tok, ':')) {
				*group = true;
				return q;
			}
			return p;
		}
	}
}

bool dkim_header_address(const char *value, char *local, size_t local_size,
                         char *domain, size_t domain_size)
{
	dkim_addr_out lo = { local, local_size, 0, false };
	dkim_addr_out dom = { domain, domain_size, 0, true };
	const char *p = value, *end = value + strlen(value), *angle;
	dkim_tok stop;
	bool group, ok;

	if (local_size == 0 || domain_size == 0)
		return false;
	local[0] = domain[0] = '\0';
	p = dkim_addr_skip_group(p, end, &group);
	for (;;) {
		/* Empty list elements (§4.4 obs-mbox-list) are skipped. */
		const char *q = p;
		dkim_tok tok = dkim_addr_next(&q, end);

		if (!dkim_addr_is(&tok, ','))
			break;
		p = q;
	}
	angle = dkim_addr_find_angle(p, end);
	if (angle != NULL)
		ok = dkim_addr_angle(&angle, end, &lo, &dom);
	else
		/* A bare addr-spec must end the mailbox; "undisclosed:;" has none. */
		ok = dkim_addr_spec(&p, end, &lo, &dom, &stop) &&
		     (stop.type == DKIM_TOK_END || dkim_addr_is(&stop, ',') ||
		      (group && dkim_addr_is(&stop, ';')));
	if (!ok)
		local[0] = domain[0] = '\0';
	return ok;
}
