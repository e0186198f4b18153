/*
 * dataset_dsn.c - "dsn:" data sets: the name parser, the query, the rows
 * builder and the dispatch to a database backend.
 *
 * Interface: dataset_backend.h. The parser is a pure function over the
 * name (fuzzed by tests/fuzz/fuzz_dsn.c). Errors are returned as a
 * reason string by the parser and the backends, and added to a diag_list
 * as "WHERE: data set 'REDACTED': REASON" by dataset_open_dsn.
 */
#include "dataset_backend.h"
#include "dataset_ldap.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the name -------------------------------------------------------------- */

static void dsn_why(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dsn_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* An SQL identifier we are willing to paste into a query. */
static bool dsn_is_ident(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		      *s == '$'))
			return false;
	return true;
}

/* Parses an unsigned decimal of at most max into *out. */
static bool dsn_number(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 9)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

/* "D1,D2,...": each an identifier. */
static bool dsn_datacols(dataset_dsn *dsn, const char *v, char *why,
                         size_t why_size)
{
	while (*v != '\0' || dsn->ndatacols == 0) {
		size_t len = strcspn(v, ",");

		if (dsn->ndatacols == DATASET_DSN_MAX_COLS) {
			snprintf(why, why_size, "more than %d data columns",
			         DATASET_DSN_MAX_COLS);
			return false;
		}
		dsn->datacols[dsn->ndatacols] = strndup(v, len);
		if (dsn->datacols[dsn->ndatacols] == NULL) {
			dsn_why(why, why_size, "out of memory");
			return false;
		}
		if (!dsn_is_ident(dsn->datacols[dsn->ndatacols++])) {
			dsn_why(why, why_size, "datacol: '%s' is not a column "
			        "name", dsn->datacols[dsn->ndatacols - 1]);
			return false;
		}
		v += len;
		if (*v == ',')
			v++;
		else
			break;
	}
	return true;
}

/* Stores a copy of v in *field, refusing a second one. */
static bool dsn_set(char **field, const char *name, const char *v,
                    char *why, size_t why_size)
{
	if (*field != NULL) {
		dsn_why(why, why_size, "%s= given twice", name);
		return false;
	}
	if ((*field = strdup(v)) == NULL) {
		dsn_why(why, why_size, "out of memory");
		return false;
	}
	return true;
}

/* One "key=value" of the parameters. */
static bool dsn_param(dataset_dsn *dsn, const char *key, const char *v,
                      char *why, size_t why_size)
{
	if (strcasecmp(key, "table") == 0)
		return dsn_set(&dsn->table, key, v, why, why_size);
	if (strcasecmp(key, "keycol") == 0)
		return dsn_set(&dsn->keycol, key, v, why, why_size);
	if (strcasecmp(key, "filter") == 0)
		return dsn_set(&dsn->filter, key, v, why, why_size);
	if (strcasecmp(key, "datacol") == 0) {
		if (dsn->ndatacols > 0) {
			dsn_why(why, why_size, "%s= given twice", key);
			return false;
		}
		return dsn_datacols(dsn, v, why, why_size);
	}
	if (strcasecmp(key, "ttl") == 0 || strcasecmp(key, "timeout") == 0) {
		unsigned *out = key[1] == 't' || key[1] == 'T' ? &dsn->ttl
		                                               : &dsn->timeout;

		if (!dsn_number(v, strlen(v), 86400, out) || *out == 0) {
			dsn_why(why, why_size, "%s= must be 1 to 86400 "
			        "seconds", key);
			return false;
		}
		if (out == &dsn->ttl)
			dsn->ttl_set = true;
		return true;
	}
	/* OpenDKIM ignores keys it does not use; so do we. */
	return true;
}

