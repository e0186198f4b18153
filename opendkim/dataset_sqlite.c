/*
 * dataset_sqlite.c - reads a "dsn:sqlite3://" data set from an SQLite
 * database file through libsqlite3 (Debian libsqlite3-dev).
 *
 * Interface: dataset_sqlite_backend in dataset_backend.h. The file is
 * opened read-only (never created); a writer holding the lock is waited
 * for up to the DSN's timeout. Built when configure defines
 * DKIMD_HAVE_SQLITE; otherwise the backend is NULL.
 * Errors: false with SQLite's message.
 */
#include "dataset_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DKIMD_HAVE_SQLITE
#include <sqlite3.h>

/* The column as bytes (NULL for SQL NULL) and its length. */
static const char *sqlite_col(sqlite3_stmt *st, int c, size_t *len)
{
	const char *v;

	if (sqlite3_column_type(st, c) == SQLITE_NULL) {
		*len = 0;
		return NULL;
	}
	v = (const char *)sqlite3_column_text(st, c);
	*len = v ? (size_t)sqlite3_column_bytes(st, c) : 0;
	return v;
}

static bool sqlite_rows(sqlite3 *db, sqlite3_stmt *st, dataset_rows *rows,
                        char *why, size_t size)
{
	int ncols = sqlite3_column_count(st), rc;
	const char *vals[DATASET_DSN_MAX_COLS];
	size_t lens[DATASET_DSN_MAX_COLS], klen;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key;

		for (int c = 1; c < ncols && c <= DATASET_DSN_MAX_COLS; c++)
			vals[c - 1] = sqlite_col(st, c, &lens[c - 1]);
		key = sqlite_col(st, 0, &klen);
		if (!dataset_rows_add(rows, key, klen, vals, lens,
		                      (size_t)(ncols - 1)))
			return false;
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, size, "query failed: %s", sqlite3_errmsg(db));
		return false;
	}
	return true;
}

static void *sqlite_connect(const dataset_dsn *dsn, char *why, size_t size)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(dsn->database, &db, SQLITE_OPEN_READONLY, NULL)
	    != SQLITE_OK) {
		snprintf(why, size, "cannot open %s: %s", dsn->database,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, (int)dsn->timeout * 1000);
	return db;
}

static bool sqlite_query(void *db, const char *sql, dataset_rows *rows,
                         char *why, size_t size)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		snprintf(why, size, "query failed: %s", sqlite3_errmsg(db));
	else
		ok = sqlite_rows(db, st, rows, why, size);
	sqlite3_finalize(st);
	return ok;
}

static void sqlite_close(void *db)
{
	sqlite3_close(db);
}

const dataset_backend *dataset_sqlite_backend(void)
{
	static const dataset_backend b = {
		sqlite_connect, sqlite_query, sqlite_close
	};

	return &b;
}

#else

const dataset_backend *dataset_sqlite_backend(void)
{
	return NULL;
}

#endif
