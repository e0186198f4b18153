/*
 * test_dsn.c - the "dsn:" data set name (dataset_backend.h): OpenDKIM's
 * forms, the sqlite3 file path, this program's ttl=/timeout=, the query,
 * refused names, and the password kept out of what is shown.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dataset_backend.h"

Test(dsn, opendkim_mysql_example)
{
	dataset_dsn d;
	char why[256];
	/* README.SQL of OpenDKIM, with a port */
	const char *s = "dsn:mysql://USER:PASSWORD@3306+SERVER/DBNAME/table=dkim"
	                "?keycol=id?datacol=domain_name,selector,private_key";

	cr_assert(dataset_dsn_parse(s, &d, why, sizeof(why)), "%s", why);
	cr_expect_str_eq(d.backend, "mysql");
	cr_expect_str_eq(d.user, "USER");
	cr_expect_str_eq(d.password, "PASSWORD");
	cr_expect_eq(d.port, 3306);
	cr_expect_str_eq(d.host, "SERVER");
	cr_expect_str_eq(d.database, "DBNAME");
	cr_expect_str_eq(d.table, "dkim");
	cr_expect_str_eq(d.keycol, "id");
	cr_expect_eq(d.ndatacols, 3);
	cr_expect_str_eq(d.datacols[2], "private_key");
	cr_expect_eq(d.ttl, DATASET_DSN_TTL);
	cr_expect_null(strstr(d.redacted, "PASSWORD"));
	cr_expect_not_null(strstr(d.redacted, "USER:***@3306+SERVER"));
	char *q = dataset_dsn_query(&d);
	cr_expect_str_eq(q, "SELECT id, domain_name, selector, private_key FROM dkim");
	free(q);
	dataset_dsn_free(&d);
}

Test(dsn, sqlite_path_filter_ttl)
{
	dataset_dsn d;
	char why[256];
	const char *s = "dsn:SQLite3:///var/lib/dkim/t.db/table=s?keycol=a"
	                "?datacol=b?filter=enabled = 1?ttl=5?timeout=2";

	cr_assert(dataset_dsn_parse(s, &d, why, sizeof(why)), "%s", why);
	cr_expect_str_eq(d.backend, "sqlite3");
	cr_expect_str_eq(d.database, "/var/lib/dkim/t.db");
	cr_expect_null(d.password);
	cr_expect_eq(d.ttl, 5);
	cr_expect_eq(d.timeout, 2);
	char *q = dataset_dsn_query(&d);
	cr_expect_str_eq(q, "SELECT a, b FROM s WHERE enabled = 1");
	free(q);
	dataset_dsn_free(&d);
}

Test(dsn, refused)
{
	static const char *const bad[] = {
		"dsn:oracle://h/d/table=t?keycol=k?datacol=v",
		"dsn:pgsql://h/d/table=t?keycol=k",
		"dsn:pgsql://h/d/table=t;DROP?keycol=k?datacol=v",
		"dsn:pgsql://h/d/table=t?keycol=k?datacol=v,'x'",
		"dsn:pgsql://h/d/table=t?keycol=k?datacol=v?ttl=0",
		"dsn:pgsql://99999+h/d/table=t?keycol=k?datacol=v",
		"dsn:pgsql://h/table=t?keycol=k?datacol=v",
		"dsn:pgsql://u:secret@h/d/table=t?table=u?keycol=k?datacol=v",
		"dsn:pgsql:h",
	};
	dataset_dsn d;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_expect(!dataset_dsn_parse(bad[i], &d, why, sizeof(why)), "%s", bad[i]);
		cr_expect_null(strstr(why, "secret"), "%s", why);
	}
}

Test(dsn, open_error_hides_password)
{
	diag_list diag = { 0 };
	dataset *ds = dataset_open("dsn:sqlite3://u:secret@/nonexistent/x.db/table=t"
	                           "?keycol=k?datacol=v", "conf:3", &diag);

	cr_assert_null(ds);
	cr_assert_eq(diag.errors, 1);
	cr_expect_eq(strncmp(diag.msgs[0].text, "conf:3: data set 'dsn:sqlite3://u:***@", 37), 0,
	             "%s", diag.msgs[0].text);
	cr_expect_null(strstr(diag.msgs[0].text, "secret"), "%s", diag.msgs[0].text);
	diag_list_free(&diag);
}

/* rows (KEY, VALUE pairs, NULL-terminated) through the backends' builder. */
static dataset *rows_set(const char *const *rows)
{
	diag_list diag = { 0 };
	dataset_rows *r = dataset_rows_new("t", &diag);
	dataset *ds;

	cr_assert_not_null(r);
	for (size_t i = 0; rows[i] != NULL; i += 2) {
		const char *v[1] = { rows[i + 1] };
		size_t len[1] = { strlen(rows[i + 1]) };

		cr_assert(dataset_rows_add(r, rows[i], strlen(rows[i]), v, len, 1));
	}
	ds = dataset_rows_end(r, true);
	cr_assert_not_null(ds);
	cr_assert_eq(diag.count, 0);
	diag_list_free(&diag);
	return ds;
}

static unsigned long long rows_digest(const char *const *rows)
{
	dataset *ds = rows_set(rows);
	unsigned long long h = ds->digest;

	dataset_free(ds);
	return h;
}

/*
 * The digest a refresh compares does not depend on the order the database
 * returns rows in (the query has no ORDER BY), but does on every row, on
 * duplicates, and on the order of rows sharing a key (a lookup finds the
 * first of them).
 */
Test(dsn, digest_ignores_row_order)
{
	const char *const abc[] = { "a.example", "k1", "b.example", "k2",
	                            "c.example", "k3", NULL };
	const char *const cab[] = { "c.example", "k3", "a.example", "k1",
	                            "b.example", "k2", NULL };
	const char *const bca[] = { "B.example", "k2", "c.example", "k3",
	                            "a.example", "k1", NULL };
	const char *const ab[] = { "a.example", "k1", "b.example", "k2", NULL };
	const char *const abb[] = { "a.example", "k1", "b.example", "k2",
	                            "b.example", "k2", NULL };
	const char *const aab[] = { "a.example", "k1", "a.example", "k1",
	                            "b.example", "k2", NULL };
	const char *const dup12[] = { "a.example", "k1", "a.example", "k2", NULL };
	const char *const dup21[] = { "a.example", "k2", "a.example", "k1", NULL };
	const char *const swap[] = { "a.example", "k2", "b.example", "k1",
	                             "c.example", "k3", NULL };
	const char *const joined[] = { "a.exampl", "ek1", NULL };
	const char *const split[] = { "a.example", "k1", NULL };
	dataset *ds;

	cr_assert_neq(rows_digest(abc), 0);
	cr_assert_eq(rows_digest(abc), rows_digest(cab));
	cr_assert_neq(rows_digest(abc), rows_digest(bca));      /* "B.example" */
	cr_assert_neq(rows_digest(abc), rows_digest(swap));
	cr_assert_neq(rows_digest(ab), rows_digest(abb));
	cr_assert_neq(rows_digest(abb), rows_digest(aab));
	cr_assert_neq(rows_digest(ab), rows_digest(abc));
	cr_assert_neq(rows_digest(joined), rows_digest(split));
	/* one key, two values: the first row decides, so the order counts */
	cr_assert_neq(rows_digest(dup12), rows_digest(dup21));
	ds = rows_set(dup21);
	cr_assert_str_eq(dataset_lookup(ds, "a.example")->value, "k2");
	dataset_free(ds);
}
