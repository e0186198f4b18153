/*
 * dataset_pgsql.c - reads a "dsn:pgsql://" data set from PostgreSQL
 * through libpq (Debian libpq-dev).
 *
 * Interface: dataset_pgsql_backend in dataset_backend.h. One connection per
 * read (the daemon reads a table every ttl seconds, not per message):
 * connect_timeout and statement_timeout bound it by the DSN's timeout.
 * Parameters go to PQconnectdbParams as separate values, so a password or
 * a database name needs no quoting. Built when configure defines
 * DKIMD_HAVE_PGSQL; otherwise the backend is NULL.
 * Errors: false with libpq's message (which never holds the password).
 */
#include "dataset_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DKIMD_HAVE_PGSQL
#include <libpq-fe.h>

/* libpq's message without its trailing line break. */
static void pgsql_why(char *why, size_t size, const char *what,
                      const char *msg)
{
	size_t len = strcspn(msg, "\n");

	snprintf(why, size, "%s: %.*s", what, (int)len, msg);
}

static PGconn *pgsql_connect(const dataset_dsn *dsn, char *why, size_t size)
{
	char port[8], timeout[16], options[48];
	const char *keys[8], *vals[8];
	int n = 0;
	PGconn *db;

	snprintf(port, sizeof(port), "%u", dsn->port);
	snprintf(timeout, sizeof(timeout), "%u", dsn->timeout);
	snprintf(options, sizeof(options), "-c statement_timeout=%u",
	         dsn->timeout * 1000u);
	keys[n] = "dbname"; vals[n++] = dsn->database;
	keys[n] = "connect_timeout"; vals[n++] = timeout;
	keys[n] = "options"; vals[n++] = options;
	if (dsn->host[0] != '\0') {
		keys[n] = "host"; vals[n++] = dsn->host;
	}
	if (dsn->port != 0) {
		keys[n] = "port"; vals[n++] = port;
	}
	if (dsn->user != NULL) {
		keys[n] = "user"; vals[n++] = dsn->user;
	}
	if (dsn->password != NULL) {
		keys[n] = "password"; vals[n++] = dsn->password;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	db = PQconnectdbParams(keys, vals, 0);
	if (db == NULL || PQstatus(db) != CONNECTION_OK) {
		pgsql_why(why, size, "cannot connect",
		          db ? PQerrorMessage(db) : "out of memory");
		PQfinish(db);
		return NULL;
	}
	return db;
}

static bool pgsql_rows(PGresult *res, dataset_rows *rows)
{
	int nrows = PQntuples(res), ncols = PQnfields(res);
	const char *vals[DATASET_DSN_MAX_COLS];
	size_t lens[DATASET_DSN_MAX_COLS];

	for (int r = 0; r < nrows; r++) {
		for (int c = 1; c < ncols && c <= DATASET_DSN_MAX_COLS; c++) {
			bool null = PQgetisnull(res, r, c);

			vals[c - 1] = null ? NULL : PQgetvalue(res, r, c);
			lens[c - 1] = null ? 0 : (size_t)PQgetlength(res, r, c);
		}
		if (!dataset_rows_add(rows, PQgetisnull(res, r, 0) ? NULL
		                      : PQgetvalue(res, r, 0),
		                      (size_t)PQgetlength(res, r, 0), vals, lens,
		                      (size_t)(ncols - 1)))
			return false;
	}
	return true;
}

static void *pgsql_connect_any(const dataset_dsn *dsn, char *why,
                               size_t size)
{
	return pgsql_connect(dsn, why, size);
}

static bool pgsql_query(void *db, const char *sql, dataset_rows *rows,
                        char *why, size_t size)
{
	PGresult *res = PQexec(db, sql);
	bool ok = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		pgsql_why(why, size, "query failed", PQerrorMessage(db));
	else
		ok = pgsql_rows(res, rows);
	PQclear(res);
	return ok;
}

static void pgsql_close(void *db)
{
	PQfinish(db);
}

const dataset_backend *dataset_pgsql_backend(void)
{
	static const dataset_backend b = {
		pgsql_connect_any, pgsql_query, pgsql_close
	};

	return &b;
}

#else

const dataset_backend *dataset_pgsql_backend(void)
{
	return NULL;
}

#endif
