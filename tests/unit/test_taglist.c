/*
 * test_taglist.c - libdkim/taglist.c: RFC 6376 §3.2 tag-lists.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "internal.h"

static dkim_tag tags[DKIM_MAX_TAGS];
static size_t ntags;
static dkim_error err;

static dkim_status parse(const char *text)
{
	memset(&err, 0, sizeof(err));
	return dkim_taglist_parse(text, strlen(text), tags, DKIM_MAX_TAGS, &ntags, &err);
}

static void assert_tag(size_t i, const char *name, const char *value)
{
	cr_assert(i < ntags, "tag %zu missing", i);
	cr_assert_eq(tags[i].name_len, strlen(name));
	cr_assert(memcmp(tags[i].name, name, strlen(name)) == 0, "name of tag %zu", i);
	cr_assert_eq(tags[i].value_len, strlen(value), "value length of %s: %zu",
	             name, tags[i].value_len);
	cr_assert(memcmp(tags[i].value, value, strlen(value)) == 0, "value of %s", name);
}

static void assert_fails(const char *text, dkim_status st, const char *why)
{
	cr_assert_eq(parse(text), st, "[%s] must fail", text);
	cr_assert_eq(err.status, st);
	cr_assert(strstr(err.message, why) != NULL, "[%s]: message \"%s\"", text,
	          err.message);
	cr_assert_eq(ntags, 0);
}

Test(taglist, simple_list)
{
	cr_assert_eq(parse("v=1; a=rsa-sha256; d=example.net"), DKIM_OK);
	cr_assert_eq(ntags, 3);
	assert_tag(0, "v", "1");
	assert_tag(1, "a", "rsa-sha256");
	assert_tag(2, "d", "example.net");
}

Test(taglist, fws_everywhere)
{
	/* §3.2: FWS around names, "=", values; inner FWS stays in the value. */
	cr_assert_eq(parse(" \r\n\tv\t=\r\n 1 ;\r\n\th = From : To\r\n\t: Subject ;"),
	             DKIM_OK, "%s", err.message);
	cr_assert_eq(ntags, 2);
	assert_tag(0, "v", "1");
	assert_tag(1, "h", "From : To\r\n\t: Subject");
}

Test(taglist, empty_values_and_trailing_semicolon)
{
	cr_assert_eq(parse("a=; b= ;c=\r\n ;"), DKIM_OK);
	cr_assert_eq(ntags, 3);
	assert_tag(0, "a", "");
	assert_tag(1, "b", "");
	assert_tag(2, "c", "");
	cr_assert_eq(parse("v=DKIM1; p=;"), DKIM_OK);
	assert_tag(1, "p", "");
	cr_assert_eq(parse("k=rsa;  \r\n "), DKIM_OK);
	cr_assert_eq(ntags, 1);
}

Test(taglist, empty_list)
{
	cr_assert_eq(parse(""), DKIM_OK);
	cr_assert_eq(ntags, 0);
	cr_assert_eq(parse(" \r\n "), DKIM_OK);
	cr_assert_eq(ntags, 0);
}

Test(taglist, values_with_equals_and_utf8)
{
	cr_assert_eq(parse("b=abc+/==; n=caf\xc3\xa9; z=From:a=b|To:c"), DKIM_OK);
	assert_tag(0, "b", "abc+/==");
	assert_tag(1, "n", "caf\xc3\xa9");
	assert_tag(2, "z", "From:a=b|To:c");
}

Test(taglist, names)
{
	cr_assert_eq(parse("a_1=x; Bh2=y"), DKIM_OK);
	assert_tag(0, "a_1", "x");
	assert_tag(1, "Bh2", "y");
	assert_fails("1a=2", DKIM_ERR_SYNTAX, "must start with a letter");
	assert_fails("_a=2", DKIM_ERR_SYNTAX, "must start with a letter");
	assert_fails("a-b=1", DKIM_ERR_SYNTAX, "tag \"a\": expected \"=\"");
	assert_fails("a b=1", DKIM_ERR_SYNTAX, "tag \"a\": expected \"=\"");
	assert_fails("v=1; k", DKIM_ERR_SYNTAX, "tag \"k\": expected \"=\"");
	assert_fails("=1", DKIM_ERR_SYNTAX, "must start with a letter");
}

static dkim_status parse_tolerant(const char *text)
{
	memset(&err, 0, sizeof(err));
	return dkim_taglist_parse_tolerant(text, strlen(text), tags, DKIM_MAX_TAGS, &ntags,
	                                   &err);
}

/* Key records: a name outside the tag-name grammar is one more unknown tag. */
Test(taglist, tolerant_names)
{
	cr_assert_eq(parse_tolerant("v=DKIM1; x-foo=bar; 1x=2; a.b:c/d=e ; p=AB"), DKIM_OK,
	             "%s", err.message);
	cr_assert_eq(ntags, 5);
	assert_tag(1, "x-foo", "bar");
	assert_tag(2, "1x", "2");
	assert_tag(3, "a.b:c/d", "e");
	assert_tag(4, "p", "AB");
	/* no known name can match one of them */
	cr_assert_null(dkim_taglist_find(tags, ntags, "x"));
	cr_assert_eq(dkim_taglist_find(tags, ntags, "p"), &tags[4]);
	/* what is still wrong: the first character, FWS inside, no "=" */
	cr_assert_eq(parse_tolerant("-x=1"), DKIM_ERR_SYNTAX);
	cr_assert(strstr(err.message, "must start with a letter or digit") != NULL, "%s",
	          err.message);
	cr_assert_eq(ntags, 0);
	cr_assert_eq(parse_tolerant("_a=2"), DKIM_ERR_SYNTAX);
	cr_assert_eq(parse_tolerant("=1"), DKIM_ERR_SYNTAX);
	cr_assert_eq(parse_tolerant("x-a b=1"), DKIM_ERR_SYNTAX);
	cr_assert(strstr(err.message, "tag \"x-a\": expected \"=\"") != NULL, "%s",
	          err.message);
	cr_assert_eq(parse_tolerant("v=1; x-k"), DKIM_ERR_SYNTAX);
	cr_assert_eq(parse_tolerant("x\xc3\xa9=1"), DKIM_ERR_SYNTAX);
	cr_assert_eq(parse_tolerant("x\x01=1"), DKIM_ERR_SYNTAX);
}

