/*
 * dataset.h - OpenDKIM "data sets" (tables and lists).
 *
 * A data set is named by a string, as in opendkim(8) "DATA SETS":
 *   file:PATH      a flat file of exact keys
 *   refile:PATH    a flat file whose first column holds wildcard patterns
 *                  ("*" matches any run of characters), tried in file order
 *   csl:a,b,c      an inline comma-separated list; an element "k=v" is the
 *                  key k with value v
 *   /PATH, ./PATH, ../PATH
 *                  a flat file (as file:)
 *   anything else  an inline comma-separated list (as csl:), which is what
 *                  OpenDKIM does with e.g. "Domain example.com,example.net"
 * Database back ends (db:, dsn:, ldap:, lua:, memcache:, erlang:, mdb:,
 * *.db) are not supported: a load error names them.
 *
 * Flat file syntax: "#" starts a comment (to the end of the line), blank
 * lines are skipped, the first whitespace-separated column is the key and
 * the rest of the line (trimmed) is the value, which is also split into
 * whitespace-separated fields. Lines are limited to DATASET_MAX_LINE bytes
 * and files to DATASET_MAX_FILE bytes; longer ones are load errors with
 * FILE:LINE. Every entry remembers its file and line for later messages.
 *
 * Lookups are case-insensitive (domain names and header names are; OpenDKIM
 * opens its tables case-insensitively too). Exact lookups use a sorted
 * index (O(log n)); refile: patterns are tried one by one in file order.
 *
 * A loaded data set is immutable: it can be read by many threads at once.
 *
 * Errors: dataset_open/dataset_parse_buffer return NULL and add one
 * message per problem ("FILE:LINE: ...") to a diag_list.
 */
#ifndef ODK_DATASET_H
#define ODK_DATASET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* ---- data sets ---------------------------------------------------------- */

#define DATASET_MAX_LINE 65536          /* bytes per line (inline keys fit) */
#define DATASET_MAX_FILE (64u << 20)    /* bytes per file */
#define DATASET_MAX_FIELDS 64           /* value fields per line */

typedef enum {
	DATASET_FILE = 0,       /* exact keys from a file */
	DATASET_REFILE,         /* wildcard patterns from a file */
	DATASET_CSL             /* inline list */
} dataset_kind;

typedef struct {
	char *key;              /* first column (a pattern for DATASET_REFILE) */
	char *value;            /* rest of the line, trimmed; "" when none */
	char **fields;          /* value split at whitespace (csl: one field) */
	size_t nfields;
	const char *file;       /* file name (or "csl:..."); owned by the set */
	unsigned line;          /* 1-based line (csl: element index, 1-based) */
} dataset_entry;

typedef struct dataset {
	dataset_kind kind;
	char *spec;             /* the string it was opened from */
	char *file;             /* file name, or the spec for csl */
	dataset_entry *entries; /* in file order */
	size_t count;
	size_t cap;             /* private: entries allocated */
	dataset_entry **sorted; /* private: exact keys sorted (ignoring case,
	                         * then file order) for binary search */
	atomic_uint refs;       /* private: dataset_ref / dataset_free */
	atomic_bool stale;      /* a database data set whose last read failed:
	                         * these entries are the last good copy */
	unsigned long long digest; /* rows from a database: FNV-1a of every
	                         * key and value in lookup order, whatever
	                         * order the rows came in (a refresh that
	                         * reads the same rows changes nothing) */
} dataset;

/*
 * Opens and reads a data set named by spec (see above). where, if not NULL,
 * is the "FILE:LINE" of the configuration line naming it, used as the
 * prefix of errors that have no line of their own (missing file, unknown
 * back end). Returns NULL on any error (each one added to diag).
 */
dataset *dataset_open(const char *spec, const char *where, diag_list *diag);

/*
 * Parses the flat-file form from memory (the fuzz entry point; dataset_open
 * uses it). name is used in messages and as entries' file. len bytes of buf
 * are read; buf need not be NUL-terminated. A NUL byte is an error.
 */
dataset *dataset_parse_buffer(const char *name, dataset_kind kind,
                              const char *buf, size_t len, diag_list *diag);

/*
 * Reads a whole file of at most DATASET_MAX_FILE bytes (also used for
 * configuration files). The result is malloc'd and NUL-terminated (the NUL
 * not counted in *len). NULL with a static or strerror() reason in *why.
 */
char *dataset_read_file(const char *path, size_t *len, const char **why);

/* Parses the inline list form (text after "csl:"). */
dataset *dataset_parse_csl(const char *list, diag_list *diag);

/* Drops a reference; the last one frees the set. */
void dataset_free(dataset *ds);

/* Another reference to ds (which a configuration refresh shares). */
dataset *dataset_ref(dataset *ds);

/*
 * True for the names of data sets kept in a database ("dsn:", "ldap:",
 * "ldaps:", "ldapi:"): the ones the daemon reads again every ttl.
 */
bool dataset_spec_is_database(const char *spec);

/*
 * Stale: the database could not be read when it should have been, so the
 * entries are the last good copy. A key found is still an answer; a key
 * NOT found is no answer (it may have been added since), which callers
 * treat as an internal error (opendkim.conf(5), "Outages").
 */
void dataset_set_stale(dataset *ds, bool stale);
/* A database data set that may start stale when it cannot be read at
 * start: "ldap:" ones with LDAPSoftStart (dsn: ones never may). */
bool dataset_soft_start(const char *spec);
bool dataset_is_stale(const dataset *ds);

/*
 * Matches of key in file order. Start with *pos = 0; each call returns the
 * next matching entry and advances *pos, NULL when there are no more.
 * DATASET_FILE/DATASET_CSL: entries whose key equals key (ignoring case);
 * DATASET_REFILE: entries whose pattern matches key (ignoring case).
 */
const dataset_entry *dataset_next_match(const dataset *ds, const char *key,
                                        size_t *pos);

/* The first match of key, or NULL. */
const dataset_entry *dataset_lookup(const dataset *ds, const char *key);

/* True when key has a match. */
bool dataset_contains(const dataset *ds, const char *key);

/*
 * Wildcard match as refile: uses it: "*" matches any run of characters
 * (possibly empty), every other character matches itself ignoring ASCII
 * case. Linear in practice (no backtracking blow-up).
 */
bool dataset_pattern_match(const char *pattern, const char *text);

#endif /* ODK_DATASET_H */
