/*
 * test_dataset.c - OpenDKIM data sets: file:, refile:, csl:, plain paths,
 * comments and blank lines, lookups and their order, and load errors with
 * FILE:LINE.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"

static dataset *parse(const char *text, dataset_kind kind, diag_list *d)
{
	return dataset_parse_buffer("T", kind, text, strlen(text), d);
}

static bool diag_has(const diag_list *d, const char *needle)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (strstr(d->msgs[i].text, needle) != NULL)
			return true;
	return false;
}

Test(dataset, file_lines_comments_and_fields)
{
	diag_list d = { 0 };
	dataset *ds = parse("# comment\n\n  example.com   a b\tc  # trailing\n"
	                    "Other.ORG x\r\nlonely\n", DATASET_FILE, &d);
	const dataset_entry *e;

	cr_assert_not_null(ds);
	cr_assert_eq(d.count, 0);
	cr_assert_eq(ds->count, 3);
	e = dataset_lookup(ds, "EXAMPLE.com");
	cr_assert_not_null(e);
	cr_assert_str_eq(e->value, "a b\tc");
	cr_assert_eq(e->nfields, 3);
	cr_assert_str_eq(e->fields[2], "c");
	cr_assert_eq(e->line, 3);
	cr_assert_str_eq(e->file, "T");
	e = dataset_lookup(ds, "other.org");
	cr_assert_str_eq(e->value, "x");
	e = dataset_lookup(ds, "lonely");
	cr_assert_str_eq(e->value, "");
	cr_assert_eq(e->nfields, 0);
	cr_assert_null(dataset_lookup(ds, "example"));
	dataset_free(ds);
	diag_list_free(&d);
}

Test(dataset, exact_duplicates_in_file_order)
{
	diag_list d = { 0 };
	dataset *ds = parse("a 1\nb 2\na 3\n", DATASET_FILE, &d);
	size_t pos = 0;

	cr_assert_str_eq(dataset_next_match(ds, "a", &pos)->value, "1");
	cr_assert_str_eq(dataset_next_match(ds, "a", &pos)->value, "3");
	cr_assert_null(dataset_next_match(ds, "a", &pos));
	dataset_free(ds);
}

Test(dataset, refile_patterns_in_order)
{
	diag_list d = { 0 };
	dataset *ds = parse("*@sub.example.com first\n*@*example.com second\n"
	                    "*  third\n", DATASET_REFILE, &d);
	size_t pos = 0;

	cr_assert_not_null(ds);
	cr_assert_str_eq(dataset_lookup(ds, "u@SUB.example.com")->value,
	                 "first");
	cr_assert_str_eq(dataset_lookup(ds, "u@example.com")->value, "second");
	cr_assert_str_eq(dataset_lookup(ds, "u@other.net")->value, "third");
	cr_assert_str_eq(dataset_next_match(ds, "u@a.example.com", &pos)->value,
	                 "second");
	cr_assert_str_eq(dataset_next_match(ds, "u@a.example.com", &pos)->value,
	                 "third");
	cr_assert_null(dataset_next_match(ds, "u@a.example.com", &pos));
	dataset_free(ds);
}

Test(dataset, pattern_match)
{
	cr_assert(dataset_pattern_match("*", ""));
	cr_assert(dataset_pattern_match("a*b*c", "aXXbYYc"));
	cr_assert(dataset_pattern_match("a*b*c", "abc"));
	cr_assert_not(dataset_pattern_match("a*b*c", "abcd"));
	cr_assert(dataset_pattern_match("*@EXAMPLE.com", "joe@example.COM"));
	cr_assert_not(dataset_pattern_match("*@example.com", "joe@xexample.co"));
	cr_assert(dataset_pattern_match("**x", "x"));
	cr_assert_not(dataset_pattern_match("", "x"));
	/* many stars against a long text stays fast */
	{
		char text[5001];

		memset(text, 'a', 5000);
		text[5000] = '\0';
		cr_assert_not(dataset_pattern_match("*a*a*a*a*a*a*b", text));
	}
}

Test(dataset, csl_forms)
{
	diag_list d = { 0 };
	dataset *ds = dataset_open("csl: a.example , b.example=val ,,c",
	                           NULL, &d);

	cr_assert_not_null(ds);
	cr_assert_eq(ds->kind, DATASET_CSL);
	cr_assert_eq(ds->count, 3);
	cr_assert(dataset_contains(ds, "A.EXAMPLE"));
	cr_assert_str_eq(dataset_lookup(ds, "b.example")->value, "val");
	cr_assert_eq(dataset_lookup(ds, "b.example")->nfields, 1);
	cr_assert(dataset_contains(ds, "c"));
	dataset_free(ds);
	/* no prefix and not a path: an inline list, as in OpenDKIM */
	ds = dataset_open("example.com,example.net", "conf:3", &d);
	cr_assert_not_null(ds);
	cr_assert_eq(ds->count, 2);
	cr_assert(dataset_contains(ds, "example.net"));
	dataset_free(ds);
	cr_assert_eq(d.errors, 0);
}

