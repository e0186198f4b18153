/*
 * hostlist.c - host lists: addresses, CIDR blocks, host names, .domain
 * suffixes, "*" patterns (refile: lists only) and "!" exclusions, decided
 * by the most specific match.
 *
 * Interface: hostlist.h. Entries are parsed once at load; matching is a
 * linear scan keeping the most specific hit, so the order of lines in the
 * file does not matter (unlike refile: tables).
 *
 * Errors: a malformed entry is reported as "FILE:LINE: bad host list entry
 * 'X': why" and loading fails. Matching cannot fail.
 */
#include "hostlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOSTLIST_NAME_MAX 253   /* RFC 1035 §2.3.4, text form */

typedef enum {
	HOSTLIST_NAME = 0,      /* exact host name */
	HOSTLIST_SUFFIX,        /* ".domain" */
	HOSTLIST_ADDR4,
	HOSTLIST_ADDR6,
	HOSTLIST_GLOB           /* "*" pattern over the name or address text */
} hostlist_kind;

/* What an address entry's text says beyond its block, for warnings. */
typedef struct {
	bool host_bits;         /* bits set past the prefix: 127.0.0.1/8 */
	bool netmask;           /* prefix written as a netmask: /255.255.255.0 */
} hostlist_addr_notes;

typedef struct {
	hostlist_kind kind;
	bool negate;
	char *name;             /* NAME / SUFFIX / GLOB: lower case, no final
	                         * dot */
	unsigned char addr[16]; /* ADDR*: network byte order, masked */
	unsigned prefix;        /* ADDR*: prefix length */
	bool inert;             /* ADDR*: host bits set past the prefix
	                         * (127.0.0.1/8): kept, never matches, as
	                         * OpenDKIM 2.11 never matches it */
} hostlist_entry;

struct hostlist {
	hostlist_entry *entries;
	size_t count;
	atomic_uint refs;       /* hostlist_ref / hostlist_free */
	atomic_bool stale;      /* from a database whose last read failed */
	unsigned long long digest;  /* its data set's (dataset.h) */
};

/*
 * Scores: a "*" pattern is less specific than every other entry; among
 * patterns, the one with more literal characters wins. Other entries score
 * above HOSTLIST_EXACT_BASE (their suffix length or prefix length on top).
 */
#define HOSTLIST_EXACT_BASE 1024

/* A candidate match: how specific, and whether it excludes. */
typedef struct {
	bool found;
	bool negate;
	size_t score;
} hostlist_best;

/* ---- parsing entries ------------------------------------------------------ */

static void hostlist_mask(unsigned char *addr, size_t len, unsigned prefix)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned bits = prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;

		if (bits < 8)
			addr[i] &= (unsigned char)(0xff00u >> bits);
	}
}

/* A dotted IPv4 netmask (255.255.255.0) to a prefix length. */
static bool hostlist_netmask_prefix(const char *text, unsigned *prefix)
{
	struct in_addr mask;
	uint32_t m, inv;

	if (inet_pton(AF_INET, text, &mask) != 1)
		return false;
	m = ntohl(mask.s_addr);
	inv = ~m;
	if ((inv & (inv + 1)) != 0)     /* ones must be contiguous */
		return false;
	*prefix = 0;
	while (m & 0x80000000u) {
		(*prefix)++;
		m <<= 1;
	}
	return true;
}

static bool hostlist_parse_prefix(const char *text, hostlist_kind kind,
                                  unsigned *prefix, const char **why)
{
	unsigned max = kind == HOSTLIST_ADDR4 ? 32 : 128;
	unsigned long v;
	char *end;

	if (kind == HOSTLIST_ADDR4 && strchr(text, '.') != NULL) {
		if (hostlist_netmask_prefix(text, prefix))
			return true;
		*why = "netmask is not contiguous";
		return false;
	}
	if (*text < '0' || *text > '9') {
		*why = "prefix length is not a number";
		return false;
	}
	v = strtoul(text, &end, 10);
	if (*end != '\0' || v > max) {
		*why = "prefix length out of range";
		return false;
	}
	*prefix = (unsigned)v;
	return true;
}

/* Digits and dots only: someone meant an IPv4 address. */
static bool hostlist_looks_numeric(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s);
}

/* "[text]" -> "text" in place; NULL when the brackets do not match. */
static char *hostlist_unbracket(char *text)
{
	size_t len = strlen(text);

	if (len < 3 || text[len - 1] != ']')
		return NULL;
	text[len - 1] = '\0';
	return text + 1;
}