/* "table=T?keycol=K?datacol=D?..." (params is modified). */
static bool dsn_params(dataset_dsn *dsn, char *params, char *why,
                       size_t why_size)
{
	char *p = params;

	while (p != NULL && *p != '\0') {
		char *next = strchr(p, '?');
		char *eq;

		if (next != NULL)
			*next++ = '\0';
		eq = strchr(p, '=');
		if (eq == NULL) {
			dsn_why(why, why_size, "'%s' is not KEY=VALUE", p);
			return false;
		}
		*eq = '\0';
		if (!dsn_param(dsn, p, eq + 1, why, why_size))
			return false;
		p = next;
	}
	if (dsn->table == NULL || dsn->keycol == NULL || dsn->ndatacols == 0) {
		dsn_why(why, why_size, "table=, keycol= and datacol= are "
		        "required");
		return false;
	}
	if (!dsn_is_ident(dsn->table) || !dsn_is_ident(dsn->keycol)) {
		dsn_why(why, why_size, "table= and keycol= must be names "
		        "([A-Za-z0-9_.$])");
		return false;
	}
	return true;
}

/* "[PORT+]HOST/DATABASE" (sqlite3: "HOST/PATH", the path keeps its "/"). */
static bool dsn_hostpart(dataset_dsn *dsn, const char *hp, char *why,
                         size_t why_size)
{
	const char *slash = strchr(hp, '/');
	const char *plus;
	bool sqlite = strcmp(dsn->backend, "sqlite3") == 0;

	if (slash == NULL || slash[1] == '\0') {
		dsn_why(why, why_size, "no database named");
		return false;
	}
	plus = memchr(hp, '+', (size_t)(slash - hp));
	if (plus != NULL && !dsn_number(hp, (size_t)(plus - hp), 65535,
	                                &dsn->port)) {
		dsn_why(why, why_size, "bad port before '+'");
		return false;
	}
	hp = plus != NULL ? plus + 1 : hp;
	dsn->host = strndup(hp, (size_t)(slash - hp));
	dsn->database = strdup(sqlite ? slash : slash + 1);
	if (dsn->host == NULL || dsn->database == NULL) {
		dsn_why(why, why_size, "out of memory");
		return false;
	}
	if (!sqlite && strchr(dsn->database, '/') != NULL) {
		dsn_why(why, why_size, "database name '%s' holds a '/'",
		        dsn->database);
		return false;
	}
	return true;
}

/* "[USER[:PASSWORD]@]HOSTPART" (loc is modified). */
static bool dsn_location(dataset_dsn *dsn, char *loc, char *why,
                         size_t why_size)
{
	char *at = strrchr(loc, '@');
	char *hp = loc;

	if (at != NULL) {
		char *colon;

		*at = '\0';
		hp = at + 1;
		colon = strchr(loc, ':');
		if (colon != NULL) {
			*colon = '\0';
			dsn->password = strdup(colon + 1);
			if (dsn->password == NULL)
				goto nomem;
		}
		if ((dsn->user = strdup(loc)) == NULL)
			goto nomem;
	}
	return dsn_hostpart(dsn, hp, why, why_size);
nomem:
	dsn_why(why, why_size, "out of memory");
	return false;
}

