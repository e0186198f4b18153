/*
 * arcseal.h - the milter's ARC work (RFC 8617): which messages have their
 * chain validated and reported ("arc=" in our Authentication-Results),
 * which get an ARC set, and the set's fields added at the end.
 *
 * Order of use in the milter (milter.c's hooks):
 *   eoh:  arcseal_plan()      -> what to do, from the configuration, the
 *                                policy decision and the header fields
 *         arcseal_start()     -> asks the engine for the validation and
 *                                the seal, before the header block is fed
 *   eom:  arcseal_ar()        -> the "arc=" part of our Authentication-
 *                                Results
 *         arcseal_insert()    -> adds the new set's three fields
 *
 * The validation runs in the engine's one pass with DKIM: the same header
 * copy, the same body-hash contexts, one key lookup batch per kind.
 *
 * Errors: arcseal_start returns the engine's status (with err set);
 * arcseal_insert false when the MTA refuses a field.
 */
#ifndef ODK_ARCSEAL_H
#define ODK_ARCSEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "authres.h"
#include "odkconfig.h"
#include "dkim.h"
#include "policy.h"

/* Longest text of an IPv6 address (INET6_ADDRSTRLEN). */
#define ARCSEAL_IP_MAX 46

typedef struct {
	bool validate;          /* ask the engine for the chain's status */
	bool report;            /* arc= in our Authentication-Results */
	bool seal;              /* add an ARC set */
	bool earlier_ar;        /* the message carries our Authentication-
	                         * Results from an earlier pass (a list's
	                         * arrival): the AAR and cv= come from them */
	dkim_arc_result earlier_cv;     /* their arc= (none when absent) */
	bool report_dkim;       /* our A-R has dkim= results (verified) */
	char remote_ip[ARCSEAL_IP_MAX]; /* the SMTP client, "" unknown */
	const char *authserv_id;        /* the connection's; outlives us */
} arcseal;

/*
 * Decides what ARC work a message gets (pure: unit tested). internal is
 * policy_client_is_internal's answer; hdrs the message's fields. The
 * rules are opendkim.conf(5)'s ARCMode and ARCSealMail: the chain is
 * validated when it is reported or a set is added; no set is added twice
 * at one hop (the newest AAR already carries our authserv-id).
 */
void arcseal_plan(const config *cfg, const policy_decision *decision,
                  bool internal, const policy_header *hdrs, size_t nhdrs,
                  const char *authserv_id, const struct sockaddr *client,
                  arcseal *out);

/*
 * Asks the engine for the validation and, when planned, the seal with
 * ARCSealKey and the ARCSignHeaders present in hdrs. Call before the
 * header block is fed (dkim_msg_header). lookup/resolver as for DKIM.
 */
dkim_status arcseal_start(arcseal *a, const config *cfg, dkim_msg *dkim,
                          const policy_header *hdrs, size_t nhdrs,
                          dkim_lookup_fn lookup, void *resolver, dkim_error *err);

/* After dkim_msg_eom: the arc= result for authres_format_arc (NULL when
 * the chain is not reported). */
const authres_arc *arcseal_ar(const arcseal *a, const dkim_msg *dkim,
                              authres_arc *out);

/*
 * After dkim_msg_eom: adds the new set at the top (AS, AMS, AAR from top
 * down), folded with "\n\t" for the MTA; leadspc as negotiated. True when
 * there was nothing to add. *added tells whether a set was added.
 */
bool arcseal_insert(const arcseal *a, const dkim_msg *dkim, SMFICTX *ctx,
                    bool leadspc, bool *added);

/* The arc= result of an Authentication-Results value (RFC 8601 §2.2
 * resinfo "arc=RESULT"); false when it has none. */
bool arcseal_ar_arc_result(const char *value, dkim_arc_result *out);

#endif /* ODK_ARCSEAL_H */
