/*
 * test_hostlist.c - host lists: IPv4/IPv6 addresses and CIDR blocks, names,
 * .domain suffixes, "!" exclusions, most specific match, and bad entries
 * reported with FILE:LINE.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "hostlist.h"

static hostlist *load(const char *text)
{
	diag_list d = { 0 };
	hostlist *hl = hostlist_parse_buffer("H", DATASET_FILE, text,
	                                     strlen(text), &d);

	cr_assert_not_null(hl, "%s", d.count ? d.msgs[0].text : "?");
	diag_list_free(&d);
	return hl;
}

Test(hostlist, defaults_are_loopback)
{
	hostlist *hl = hostlist_default_internal();

	cr_assert(hostlist_match_ip(hl, "127.0.0.1"));
	cr_assert(hostlist_match_ip(hl, "::1"));
	cr_assert(hostlist_match_ip(hl, "::ffff:127.0.0.1"));
	cr_assert_not(hostlist_match_ip(hl, "127.0.0.2"));
	cr_assert_not(hostlist_match_ip(hl, "192.0.2.1"));
	cr_assert_not(hostlist_match(NULL, NULL, "x"));
	hostlist_free(hl);
}

Test(hostlist, ipv4_cidr_and_exclusion)
{
	hostlist *hl = load("10.0.0.0/8\n!10.1.0.0/16\n10.1.2.3\n"
	                    "192.168.1.0/255.255.255.0\n[198.51.100.7]\n");

	cr_assert(hostlist_match_ip(hl, "10.200.0.1"));
	cr_assert_not(hostlist_match_ip(hl, "10.1.9.9"));
	cr_assert(hostlist_match_ip(hl, "10.1.2.3"));       /* most specific */
	cr_assert(hostlist_match_ip(hl, "192.168.1.77"));
	cr_assert_not(hostlist_match_ip(hl, "192.168.2.1"));
	cr_assert(hostlist_match_ip(hl, "198.51.100.7"));
	cr_assert(hostlist_match_ip(hl, "[198.51.100.7]"));
	cr_assert(hostlist_match_ip(hl, "::ffff:10.0.0.1"));
	cr_assert_not(hostlist_match_ip(hl, "11.0.0.1"));
	cr_assert_eq(hostlist_count(hl), 5);
	hostlist_free(hl);
}

Test(hostlist, ipv6)
{
	hostlist *hl = load("2001:db8::/32\n!2001:db8:bad::/48\n"
	                    "[2001:db8:bad::25]\nfe80::1\n");

	cr_assert(hostlist_match_ip(hl, "2001:db8:1::1"));
	cr_assert(hostlist_match_ip(hl, "2001:DB8::1"));
	cr_assert_not(hostlist_match_ip(hl, "2001:db8:bad::1"));
	cr_assert(hostlist_match_ip(hl, "2001:db8:bad::25"));
	cr_assert(hostlist_match_ip(hl, "fe80::1"));
	cr_assert_not(hostlist_match_ip(hl, "fe80::2"));
	cr_assert_not(hostlist_match_ip(hl, "192.0.2.1"));
	hostlist_free(hl);
}

Test(hostlist, names_and_suffixes)
{
	hostlist *hl = load(".example.com\n!.bad.example.com\n"
	                    "ok.bad.example.com\nMail.Other.NET.\n");

	cr_assert(hostlist_match_name(hl, "a.example.com"));
	cr_assert(hostlist_match_name(hl, "A.B.EXAMPLE.COM"));
	cr_assert_not(hostlist_match_name(hl, "example.com"));
	cr_assert_not(hostlist_match_name(hl, "x.bad.example.com"));
	cr_assert(hostlist_match_name(hl, "ok.bad.example.com"));
	cr_assert(hostlist_match_name(hl, "mail.other.net"));
	cr_assert(hostlist_match_name(hl, "mail.other.net."));
	cr_assert_not(hostlist_match_name(hl, "other.net"));
	cr_assert_not(hostlist_match_name(hl, "[192.0.2.1]"));
	cr_assert_not(hostlist_match_name(hl, "xexample.com"));
	hostlist_free(hl);
}

Test(hostlist, name_decides_before_address)
{
	hostlist *hl = load("10.0.0.0/8\n!evil.example.com\n");
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.5", &sin.sin_addr);
	cr_assert(hostlist_match(hl, (struct sockaddr *)&sin, "good.example.com"));
	cr_assert_not(hostlist_match(hl, (struct sockaddr *)&sin,
	                             "evil.example.com"));
	cr_assert(hostlist_match(hl, (struct sockaddr *)&sin, "[10.0.0.5]"));
	cr_assert(hostlist_match(hl, NULL, "[10.0.0.5]"));
	cr_assert(hostlist_match(hl, (struct sockaddr *)&sin, NULL));
	hostlist_free(hl);
}

