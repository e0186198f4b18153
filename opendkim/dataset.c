/*
 * dataset.c - OpenDKIM data sets (file:, refile:, csl:, plain paths).
 *
 * Interface: dataset.h. A data set is read completely into memory when it
 * is opened and never changes after. Exact keys get a sorted index so that
 * large SigningTables cost a binary search per lookup; refile: patterns
 * are scanned in file order, as their semantics require.
 *
 * Errors: every problem is added to a diag_list as "FILE:LINE: ..."; the
 * open/parse functions then return NULL. Nothing is printed.
 */
#include "dataset.h"
#include "dataset_backend.h"
#include "dataset_ldap.h"
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- building a set ------------------------------------------------------- */

static bool dataset_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int dataset_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static dataset *dataset_new(dataset_kind kind, const char *spec,
                            const char *file)
{
	dataset *ds = calloc(1, sizeof(*ds));

	if (ds == NULL)
		return NULL;
	atomic_init(&ds->refs, 1);
	atomic_init(&ds->stale, false);
	ds->kind = kind;
	ds->spec = strdup(spec);
	ds->file = strdup(file);
	if (ds->spec == NULL || ds->file == NULL) {
		dataset_free(ds);
		return NULL;
	}
	return ds;
}

static void dataset_entry_free(dataset_entry *e)
{
	size_t i;

	free(e->key);
	free(e->value);
	for (i = 0; i < e->nfields; i++)
		free(e->fields[i]);
	free(e->fields);
}

void dataset_free(dataset *ds)
{
	size_t i;

	if (ds == NULL || atomic_fetch_sub(&ds->refs, 1) != 1)
		return;
	for (i = 0; i < ds->count; i++)
		dataset_entry_free(&ds->entries[i]);
	free(ds->entries);
	free(ds->sorted);
	free(ds->spec);
	free(ds->file);
	free(ds);
}

dataset *dataset_ref(dataset *ds)
{
	if (ds != NULL)
		atomic_fetch_add(&ds->refs, 1);
	return ds;
}

void dataset_set_stale(dataset *ds, bool stale)
{
	if (ds != NULL)
		atomic_store(&ds->stale, stale);
}

bool dataset_is_stale(const dataset *ds)
{
	return ds != NULL && atomic_load(&((dataset *)ds)->stale);
}

