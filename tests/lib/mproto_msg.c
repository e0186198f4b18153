/*
 * mproto_msg.c - the message an MTA-side milter client sends and changes
 * (tests/milter/miltclient, bench/milterload).
 *
 * Interface: mproto_msg.h (load, copy, apply header and body
 * modifications, write, free).
 *
 * Errors: loading returns false with a message; the rest fail only when
 * out of memory.
 */
#include "mproto_msg.h"

#include <errno.h>
#include <libmilter/mfdef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *mproto_msg_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static bool mproto_msg_body_add(mproto_msg *m, const void *data, size_t len)
{
	if (m->body_len + len > m->body_cap) {
		size_t cap = m->body_cap > 0 ? m->body_cap : 256;
		while (cap < m->body_len + len)
			cap *= 2;
		char *p = realloc(m->body, cap);
		if (p == NULL)
			return false;
		m->body = p;
		m->body_cap = cap;
	}
	if (len > 0)
		memcpy(m->body + m->body_len, data, len);
	m->body_len += len;
	return true;
}

/* Inserts a field at pos (at the end when past it); takes name and value,
 * freeing them when it fails. */
static bool mproto_msg_insert(mproto_msg *m, size_t pos, char *name, char *value)
{
	mproto_field *f = name != NULL && value != NULL ?
		realloc(m->fields, (m->count + 1) * sizeof(*m->fields)) : NULL;
	if (f == NULL) {
		free(name);
		free(value);
		return false;
	}
	if (pos > m->count)
		pos = m->count;
	memmove(f + pos + 1, f + pos, (m->count - pos) * sizeof(*f));
	f[pos] = (mproto_field){ name, value };
	m->fields = f;
	m->count++;
	return true;
}

static void mproto_msg_remove(mproto_msg *m, size_t pos)
{
	free(m->fields[pos].name);
	free(m->fields[pos].value);
	memmove(m->fields + pos, m->fields + pos + 1, (m->count - pos - 1) * sizeof(*m->fields));
	m->count--;
}

/* ---- loading ------------------------------------------------------------- */

/* The next line (without its LF or CRLF); false at the end. */
static bool mproto_msg_next_line(const char *text, size_t len, size_t *pos,
                                 const char **line, size_t *linelen)
{
	if (*pos >= len)
		return false;
	const char *start = text + *pos, *nl = memchr(start, '\n', len - *pos);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;
	*pos += n + (nl != NULL ? 1 : 0);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*line = start;
	*linelen = n;
	return true;
}

/* A continuation line: appended to the last field's value after "\n". */
static const char *mproto_msg_continue(mproto_msg *m, const char *line, size_t len)
{
	if (m->count == 0)
		return "message starts with a continuation line";
	mproto_field *f = &m->fields[m->count - 1];
	size_t old = strlen(f->value);
	char *v = realloc(f->value, old + len + 2);
	if (v == NULL)
		return "out of memory";
	v[old] = '\n';
	memcpy(v + old + 1, line, len);
	v[old + 1 + len] = '\0';
	f->value = v;
	return NULL;
}

/* One header line; NULL, or what is wrong with it. */
static const char *mproto_msg_header_line(mproto_msg *m, const char *line, size_t len)
{
	if (line[0] == ' ' || line[0] == '\t')
		return mproto_msg_continue(m, line, len);
	const char *colon = memchr(line, ':', len);
	if (colon == NULL)
		return "header line without a colon";
	size_t nlen = (size_t)(colon - line);
	while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
		nlen--;
	if (nlen == 0)
		return "header field without a name";
	size_t vstart = (size_t)(colon + 1 - line);
	if (!mproto_msg_insert(m, m->count, mproto_msg_strndup(line, nlen),
	                       mproto_msg_strndup(line + vstart, len - vstart)))
		return "out of memory";
	return NULL;
}

static bool mproto_msg_parse(mproto_msg *m, const char *text, size_t len,
                             char *err, size_t errlen)
{
	size_t pos = 0, n = 0;
	const char *line = "", *why = NULL;
	bool in_body = false;
	while (why == NULL && mproto_msg_next_line(text, len, &pos, &line, &n)) {
		if (in_body) {
			if (!mproto_msg_body_add(m, line, n) || !mproto_msg_body_add(m, "\r\n", 2))
				why = "out of memory";
		} else if (n == 0) {
			in_body = true;
		} else {
			why = mproto_msg_header_line(m, line, n);
		}
	}
	if (why != NULL)
		snprintf(err, errlen, "%s: %.*s", why, (int)(n < 200 ? n : 200), line);
	return why == NULL;
}

