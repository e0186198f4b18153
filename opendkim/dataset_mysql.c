/*
 * dataset_mysql.c - reads a "dsn:mysql://" data set from MySQL or MariaDB
 * through libmariadb (Debian libmariadb-dev), which speaks to both.
 *
 * Interface: dataset_mysql_backend in dataset_backend.h. One connection per
 * read (every ttl seconds, not per message); connect, read and write
 * timeouts are the DSN's timeout. HOST "localhost" or empty uses the
 * client library's default socket; a PORT+ or another host, TCP. Built
 * when configure defines DKIMD_HAVE_MYSQL; otherwise the backend is NULL.
 * Errors: false with the client library's message (no password in it).
 */
#include "dataset_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DKIMD_HAVE_MYSQL
#include <mysql.h>

static MYSQL *mysql_open(const dataset_dsn *dsn, char *why, size_t size)
{
	MYSQL *db = mysql_init(NULL);
	unsigned timeout = dsn->timeout;

	if (db == NULL) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	if (mysql_real_connect(db, dsn->host[0] ? dsn->host : NULL, dsn->user,
	                       dsn->password, dsn->database, dsn->port, NULL,
	                       0) == NULL) {
		snprintf(why, size, "cannot connect: %s", mysql_error(db));
		mysql_close(db);
		return NULL;
	}
	return db;
}

static bool mysql_rows(MYSQL_RES *res, dataset_rows *rows)
{
	unsigned ncols = mysql_num_fields(res);
	const char *vals[DATASET_DSN_MAX_COLS];
	size_t lens[DATASET_DSN_MAX_COLS];
	MYSQL_ROW row;

	while ((row = mysql_fetch_row(res)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(res);

		for (unsigned c = 1; c < ncols && c <= DATASET_DSN_MAX_COLS; c++) {
			vals[c - 1] = row[c];
			lens[c - 1] = row[c] ? (size_t)len[c] : 0;
		}
		if (!dataset_rows_add(rows, row[0], row[0] ? (size_t)len[0] : 0,
		                      vals, lens, ncols - 1))
			return false;
	}
	return true;
}

static void *mysql_connect_any(const dataset_dsn *dsn, char *why,
                               size_t size)
{
	return mysql_open(dsn, why, size);
}

static bool mysql_query_rows(void *db, const char *sql, dataset_rows *rows,
                             char *why, size_t size)
{
	MYSQL_RES *res;
	bool ok;

	if (mysql_query(db, sql) != 0 || (res = mysql_store_result(db)) == NULL) {
		snprintf(why, size, "query failed: %s", mysql_error(db));
		return false;
	}
	ok = mysql_rows(res, rows);
	mysql_free_result(res);
	return ok;
}

static void mysql_close_any(void *db)
{
	mysql_close(db);
}

const dataset_backend *dataset_mysql_backend(void)
{
	static const dataset_backend b = {
		mysql_connect_any, mysql_query_rows, mysql_close_any
	};

	return &b;
}

#else

const dataset_backend *dataset_mysql_backend(void)
{
	return NULL;
}

#endif