/*
 * An address or CIDR block, optionally [bracketed]. Returns 1 when parsed,
 * 0 when text is not an address (maybe a name), -1 on error (why set).
 */
static int hostlist_parse_addr(const char *text, hostlist_entry *e,
                               hostlist_addr_notes *notes, const char **why)
{
	unsigned char unmasked[16];

	char buf[INET6_ADDRSTRLEN + 8 + 16];
	char *slash, *addr = buf;
	size_t len = strlen(text);

	if (len >= sizeof(buf)) {
		*why = "address too long";
		return hostlist_looks_numeric(text) || strchr(text, ':') ? -1 : 0;
	}
	memcpy(buf, text, len + 1);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (addr[0] == '[' && (addr = hostlist_unbracket(addr)) == NULL) {
		*why = "unbalanced brackets";
		return -1;
	}
	if (inet_pton(AF_INET, addr, e->addr) == 1) {
		e->kind = HOSTLIST_ADDR4;
		e->prefix = 32;
	} else if (inet_pton(AF_INET6, addr, e->addr) == 1) {
		e->kind = HOSTLIST_ADDR6;
		e->prefix = 128;
	} else if (strchr(addr, ':') != NULL || addr != buf) {
		*why = "not an IPv6 address";
		return -1;
	} else if (hostlist_looks_numeric(addr)) {
		*why = "not a complete IPv4 address (write all four parts, "
		       "e.g. 192.168.0.0/16)";
		return -1;
	} else if (slash != NULL) {
		*why = "a prefix length needs an address";
		return -1;
	} else {
		return 0;
	}
	if (slash != NULL &&
	    !hostlist_parse_prefix(slash + 1, e->kind, &e->prefix, why))
		return -1;
	notes->netmask = slash != NULL && e->kind == HOSTLIST_ADDR4 &&
	                 strchr(slash + 1, '.') != NULL;
	memcpy(unmasked, e->addr, sizeof(unmasked));
	hostlist_mask(e->addr, e->kind == HOSTLIST_ADDR4 ? 4 : 16, e->prefix);
	/* OpenDKIM 2.11 matches a block by looking up the client's address
	 * masked to each prefix length, as text ("192.168.0.0/24"): an entry
	 * with host bits, or with a netmask, is never found. Host bits are
	 * kept that way (a drop-in signs for the same clients); the caller
	 * warns about both. */
	notes->host_bits = memcmp(unmasked, e->addr, sizeof(unmasked)) != 0;
	if (notes->host_bits)
		memcpy(e->addr, unmasked, sizeof(unmasked));
	return 1;
}

