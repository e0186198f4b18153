/*
 * record.h - the DNS side of a new DKIM key: the key record value
 * (RFC 6376 §3.6.1) and its presentations (zone-file stub in OpenDKIM's
 * layout, bare one-line value, JSON), plus the KeyTable/SigningTable lines.
 *
 * Pure functions: no I/O, no crypto. Everything is appended to a dkim_buf;
 * the only failure is running out of memory (DKIM_ERR_NOMEM), or a name
 * that is not a valid selector/domain (genkey_name_check).
 */
#ifndef GENKEY_RECORD_H
#define GENKEY_RECORD_H

#include "internal.h"

/* RFC 1035 §3.3: a <character-string> holds at most 255 octets. OpenDKIM
 * cuts p= every 250 characters; we keep its layout. */
#define GENKEY_TXT_CHUNK 250

typedef struct {
	const char *selector;
	const char *domain;
	const char *keytype;    /* k=: "rsa" or "ed25519" */
	const char *hashes;     /* h= (colon-separated), NULL: none */
	const char *note;       /* n= as the user wrote it, NULL: none */
	bool testing;           /* t=y */
	bool strict;            /* t=s */
	bool email_only;        /* s=email */
	const char *pubkey;     /* p=, base64 */
} genkey_record;

/*
 * Checks a selector or domain: dot-separated labels of letters, digits,
 * '-' and '_', 1..63 bytes each, at most 253 bytes in all. Anything else
 * could not be published and could break the zone file or a path.
 */
dkim_status genkey_name_check(const char *what, const char *name,
                              dkim_error *err);

/* Checks an h= list: "sha256", "sha1" separated by ':'. */
dkim_status genkey_hashes_check(const char *hashes, dkim_error *err);

/* The tags before p=, in OpenDKIM's order and spacing, ending in "; ". */
dkim_status genkey_record_head(const genkey_record *r, dkim_buf *out);

/* The whole record value on one line ("v=DKIM1; ... p=..."). */
dkim_status genkey_record_value(const genkey_record *r, dkim_buf *out);

/*
 * The zone-file stub as OpenDKIM's opendkim-genkey writes it:
 *   SEL._domainkey[.DOMAIN.]<TAB>IN<TAB>TXT<TAB>( "v=DKIM1; h=sha256; k=rsa; "
 *   <TAB>  "p=...250 chars..."
 *   <TAB>  "..." )  ; ----- DKIM key SEL for DOMAIN
 * Every quoted string holds at most 255 bytes once unescaped.
 */
dkim_status genkey_record_zone(const genkey_record *r, bool append_domain,
                               dkim_buf *out);

/*
 * A JSON object: name, type, ttl-free value, the strings a DNS API wants,
 * selector, domain, key type, bits and the private key path.
 */
dkim_status genkey_record_json(const genkey_record *r, unsigned bits,
                               const char *keypath, dkim_buf *out);

/* "SEL._domainkey.DOMAIN DOMAIN:SEL:KEYPATH\n" */
dkim_status genkey_keytable_line(const genkey_record *r, const char *keypath,
                                 dkim_buf *out);
/* "*@DOMAIN SEL._domainkey.DOMAIN\n" (a refile: SigningTable line) */
dkim_status genkey_signingtable_line(const genkey_record *r, dkim_buf *out);

#endif /* GENKEY_RECORD_H */
