/*
 * domain.c - the one validator of domain names (and selectors, which have
 * the same syntax) that the engine and the daemon apply, in the few forms
 * their callers need.
 *
 * Interface: dkim.h, dkim_domain_valid. The characters are always the
 * same: ASCII letters, digits, '-' and '_' (RFC 1035 §2.3.1 LDH labels,
 * plus the '_' of selectors and service names, RFC 6376 §3.5), joined by
 * dots; no locale is consulted. The forms differ in how strictly the dots
 * and lengths are read (see dkim_domain_form).
 *
 * Errors: none; a name is valid or not.
 */
#include "internal.h"

#define DOMAIN_MAX_NAME 253     /* RFC 1035 §2.3.4, textual form */
#define DOMAIN_MAX_LABEL 63
#define DOMAIN_MAX_TEXT 255     /* a name with a final dot, or a table entry */

typedef struct {
	bool dns;               /* labels 1..63, name <= 253, no final dot */
	bool empty_labels;      /* ".." allowed (after the first byte) */
	bool star;              /* '*' allowed (refile: patterns) */
} domain_rules;

static const domain_rules domain_forms[] = {
	[DKIM_DOMAIN_DNS] = { true, false, false },
	[DKIM_DOMAIN_TEXT] = { false, false, false },
	[DKIM_DOMAIN_ENTRY] = { false, true, false },
	[DKIM_DOMAIN_PATTERN] = { false, true, true },
};

static bool domain_char(unsigned char c, const domain_rules *r)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       (c == '*' && r->star);
}

bool dkim_domain_valid(const char *name, size_t len, dkim_domain_form form)
{
	const domain_rules *r = &domain_forms[form];
	size_t i, label = 0;

	if (len == 0 || len > (r->dns ? DOMAIN_MAX_NAME : DOMAIN_MAX_TEXT) ||
	    name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0 && !r->empty_labels)
				return false;       /* ".." */
			label = 0;
		} else if (!domain_char(c, r)) {
			return false;
		} else if (++label > DOMAIN_MAX_LABEL && r->dns) {
			return false;
		}
	}
	return label > 0 || !r->dns;        /* DNS form: no final dot */
}