/* Host name characters (letters, digits, "-", "_"), dot-separated labels. */
static bool hostlist_valid_name(const char *name)
{
	const char *p;
	size_t label = 0;

	if (*name == '\0' || strlen(name) > HOSTLIST_NAME_MAX)
		return false;
	for (p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (c == '-' && label == 0) {
			return false;   /* RFC 952: labels start alphanumeric */
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* Lower-cased copy without a final dot. */
static char *hostlist_name_copy(const char *name)
{
	size_t len = strlen(name), i;
	char *copy;

	if (len > 1 && name[len - 1] == '.')
		len--;
	copy = strndup(name, len);
	if (copy == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (copy[i] >= 'A' && copy[i] <= 'Z')
			copy[i] = (char)(copy[i] - 'A' + 'a');
	return copy;
}

/*
 * A "*" pattern, as OpenDKIM's refile: host lists hold them (e.g.
 * "*.example.com" from the well-known TrustedHosts examples): matched
 * against the client's host name and against its address in text form.
 * Only in refile: lists: in a plain file OpenDKIM takes "*" literally, so
 * the entry never matched, and "*" meaning "everyone" there would turn an
 * InternalHosts mistake into an open signer.
 */
static bool hostlist_parse_glob(const char *text, bool allow_glob,
                                hostlist_entry *e, const char **why)
{
	const char *p;

	if (!allow_glob) {
		*why = "'*' is a pattern only in a refile: data set "
		       "(InternalHosts refile:/path)";
		return false;
	}
	if (strlen(text) > HOSTLIST_NAME_MAX) {
		*why = "pattern too long";
		return false;
	}
	for (p = text; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127) {
			*why = "pattern holds a control, space or non-ASCII "
			       "character";
			return false;
		}
	}
	e->kind = HOSTLIST_GLOB;
	e->name = hostlist_name_copy(text);
	if (e->name == NULL) {
		*why = "out of memory";
		return false;
	}
	return true;
}

/* Parses one entry; false with why on error. notes may be NULL. */
static bool hostlist_parse_entry(const char *text, bool allow_glob,
                                 hostlist_entry *e, hostlist_addr_notes *notes,
                                 const char **why)
{
	hostlist_addr_notes ignored;
	int r;

	if (notes == NULL)
		notes = &ignored;
	memset(notes, 0, sizeof(*notes));
	memset(e, 0, sizeof(*e));
	if (*text == '!') {
		e->negate = true;
		text++;
	}
	if (strchr(text, '*') != NULL)
		return hostlist_parse_glob(text, allow_glob, e, why);
	r = hostlist_parse_addr(text, e, notes, why);
	e->inert = r > 0 && notes->host_bits;
	if (r != 0)
		return r > 0;
	e->kind = *text == '.' ? HOSTLIST_SUFFIX : HOSTLIST_NAME;
	e->name = hostlist_name_copy(text);
	if (e->name == NULL) {
		*why = "out of memory";
		return false;
	}
	if (!hostlist_valid_name(e->kind == HOSTLIST_SUFFIX ? e->name + 1
	                                                     : e->name)) {
		free(e->name);
		e->name = NULL;
		*why = "not an address, CIDR block, host name or .domain";
		return false;
	}
	return true;
}

/* ---- building lists ------------------------------------------------------- */

static hostlist *hostlist_alloc(size_t n)
{
	hostlist *hl = calloc(1, sizeof(*hl));

	if (hl == NULL)
		return NULL;
	atomic_init(&hl->refs, 1);
	atomic_init(&hl->stale, false);
	hl->entries = calloc(n ? n : 1, sizeof(*hl->entries));
	if (hl->entries == NULL) {
		free(hl);
		return NULL;
	}
	return hl;
}

void hostlist_free(hostlist *hl)
{
	size_t i;

	if (hl == NULL || atomic_fetch_sub(&hl->refs, 1) != 1)
		return;
	for (i = 0; i < hl->count; i++)
		free(hl->entries[i].name);
	free(hl->entries);
	free(hl);
}

hostlist *hostlist_ref(hostlist *hl)
{
	if (hl != NULL)
		atomic_fetch_add(&hl->refs, 1);
	return hl;
}

void hostlist_set_stale(hostlist *hl, bool stale)
{
	if (hl != NULL)
		atomic_store(&hl->stale, stale);
}

void hostlist_set_digest(hostlist *hl, unsigned long long digest)
{
	if (hl != NULL)
		hl->digest = digest;
}

unsigned long long hostlist_digest(const hostlist *hl)
{
	return hl != NULL ? hl->digest : 0;
}

bool hostlist_is_stale(const hostlist *hl)
{
	return hl != NULL && atomic_load(&((hostlist *)hl)->stale);
}

size_t hostlist_count(const hostlist *hl)
{
	return hl ? hl->count : 0;
}

/* The block an address entry stands for, "192.168.0.0/24", in buf. */
static void hostlist_block_text(const hostlist_entry *e, char *buf, size_t size)
{
	unsigned char masked[16];
	char addr[INET6_ADDRSTRLEN];
	bool v4 = e->kind == HOSTLIST_ADDR4;

	memcpy(masked, e->addr, sizeof(masked));
	hostlist_mask(masked, v4 ? 4 : 16, e->prefix);
	if (inet_ntop(v4 ? AF_INET : AF_INET6, masked, addr, sizeof(addr)) == NULL)
		addr[0] = '\0';
	snprintf(buf, size, "%s/%u", addr, e->prefix);
}

/*
 * Warnings for an address entry that OpenDKIM 2.11 reads differently:
 * with host bits it never matched there and never matches here; with a
 * netmask it never matched there and is a network here.
 */
static void hostlist_warn_addr(const dataset_entry *de, const hostlist_entry *e,
                               const hostlist_addr_notes *notes,
                               diag_list *diag)
{
	char block[INET6_ADDRSTRLEN + 8];

	if (!notes->host_bits && !notes->netmask)
		return;
	hostlist_block_text(e, block, sizeof(block));
	if (notes->host_bits)
		diag_add(diag, DIAG_WARNING, "%s:%u: host list entry '%s' has "
		         "host bits set past the prefix: it never matches any "
		         "client (as in OpenDKIM, which ignores it); write '%s%s' "
		         "for the network, or the address alone for one host",
		         de->file, de->line, de->key, e->negate ? "!" : "", block);
	else
		diag_add(diag, DIAG_WARNING, "%s:%u: host list entry '%s': "
		         "OpenDKIM never matches a netmask written out (it ignores "
		         "the entry); here it is the network %s, so its clients "
		         "now match; write '%s%s' to say so", de->file, de->line,
		         de->key, block, e->negate ? "!" : "", block);
}

hostlist *hostlist_from_dataset(const dataset *ds, diag_list *diag)
{
	hostlist *hl = hostlist_alloc(ds->count);
	size_t i, errors = diag->errors;
	bool allow_glob = ds->kind == DATASET_REFILE;

	if (hl == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: out of memory", ds->file);
		return NULL;
	}
	for (i = 0; i < ds->count; i++) {
		const dataset_entry *de = &ds->entries[i];
		hostlist_addr_notes notes;
		const char *why = NULL;

		if (hostlist_parse_entry(de->key, allow_glob,
		                         &hl->entries[hl->count], &notes, &why)) {
			hostlist_warn_addr(de, &hl->entries[hl->count], &notes,
			                   diag);
			hl->count++;
		} else
			diag_add(diag, DIAG_ERROR,
			         "%s:%u: bad host list entry '%s': %s",
			         de->file, de->line, de->key,
			         why ? why : "invalid");
	}
	if (diag->errors != errors) {
		hostlist_free(hl);
		return NULL;
	}
	return hl;
}

hostlist *hostlist_take_dataset(dataset *ds, diag_list *diag)
{
	hostlist *hl;

	if (ds == NULL)
		return NULL;
	hl = hostlist_from_dataset(ds, diag);
	dataset_free(ds);
	return hl;
}

hostlist *hostlist_open(const char *spec, const char *where, diag_list *diag)
{
	return hostlist_take_dataset(dataset_open(spec, where, diag), diag);
}

hostlist *hostlist_parse_buffer(const char *name, dataset_kind kind,
                                const char *buf, size_t len, diag_list *diag)
{
	return hostlist_take_dataset(dataset_parse_buffer(name, kind, buf, len,
	                                                  diag), diag);
}

hostlist *hostlist_default_internal(void)
{
	static const char *const defaults[] = { "127.0.0.1", "::1" };
	hostlist *hl = hostlist_alloc(2);
	size_t i;

	if (hl == NULL)
		return NULL;
	for (i = 0; i < 2; i++) {
		const char *why;

		if (hostlist_parse_entry(defaults[i], false, &hl->entries[i],
		                         NULL, &why))
			hl->count++;
	}
	return hl;
}

/* ---- matching ------------------------------------------------------------- */

/* Keeps the more specific of two matches; at equal score "!" wins. */
static void hostlist_consider(hostlist_best *best, size_t score, bool negate)
{
	if (!best->found || score > best->score) {
		best->found = true;
		best->score = score;
		best->negate = negate;
	} else if (score == best->score && negate) {
		best->negate = true;
	}
}

static bool hostlist_prefix_equal(const unsigned char *a,
                                  const unsigned char *b, unsigned prefix)
{
	size_t whole = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff00u >> rest)) == 0;
}

/* Best address match; family is HOSTLIST_ADDR4 or HOSTLIST_ADDR6. */
static hostlist_best hostlist_best_addr(const hostlist *hl,
                                        hostlist_kind family,
                                        const unsigned char *addr)
{
	hostlist_best best = { false, false, 0 };
	size_t i;

	for (i = 0; i < hl->count; i++) {
		const hostlist_entry *e = &hl->entries[i];

		if (e->kind == family && !e->inert &&
		    hostlist_prefix_equal(e->addr, addr, e->prefix))
			hostlist_consider(&best, HOSTLIST_EXACT_BASE + e->prefix,
			                  e->negate);
	}
	return best;
}

/* Characters of a pattern other than "*": its specificity. */
static size_t hostlist_glob_score(const char *pattern)
{
	size_t n = 0;

	for (; *pattern != '\0'; pattern++)
		if (*pattern != '*')
			n++;
	return n;
}

/* Best "*" pattern match of a name or an address in text form. */
static void hostlist_best_glob(const hostlist *hl, const char *text,
                               hostlist_best *best)
{
	size_t i;

	for (i = 0; i < hl->count; i++) {
		const hostlist_entry *e = &hl->entries[i];

		if (e->kind == HOSTLIST_GLOB &&
		    dataset_pattern_match(e->name, text))
			hostlist_consider(best, hostlist_glob_score(e->name),
			                  e->negate);
	}
}

/* Best name match: exact names score above any suffix. */
static hostlist_best hostlist_best_name(const hostlist *hl, const char *name)
{
	hostlist_best best = { false, false, 0 };
	size_t i, len = strlen(name);

	for (i = 0; i < hl->count; i++) {
		const hostlist_entry *e = &hl->entries[i];
		size_t elen;

		if (e->kind == HOSTLIST_NAME && strcasecmp(e->name, name) == 0) {
			hostlist_consider(&best, SIZE_MAX, e->negate);
			continue;
		}
		if (e->kind != HOSTLIST_SUFFIX)
			continue;
		elen = strlen(e->name);
		if (elen < len && strcasecmp(name + len - elen, e->name) == 0)
			hostlist_consider(&best, HOSTLIST_EXACT_BASE + elen,
			                  e->negate);
	}
	hostlist_best_glob(hl, name, &best);
	return best;
}

/*
 * A sockaddr to (family, bytes); IPv4-mapped IPv6 becomes IPv4. False for
 * other families.
 */
static bool hostlist_sockaddr_bytes(const struct sockaddr *sa,
                                    hostlist_kind *family,
                                    unsigned char *bytes)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	                                          0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(bytes, &sin->sin_addr, 4);
		*family = HOSTLIST_ADDR4;
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
			(const struct sockaddr_in6 *)sa;
		const unsigned char *a = sin6->sin6_addr.s6_addr;

		if (memcmp(a, mapped, 12) == 0) {
			memcpy(bytes, a + 12, 4);
			*family = HOSTLIST_ADDR4;
		} else {
			memcpy(bytes, a, 16);
			*family = HOSTLIST_ADDR6;
		}
		return true;
	}
	return false;
}

