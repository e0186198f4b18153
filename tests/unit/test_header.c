/*
 * test_header.c - libdkim/header.c: splitting stored messages into fields
 * (every chunking gives the same events), field names, and RFC 5322
 * address extraction.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the splitter ----------------------------------------------------------- */

/* Every event as text: "F<field>|", "E|", then the body bytes after "B". */
static dkim_status on_field(void *ctx, const char *field, size_t len, dkim_error *err)
{
	(void)err;
	dkim_buf_append_str(ctx, "F");
	dkim_buf_append(ctx, field, len);
	dkim_buf_append_str(ctx, "|");
	return DKIM_OK;
}

static dkim_status on_eoh(void *ctx, dkim_error *err)
{
	(void)err;
	dkim_buf_append_str(ctx, "E|B");
	return DKIM_OK;
}

static dkim_status on_body(void *ctx, const void *data, size_t len, dkim_error *err)
{
	(void)err;
	cr_assert(len > 0);
	dkim_buf_append(ctx, data, len);
	return DKIM_OK;
}

static dkim_status split(const char *msg, size_t len, size_t step, size_t max,
                         dkim_buf *out, dkim_error *err)
{
	dkim_splitter sp;
	dkim_status st = DKIM_OK;
	size_t pos;

	dkim_splitter_init(&sp, max);
	sp.on_field = on_field;
	sp.on_eoh = on_eoh;
	sp.on_body = on_body;
	sp.ctx = out;
	for (pos = 0; pos < len && st == DKIM_OK; pos += step)
		st = dkim_splitter_feed(&sp, msg + pos, len - pos < step ? len - pos : step, err);
	if (st == DKIM_OK)
		st = dkim_splitter_finish(&sp, err);
	dkim_splitter_free(&sp);
	return st;
}

static void check_split(const char *msg, const char *want)
{
	size_t len = strlen(msg), step;
	dkim_buf out;
	dkim_error err;

	dkim_buf_init(&out);
	for (step = 1; step <= len + 1; step++) {
		dkim_buf_reset(&out);
		cr_assert_eq(split(msg, len, step, 16384, &out, &err), DKIM_OK,
		             "%s", err.message);
		cr_assert_str_eq(out.data, want, "step %zu", step);
	}
	dkim_buf_free(&out);
}

Test(splitter, crlf_message)
{
	check_split("From: a@b.example\r\nSubject: hi\r\n there\r\n\r\nbody\r\n\r\nmore\r\n",
	            "FFrom: a@b.example|FSubject: hi\r\n there|E|Bbody\r\n\r\nmore\r\n");
}

Test(splitter, lf_message)
{
	check_split("From: a@b\nTo: c,\n\td\n\nbody\n",
	            "FFrom: a@b|FTo: c,\n\td|E|Bbody\n");
}

Test(splitter, no_body_and_no_blank_line)
{
	check_split("From: a@b\r\nSubject: x\r\n", "FFrom: a@b|FSubject: x|E|B");
	check_split("From: a@b\r\nSubject: x", "FFrom: a@b|FSubject: x|E|B");
	check_split("From: a@b\r\n\r\n", "FFrom: a@b|E|B");
	check_split("", "E|B");
	check_split("\r\nbody", "E|Bbody");
	check_split("\nbody", "E|Bbody");
}

Test(splitter, odd_lines_are_still_fields)
{
	/* The engine decides what to do with a line without a colon. */
	check_split("From: a\r\nnot a header\r\n\r\nb", "FFrom: a|Fnot a header|E|Bb");
	check_split(" leading fold\r\nX: y\r\n\r\n", "F leading fold|FX: y|E|B");
	check_split("X: a\rb\r\n\r\n", "FX: a\rb|E|B");
	check_split("X: a\r\n\rY\r\n\r\n", "FX: a|F\rY|E|B");
}

Test(splitter, field_limit)
{
	char msg[200];
	dkim_buf out;
	dkim_error err;
	size_t step;

	memset(msg, 0, sizeof(msg));
	strcpy(msg, "Subject: ");
	memset(msg + 9, 'x', 91);               /* a 100-byte field */
	strcat(msg, "\r\n\r\nbody");
	dkim_buf_init(&out);
	for (step = 1; step < 120; step += 7) {
		dkim_buf_reset(&out);
		cr_assert_eq(split(msg, strlen(msg), step, 100, &out, &err), DKIM_OK,
		             "a field of exactly the limit passes: %s", err.message);
		dkim_buf_reset(&out);
		cr_assert_eq(split(msg, strlen(msg), step, 99, &out, &err), DKIM_ERR_LIMIT);
		cr_assert(strstr(err.message, "longer than 99 bytes") != NULL, "%s",
		          err.message);
		cr_assert(strstr(err.message, "Subject: x") != NULL, "%s", err.message);
	}
	dkim_buf_free(&out);
}