bool mproto_msg_load(mproto_msg *m, const char *path, char *err, size_t errlen)
{
	*m = (mproto_msg){ 0 };
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	mproto_msg raw = { 0 };    /* the file, in a body buffer */
	char chunk[65536];
	size_t n;
	bool ok = true;
	while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ok = mproto_msg_body_add(&raw, chunk, n);
	if (!ok || ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, ok ? "read error" : "out of memory");
		ok = false;
	}
	else
		ok = mproto_msg_parse(m, raw.body, raw.body_len, err, errlen);
	fclose(f);
	free(raw.body);
	if (!ok)
		mproto_msg_free(m);
	return ok;
}

/* ---- copies and changes -------------------------------------------------- */

bool mproto_msg_copy(mproto_msg *dst, const mproto_msg *src)
{
	*dst = (mproto_msg){ 0 };
	for (size_t i = 0; i < src->count; i++) {
		const mproto_field *f = &src->fields[i];
		if (!mproto_msg_insert(dst, i, mproto_msg_strndup(f->name, strlen(f->name)),
		                       mproto_msg_strndup(f->value, strlen(f->value))))
			return false;
	}
	return mproto_msg_body_add(dst, src->body, src->body_len);
}

void mproto_msg_free(mproto_msg *m)
{
	while (m->count > 0)
		mproto_msg_remove(m, m->count - 1);
	free(m->fields);
	free(m->body);
	*m = (mproto_msg){ 0 };
}

/* A modification's value as the MTA stores it. */
static char *mproto_msg_value(bool leadspc, const char *value)
{
	size_t n = strlen(value);
	char *v = malloc(n + 2);
	if (v != NULL)
		snprintf(v, n + 2, "%s%s", leadspc ? "" : " ", value);
	return v;
}

/* CHGHEADER: the index-th field (1-based) of that name. */
static bool mproto_msg_change(mproto_msg *m, bool leadspc, uint32_t index,
                              const char *name, const char *value)
{
	uint32_t seen = 0;
	for (size_t i = 0; i < m->count; i++) {
		if (strcasecmp(m->fields[i].name, name) != 0 || ++seen != index)
			continue;
		if (value[0] == '\0') {
			mproto_msg_remove(m, i);
			return true;
		}
		char *v = mproto_msg_value(leadspc, value);
		if (v == NULL)
			return false;
		free(m->fields[i].value);
		m->fields[i].value = v;
		return true;
	}
	return value[0] == '\0' ||
	       mproto_msg_insert(m, m->count, mproto_msg_strndup(name, strlen(name)),
	                         mproto_msg_value(leadspc, value));
}

bool mproto_msg_header_mod(mproto_msg *m, bool leadspc, char cmd, uint32_t index,
                           const char *name, const char *value)
{
	if (cmd == SMFIR_CHGHEADER)
		return mproto_msg_change(m, leadspc, index, name, value);
	return mproto_msg_insert(m, cmd == SMFIR_INSHEADER ? index : m->count,
	                         mproto_msg_strndup(name, strlen(name)),
	                         mproto_msg_value(leadspc, value));
}

bool mproto_msg_body_mod(mproto_msg *m, const char *data, size_t len)
{
	if (!m->body_replaced)
		m->body_len = 0;
	m->body_replaced = true;
	return mproto_msg_body_add(m, data, len);
}

/* ---- writing ------------------------------------------------------------- */

bool mproto_msg_write(const mproto_msg *m, FILE *out)
{
	for (size_t i = 0; i < m->count; i++) {
		fprintf(out, "%s:", m->fields[i].name);
		for (const char *p = m->fields[i].value; *p != '\0'; p++)
			if (*p != '\r')
				fputc(*p, out);
		fputc('\n', out);
	}
	fputc('\n', out);
	size_t pos = 0, n;
	const char *line;
	while (mproto_msg_next_line(m->body, m->body_len, &pos, &line, &n))
		fprintf(out, "%.*s\n", (int)n, line);
	return !ferror(out);
}
