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