/* Splits value at whitespace into e->fields. */
static bool dataset_split_fields(dataset_entry *e, const char *file,
                                 unsigned line, diag_list *diag)
{
	const char *p = e->value;
	size_t n = 0;

	/* Sized to the line's fields: a table of 100 000 rows must not
	 * cost DATASET_MAX_FIELDS pointers a row. */
	for (const char *q = p; *q != '\0'; q++)
		if (!dataset_is_space((unsigned char)*q) &&
		    (q == p || dataset_is_space((unsigned char)q[-1])))
			n++;
	if (n > DATASET_MAX_FIELDS) {
		diag_add(diag, DIAG_ERROR, "%s:%u: more than %d values", file,
		         line, DATASET_MAX_FIELDS);
		return false;
	}
	while (*p != '\0') {
		const char *start;

		while (dataset_is_space((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !dataset_is_space((unsigned char)*p))
			p++;
		if (e->nfields == DATASET_MAX_FIELDS) {
			diag_add(diag, DIAG_ERROR, "%s:%u: more than %d values",
			         file, line, DATASET_MAX_FIELDS);
			return false;
		}
		if (e->fields == NULL)
			e->fields = calloc(n, sizeof(char *));
		if (e->fields == NULL ||
		    (e->fields[e->nfields] = strndup(start,
		                                     (size_t)(p - start))) == NULL) {
			diag_add(diag, DIAG_ERROR, "%s:%u: out of memory",
			         file, line);
			return false;
		}
		e->nfields++;
	}
	return true;
}

/*
 * Appends an entry with the given key and value (both copied, value
 * trimmed by the caller). split: split the value into fields at
 * whitespace; otherwise the value is the single field.
 */
static bool dataset_append(dataset *ds, const char *key, size_t keylen,
                           const char *value, size_t valuelen, bool split,
                           unsigned line, diag_list *diag)
{
	dataset_entry *e, *entries;

	if (ds->count == ds->cap) {
		size_t cap = ds->cap ? ds->cap * 2 : 16;

		entries = realloc(ds->entries, cap * sizeof(*entries));
		if (entries == NULL)
			goto nomem;
		ds->entries = entries;
		ds->cap = cap;
	}
	e = &ds->entries[ds->count];
	memset(e, 0, sizeof(*e));
	ds->count++;
	e->file = ds->file;
	e->line = line;
	e->key = strndup(key, keylen);
	e->value = strndup(value, valuelen);
	if (e->key == NULL || e->value == NULL)
		goto nomem;
	if (split)
		return dataset_split_fields(e, ds->file, line, diag);
	if (valuelen > 0) {
		e->fields = calloc(1, sizeof(char *));
		if (e->fields == NULL || (e->fields[0] = strdup(e->value)) == NULL)
			goto nomem;
		e->nfields = 1;
	}
	return true;
nomem:
	diag_add(diag, DIAG_ERROR, "%s:%u: out of memory", ds->file, line);
	return false;
}

/* Case-insensitive key order; equal keys stay in file order. */
static int dataset_sort_cmp(const void *a, const void *b)
{
	const dataset_entry *ea = *(dataset_entry *const *)a;
	const dataset_entry *eb = *(dataset_entry *const *)b;
	int c = strcasecmp(ea->key, eb->key);

	if (c != 0)
		return c;
	return ea < eb ? -1 : ea > eb;
}

/* Builds the exact-lookup index once all entries are in. */
static bool dataset_index(dataset *ds, diag_list *diag)
{
	size_t i;

	if (ds->kind == DATASET_REFILE || ds->count == 0)
		return true;
	ds->sorted = malloc(ds->count * sizeof(*ds->sorted));
	if (ds->sorted == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: out of memory", ds->file);
		return false;
	}
	for (i = 0; i < ds->count; i++)
		ds->sorted[i] = &ds->entries[i];
	qsort(ds->sorted, ds->count, sizeof(*ds->sorted), dataset_sort_cmp);
	return true;
}

/* ---- flat files ----------------------------------------------------------- */

/*
 * One line (without its line break): comment stripped, key and value
 * split. Returns false on an error (reported).
 */
static bool dataset_parse_line(dataset *ds, const char *line, size_t len,
                               unsigned lineno, diag_list *diag)
{
	const char *hash = memchr(line, '#', len);
	size_t key_end, val_start;

	if (hash != NULL)
		len = (size_t)(hash - line);
	while (len > 0 && dataset_is_space((unsigned char)line[len - 1]))
		len--;
	while (len > 0 && dataset_is_space((unsigned char)*line)) {
		line++;
		len--;
	}
	if (len == 0)
		return true;
	for (key_end = 0; key_end < len; key_end++)
		if (dataset_is_space((unsigned char)line[key_end]))
			break;
	for (val_start = key_end; val_start < len; val_start++)
		if (!dataset_is_space((unsigned char)line[val_start]))
			break;
	return dataset_append(ds, line, key_end, line + val_start,
	                      len - val_start, true, lineno, diag);
}

dataset *dataset_parse_buffer(const char *name, dataset_kind kind,
                              const char *buf, size_t len, diag_list *diag)
{
	dataset *ds = dataset_new(kind, name, name);
	size_t pos = 0, errors = diag->errors;
	unsigned lineno = 0;

	if (ds == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: out of memory", name);
		return NULL;
	}
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t linelen = nl ? (size_t)(nl - line) : len - pos;

		pos += linelen + (nl != NULL);
		lineno++;
		if (memchr(line, '\0', linelen) != NULL) {
			diag_add(diag, DIAG_ERROR, "%s:%u: NUL byte in line",
			         name, lineno);
			continue;
		}
		if (linelen > DATASET_MAX_LINE) {
			diag_add(diag, DIAG_ERROR,
			         "%s:%u: line longer than %d bytes", name,
			         lineno, DATASET_MAX_LINE);
			continue;
		}
		dataset_parse_line(ds, line, linelen, lineno, diag);
	}
	if (diag->errors != errors || !dataset_index(ds, diag)) {
		dataset_free(ds);
		return NULL;
	}
	return ds;
}

/*
 * Reads fd to its end into a malloc'd buffer with one spare byte for a NUL.
 * Refuses more than DATASET_MAX_FILE bytes.
 */
static char *dataset_read_fd(int fd, size_t *len, const char **why)
{
	char *data = NULL, *bigger;
	size_t cap = 0, used = 0;
	ssize_t n;

	for (;;) {
		if (used == cap) {
			if (used > DATASET_MAX_FILE) {
				*why = "file too large";
				break;
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > DATASET_MAX_FILE + 1u)
				cap = DATASET_MAX_FILE + 1u;
			if ((bigger = realloc(data, cap + 1)) == NULL) {
				*why = "out of memory";
				break;
			}
			data = bigger;
		}
		n = read(fd, data + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				*why = strerror(errno);
			break;
		}
		used += (size_t)n;
	}
	if (*why == NULL && used > DATASET_MAX_FILE)
		*why = "file too large";
	if (*why != NULL) {
		free(data);
		return NULL;
	}
	*len = used;
	return data;
}

char *dataset_read_file(const char *path, size_t *len, const char **why)
{
	struct stat st;
	char *data = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	*why = NULL;
	if (fd < 0 || fstat(fd, &st) != 0)
		*why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		*why = "is a directory";
	else
		data = dataset_read_fd(fd, len, why);
	if (fd >= 0)
		close(fd);
	if (data == NULL)
		return NULL;
	data[*len] = '\0';
	return data;
}

static dataset *dataset_open_file(const char *spec, const char *path,
                                  dataset_kind kind, const char *where,
                                  diag_list *diag)
{
	const char *why;
	size_t len;
	char *data;
	dataset *ds;

	if (*path == '\0') {
		diag_add(diag, DIAG_ERROR, "%s: data set '%s' names no file",
		         where ? where : spec, spec);
		return NULL;
	}
	data = dataset_read_file(path, &len, &why);
	if (data == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: cannot read %s: %s",
		         where ? where : path, path, why);
		return NULL;
	}
	ds = dataset_parse_buffer(path, kind, data, len, diag);
	free(data);
	if (ds != NULL) {
		char *copy = strdup(spec);

		if (copy == NULL) {
			dataset_free(ds);
			diag_add(diag, DIAG_ERROR, "%s: out of memory", path);
			return NULL;
		}
		free(ds->spec);
		ds->spec = copy;
	}
	return ds;
}

