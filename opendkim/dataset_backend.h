/*
 * dataset_backend.h - data sets kept in a database: the "dsn:" name of
 * OpenDKIM (opendkim(8) DATA SETS d) and the interface between the
 * generic part (dataset_dsn.c) and one file per database client library:
 *   dataset_pgsql.c   PostgreSQL through libpq       (dsn:pgsql://...)
 *   dataset_mysql.c   MySQL/MariaDB through libmariadb (dsn:mysql://...)
 *   dataset_sqlite.c  an SQLite file through libsqlite3 (dsn:sqlite3://...)
 * Each is built only when configure found its library; otherwise its
 * fetch function says so (the data set is then a load error).
 *
 * Name syntax (one line):
 *   dsn:BACKEND://[USER[:PASSWORD]@][PORT+]HOST/DATABASE/table=T?keycol=K
 *       ?datacol=D1[,D2...][?filter=SQL][?ttl=SECONDS][?timeout=SECONDS]
 * For sqlite3, everything after HOST (which is ignored, usually empty)
 * up to the "/" before "table=" is the database file, so
 * "dsn:sqlite3:///var/lib/dkim/tables.db/table=..." names
 * /var/lib/dkim/tables.db. ttl= and timeout= are this program's
 * additions (OpenDKIM ignores unknown keys): how often the table is read
 * again (default DATASET_DSN_TTL) and the bound on connecting and on the
 * query (default DATASET_DSN_TIMEOUT).
 *
 * How the data are used: the table is read whole, with one query
 *   SELECT K, D1, D2 ... FROM T [WHERE filter]
 * into an in-memory data set (exact, case-insensitive keys, as file:).
 * Several data columns make the value "D1:D2:D3" (the KeyTable's
 * DOMAIN:SELECTOR:KEY). Messages never wait for the database: lookups
 * read the copy. The daemon loads the configuration again every ttl
 * seconds (dataset_refresh_seconds), so a change in the table is seen
 * within ttl; when the database cannot be read then, the copy in use
 * stays (see opendkim.conf(5)). Nothing a message carries reaches SQL.
 *
 * T, K and the D columns must be identifiers ([A-Za-z0-9_.$]); filter is
 * SQL written by the administrator, as in OpenDKIM. The password never
 * appears in messages: they show the name with it replaced by "***".
 */
#ifndef ODK_DATASET_BACKEND_H
#define ODK_DATASET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "dataset.h"

#define DATASET_DSN_TTL 60              /* seconds between reads */
#define DATASET_DSN_TIMEOUT 5           /* seconds to connect / to query */
#define DATASET_DSN_MAX_COLS 16         /* data columns */
#define DATASET_DSN_MAX_ROWS 10000000u  /* rows read per table */

typedef struct {
	char *backend;          /* "pgsql", "mysql", "sqlite3" */
	char *user;             /* NULL when none */
	char *password;         /* NULL when none */
	char *host;             /* "" when none */
	unsigned port;          /* 0: the client library's default */
	char *database;         /* name, or the file for sqlite3 */
	char *table;
	char *keycol;
	char *datacols[DATASET_DSN_MAX_COLS];
	size_t ndatacols;
	char *filter;           /* NULL when none */
	unsigned ttl;
	bool ttl_set;           /* ttl= given (else DataSetTTL applies) */
	unsigned timeout;
	char *redacted;         /* the name with the password as "***" */
} dataset_dsn;

/*
 * Parses a "dsn:" name. False with the reason in why (which never holds
 * the password); *dsn is then empty (nothing to free).
 */
bool dataset_dsn_parse(const char *spec, dataset_dsn *dsn, char *why,
                       size_t why_size);
void dataset_dsn_free(dataset_dsn *dsn);

/* The query that reads the table; malloc'd, NULL when out of memory. */
char *dataset_dsn_query(const dataset_dsn *dsn);

/*
 * Where a backend puts the rows it reads: one call per row, the key and
 * the data columns (NULL for SQL NULL, read as ""). A row whose key or
 * values hold a NUL byte, or whose value is longer than
 * DATASET_MAX_LINE, is skipped with a warning naming the row.
 */
typedef struct dataset_rows dataset_rows;
/* A builder of an exact-key set whose entries come from name (messages
 * say "NAME:ROW: ..."); NULL when out of memory (reported). */
dataset_rows *dataset_rows_new(const char *name, diag_list *diag);
/* Ends the builder: the set when ok and every row went in, else NULL. */
dataset *dataset_rows_end(dataset_rows *rows, bool ok);
bool dataset_rows_add(dataset_rows *rows, const char *key, size_t keylen,
                      const char *const *vals, const size_t *lens,
                      size_t nvals);

/*
 * A database client library: the three steps every read takes (connect,
 * run the query adding each row, close); dataset_dsn.c does the rest.
 * Errors: NULL / false with a reason in why (never the password).
 */
typedef struct {
	void *(*connect)(const dataset_dsn *dsn, char *why, size_t why_size);
	bool (*query)(void *db, const char *sql, dataset_rows *rows,
	              char *why, size_t why_size);
	void (*close)(void *db);
} dataset_backend;

/* Each backend file's table; NULL when this build has not its library. */
const dataset_backend *dataset_pgsql_backend(void);
const dataset_backend *dataset_mysql_backend(void);
const dataset_backend *dataset_sqlite_backend(void);

/* Which backends this build has ("pgsql mysql sqlite3", or ""). */
const char *dataset_dsn_backends(void);

/*
 * The shortest ttl of the database data sets opened so far, 0 when none:
 * how often the daemon loads its configuration again.
 */
unsigned dataset_refresh_seconds(void);
void dataset_refresh_note(unsigned ttl);

/* Opens a "dsn:" data set (called by dataset_open). */
dataset *dataset_open_dsn(const char *spec, const char *where,
                          diag_list *diag);

/* ---- for the backends' builder (dataset.c) ------------------------------ */

/* An empty exact-key set whose entries are said to come from name. */
dataset *dataset_new_exact(const char *name);
/* Appends key with value (split into fields at whitespace, as a file line). */
bool dataset_add_row(dataset *ds, const char *key, size_t keylen,
                     const char *value, size_t valuelen, unsigned row,
                     diag_list *diag);
/* Builds the lookup index once every row is in. */
bool dataset_finish(dataset *ds, diag_list *diag);

#endif /* ODK_DATASET_BACKEND_H */