/* Everything else is as strict as dkim_taglist_parse. */
Test(taglist, tolerant_keeps_the_rest_strict)
{
	static const char *const same[] = {
		"v=1; a=rsa-sha256; d=example.net", " \r\n\tv\t=\r\n 1 ;\r\n\th = a : b ;",
		"a=; b= ;c=\r\n ;", "", "a_1=x; Bh2=y", "a=1; A=2",
	};
	dkim_tag strict[DKIM_MAX_TAGS];
	size_t i, k, nstrict;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		cr_assert_eq(parse(same[i]), DKIM_OK);
		memcpy(strict, tags, sizeof(tags));
		nstrict = ntags;
		cr_assert_eq(parse_tolerant(same[i]), DKIM_OK);
		cr_assert_eq(ntags, nstrict, "%s", same[i]);
		for (k = 0; k < ntags; k++)
			cr_assert(tags[k].name == strict[k].name &&
			          tags[k].name_len == strict[k].name_len &&
			          tags[k].value == strict[k].value &&
			          tags[k].value_len == strict[k].value_len, "%s: tag %zu",
			          same[i], k);
	}
	cr_assert_eq(parse_tolerant("x-a=1; p=2; x-a=3"), DKIM_ERR_SYNTAX);
	cr_assert(strstr(err.message, "duplicate tag \"x-a\"") != NULL, "%s", err.message);
	cr_assert_eq(parse_tolerant("p=1; x-a=2; p=3"), DKIM_ERR_SYNTAX);
	cr_assert(strstr(err.message, "duplicate tag \"p\"") != NULL, "%s", err.message);
	cr_assert_eq(parse_tolerant("x-a=b\x01"), DKIM_ERR_SYNTAX);
	cr_assert_eq(parse_tolerant("x-a=1;;p=2"), DKIM_ERR_SYNTAX);
	cr_assert_eq(dkim_taglist_parse_tolerant("x-a=1; y-b=2; z-c=3", 18, tags, 2, &ntags,
	                                         &err), DKIM_ERR_LIMIT);
}

Test(taglist, duplicates)
{
	/* §3.2: "Tags with duplicate names MUST NOT occur within a single tag-list". */
	assert_fails("a=1; b=2; a=3", DKIM_ERR_SYNTAX, "duplicate tag \"a\"");
	assert_fails("a=1; a=1", DKIM_ERR_SYNTAX, "duplicate");
	/* Names are case-sensitive: A and a differ. */
	cr_assert_eq(parse("a=1; A=2"), DKIM_OK);
	cr_assert_eq(ntags, 2);
}

Test(taglist, empty_tag_specs)
{
	assert_fails(";", DKIM_ERR_SYNTAX, "empty tag-spec");
	assert_fails("a=1;;b=2", DKIM_ERR_SYNTAX, "empty tag-spec");
	assert_fails("a=1; ; ", DKIM_ERR_SYNTAX, "empty tag-spec");
}

Test(taglist, bad_value_bytes)
{
	assert_fails("a=b\x01" "c", DKIM_ERR_SYNTAX, "tag \"a\": invalid character 0x01");
	assert_fails("a=b\x7f", DKIM_ERR_SYNTAX, "invalid character 0x7f");
	cr_assert_eq(dkim_taglist_parse("a=b\0c", 5, tags, DKIM_MAX_TAGS, &ntags, &err),
	             DKIM_ERR_SYNTAX);
}

Test(taglist, limit)
{
	cr_assert_eq(dkim_taglist_parse("a=1; b=2; c=3", 13, tags, 2, &ntags, &err),
	             DKIM_ERR_LIMIT);
	cr_assert(strstr(err.message, "more than 2 tags") != NULL);
	cr_assert_eq(dkim_taglist_parse("a=1; b=2", 8, tags, 2, &ntags, &err), DKIM_OK);
	cr_assert_eq(ntags, 2);
}

Test(taglist, find)
{
	cr_assert_eq(parse("v=1; bh=xyz; b=abc"), DKIM_OK);
	cr_assert_eq(dkim_taglist_find(tags, ntags, "b"), &tags[2]);
	cr_assert_eq(dkim_taglist_find(tags, ntags, "bh"), &tags[1]);
	cr_assert_null(dkim_taglist_find(tags, ntags, "B"));
	cr_assert_null(dkim_taglist_find(tags, ntags, "x"));
	cr_assert_null(dkim_taglist_find(tags, 0, "v"));
}

Test(taglist, not_nul_terminated)
{
	static const char text[] = { 'a', '=', '1', ';', 'b', '=', '2' };

	cr_assert_eq(dkim_taglist_parse(text, 5, tags, DKIM_MAX_TAGS, &ntags, &err),
	             DKIM_ERR_SYNTAX, "stops at len: \"b\" has no \"=\"");
	cr_assert_eq(dkim_taglist_parse(text, sizeof(text), tags, DKIM_MAX_TAGS, &ntags,
	                                &err), DKIM_OK);
	assert_tag(1, "b", "2");
}