Test(splitter, callback_errors_stop_it)
{
	dkim_splitter sp;
	dkim_error err;

	dkim_splitter_init(&sp, 100);
	cr_assert_eq(dkim_splitter_finish(&sp, &err), DKIM_OK, "no callbacks is fine");
	cr_assert_eq(dkim_splitter_feed(&sp, "x", 1, &err), DKIM_ERR_STATE);
	dkim_splitter_free(&sp);
}

Test(splitter, field_name_len)
{
	cr_assert_eq(dkim_field_name_len("From: x", 7), 4);
	cr_assert_eq(dkim_field_name_len("From \t: x", 9), 4);
	cr_assert_eq(dkim_field_name_len("From", 4), 0);
	cr_assert_eq(dkim_field_name_len(": x", 3), 0);
	cr_assert_eq(dkim_field_name_len("From: x", 4), 0, "the colon is past len");
}

/* ---- addresses -------------------------------------------------------------- */

static void addr_ok(const char *value, const char *local, const char *domain)
{
	char l[64], d[64];

	cr_assert(dkim_header_address(value, l, sizeof(l), d, sizeof(d)),
	          "[%s] has an address", value);
	cr_assert_str_eq(l, local, "[%s]", value);
	cr_assert_str_eq(d, domain, "[%s]", value);
}

static void addr_bad(const char *value)
{
	char l[64], d[64];

	cr_assert_not(dkim_header_address(value, l, sizeof(l), d, sizeof(d)),
	              "[%s] has no usable address", value);
	cr_assert_str_eq(d, "");
}

Test(address, addr_spec)
{
	addr_ok("user@example.com", "user", "example.com");
	addr_ok(" User@Example.COM ", "User", "example.com");
	addr_ok("first.last@sub.example.org", "first.last", "sub.example.org");
	addr_ok("user@[192.0.2.1]", "user", "[192.0.2.1]");
	addr_ok("a@b.example, c@d.example", "a", "b.example");
}

Test(address, name_addr)
{
	addr_ok("John Doe <John.Doe@Example.COM>", "John.Doe", "example.com");
	addr_ok("\"Doe, John\" <jd@example.com>", "jd", "example.com");
	addr_ok("\"a@evil.example\" <jd@example.com>", "jd", "example.com");
	addr_ok("<user@example.com>", "user", "example.com");
	addr_ok("=?UTF-8?B?SsO2cmc=?= <j@example.de>", "j", "example.de");
	/* Not RFC 5322, but seen: the angle address is the real one. */
	addr_ok("boss@bank.example <phish@evil.example>", "phish", "evil.example");
	addr_ok("<@relay.example,@r2.example:user@example.com>", "user", "example.com");
}

Test(address, comments_quotes_folding)
{
	addr_ok("(comment) user(another (nested) comment)@ (c) example.com (x)",
	        "user", "example.com");
	addr_ok("\"quoted local\"@example.com", "quoted local", "example.com");
	addr_ok("\"a\\\"b\"@example.com", "a\"b", "example.com");
	addr_ok("John\r\n <john@example.com>", "john", "example.com");
	addr_ok("John (the \\) man) <john@\r\n\texample.com>", "john", "example.com");
	addr_ok("john . doe @ example . com", "john.doe", "example.com");
	addr_ok("J\xc3\xb6rg <j\xc3\xb6rg@example.com>", "j\xc3\xb6rg", "example.com");
}

Test(address, rfc5322_appendix_a)
{
	/* RFC 5322 Appendix A.1 and A.5. */
	addr_ok("\"Joe Q. Public\" <john.q.public@example.com>", "john.q.public",
	        "example.com");
	addr_ok("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	        "mary", "x.test");
	addr_ok("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	        "pete", "silly.test");
	addr_ok("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	        "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
	        "c", "public.example");
	addr_ok("John Q. Public <jqp@x.test>", "jqp", "x.test");
}

Test(address, groups)
{
	addr_bad("undisclosed-recipients:;");
	addr_bad("undisclosed:  ;");
	addr_ok("Friends: a@b.example, c@d.example;", "a", "b.example");
	addr_ok("Friends: Ann <a@b.example>;", "a", "b.example");
	addr_ok(", , user@example.com", "user", "example.com");
}

Test(address, rejects)
{
	addr_bad("");
	addr_bad("no address here");
	addr_bad("user@");
	addr_bad("<user>");
	addr_bad("user");
	addr_bad("@example.com <");
	addr_bad("(unterminated user@example.com");
	addr_bad("\"unterminated@example.com");
	addr_bad("<user@example.com");
	addr_bad("user@example.com junk");
	addr_bad("user@\"quoted\".com");
}

Test(address, overflow)
{
	char l[5], d[8];

	cr_assert(dkim_header_address("abcd@abc.def", l, sizeof(l), d, sizeof(d)));
	cr_assert_str_eq(l, "abcd");
	cr_assert_str_eq(d, "abc.def");
	cr_assert_not(dkim_header_address("abcde@abc.def", l, sizeof(l), d, sizeof(d)));
	cr_assert_not(dkim_header_address("abcd@abc.defg", l, sizeof(l), d, sizeof(d)));
	cr_assert_not(dkim_header_address("a@b.c", l, 0, d, sizeof(d)));
}
