/*
 * hostlist.h - host lists (InternalHosts, PeerList, ExternalIgnoreList,
 * RemoveARFrom): which clients a rule applies to.
 *
 * A host list is read from a data set (first column of each entry) and
 * holds, as in OpenDKIM:
 *   192.0.2.1  2001:db8::1       one address ([brackets] allowed)
 *   192.0.2.0/24  2001:db8::/32  CIDR blocks (also 192.0.2.0/255.255.255.0)
 *   mail.example.com             one host name
 *   .example.com                 every name under example.com (and, as in
 *                                OpenDKIM, example.com itself is not
 *                                included: list it separately)
 *   *.example.com  192.168.1.*   "*" patterns, only in a refile: list, as
 *                                OpenDKIM's refile: matching gives them:
 *                                tried on the host name and on the address
 *                                in text form ("*" matches any run of
 *                                characters, case ignored). In a plain file
 *                                they are load errors: OpenDKIM takes them
 *                                literally there (they never match).
 *   !ENTRY                       exclusion of any of the above
 *
 * Deciding: the most specific matching entry decides, and its "!" says
 * whether the answer is no. Names are more specific than addresses and are
 * tried first: an exact name beats any ".domain", a longer ".domain" beats
 * a shorter one; for addresses the longest prefix wins (a plain address is
 * /32 or /128). When both a name entry and an address entry match, the
 * name entry decides. A "*" pattern (on the name or the address) loses to
 * every other entry that matches, name or address; of two patterns, the
 * one with more characters besides "*" wins. An entry and its exclusion
 * at the same specificity: the
 * exclusion wins. IPv4-mapped IPv6 addresses (::ffff:192.0.2.1) match IPv4
 * entries.
 *
 * Unlike OpenDKIM (which parses with inet_addr(3), so "192.168/16" silently
 * means 192.0.0.0/16), partial dotted addresses are load errors.
 *
 * OpenDKIM 2.11 finds a block by looking the client's address up masked
 * to each prefix length, as text ("192.168.0.0/24"), so two forms never
 * match there. A block with host bits set past its prefix ("127.0.0.1/8",
 * "192.168.0.1/24") never matches here either, so that a drop-in signs
 * for the same clients; a netmask ("192.168.0.0/255.255.255.0") is the
 * network it says. Both are a load warning "FILE:LINE: host list entry
 * 'X' ..." saying what it means and what to write instead.
 *
 * Errors: a malformed entry is a load error "FILE:LINE: bad host list
 * entry 'X': why" in the diag_list; loading returns NULL.
 *
 * A loaded list is immutable and may be shared by threads.
 */
#ifndef ODK_HOSTLIST_H
#define ODK_HOSTLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dataset.h"

typedef struct hostlist hostlist;

/* Builds a list from every entry's key of ds. NULL on any error. */
hostlist *hostlist_from_dataset(const dataset *ds, diag_list *diag);

/*
 * The same, then frees ds: the one dataset -> host list step of
 * hostlist_open, hostlist_parse_buffer and the configuration's host-list
 * options. NULL when ds is NULL or on any error.
 */
hostlist *hostlist_take_dataset(dataset *ds, diag_list *diag);

/*
 * Opens the data set named spec (dataset_open) and builds the list.
 * where: as for dataset_open.
 */
hostlist *hostlist_open(const char *spec, const char *where, diag_list *diag);

/*
 * Parses entries one per line from memory (the fuzz entry point), as a
 * file of kind DATASET_FILE or DATASET_REFILE ("*" patterns allowed).
 */
hostlist *hostlist_parse_buffer(const char *name, dataset_kind kind,
                                const char *buf, size_t len, diag_list *diag);

/* The InternalHosts default: 127.0.0.1 and ::1. NULL only without memory. */
hostlist *hostlist_default_internal(void);

/* Drops a reference; the last one frees the list. */
void hostlist_free(hostlist *hl);
/* Another reference to hl (a configuration refresh shares it). */
hostlist *hostlist_ref(hostlist *hl);
/* From a database whose last read failed (see dataset_set_stale). */
void hostlist_set_stale(hostlist *hl, bool stale);
bool hostlist_is_stale(const hostlist *hl);
/* The digest of the data set it was built from (a refresh compares it). */
void hostlist_set_digest(hostlist *hl, unsigned long long digest);
unsigned long long hostlist_digest(const hostlist *hl);

/* Number of entries (for tests and -n output). */
size_t hostlist_count(const hostlist *hl);

/*
 * Does the list admit this client? addr may be NULL (no address, e.g. a
 * local submission), hostname may be NULL or a bracketed literal "[1.2.3.4]"
 * as Postfix passes when there is no name (then only the address counts).
 * False when hl is NULL.
 */
bool hostlist_match(const hostlist *hl, const struct sockaddr *addr,
                    const char *hostname);

/* The same with an address in text form ("192.0.2.1", "2001:db8::1"). */
bool hostlist_match_ip(const hostlist *hl, const char *ip);

/* Name entries only (exact names and .domain suffixes). */
bool hostlist_match_name(const hostlist *hl, const char *hostname);

#endif /* ODK_HOSTLIST_H */