/* Text address (optionally [bracketed]) to a sockaddr_storage. */
static bool hostlist_text_sockaddr(const char *ip, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(ip);
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (len >= sizeof(buf))
		return false;
	if (ip[0] == '[' && len > 2 && ip[len - 1] == ']') {
		memcpy(buf, ip + 1, len - 2);
		buf[len - 2] = '\0';
	} else {
		memcpy(buf, ip, len + 1);
	}
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static hostlist_best hostlist_best_sockaddr(const hostlist *hl,
                                            const struct sockaddr *sa)
{
	hostlist_best best = { false, false, 0 };
	unsigned char bytes[16];
	char text[INET6_ADDRSTRLEN];
	hostlist_kind family;

	if (sa == NULL || !hostlist_sockaddr_bytes(sa, &family, bytes))
		return best;
	best = hostlist_best_addr(hl, family, bytes);
	if (inet_ntop(family == HOSTLIST_ADDR4 ? AF_INET : AF_INET6, bytes,
	              text, sizeof(text)) != NULL)
		hostlist_best_glob(hl, text, &best);
	return best;
}

bool hostlist_match_name(const hostlist *hl, const char *hostname)
{
	char *name;
	hostlist_best best;

	if (hl == NULL || hostname == NULL || hostname[0] == '[' ||
	    hostname[0] == '\0')
		return false;
	name = hostlist_name_copy(hostname);
	if (name == NULL)
		return false;
	best = hostlist_best_name(hl, name);
	free(name);
	return best.found && !best.negate;
}

bool hostlist_match_ip(const hostlist *hl, const char *ip)
{
	struct sockaddr_storage ss;

	if (hl == NULL || ip == NULL || !hostlist_text_sockaddr(ip, &ss))
		return false;
	return hostlist_match(hl, (const struct sockaddr *)&ss, NULL);
}

bool hostlist_match(const hostlist *hl, const struct sockaddr *addr,
                    const char *hostname)
{
	hostlist_best best = { false, false, 0 }, by_addr;
	struct sockaddr_storage ss;

	if (hl == NULL)
		return false;
	if (hostname != NULL && hostname[0] != '[' && hostname[0] != '\0') {
		char *name = hostlist_name_copy(hostname);

		if (name != NULL)
			best = hostlist_best_name(hl, name);
		free(name);
	}
	/* Names are more specific than addresses, but a "*" pattern is less
	 * specific than either: "*.example.com" must not override
	 * "!192.0.2.1". */
	if (best.found && best.score >= HOSTLIST_EXACT_BASE)
		return !best.negate;
	/* Postfix passes "[192.0.2.1]" for clients without a name. */
	if (addr == NULL && hostname != NULL &&
	    hostlist_text_sockaddr(hostname, &ss))
		addr = (const struct sockaddr *)&ss;
	by_addr = hostlist_best_sockaddr(hl, addr);
	if (by_addr.found && by_addr.score >= HOSTLIST_EXACT_BASE)
		return !by_addr.negate;
	/* Only patterns matched: the most specific one, name or address. */
	if (by_addr.found)
		hostlist_consider(&best, by_addr.score, by_addr.negate);
	return best.found && !best.negate;
}
