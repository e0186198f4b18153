/*
 * test_domain.c - dkim_domain_valid, the one domain-name validator, in each
 * of its forms (DNS for d=/s= and key names, TEXT for what is copied into
 * header fields and key paths, ENTRY and PATTERN for table entries).
 */
#include "dkim.h"

#include <criterion/criterion.h>
#include <string.h>

static bool valid(const char *s, dkim_domain_form form)
{
	return dkim_domain_valid(s, strlen(s), form);
}

/* Was test_sig.c's domain_syntax, when the check was dkim_sig_domain_valid. */
Test(domain, dns_form)
{
	char label64[80], long_name[300];
	size_t i;

	cr_expect(dkim_domain_valid("a.b-c.d_e.9", 11, DKIM_DOMAIN_DNS));
	cr_expect(!dkim_domain_valid("", 0, DKIM_DOMAIN_DNS));
	cr_expect(!dkim_domain_valid(".a", 2, DKIM_DOMAIN_DNS));
	cr_expect(!dkim_domain_valid("a\xc3\xa9.com", 7, DKIM_DOMAIN_DNS));
	memset(label64, 'a', 64);
	cr_expect(!dkim_domain_valid(label64, 64, DKIM_DOMAIN_DNS));
	cr_expect(dkim_domain_valid(label64, 63, DKIM_DOMAIN_DNS));
	for (i = 0; i < sizeof(long_name); i++)
		long_name[i] = i % 2 ? '.' : 'a';
	cr_expect(dkim_domain_valid(long_name, 253, DKIM_DOMAIN_DNS));
	cr_expect(!dkim_domain_valid(long_name, 255, DKIM_DOMAIN_DNS));
	cr_expect(!valid("example.com.", DKIM_DOMAIN_DNS));
	cr_expect(!valid("example..com", DKIM_DOMAIN_DNS));
	cr_expect(!valid("exa mple.com", DKIM_DOMAIN_DNS));
	cr_expect(!valid("*.example.com", DKIM_DOMAIN_DNS));
	cr_expect(valid("Sel_2024.Example.COM", DKIM_DOMAIN_DNS));
}

/* Only the first len bytes are read: a name inside a tag list. */
Test(domain, length_bounds_the_name)
{
	cr_expect(dkim_domain_valid("example.com;x=1", 11, DKIM_DOMAIN_DNS));
	cr_expect(!dkim_domain_valid("example.com;x=1", 15, DKIM_DOMAIN_DNS));
}

Test(domain, text_form)
{
	char label70[80], name255[300];

	cr_expect(valid("example.com", DKIM_DOMAIN_TEXT));
	cr_expect(valid("example.com.", DKIM_DOMAIN_TEXT));   /* final dot */
	cr_expect(!valid("", DKIM_DOMAIN_TEXT));
	cr_expect(!valid(".example.com", DKIM_DOMAIN_TEXT));
	cr_expect(!valid("example..com", DKIM_DOMAIN_TEXT));
	cr_expect(!valid("../etc/passwd", DKIM_DOMAIN_TEXT));
	cr_expect(!valid("a/b", DKIM_DOMAIN_TEXT));
	cr_expect(!valid("a;b", DKIM_DOMAIN_TEXT));
	cr_expect(!valid("*.example.com", DKIM_DOMAIN_TEXT));
	memset(label70, 'a', 70);
	label70[70] = '\0';
	cr_expect(valid(label70, DKIM_DOMAIN_TEXT));          /* labels not counted */
	memset(name255, 'a', 256);
	name255[255] = '\0';
	cr_expect(valid(name255, DKIM_DOMAIN_TEXT));
	name255[255] = 'a';
	name255[256] = '\0';
	cr_expect(!valid(name255, DKIM_DOMAIN_TEXT));
}

Test(domain, entry_and_pattern_forms)
{
	cr_expect(valid("example.com", DKIM_DOMAIN_ENTRY));
	cr_expect(valid("example..com", DKIM_DOMAIN_ENTRY));
	cr_expect(!valid(".example.com", DKIM_DOMAIN_ENTRY));
	cr_expect(!valid("user@example.com", DKIM_DOMAIN_ENTRY));
	cr_expect(!valid("*.example.com", DKIM_DOMAIN_ENTRY));
	cr_expect(valid("*.example.com", DKIM_DOMAIN_PATTERN));
	cr_expect(valid("*", DKIM_DOMAIN_PATTERN));
	cr_expect(!valid(".*", DKIM_DOMAIN_PATTERN));
	cr_expect(!valid("*@example.com", DKIM_DOMAIN_PATTERN));
}