/* ---- inline lists --------------------------------------------------------- */

dataset *dataset_parse_csl(const char *list, diag_list *diag)
{
	dataset *ds = dataset_new(DATASET_CSL, list, list);
	const char *p = list;
	unsigned index = 0;
	size_t errors = diag->errors;

	if (ds == NULL) {
		diag_add(diag, DIAG_ERROR, "out of memory");
		return NULL;
	}
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq;
		size_t klen;

		index++;
		while (len > 0 && dataset_is_space((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && dataset_is_space((unsigned char)p[len - 1]))
			len--;
		/* opendkim(8) DATA SETS m): "x=y" is the key x with value y */
		eq = memchr(p, '=', len);
		klen = eq ? (size_t)(eq - p) : len;
		if (len > 0 && !dataset_append(ds, p, klen, eq ? eq + 1 : "",
		                               eq ? len - klen - 1 : 0, false,
		                               index, diag))
			break;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (diag->errors != errors || !dataset_index(ds, diag)) {
		dataset_free(ds);
		return NULL;
	}
	return ds;
}

/*
 * An inline list named on a configuration line: its entries' file is that
 * line ("opendkim.conf:12") and their line the element's position, so a
 * message reads "opendkim.conf:12:2: ...".
 */
static dataset *dataset_open_csl(const char *list, const char *where,
                                 diag_list *diag)
{
	dataset *ds = dataset_parse_csl(list, diag);
	char *file;
	size_t i;

	if (ds == NULL || where == NULL)
		return ds;
	if ((file = strdup(where)) == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: out of memory", where);
		dataset_free(ds);
		return NULL;
	}
	free(ds->file);
	ds->file = file;
	for (i = 0; i < ds->count; i++)
		ds->entries[i].file = file;
	return ds;
}

/* ---- rows from a database (dataset_backend.h) --------------------------- */

dataset *dataset_new_exact(const char *name)
{
	return dataset_new(DATASET_FILE, name, name);
}

/* FNV-1a, 64 bits, over len bytes then a separator. */
static unsigned long long dataset_fnv(unsigned long long h, const char *p,
                                      size_t len, unsigned char sep)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return (h ^ sep) * 1099511628211ull;
}

bool dataset_add_row(dataset *ds, const char *key, size_t keylen,
                     const char *value, size_t valuelen, unsigned row,
                     diag_list *diag)
{
	size_t i, fields = 0;

	/* A value of many words (an inline PEM key with its spaces) is one
	 * field rather than an error: only the KeyTable reads it, whole. */
	for (i = 0; i < valuelen; i++)
		if (!dataset_is_space((unsigned char)value[i]) &&
		    (i == 0 || dataset_is_space((unsigned char)value[i - 1])))
			fields++;
	return dataset_append(ds, key, keylen, value, valuelen,
	                      fields <= DATASET_MAX_FIELDS, row, diag);
}

/*
 * The rows' digest, taken in the index's order (keys without case, equal
 * keys in row order) rather than in the order the database returned them:
 * a query without ORDER BY may return the same rows in another order, and
 * that must not count as a change. Rows with equal keys keep their order
 * in it, as they must: a lookup finds the first of them, so swapping two
 * values of one key is a change. A duplicated row is hashed twice.
 */
static unsigned long long dataset_rows_digest(const dataset *ds)
{
	unsigned long long h = 14695981039346656037ull;   /* FNV offset */

	for (size_t i = 0; i < ds->count; i++) {
		const dataset_entry *e = ds->sorted ? ds->sorted[i]
		                                    : &ds->entries[i];

		h = dataset_fnv(dataset_fnv(h, e->key, strlen(e->key), 0),
		                e->value, strlen(e->value), '\n');
	}
	return ds->count > 0 ? h : 0;
}

bool dataset_finish(dataset *ds, diag_list *diag)
{
	if (!dataset_index(ds, diag))
		return false;
	ds->digest = dataset_rows_digest(ds);
	return true;
}

/* ---- naming --------------------------------------------------------------- */

static bool dataset_has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool dataset_spec_is_database(const char *spec)
{
	return dataset_has_prefix(spec, "dsn:") ||
	       dataset_has_prefix(spec, "ldap:") ||
	       dataset_has_prefix(spec, "ldaps:") ||
	       dataset_has_prefix(spec, "ldapi:");
}

bool dataset_soft_start(const char *spec)
{
	return !dataset_has_prefix(spec, "dsn:") &&
	       dataset_spec_is_database(spec) && dataset_ldap_soft_start();
}

/* Back ends OpenDKIM may have been built with and we do not implement. */
static const char *const dataset_unsupported[] = {
	"db:", "lua:", "memcache:",
	"erlang:", "mdb:", "repute:", "socket:"
};

static bool dataset_is_unsupported(const char *spec)
{
	size_t i, n = sizeof(dataset_unsupported) / sizeof(*dataset_unsupported);
	size_t len = strlen(spec);

	for (i = 0; i < n; i++)
		if (dataset_has_prefix(spec, dataset_unsupported[i]))
			return true;
	return len > 3 && strcmp(spec + len - 3, ".db") == 0;
}

static dataset *dataset_open_spec(const char *spec, const char *where,
                                  diag_list *diag)
{
	if (dataset_has_prefix(spec, "file:"))
		return dataset_open_file(spec, spec + 5, DATASET_FILE, where,
		                         diag);
	if (dataset_has_prefix(spec, "refile:"))
		return dataset_open_file(spec, spec + 7, DATASET_REFILE, where,
		                         diag);
	if (dataset_has_prefix(spec, "csl:"))
		return dataset_open_csl(spec + 4, where, diag);
	if (dataset_has_prefix(spec, "dsn:"))
		return dataset_open_dsn(spec, where, diag);
	if (dataset_has_prefix(spec, "ldap:") ||
	    dataset_has_prefix(spec, "ldaps:") ||
	    dataset_has_prefix(spec, "ldapi:"))
		return dataset_open_ldap(spec, where, diag);
	if (dataset_is_unsupported(spec)) {
		diag_add(diag, DIAG_ERROR,
		         "%s: data set '%s': this type of data set is not "
		         "supported (use file:, refile:, csl:, dsn: or ldap:)",
		         where ? where : spec, spec);
		return NULL;
	}
	if (spec[0] == '/' || strncmp(spec, "./", 2) == 0 ||
	    strncmp(spec, "../", 3) == 0)
		return dataset_open_file(spec, spec, DATASET_FILE, where, diag);
	return dataset_open_csl(spec, where, diag);
}

dataset *dataset_open(const char *spec, const char *where, diag_list *diag)
{
	dataset *ds = dataset_open_spec(spec, where, diag);

	if (ds == NULL)
		metrics_dataset_error();
	return ds;
}

/* ---- lookups -------------------------------------------------------------- */

/*
 * Glob with "*" only. Iterative with one backtrack point (the last star):
 * O(len(pattern) * len(text)) at worst, no recursion.
 */
bool dataset_pattern_match(const char *pattern, const char *text)
{
	const char *star = NULL, *resume = NULL;

	while (*text != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = text;
		} else if (*pattern != '\0' &&
		           dataset_lower((unsigned char)*pattern) ==
		           dataset_lower((unsigned char)*text)) {
			pattern++;
			text++;
		} else if (star != NULL) {
			pattern = star + 1;
			text = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

/* First position in ds->sorted whose key is not below key. */
static size_t dataset_lower_bound(const dataset *ds, const char *key)
{
	size_t lo = 0, hi = ds->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcasecmp(ds->sorted[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Exact keys: *pos is 0 before the first call, then 1 + the next position
 * in ds->sorted to look at.
 */
static const dataset_entry *dataset_next_exact(const dataset *ds,
                                               const char *key, size_t *pos)
{
	size_t i;

	if (ds->sorted == NULL)
		return NULL;
	i = *pos == 0 ? dataset_lower_bound(ds, key) : *pos - 1;
	if (i < ds->count && strcasecmp(ds->sorted[i]->key, key) == 0) {
		*pos = i + 2;
		return ds->sorted[i];
	}
	*pos = ds->count + 1;
	return NULL;
}

const dataset_entry *dataset_next_match(const dataset *ds, const char *key,
                                        size_t *pos)
{
	if (ds == NULL || key == NULL)
		return NULL;
	if (*pos == 0)
		metrics_dataset_lookup(ds->kind);
	if (ds->kind != DATASET_REFILE)
		return dataset_next_exact(ds, key, pos);
	while (*pos < ds->count) {
		const dataset_entry *e = &ds->entries[(*pos)++];

		if (dataset_pattern_match(e->key, key))
			return e;
	}
	return NULL;
}

const dataset_entry *dataset_lookup(const dataset *ds, const char *key)
{
	size_t pos = 0;

	return dataset_next_match(ds, key, &pos);
}

bool dataset_contains(const dataset *ds, const char *key)
{
	return dataset_lookup(ds, key) != NULL;
}
