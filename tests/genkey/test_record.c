/*
 * test_record.c - unit tests of genkey/record.c: tag order and spacing as
 * OpenDKIM writes them, the split into <character-string>s of at most 255
 * bytes (RFC 1035 §3.3) that concatenate back to the value (RFC 6376
 * §3.6.2.2), n= encoding, name checks and JSON escaping.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "record.h"

static genkey_record base_record(const char *pubkey)
{
	genkey_record r;

	memset(&r, 0, sizeof(r));
	r.selector = "sel";
	r.domain = "example.com";
	r.keytype = "rsa";
	r.hashes = "sha256";
	r.pubkey = pubkey;
	return r;
}

/* Undoes the zone-file quoting: concatenates the quoted strings of a stub,
 * checking that each holds at most 255 bytes. */
static void zone_strings(const char *zone, dkim_buf *joined, size_t *nstrings)
{
	const char *p = zone;

	*nstrings = 0;
	while ((p = strchr(p, '"')) != NULL) {
		size_t n = 0;

		for (p++; *p != '"'; p++, n++) {
			cr_assert(*p != '\0', "unterminated string");
			if (*p == '\\')
				p++;
			dkim_buf_append(joined, p, 1);
		}
		cr_assert(n <= 255, "string of %zu bytes", n);
		p++;
		(*nstrings)++;
	}
}

Test(record, head_order_and_spacing_as_opendkim)
{
	genkey_record r = base_record("KEY");
	dkim_buf b;

	dkim_buf_init(&b);
	r.note = "hello note";
	r.testing = r.strict = r.email_only = true;
	cr_assert_eq(genkey_record_value(&r, &b), DKIM_OK);
	cr_assert_str_eq(b.data, "v=DKIM1; n=\"hello note\"; h=sha256; k=rsa; "
	                         "t=y:s; s=email; p=KEY");
	dkim_buf_reset(&b);
	r = base_record("KEY");
	r.strict = true;
	r.hashes = NULL;
	r.keytype = "ed25519";
	cr_assert_eq(genkey_record_value(&r, &b), DKIM_OK);
	cr_assert_str_eq(b.data, "v=DKIM1; k=ed25519; t=s; p=KEY");
	dkim_buf_free(&b);
}

Test(record, note_is_qp_encoded)
{
	genkey_record r = base_record("K");
	dkim_buf b;

	dkim_buf_init(&b);
	r.note = "a;b=c\"d\\e f";
	cr_assert_eq(genkey_record_head(&r, &b), DKIM_OK);
	cr_assert_str_eq(b.data, "v=DKIM1; n=\"a=3Bb=3Dc=22d=5Ce f\"; h=sha256; k=rsa; ");
	dkim_buf_free(&b);
}

Test(record, zone_layout_of_a_2048_bit_key)
{
	char key[393];
	genkey_record r;
	dkim_buf zone, joined, value;
	size_t n;

	memset(key, 'A', 392);
	key[392] = '\0';
	r = base_record(key);
	dkim_buf_init(&zone);
	dkim_buf_init(&joined);
	dkim_buf_init(&value);
	cr_assert_eq(genkey_record_zone(&r, false, &zone), DKIM_OK);
	cr_assert(strncmp(zone.data, "sel._domainkey\tIN\tTXT\t( \"v=DKIM1; h=sha256; k=rsa; \"\n\t  \"p=AAA", 60) == 0);
	cr_assert(strstr(zone.data, "\" )  ; ----- DKIM key sel for example.com\n") != NULL);
	zone_strings(zone.data, &joined, &n);
	cr_assert_eq(n, 3);     /* head, "p=" + 250, the last 142 */
	genkey_record_value(&r, &value);
	cr_assert_str_eq(joined.data, value.data);
	dkim_buf_free(&zone);
	dkim_buf_free(&joined);
	dkim_buf_free(&value);
}

Test(record, long_note_and_8192_bit_key_stay_under_255_per_string)
{
	static char key[1400], note[256];
	genkey_record r;
	dkim_buf zone, joined, value;
	size_t n;

	memset(key, 'B', sizeof(key) - 1);
	memset(note, ';', sizeof(note) - 1);    /* 255 * "=3B" */
	r = base_record(key);
	r.note = note;
	dkim_buf_init(&zone);
	dkim_buf_init(&joined);
	dkim_buf_init(&value);
	cr_assert_eq(genkey_record_zone(&r, true, &zone), DKIM_OK);
	cr_assert(strncmp(zone.data, "sel._domainkey.example.com.\tIN\tTXT\t( ", 37) == 0);
	zone_strings(zone.data, &joined, &n);
	cr_assert_gt(n, 8);
	genkey_record_value(&r, &value);
	cr_assert_str_eq(joined.data, value.data);
	dkim_buf_free(&zone);
	dkim_buf_free(&joined);
	dkim_buf_free(&value);
}

Test(record, json_strings_concatenate_and_paths_are_escaped)
{
	genkey_record r = base_record("KEY");
	dkim_buf b;

	dkim_buf_init(&b);
	cr_assert_eq(genkey_record_json(&r, 2048, "/k/\"q\"\n.private", &b), DKIM_OK);
	cr_assert(strstr(b.data, "\"name\": \"sel._domainkey.example.com\"") != NULL);
	cr_assert(strstr(b.data, "\"value\": \"v=DKIM1; h=sha256; k=rsa; p=KEY\"") != NULL);
	cr_assert(strstr(b.data, "\"strings\": [\"v=DKIM1; h=sha256; k=rsa; \", \"p=KEY\"]") != NULL);
	cr_assert(strstr(b.data, "\"private_key\": \"/k/\\\"q\\\"\\u000a.private\"") != NULL);
	cr_assert(strstr(b.data, "\"bits\": 2048,") != NULL);
	dkim_buf_free(&b);
}

Test(record, table_lines)
{
	genkey_record r = base_record("KEY");
	dkim_buf b;

	dkim_buf_init(&b);
	genkey_keytable_line(&r, "/etc/dkimkeys/sel.private", &b);
	genkey_signingtable_line(&r, &b);
	cr_assert_str_eq(b.data,
	    "sel._domainkey.example.com example.com:sel:/etc/dkimkeys/sel.private\n"
	    "*@example.com sel._domainkey.example.com\n");
	dkim_buf_free(&b);
}

Test(record, name_checks)
{
	dkim_error err;
	char long_label[70];

	cr_assert_eq(genkey_name_check("selector", "202611", &err), DKIM_OK);
	cr_assert_eq(genkey_name_check("selector", "a.b_c-d", &err), DKIM_OK);
	cr_assert_eq(genkey_name_check("selector", "", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_name_check("selector", "a..b", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_name_check("selector", ".a", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_name_check("selector", "a/b", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_name_check("domain", "a b", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_name_check("domain", "a\"b", &err), DKIM_ERR_SYNTAX);
	memset(long_label, 'x', 64);
	long_label[64] = '\0';
	cr_assert_eq(genkey_name_check("domain", long_label, &err), DKIM_ERR_SYNTAX);
	long_label[63] = '\0';
	cr_assert_eq(genkey_name_check("domain", long_label, &err), DKIM_OK);
}

Test(record, hash_lists)
{
	dkim_error err;

	cr_assert_eq(genkey_hashes_check("sha256", &err), DKIM_OK);
	cr_assert_eq(genkey_hashes_check("sha1:sha256", &err), DKIM_OK);
	cr_assert_eq(genkey_hashes_check("sha256:", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_hashes_check("md5", &err), DKIM_ERR_SYNTAX);
	cr_assert_eq(genkey_hashes_check("", &err), DKIM_ERR_SYNTAX);
}