Test(dataset, files_by_every_name)
{
	char dir[] = "/tmp/dstest.XXXXXX", path[64], spec[80];
	diag_list d = { 0 };
	dataset *ds;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/table", dir);
	f = fopen(path, "w");
	fputs("k v\n*.x w\n", f);
	fclose(f);
	ds = dataset_open(path, NULL, &d);
	cr_assert_not_null(ds);
	cr_assert_eq(ds->kind, DATASET_FILE);
	cr_assert_str_eq(dataset_lookup(ds, "k")->value, "v");
	cr_assert_str_eq(dataset_lookup(ds, "k")->file, path);
	dataset_free(ds);
	snprintf(spec, sizeof(spec), "file:%s", path);
	ds = dataset_open(spec, NULL, &d);
	cr_assert_null(dataset_lookup(ds, "a.x"));
	cr_assert_str_eq(ds->spec, spec);
	dataset_free(ds);
	snprintf(spec, sizeof(spec), "refile:%s", path);
	ds = dataset_open(spec, NULL, &d);
	cr_assert_str_eq(dataset_lookup(ds, "a.x")->value, "w");
	dataset_free(ds);
	cr_assert_eq(d.errors, 0);
	unlink(path);
	rmdir(dir);
}

Test(dataset, missing_file_and_unsupported_backends)
{
	diag_list d = { 0 };

	cr_assert_null(dataset_open("/nonexistent/table", "opendkim.conf:7", &d));
	cr_assert(diag_has(&d, "opendkim.conf:7: cannot read /nonexistent/table"));
	cr_assert_null(dataset_open("db:/etc/x.db", "c:1", &d));
	cr_assert(diag_has(&d, "c:1: data set 'db:/etc/x.db'"));
	cr_assert_null(dataset_open("ldap://host/dc=x", "c:2", &d));
	cr_assert_null(dataset_open("refile:", "c:3", &d));
	cr_assert(diag_has(&d, "c:3: data set 'refile:' names no file"));
	cr_assert_eq(d.errors, 4);
	diag_list_free(&d);
}

Test(dataset, malformed_lines_have_file_and_line)
{
	diag_list d = { 0 };
	char *big = malloc(DATASET_MAX_LINE + 20);
	char buf[32] = "ok v\nbad\0nul\nfine\n";

	cr_assert_null(dataset_parse_buffer("T", DATASET_FILE, buf, 18, &d));
	cr_assert(diag_has(&d, "T:2: NUL byte"));
	memset(big, 'x', DATASET_MAX_LINE + 10);
	memcpy(big, "a\n", 2);
	cr_assert_null(dataset_parse_buffer("B", DATASET_FILE, big,
	                                    DATASET_MAX_LINE + 10, &d));
	cr_assert(diag_has(&d, "B:2: line longer"));
	free(big);
	diag_list_free(&d);
	cr_assert_eq(d.count, 0);
}

Test(dataset, diag_counts)
{
	diag_list d = { 0 };

	diag_add(&d, DIAG_WARNING, "w %d", 1);
	diag_add(&d, DIAG_ERROR, "e %s", "x");
	cr_assert_eq(d.count, 2);
	cr_assert_eq(d.errors, 1);
	cr_assert_eq(d.warnings, 1);
	cr_assert_str_eq(d.msgs[1].text, "e x");
	diag_list_free(&d);
}

Test(dataset, large_table_exact_lookups)
{
	diag_list d = { 0 };
	size_t n = 5000, i, len = 0;
	char *text = malloc(n * 40), key[40];
	dataset *ds;

	for (i = n; i-- > 0;)
		len += (size_t)sprintf(text + len, "Dom%zu.Example %zu\n", i, i);
	ds = dataset_parse_buffer("big", DATASET_FILE, text, len, &d);
	cr_assert_not_null(ds);
	for (i = 0; i < n; i += 7) {
		const dataset_entry *e;

		snprintf(key, sizeof(key), "dom%zu.example", i);
		e = dataset_lookup(ds, key);
		cr_assert_not_null(e, "%s", key);
		cr_assert_eq((size_t)atoi(e->value), i);
	}
	cr_assert_null(dataset_lookup(ds, "dom5000.example"));
	cr_assert_null(dataset_lookup(ds, ""));
	dataset_free(ds);
	free(text);
}