Test(hostlist, sockaddr_v6_mapped)
{
	hostlist *hl = load("192.0.2.0/24\n");
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &sin6.sin6_addr);
	cr_assert(hostlist_match(hl, (struct sockaddr *)&sin6, NULL));
	inet_pton(AF_INET6, "2001:db8::9", &sin6.sin6_addr);
	cr_assert_not(hostlist_match(hl, (struct sockaddr *)&sin6, NULL));
	hostlist_free(hl);
}

/* The warnings of a list that loads; the list is freed. */
static diag_list load_warnings(const char *text)
{
	diag_list d = { 0 };
	hostlist *hl = hostlist_parse_buffer("H", DATASET_FILE, text,
	                                     strlen(text), &d);

	cr_assert_not_null(hl);
	cr_assert_eq(d.errors, 0);
	hostlist_free(hl);
	return d;
}

/* OpenDKIM 2.11 never matches a block with host bits (it looks up
 * "192.168.0.0/24", never "192.168.0.1/24"): such an entry never
 * matches here either, and loading says so with FILE:LINE. */
Test(hostlist, host_bits_never_match_and_warn)
{
	const char *text = "127.0.0.1/8\n192.168.0.1/24\n!10.0.0.1/8\n"
	                   "2001:db8::1/32\n10.0.0.0/8\n";
	hostlist *hl = load(text);
	diag_list d;

	cr_assert_not(hostlist_match_ip(hl, "127.0.0.1"));
	cr_assert_not(hostlist_match_ip(hl, "127.0.0.2"));
	cr_assert_not(hostlist_match_ip(hl, "192.168.0.1"));
	cr_assert_not(hostlist_match_ip(hl, "192.168.0.5"));
	cr_assert_not(hostlist_match_ip(hl, "2001:db8::1"));
	/* the exclusion with host bits excludes nothing */
	cr_assert(hostlist_match_ip(hl, "10.0.0.1"));
	cr_assert(hostlist_match_ip(hl, "10.9.9.9"));
	cr_assert_eq(hostlist_count(hl), 5);
	hostlist_free(hl);

	d = load_warnings(text);
	cr_assert_eq(d.count, 4);
	cr_assert_str_eq(d.msgs[0].text, "H:1: host list entry '127.0.0.1/8' "
	                 "has host bits set past the prefix: it never matches "
	                 "any client (as in OpenDKIM, which ignores it); write "
	                 "'127.0.0.0/8' for the network, or the address alone "
	                 "for one host");
	cr_assert(strstr(d.msgs[1].text, "H:2: host list entry '192.168.0.1/24'") &&
	          strstr(d.msgs[1].text, "write '192.168.0.0/24'"), "%s", d.msgs[1].text);
	cr_assert(strstr(d.msgs[2].text, "write '!10.0.0.0/8'"), "%s", d.msgs[2].text);
	cr_assert(strstr(d.msgs[3].text, "write '2001:db8::/32'"), "%s", d.msgs[3].text);
	diag_list_free(&d);
}

/* A netmask never matches in OpenDKIM 2.11 either; here it is the network,
 * with a warning that says so. */
Test(hostlist, netmask_is_a_network_with_a_warning)
{
	diag_list d = load_warnings("192.168.1.0/255.255.255.0\n10.0.0.0/8\n");

	cr_assert_eq(d.count, 1);
	cr_assert_str_eq(d.msgs[0].text, "H:1: host list entry "
	                 "'192.168.1.0/255.255.255.0': OpenDKIM never matches a "
	                 "netmask written out (it ignores the entry); here it is "
	                 "the network 192.168.1.0/24, so its clients now match; "
	                 "write '192.168.1.0/24' to say so");
	diag_list_free(&d);
	d = load_warnings("192.168.1.0/24\n127.0.0.1\n::1/128\n.example.com\n");
	cr_assert_eq(d.count, 0, "%s", d.count ? d.msgs[0].text : "");
	diag_list_free(&d);
}

Test(hostlist, bad_entries_have_file_and_line)
{
	static const char *const bad[] = {
		"192.168/16", "10.0.0.0/33", "2001:db8::/129", "300.1.1.1",
		"[10.0.0.1", "ba$d", "a..b", "1.2.3.4/", "x/24",
		"10.0.0.0/255.0.255.0", "2001:zz::1", "!", "-", "foo@bar",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char text[64];
		diag_list d = { 0 };

		snprintf(text, sizeof(text), "127.0.0.1\n%s\n", bad[i]);
		cr_assert_null(hostlist_parse_buffer("hosts", DATASET_FILE, text,
		                                     strlen(text), &d),
		               "%s accepted", bad[i]);
		cr_assert_geq(d.count, 1);
		cr_assert(strncmp(d.msgs[0].text, "hosts:2: bad host list entry",
		                  28) == 0, "%s", d.msgs[0].text);
		diag_list_free(&d);
	}
}