/* The name with the password replaced by "***". */
static char *dsn_redact(const char *spec)
{
	const char *scheme = strstr(spec, "://");
	const char *rest = scheme ? scheme + 3 : spec;
	const char *eq = strchr(rest, '=');
	const char *end = eq ? eq : rest + strlen(rest);
	const char *at = NULL, *colon, *p;
	char *out;

	for (p = rest; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	if (colon == NULL)
		return strdup(spec);
	if (asprintf(&out, "%.*s***%s", (int)(colon + 1 - spec), spec, at) < 0)
		return NULL;
	return out;
}

static bool dsn_parse_backend(dataset_dsn *dsn, const char *spec,
                              const char **rest, char *why, size_t why_size)
{
	const char *sep = strstr(spec, "://");
	size_t len;

	if (strncasecmp(spec, "dsn:", 4) != 0 || sep == NULL) {
		dsn_why(why, why_size, "not of the form "
		        "dsn:BACKEND://...");
		return false;
	}
	len = (size_t)(sep - (spec + 4));
	if ((dsn->backend = strndup(spec + 4, len)) == NULL) {
		dsn_why(why, why_size, "out of memory");
		return false;
	}
	for (char *c = dsn->backend; *c != '\0'; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	if (strcmp(dsn->backend, "pgsql") != 0 &&
	    strcmp(dsn->backend, "mysql") != 0 &&
	    strcmp(dsn->backend, "sqlite3") != 0) {
		dsn_why(why, why_size, "unknown database type '%s' (pgsql, "
		        "mysql or sqlite3)", dsn->backend);
		return false;
	}
	*rest = sep + 3;
	return true;
}

bool dataset_dsn_parse(const char *spec, dataset_dsn *dsn, char *why,
                       size_t why_size)
{
	const char *rest;
	char *copy = NULL, *eq, *slash;
	bool ok = false;

	memset(dsn, 0, sizeof(*dsn));
	dsn->ttl = DATASET_DSN_TTL;
	dsn->timeout = DATASET_DSN_TIMEOUT;
	if (!dsn_parse_backend(dsn, spec, &rest, why, why_size))
		goto out;
	if ((copy = strdup(rest)) == NULL ||
	    (dsn->redacted = dsn_redact(spec)) == NULL) {
		dsn_why(why, why_size, "out of memory");
		goto out;
	}
	/* The parameters start after the last "/" before the first "=". */
	eq = strchr(copy, '=');
	slash = NULL;
	for (char *p = copy; eq != NULL && p < eq; p++)
		if (*p == '/')
			slash = p;
	if (slash == NULL) {
		dsn_why(why, why_size, "no /table=...?keycol=...?datacol=... "
		        "part");
		goto out;
	}
	*slash = '\0';
	ok = dsn_location(dsn, copy, why, why_size) &&
	     dsn_params(dsn, slash + 1, why, why_size);
out:
	free(copy);
	if (!ok)
		dataset_dsn_free(dsn);
	return ok;
}

void dataset_dsn_free(dataset_dsn *dsn)
{
	size_t i;

	free(dsn->backend);
	free(dsn->user);
	if (dsn->password != NULL)
		explicit_bzero(dsn->password, strlen(dsn->password));
	free(dsn->password);
	free(dsn->host);
	free(dsn->database);
	free(dsn->table);
	free(dsn->keycol);
	for (i = 0; i < dsn->ndatacols; i++)
		free(dsn->datacols[i]);
	free(dsn->filter);
	free(dsn->redacted);
	memset(dsn, 0, sizeof(*dsn));
}

char *dataset_dsn_query(const dataset_dsn *dsn)
{
	size_t i, len = 64 + strlen(dsn->keycol) + strlen(dsn->table) +
	                (dsn->filter ? strlen(dsn->filter) : 0);
	char *q;

	for (i = 0; i < dsn->ndatacols; i++)
		len += strlen(dsn->datacols[i]) + 2;
	if ((q = malloc(len)) == NULL)
		return NULL;
	strcpy(q, "SELECT ");
	strcat(q, dsn->keycol);
	for (i = 0; i < dsn->ndatacols; i++) {
		strcat(q, ", ");
		strcat(q, dsn->datacols[i]);
	}
	strcat(q, " FROM ");
	strcat(q, dsn->table);
	if (dsn->filter != NULL) {
		strcat(q, " WHERE ");
		strcat(q, dsn->filter);
	}
	return q;
}

/* ---- rows ------------------------------------------------------------------ */

struct dataset_rows {
	dataset *ds;
	diag_list *diag;
	const char *name;       /* the redacted name, for messages */
	unsigned row;           /* rows seen, 1-based after the first */
	char *buf;              /* the joined value */
	size_t cap;
	bool failed;            /* out of memory: stop */
};

static bool rows_reserve(dataset_rows *r, size_t len)
{
	char *p;

	if (len <= r->cap)
		return true;
	if ((p = realloc(r->buf, len)) == NULL)
		return false;
	r->buf = p;
	r->cap = len;
	return true;
}

/* Joins the values with ":" into r->buf; false (with a warning) when the
 * row is refused. */
static bool rows_join(dataset_rows *r, const char *const *vals,
                      const size_t *lens, size_t nvals, size_t *outlen)
{
	size_t i, len = 0;

	for (i = 0; i < nvals; i++) {
		if (vals[i] != NULL && memchr(vals[i], '\0', lens[i]) != NULL) {
			diag_add(r->diag, DIAG_WARNING, "%s:%u: NUL byte in "
			         "a value: row ignored", r->name, r->row);
			return false;
		}
		len += (vals[i] ? lens[i] : 0) + 1;
	}
	if (len > DATASET_MAX_LINE) {
		diag_add(r->diag, DIAG_WARNING, "%s:%u: value longer than %d "
		         "bytes: row ignored", r->name, r->row,
		         DATASET_MAX_LINE);
		return false;
	}
	if (!rows_reserve(r, len + 1)) {
		r->failed = true;
		return false;
	}
	*outlen = 0;
	for (i = 0; i < nvals; i++) {
		if (i > 0)
			r->buf[(*outlen)++] = ':';
		if (vals[i] != NULL)
			memcpy(r->buf + *outlen, vals[i], lens[i]);
		*outlen += vals[i] ? lens[i] : 0;
	}
	r->buf[*outlen] = '\0';
	return true;
}

bool dataset_rows_add(dataset_rows *r, const char *key, size_t keylen,
                      const char *const *vals, const size_t *lens,
                      size_t nvals)
{
	size_t vlen = 0, klen = keylen;

	if (r->failed)
		return false;
	if (++r->row > DATASET_DSN_MAX_ROWS) {
		diag_add(r->diag, DIAG_ERROR, "%s: more than %u rows",
		         r->name, DATASET_DSN_MAX_ROWS);
		r->failed = true;
		return false;
	}
	if (key == NULL || keylen == 0)
		return true;    /* no key: nothing can find it */
	if (memchr(key, '\0', keylen) != NULL || keylen > DATASET_MAX_LINE) {
		diag_add(r->diag, DIAG_WARNING, "%s:%u: NUL byte in the key, "
		         "or key too long: row ignored", r->name, r->row);
		return true;
	}
	if (!rows_join(r, vals, lens, nvals, &vlen))
		return !r->failed;
	/* Values are trimmed, as a file line's are. */
	while (vlen > 0 && (r->buf[vlen - 1] == ' ' || r->buf[vlen - 1] == '\t'))
		vlen--;
	if (!dataset_add_row(r->ds, key, klen, r->buf, vlen, r->row, r->diag)) {
		r->failed = true;
		return false;
	}
	return true;
}

dataset_rows *dataset_rows_new(const char *name, diag_list *diag)
{
	dataset_rows *r = calloc(1, sizeof(*r));

	if (r != NULL && (r->ds = dataset_new_exact(name)) != NULL) {
		r->diag = diag;
		r->name = r->ds->file;
		return r;
	}
	free(r);
	diag_add(diag, DIAG_ERROR, "%s: out of memory", name);
	return NULL;
}

dataset *dataset_rows_end(dataset_rows *r, bool ok)
{
	dataset *ds = r->ds;

	if (!ok || r->failed || !dataset_finish(ds, r->diag)) {
		if (r->failed)
			diag_add(r->diag, DIAG_ERROR, "%s: out of memory",
			         r->name);
		dataset_free(ds);
		ds = NULL;
	}
	free(r->buf);
	free(r);
	return ds;
}

/* ---- open ------------------------------------------------------------------ */

static atomic_uint dataset_refresh = 0;

unsigned dataset_refresh_seconds(void)
{
	return atomic_load(&dataset_refresh);
}

void dataset_refresh_note(unsigned ttl)
{
	unsigned cur = atomic_load(&dataset_refresh);

	while ((cur == 0 || ttl < cur) &&
	       !atomic_compare_exchange_weak(&dataset_refresh, &cur, ttl))
		;
}

/* The backends: dsn: name, table, what configure looks for. */
static const struct {
	const char *name;
	const dataset_backend *(*get)(void);
	const char *what;
} dsn_backends[] = {
	{ "pgsql", dataset_pgsql_backend, "PostgreSQL support (configure found no libpq)" },
	{ "mysql", dataset_mysql_backend, "MySQL/MariaDB support (configure found no libmariadb)" },
	{ "sqlite3", dataset_sqlite_backend, "SQLite support (configure found no libsqlite3)" },
};
#define DSN_NBACKENDS (sizeof(dsn_backends) / sizeof(*dsn_backends))

const char *dataset_dsn_backends(void)
{
	static char names[32];
	size_t i, len = 0;

	if (names[0] != '\0')
		return names;
	for (i = 0; i < DSN_NBACKENDS; i++)
		if (dsn_backends[i].get() != NULL)
			len += (size_t)snprintf(names + len, sizeof(names) - len,
			                        "%s%s", len ? " " : "",
			                        dsn_backends[i].name);
	if (len == 0)
		snprintf(names, sizeof(names), "none");
	return names;
}

/* One read: connect, query (each row into rows), close. */
static bool dsn_fetch(const dataset_dsn *dsn, dataset_rows *rows, char *why,
                      size_t why_size)
{
	const dataset_backend *b = NULL;
	char *query;
	void *db;
	bool ok = false;
	size_t i;

	for (i = 0; i < DSN_NBACKENDS; i++)
		if (strcmp(dsn->backend, dsn_backends[i].name) == 0)
			break;
	if (i == DSN_NBACKENDS || (b = dsn_backends[i].get()) == NULL) {
		dsn_why(why, why_size, "this build has no %s",
		        i < DSN_NBACKENDS ? dsn_backends[i].what : "such backend");
		return false;
	}
	if ((query = dataset_dsn_query(dsn)) == NULL) {
		dsn_why(why, why_size, "out of memory");
		return false;
	}
	if ((db = b->connect(dsn, why, why_size)) != NULL) {
		ok = b->query(db, query, rows, why, why_size);
		b->close(db);
	}
	free(query);
	return ok;
}

/* Reads the table into rows->ds; false after adding an error. */
static bool dsn_load(const dataset_dsn *dsn, dataset_rows *rows,
                     const char *where, diag_list *diag)
{
	char why[512] = "";
	size_t errors = diag->errors;

	if (!dsn_fetch(dsn, rows, why, sizeof(why))) {
		if (diag->errors == errors)
			diag_add(diag, DIAG_ERROR, "%s: data set '%s': %s",
			         where ? where : dsn->redacted, dsn->redacted,
			         rows->failed ? "out of memory" : why);
		return false;
	}
	return !rows->failed && diag->errors == errors &&
	       dataset_finish(rows->ds, diag);
}

dataset *dataset_open_dsn(const char *spec, const char *where,
                          diag_list *diag)
{
	dataset_dsn dsn;
	dataset_rows rows = { 0 };
	char why[256];

	if (!dataset_dsn_parse(spec, &dsn, why, sizeof(why))) {
		char *name = dsn_redact(spec);

		diag_add(diag, DIAG_ERROR, "%s: data set '%s': %s",
		         where ? where : "dsn", name ? name : "dsn:", why);
		free(name);
		return NULL;
	}
	/* Noted before the read: one that fails is tried again every ttl. */
	dataset_refresh_note(dsn.ttl_set ? dsn.ttl : dataset_default_ttl());
	rows.ds = dataset_new_exact(dsn.redacted);
	rows.diag = diag;
	rows.name = dsn.redacted;
	if (rows.ds == NULL || !dsn_load(&dsn, &rows, where, diag)) {
		if (rows.ds == NULL)
			diag_add(diag, DIAG_ERROR, "%s: out of memory",
			         dsn.redacted);
		dataset_free(rows.ds);
		rows.ds = NULL;
	}
	free(rows.buf);
	dataset_dsn_free(&dsn);
	return rows.ds;
}