Test(hostlist, csl_spec)
{
	diag_list d = { 0 };
	hostlist *hl = hostlist_open("csl:127.0.0.1, ::1, 10.0.0.0/8", NULL, &d);

	cr_assert_not_null(hl);
	cr_assert(hostlist_match_ip(hl, "10.9.9.9"));
	hostlist_free(hl);
	cr_assert_null(hostlist_open("127.0.0.1,192.168/16", "c:4", &d));
	cr_assert_eq(d.errors, 1);
	diag_list_free(&d);
}

static hostlist *load_refile(const char *text)
{
	diag_list d = { 0 };
	hostlist *hl = hostlist_parse_buffer("R", DATASET_REFILE, text,
	                                     strlen(text), &d);

	cr_assert_not_null(hl, "%s", d.count ? d.msgs[0].text : "?");
	diag_list_free(&d);
	return hl;
}

/* The TrustedHosts file of the well-known OpenDKIM guides, as refile:. */
Test(hostlist, refile_patterns_match_names_and_addresses)
{
	hostlist *hl = load_refile("127.0.0.1\nlocalhost\n192.168.0.0/24\n\n"
	                           "*.example.com\n10.1.*\n");

	cr_assert(hostlist_match(hl, NULL, "mail.example.com"));
	cr_assert(hostlist_match(hl, NULL, "A.B.EXAMPLE.COM."));
	cr_assert_not(hostlist_match(hl, NULL, "example.com"));
	cr_assert_not(hostlist_match(hl, NULL, "mail.example.net"));
	cr_assert(hostlist_match_ip(hl, "10.1.2.3"));
	cr_assert_not(hostlist_match_ip(hl, "10.10.2.3"));
	cr_assert(hostlist_match_ip(hl, "192.168.0.77"));
	/* A client without a name: Postfix passes "[10.1.0.9]". */
	cr_assert(hostlist_match(hl, NULL, "[10.1.0.9]"));
	hostlist_free(hl);
}

Test(hostlist, refile_patterns_lose_to_exact_entries)
{
	hostlist *hl = load_refile("*.example.com\n!bad.example.com\n"
	                           "!*.dyn.example.com\nok.dyn.example.com\n"
	                           "!10.*\n10.0.0.0/8\n");

	cr_assert(hostlist_match(hl, NULL, "mail.example.com"));
	cr_assert_not(hostlist_match(hl, NULL, "bad.example.com"));
	/* Of two patterns, the longer one decides. */
	cr_assert_not(hostlist_match(hl, NULL, "x.dyn.example.com"));
	cr_assert(hostlist_match(hl, NULL, "ok.dyn.example.com"));
	/* A CIDR block beats a pattern. */
	cr_assert(hostlist_match_ip(hl, "10.9.9.9"));
	hostlist_free(hl);
}

Test(hostlist, patterns_only_in_refile_lists)
{
	const char *text = "127.0.0.1\n*.example.com\n";
	diag_list d = { 0 };

	cr_assert_null(hostlist_parse_buffer("hosts", DATASET_FILE, text,
	                                     strlen(text), &d));
	cr_assert_eq(d.count, 1);
	cr_assert(strstr(d.msgs[0].text, "hosts:2: bad host list entry "
	                 "'*.example.com': '*' is a pattern only in a refile:")
	          != NULL, "%s", d.msgs[0].text);
	diag_list_free(&d);
}

Test(hostlist, bad_refile_patterns)
{
	static const char *const bad[] = { "*\x01", "a*\x7f" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		diag_list d = { 0 };

		cr_assert_null(hostlist_parse_buffer("R", DATASET_REFILE, bad[i],
		                                     strlen(bad[i]), &d));
		diag_list_free(&d);
	}
}

/* A pattern on the name does not override an exact address entry. */
Test(hostlist, refile_name_pattern_loses_to_address)
{
	hostlist *hl = load_refile("*.example.com\n!192.0.2.1\n10.*\n"
	                           "!*.bad.example\n");
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	cr_assert_not(hostlist_match(hl, (struct sockaddr *)&sin,
	                             "mail.example.com"));
	inet_pton(AF_INET, "192.0.2.2", &sin.sin_addr);
	cr_assert(hostlist_match(hl, (struct sockaddr *)&sin,
	                         "mail.example.com"));
	/* Only patterns: the longer one, name or address, decides. */
	inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
	cr_assert(hostlist_match(hl, (struct sockaddr *)&sin, "host.other"));
	cr_assert_not(hostlist_match(hl, (struct sockaddr *)&sin,
	                             "x.bad.example"));
	hostlist_free(hl);
}
