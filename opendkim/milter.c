/*
 * milter.c - the milter callbacks: gather (connect, envelope, headers),
 * decide (policy.c), act (libdkim), report (authres.c, the log) and carry
 * out the verdict (verdict.c).
 *
 * Interface: milter.h. libmilter calls the mlfi_* functions below on its
 * worker threads; each SMTP connection has a milter_conn (smfi_setpriv),
 * each message a milter_msg inside it.
 *
 * Protocol choices (mlfi_negotiate): header values arrive raw, with the
 * space after the colon (SMFIP_HDR_LEADSPC), so that "simple"
 * canonicalization sees the field as sent, and values we insert are used
 * verbatim. Headers and body chunks are not answered one by one
 * (SMFIP_NR_HDR, SMFIP_NR_BODY) when the MTA allows it: a round trip per
 * header costs more than everything else we do with it; anything that
 * goes wrong there is acted upon at the next answered step. Connect and
 * MAIL are not answered either (SMFIP_NR_CONN, SMFIP_NR_MAIL; connect only
 * without a PeerList, whose clients are accepted there): their only other
 * answer is a temporary failure, given at end of headers instead.
 * Recipients are asked for only with DontSignMailTo (SMFIP_NORCPT
 * otherwise), and not answered either (SMFIP_NR_RCPT). Each
 * reply saved is a write and a round trip to the MTA per message
 * (bench/RESULTS.md: 8.7 -> 6.5 context switches per message).
 * DATA is the exception: it is asked for and answered, so that no TCP
 * peer waits on a delayed ACK before sending the headers (the comment
 * at mlfi_negotiate says why).
 *
 * The header block has one copy, the engine's: each field goes to it as
 * it arrives (its limits are MaximumHeaders'), and policy reads the fields
 * back from it at end of headers (dkim_msg_header_get), before the
 * signers and verification are added to the same message.
 *
 * Errors: a failure in a callback ends in the configured On-* action with
 * an SMTP reply saying why, and one log line; never in a crash or a
 * silent accept.
 */
#include "milter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "arcseal.h"
#include "authres.h"
#include "dkim_resolver.h"
#include "log.h"
#include "metrics.h"
#include "msglog.h"
#include "policy.h"
#include "runtime.h"
#include "verdict.h"

#define MILTER_AR_NAME "Authentication-Results"
/* one more than a job id may have (AUTHRES_JOB_ID_MAX): a longer queue id
 * is truncated to a length authres_format_job refuses, never written cut */
#define MILTER_QID_MAX (AUTHRES_JOB_ID_MAX + 2)
#define MILTER_HOSTNAME_MAX (CONFIG_AUTHSERV_ID_MAX + 1)

#ifdef DKIMD_VERSION
#define MILTER_VERSION DKIMD_VERSION
#else
#define MILTER_VERSION "unknown"
#endif

/* ---- the process: messages in flight, shutdown ------------------------------ */

static atomic_uint milter_in_flight;
static atomic_bool milter_shutting_down;

void milter_begin_shutdown(void)
{
	atomic_store(&milter_shutting_down, true);
}

unsigned milter_messages_in_flight(void)
{
	return atomic_load(&milter_in_flight);
}

/* ---- per connection and per message state ---------------------------------- */

typedef struct {
	runtime *rt;             /* the rules this message started with */
	char qid[MILTER_QID_MAX];
	bool authenticated;
	bool no_sign_rcpt;              /* a recipient in DontSignMailTo */
	char *daemon_name;              /* {daemon_name}, for MTA */
	policy_header *hdrs;            /* at end of headers: the engine's
	                                 * fields (pointers, not copies) */
	size_t nhdrs;
	bool too_big;                   /* over MaximumHeaders */
	dkim_status header_st;          /* a field the engine refused */
	size_t *ar_remove;              /* A-R indexes (1-based, ascending) */
	size_t nremove;
	size_t nar;                     /* A-R fields seen */
	size_t nsig;                    /* DKIM-Signature fields seen */
	size_t nsig_removed;            /* of them, removed (RemoveOldSignatures) */
	policy_decision decision;
	policy_signers signers;
	dkim_msg *dkim;                 /* fed each field as it arrives */
	bool started;                   /* the engine passed end of headers */
	arcseal arc;                    /* the ARC work (arcseal.h) */
	bool failed;                    /* an engine error: On-InternalError */
	bool malformed;                 /* verify: policy_message_malformed */
	bool oversized;                 /* verify: over MaximumHeaders, and
	                                 * On-Security lets it through */
	dkim_error err;
} milter_msg;

typedef struct {
	bool leadspc;                   /* SMFIP_HDR_LEADSPC negotiated */
	bool nr_hdr, nr_body;           /* no replies for headers / body */
	bool nr_conn, nr_mail;          /* no replies for connect / MAIL */
	bool nr_rcpt;                   /* no replies for RCPT */
	bool peer;                      /* PeerList client (accepted) */
	struct sockaddr_storage addr;
	bool has_addr;
	char hostname[MILTER_HOSTNAME_MAX];
	char authserv_id[MILTER_HOSTNAME_MAX];
	milter_msg *msg;
} milter_conn;

static milter_conn *milter_conn_get(SMFICTX *ctx)
{
	milter_conn *conn = smfi_getpriv(ctx);
	if (conn == NULL) {
		conn = calloc(1, sizeof(*conn));
		if (conn != NULL && smfi_setpriv(ctx, conn) != MI_SUCCESS) {
			free(conn);
			conn = NULL;
		}
		if (conn != NULL)
			metrics_connection_open();
	}
	return conn;
}

static void milter_msg_free(milter_msg *m)
{
	if (m == NULL)
		return;
	free(m->hdrs);
	free(m->ar_remove);
	free(m->daemon_name);
	/* The engine's message refers to the signers' keys, which the signers
	 * or the configuration own: free in that order. */
	dkim_msg_free(m->dkim);
	policy_signers_free(&m->signers);
	runtime_put(m->rt);
	free(m);
	atomic_fetch_sub(&milter_in_flight, 1);
}

static void milter_conn_end_message(milter_conn *conn)
{
	if (conn != NULL) {
		milter_msg_free(conn->msg);
		conn->msg = NULL;
	}
}

/* The queue id (macro i), fetched again until the MTA has one. */
static const char *milter_qid(SMFICTX *ctx, milter_msg *m)
{
	if (m->qid[0] == '\0') {
		const char *i = smfi_getsymval(ctx, "i");
		if (i != NULL)
			snprintf(m->qid, sizeof(m->qid), "%s", i);
	}
	return m->qid[0] != '\0' ? m->qid : "NOQUEUE";
}

/* ---- actions and replies ------------------------------------------------------ */

/* Counts a message that ends with action (metrics.h). */
static void milter_count(const milter_msg *m, config_action action)
{
	metrics_mode mode = METRICS_MODE_NONE;
	if (m != NULL && m->decision.sign)
		mode = METRICS_MODE_SIGN;
	else if (m != NULL && m->decision.verify)
		mode = METRICS_MODE_VERIFY;
	metrics_message(mode, action);
}

/* Carries out action for cause: the SMTP reply, quarantine, the status. */
static sfsistat milter_act(SMFICTX *ctx, config_action action, verdict_cause cause)
{
	verdict_reply r = verdict_reply_for(cause, action);
	switch (action) {
	case CONFIG_ACT_REJECT:
		smfi_setreply(ctx, (char *)r.code, (char *)r.xcode, (char *)r.text);
		return SMFIS_REJECT;
	case CONFIG_ACT_TEMPFAIL:
		smfi_setreply(ctx, (char *)r.code, (char *)r.xcode, (char *)r.text);
		return SMFIS_TEMPFAIL;
	case CONFIG_ACT_DISCARD:
		return SMFIS_DISCARD;
	case CONFIG_ACT_QUARANTINE:
		smfi_quarantine(ctx, (char *)r.text);
		return SMFIS_ACCEPT;
	case CONFIG_ACT_ACCEPT:
		break;
	}
	return SMFIS_ACCEPT;
}

/*
 * An engine error: a signing key or a message that cannot be signed is
 * On-SignatureError (OpenDKIM: "a message cannot be signed because of
 * issues with the message or the key provided for signing"); the rest,
 * memory included, is ours: On-InternalError.
 */
static verdict_cause milter_engine_cause(const milter_msg *m, bool signing)
{
	switch (m->err.status) {
	case DKIM_ERR_KEY:
	case DKIM_ERR_CRYPTO:
	case DKIM_ERR_SYNTAX:   /* not IO: a key file that cannot be read now
	                         * may be readable later (On-InternalError) */
		return signing ? VERDICT_SIGNATURE_ERROR : VERDICT_INTERNAL;
	default:
		return VERDICT_INTERNAL;
	}
}

/* An error outside verification results: log it, act on it, end the message. */
static sfsistat milter_fail(SMFICTX *ctx, milter_conn *conn, verdict_cause cause,
                            const char *why)
{
	milter_msg *m = conn->msg;
	const config *cfg = m->rt->cfg;
	config_action action = verdict_action(cfg, cause);
	log_msg(LOG_ERR, "%s: %s: action=%s", milter_qid(ctx, m), why,
	        config_action_name(action));
	milter_count(m, action);
	sfsistat st = milter_act(ctx, action, cause);
	milter_conn_end_message(conn);
	return st;
}

/* ---- negotiation and connection ------------------------------------------------- */

/*
 * The macros we read, asked of the MTA stage by stage (smfi_setsymlist),
 * so that it sends those instead of its defaults: j (the authserv-id
 * fallback) and {daemon_name} (MTA) at connect; {auth_type} and
 * {auth_authen} (an authenticated client) at MAIL; i (the queue id, read
 * at every step until the MTA has one) everywhere else. MacroList's names
 * are added to every stage up to the end of headers, where they are
 * checked: whichever stage the operator's MTA can evaluate one at, it is
 * asked for there (Postfix's cleanup, which sends the end-of-headers
 * macros, knows fewer than smtpd). An empty list would mean the MTA's
 * defaults (Postfix, milter.c), hence "i" for the steps we skip.
 *
 * What it saves, through Postfix 3.7 (checked with strace): bytes, not
 * packets. Postfix sends one macro packet per stage whatever the lists,
 * also for the steps negotiated away, and the end-of-headers macros with
 * every header; the packets only get shorter (the connect one loses v,
 * _ and {daemon_addr}; MAIL its {mail_*}; RCPT its {rcpt_*}; HELO its TLS
 * macros), and libmilter copies fewer strings.
 */
static const struct {
	int stage;
	const char *names;
	bool macro_list;        /* MacroList's names too */
} milter_symlists[] = {
	{ SMFIM_CONNECT, "j {daemon_name}", true },
	{ SMFIM_HELO, "i", true },
	{ SMFIM_ENVFROM, "i {auth_type} {auth_authen}", true },
	{ SMFIM_ENVRCPT, "i", true },
	{ SMFIM_DATA, "i", true },
	{ SMFIM_EOH, "i", true },
	{ SMFIM_EOM, "i", false },
};

/* One stage's list: names, then MacroList's names if asked; malloc'ed. */
static char *milter_symlist(const char *names, const config *cfg, bool macro_list)
{
	size_t len = strlen(names) + 1, i;
	size_t n = macro_list && cfg != NULL ? cfg->nmacros : 0;

	for (i = 0; i < n; i++)
		len += strlen(cfg->macros[i].name) + 1;
	char *list = malloc(len);
	if (list == NULL)
		return NULL;
	size_t off = (size_t)snprintf(list, len, "%s", names);
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(list + off, len - off, " %s", cfg->macros[i].name);
	return list;
}

/*
 * Asks for the lists above; false if one could not be set (that stage
 * then gets the MTA's defaults, which is what OpenDKIM always gets).
 */
static bool milter_ask_macros(SMFICTX *ctx, const config *cfg)
{
	bool ok = true;
	size_t i;

	for (i = 0; i < sizeof(milter_symlists) / sizeof(milter_symlists[0]); i++) {
		char *list = milter_symlist(milter_symlists[i].names, cfg,
		                            milter_symlists[i].macro_list);
		if (list == NULL || smfi_setsymlist(ctx, milter_symlists[i].stage, list) != MI_SUCCESS)
			ok = false;
		free(list);
	}
	return ok;
}

static sfsistat mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                               unsigned long f2, unsigned long f3,
                               unsigned long *pf0, unsigned long *pf1,
                               unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	milter_conn *conn = milter_conn_get(ctx);
	if (conn == NULL)
		return SMFIS_TEMPFAIL;
	/*
	 * Steps we have no use for: the MTA need not send them. Recipients
	 * only matter to DontSignMailTo, and then need no reply.
	 *
	 * DATA is not one of them, although we have nothing to do there: it
	 * is the one reply that keeps an MTA on TCP from stalling ~40 ms per
	 * message (issue 12). What Postfix (3.7, milter8.c) puts on the wire:
	 *  - smtpd buffers every command it needs no reply to, and the
	 *    macros of every stage, skipped or not (it sends a stage's
	 *    macros even for a step negotiated away); it writes them out
	 *    only when it reads a reply, or at DATA when it hands the milter
	 *    connection to cleanup. Without a DATA step to answer, the last
	 *    write of smtpd (the macros of connect, HELO, MAIL, RCPT and
	 *    DATA, and the commands we did not answer) is one no reply
	 *    follows;
	 *  - cleanup then writes the headers and the end of headers in one
	 *    small write. Postfix leaves Nagle's algorithm on, so that write
	 *    waits until smtpd's is acknowledged; and our kernel, having
	 *    just answered the negotiation (interactive, "pingpong" mode),
	 *    delays that ACK (40 ms on Linux) hoping for a reply to carry
	 *    it. None comes.
	 * Answering DATA gives smtpd's last write its reply (the ACK rides
	 * on it), and every later write of Postfix follows an answered one:
	 * headers + end of headers (answered), body + end of message
	 * (answered), abort + quit (then close; nothing follows). The price
	 * is one small reply per message; over a UNIX socket (no Nagle) it
	 * changes nothing else. Through a private Postfix, one session at a
	 * time, inet went from ~18 to ~150 msgs/s (unix ~160): bench/RESULTS.md,
	 * tests/milter/postfix-e2e.sh. With PeerList the connect step is
	 * answered as well, with DontSignMailTo recipients are not: both end
	 * in the same DATA reply. Sendmail writes each packet as it goes and
	 * sets TCP_NODELAY itself when built with MILTER_NO_NAGLE.
	 */
	unsigned long skip = SMFIP_NOHELO | SMFIP_NOUNKNOWN;
	unsigned long want = SMFIP_HDR_LEADSPC | SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NR_MAIL;
	runtime *rt = runtime_get();
	if (rt != NULL && rt->cfg->peer_list == NULL)
		want |= SMFIP_NR_CONN;          /* nothing to accept at connect */
	if (rt != NULL && rt->cfg->dont_sign_mail_to != NULL)
		want |= SMFIP_NR_RCPT;
	else
		skip |= SMFIP_NORCPT;
	unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	if ((f0 & SMFIF_SETSYMLIST) != 0) {
		if (milter_ask_macros(ctx, rt != NULL ? rt->cfg : NULL))
			actions |= SMFIF_SETSYMLIST;
		else
			log_msg(LOG_WARNING, "cannot ask the MTA for fewer macros; it sends its defaults");
	}
	runtime_put(rt);
	*pf0 = f0 & actions;
	*pf1 = f1 & (skip | want);
	*pf2 = 0;
	*pf3 = 0;
	conn->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	conn->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
	conn->nr_body = (*pf1 & SMFIP_NR_BODY) != 0;
	conn->nr_conn = (*pf1 & SMFIP_NR_CONN) != 0;
	conn->nr_mail = (*pf1 & SMFIP_NR_MAIL) != 0;
	conn->nr_rcpt = (*pf1 & SMFIP_NR_RCPT) != 0;
	return SMFIS_CONTINUE;
}

static void milter_conn_set_client(milter_conn *conn, const char *hostname,
                                   const struct sockaddr *addr)
{
	snprintf(conn->hostname, sizeof(conn->hostname), "%s",
	         hostname != NULL ? hostname : "");
	conn->has_addr = false;
	if (addr != NULL && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
		size_t len = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
		                                        : sizeof(struct sockaddr_in6);
		memcpy(&conn->addr, addr, len);
		conn->has_addr = true;
	}
}

/* MacroList's view of the MTA's macros (every stage's, at end of headers). */
static const char *milter_macro(void *arg, const char *name)
{
	return smfi_getsymval((SMFICTX *)arg, (char *)name);
}

static policy_client milter_client(const milter_conn *conn, bool authenticated)
{
	policy_client c = {
		.addr = conn->has_addr ? (const struct sockaddr *)&conn->addr : NULL,
		.hostname = conn->hostname[0] != '\0' ? conn->hostname : NULL,
		.authenticated = authenticated,
	};
	return c;
}

/* AuthservID, else the MTA's name (macro j), else our host name. */
static void milter_conn_set_authserv_id(SMFICTX *ctx, milter_conn *conn,
                                        const config *cfg)
{
	const char *id = cfg->authserv_id;
	if (id == NULL)
		id = smfi_getsymval(ctx, "j");
	if (id != NULL && !authres_valid_id(id)) {
		log_msg(LOG_WARNING, "authserv-id '%s' is not a valid RFC 8601 token; using the host name", id);
		id = NULL;
	}
	if (id != NULL) {
		snprintf(conn->authserv_id, sizeof(conn->authserv_id), "%s", id);
	} else if (gethostname(conn->authserv_id, sizeof(conn->authserv_id)) != 0) {
		snprintf(conn->authserv_id, sizeof(conn->authserv_id), "localhost");
	}
	conn->authserv_id[sizeof(conn->authserv_id) - 1] = '\0';
}

static sfsistat mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	milter_conn *conn = milter_conn_get(ctx);
	runtime *rt = runtime_get();
	if (conn == NULL || rt == NULL) {
		runtime_put(rt);
		/* Without a reply here, MAIL fails the same way and the end
		 * of headers gives the temporary failure. */
		return conn != NULL && conn->nr_conn ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
	}
	milter_conn_set_client(conn, hostname, addr);
	milter_conn_set_authserv_id(ctx, conn, rt->cfg);
	policy_client client = milter_client(conn, false);
	bool peer = policy_client_is_peer(rt->cfg, &client);
	bool log_why = rt->cfg->log_why;
	runtime_put(rt);
	if (peer) {
		log_msg(log_why ? LOG_INFO : LOG_DEBUG, "%s: client in PeerList, not processed",
		        conn->hostname[0] != '\0' ? conn->hostname : "(unknown)");
		/* A PeerList added by a reload after negotiation: accepted at
		 * end of headers, the first step we answer. */
		conn->peer = true;
		return conn->nr_conn ? SMFIS_NOREPLY : SMFIS_ACCEPT;
	}
	return conn->nr_conn ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* ---- envelope and headers ----------------------------------------------------- */

static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	milter_conn *conn = milter_conn_get(ctx);
	if (conn == NULL)
		return SMFIS_TEMPFAIL;
	/* Without a reply to MAIL, a failure here leaves no message state and
	 * mlfi_eoh gives the temporary failure. */
	sfsistat tempfail = conn->nr_mail ? SMFIS_NOREPLY : SMFIS_TEMPFAIL;
	milter_conn_end_message(conn);
	if (atomic_load(&milter_shutting_down)) {
		if (!conn->nr_mail)
			smfi_setreply(ctx, "451", "4.3.2", "DKIM filter shutting down, try again later");
		return tempfail;
	}
	milter_msg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return tempfail;
	atomic_fetch_add(&milter_in_flight, 1);
	m->rt = runtime_get();
	conn->msg = m;
	if (m->rt == NULL) {
		milter_conn_end_message(conn);
		return tempfail;
	}
	const char *auth_type = smfi_getsymval(ctx, "{auth_type}");
	const char *auth_authen = smfi_getsymval(ctx, "{auth_authen}");
	m->authenticated = (auth_type != NULL && auth_type[0] != '\0') ||
	                   (auth_authen != NULL && auth_authen[0] != '\0');
	/* A connect macro (Postfix sends it by default); for MTA. */
	const char *daemon = smfi_getsymval(ctx, "{daemon_name}");
	if (daemon != NULL && (m->daemon_name = strdup(daemon)) == NULL) {
		milter_conn_end_message(conn);
		return tempfail;
	}
	(void)milter_qid(ctx, m);
	return conn->nr_mail ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/*
 * DontSignMailTo: decided as each recipient arrives, so a message with
 * thousands of them costs one boolean, not a list. Only asked for when
 * DontSignMailTo was configured at negotiation (a reload that adds it
 * applies to connections opened after).
 */
static sfsistat mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	milter_conn *conn = milter_conn_get(ctx);
	milter_msg *m = conn != NULL ? conn->msg : NULL;
	sfsistat reply = conn != NULL && conn->nr_rcpt ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	if (m != NULL && !m->no_sign_rcpt && argv != NULL && argv[0] != NULL)
		m->no_sign_rcpt = policy_rcpt_no_sign(m->rt->cfg, argv[0]);
	return reply;
}

/*
 * DATA: nothing to do but answer, so that the MTA's last write before the
 * message is one a reply (and the TCP ACK on it) follows (mlfi_negotiate).
 */
static sfsistat mlfi_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static bool milter_note_ar(milter_msg *m, const milter_conn *conn, const char *value)
{
	m->nar++;
	if (!m->rt->cfg->verify || !policy_ar_forged(m->rt->cfg, conn->authserv_id, value))
		return true;
	size_t *v = realloc(m->ar_remove, (m->nremove + 1) * sizeof(*v));
	if (v == NULL)
		return false;
	m->ar_remove = v;
	m->ar_remove[m->nremove++] = m->nar;
	return true;
}

/* The engine's message, made when the first field arrives (or at end of
 * headers for a message without any): its clock starts there, not at MAIL. */
static bool milter_engine(milter_msg *m)
{
	if (m->dkim != NULL)
		return true;
	dkim_options opts;
	config_dkim_options(m->rt->cfg, &opts);
	m->dkim = dkim_msg_new(&opts, &m->err);
	return m->dkim != NULL;
}

/*
 * Gives the field to the engine, which keeps the only copy of the header
 * block (policy reads it there at end of headers). Its value as sent,
 * with the space after the colon put back when the MTA strips it.
 * config_dkim_options lets one field and the field count take the whole
 * MaximumHeaders block, so a limit the engine hits is always the block's.
 * Another refusal (a field without a name) is acted upon at end of
 * headers, and only if the message is signed or verified, as the engine
 * would have refused it then.
 */
static void milter_feed_header(milter_msg *m, const milter_conn *conn,
                               const char *name, const char *value)
{
	if (!milter_engine(m)) {
		m->failed = true;
		return;
	}
	dkim_error err;
	dkim_status st = conn->leadspc ? dkim_msg_header(m->dkim, name, value, &err)
	                               : dkim_msg_header_unspaced(m->dkim, name, value, &err);
	if (st == DKIM_ERR_LIMIT) {
		m->too_big = true;
	} else if (st == DKIM_ERR_NOMEM) {
		m->failed = true;
		m->err = err;
	} else if (st != DKIM_OK && m->header_st == DKIM_OK) {
		m->header_st = st;      /* the first refusal is the one reported */
		m->err = err;
	}
}

static sfsistat mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	milter_conn *conn = milter_conn_get(ctx);
	sfsistat reply = conn != NULL && conn->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	milter_msg *m = conn != NULL ? conn->msg : NULL;
	if (m == NULL || m->failed)
		return reply;
	if (!m->too_big)
		milter_feed_header(m, conn, name, value);
	/* Past the limit (acted upon at end of headers) nothing is kept, but
	 * forged Authentication-Results are still counted, to be removed if
	 * the message gets through (On-Security accept). */
	if (strcasecmp(name, MILTER_AR_NAME) == 0) {
		if (!milter_note_ar(m, conn, value)) {
			m->failed = true;
			dkim_error_nomem(&m->err);
		}
	} else if (!m->too_big && policy_is_signature_field(name)) {
		m->nsig++;
	}
	return reply;
}

/* The engine's fields as policy reads them: pointers into its copy. */
static bool milter_header_view(milter_msg *m)
{
	size_t n = dkim_msg_header_count(m->dkim);
	m->hdrs = malloc((n + 1) * sizeof(*m->hdrs));
	if (m->hdrs == NULL)
		return false;
	for (m->nhdrs = 0; m->nhdrs < n; m->nhdrs++) {
		policy_header *h = &m->hdrs[m->nhdrs];
		(void)dkim_msg_header_get(m->dkim, m->nhdrs, &h->name, &h->value);
	}
	return true;
}

/* ---- end of headers: the decision -------------------------------------------- */

/* The h= list for this message and each signer's request to the engine. */
static dkim_status milter_add_signers(milter_msg *m)
{
	const config *cfg = m->rt->cfg;
	const char **names = malloc((m->nhdrs + 1) * sizeof(*names)), **h = NULL;
	size_t nh = 0;
	if (names == NULL) {
		return dkim_error_nomem(&m->err);
	}
	for (size_t i = 0; i < m->nhdrs; i++)
		names[i] = m->hdrs[i].name;
	dkim_status st = policy_sign_headers(cfg, names, m->nhdrs, &h, &nh, &m->err);
	for (size_t i = 0; st == DKIM_OK && i < m->signers.count; i++) {
		const policy_signer *s = &m->signers.v[i];
		dkim_sign_params p = {
			.key = s->key, .alg = s->alg, .domain = s->domain,
			.selector = s->selector, .identity = s->identity,
			.header_canon = cfg->header_canon, .body_canon = cfg->body_canon,
			.headers = h, .nheaders = nh, .timestamp = true,
			.expire_after = cfg->signature_ttl,
		};
		if (dkim_msg_add_signer(m->dkim, &p, &m->err) < 0)
			st = m->err.status;
	}
	free(h);
	free(names);
	return st;
}

/* The resolver's lookup, counted (one outcome per signature). */
static void milter_lookup(void *resolver, dkim_key_query *queries, size_t n)
{
	dkim_resolver_lookup(resolver, queries, n);
	for (size_t i = 0; i < n; i++)
		metrics_dns_lookup(queries[i].status);
}

/* The engine, which has the header block: signers, verification, ARC,
 * then end of headers. */
static dkim_status milter_start_dkim(milter_msg *m)
{
	dkim_status st = m->header_st;
	if (st == DKIM_OK && m->decision.sign)
		st = milter_add_signers(m);
	if (st == DKIM_OK && m->decision.verify)
		st = dkim_msg_verify(m->dkim, milter_lookup, runtime_resolver(m->rt), &m->err);
	if (st == DKIM_OK)
		st = arcseal_start(&m->arc, m->rt->cfg, m->dkim, m->hdrs, m->nhdrs,
		                   milter_lookup, runtime_resolver(m->rt), &m->err);
	if (st == DKIM_OK)
		st = dkim_msg_eoh(m->dkim, &m->err);
	m->started = st == DKIM_OK;
	return st;
}

/* The one line for a message we leave alone (LogWhy), or that an external
 * host sent as one of our signing domains (unless ExternalIgnoreList). */
static void milter_log_skip(SMFICTX *ctx, const milter_conn *conn, milter_msg *m)
{
	if (!m->rt->cfg->log_why && !m->decision.log_external)
		return;
	log_msg(m->decision.log_external ? LOG_NOTICE : LOG_INFO,
	        "%s: not signed or verified: %s%s%s%s", milter_qid(ctx, m),
	        policy_why_text(m->decision.why),
	        m->decision.log_external ? " (external host " : "",
	        m->decision.log_external ? conn->hostname : "",
	        m->decision.log_external ? " sent as a signing domain)" : "");
}

/*
 * A message too malformed to verify (policy_message_malformed): as
 * OpenDKIM, its body is not evaluated and it gets "dkim=permerror (bad
 * message/signature format)" at the end, accepted whatever the On-*
 * settings; with IgnoreMalformedMail it is accepted now, unless forged
 * Authentication-Results fields must still go.
 */
static sfsistat milter_eoh_malformed(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	if (m->rt->cfg->ignore_malformed && m->nremove == 0) {
		if (m->rt->cfg->log_why)
			log_msg(LOG_INFO, "%s: not signed or verified: malformed message "
			        "(IgnoreMalformedMail)", milter_qid(ctx, m));
		milter_conn_end_message(conn);
		return SMFIS_ACCEPT;
	}
	m->malformed = true;
	return SMFIS_CONTINUE;
}

/*
 * A header block over MaximumHeaders: On-Security. When that lets an
 * inbound message through (accept, quarantine), it still gets a result,
 * "dkim=permerror (header block over MaximumHeaders)", never silence:
 * padding the header must not switch verification off unseen.
 */
static sfsistat milter_eoh_too_big(SMFICTX *ctx, milter_conn *conn, bool internal)
{
	milter_msg *m = conn->msg;
	config_action action = verdict_action(m->rt->cfg, VERDICT_SECURITY);
	if (!m->rt->cfg->verify || internal ||
	    (action != CONFIG_ACT_ACCEPT && action != CONFIG_ACT_QUARANTINE))
		return milter_fail(ctx, conn, VERDICT_SECURITY, "header block over MaximumHeaders");
	m->malformed = m->oversized = true;
	return SMFIS_CONTINUE;
}

static void milter_log_message(SMFICTX *ctx, const milter_conn *conn, milter_msg *m,
                               config_action action, const dkim_sig_result *r);

/*
 * A verdict the end of headers already knows (policy_eoh_action): every
 * signature fails to parse and On-BadSignature refuses the message. Given
 * now, as OpenDKIM does, so that the MTA does not send the body; logged
 * and counted as at the end of a message.
 */
static sfsistat milter_eoh_decided(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	const dkim_sig_result *top = NULL;
	config_action action;
	if (!policy_eoh_action(m->rt->cfg, &m->decision,
	                       dkim_msg_eoh_unparsable(m->dkim, &top), &action))
		return SMFIS_CONTINUE;
	milter_log_message(ctx, conn, m, action, top);
	metrics_verify_result(DKIM_RESULT_PERMERROR, VERDICT_BAD_SIGNATURE);
	milter_count(m, action);
	sfsistat st = milter_act(ctx, action, VERDICT_BAD_SIGNATURE);
	milter_conn_end_message(conn);
	return st;
}

static sfsistat mlfi_eoh(SMFICTX *ctx)
{
	milter_conn *conn = milter_conn_get(ctx);
	milter_msg *m = conn != NULL ? conn->msg : NULL;
	if (conn != NULL && conn->peer) {
		milter_count(NULL, CONFIG_ACT_ACCEPT);
		milter_conn_end_message(conn);
		return SMFIS_ACCEPT;
	}
	if (m == NULL) {   /* mlfi_envfrom failed (maybe unanswered) */
		milter_count(NULL, CONFIG_ACT_TEMPFAIL);
		if (atomic_load(&milter_shutting_down))
			smfi_setreply(ctx, "451", "4.3.2", "DKIM filter shutting down, try again later");
		return SMFIS_TEMPFAIL;
	}
	/* gather: the client as the MTA described it */
	policy_client client = milter_client(conn, m->authenticated);
	client.daemon_name = m->daemon_name;
	client.macro_listed = policy_macro_listed(m->rt->cfg, milter_macro, ctx);
	if (m->too_big)
		return milter_eoh_too_big(ctx, conn,
		                          policy_client_is_internal(m->rt->cfg, &client));
	if (m->failed || !milter_engine(m) || !milter_header_view(m))
		return milter_fail(ctx, conn, VERDICT_INTERNAL,
		                   m->err.message[0] != '\0' ? m->err.message : "out of memory");
	/* policy: the decision and the signers */
	policy_evaluation ev;
	if (policy_evaluate(m->rt->cfg, &client, m->hdrs, m->nhdrs, m->no_sign_rcpt,
	                    &ev, &m->err) != DKIM_OK)
		return milter_fail(ctx, conn, milter_engine_cause(m, true), m->err.message);
	m->decision = ev.decision;
	m->signers = ev.signers;
	if (m->decision.verify &&
	    policy_message_malformed(m->rt->cfg, m->hdrs, m->nhdrs, ev.have_sender))
		return milter_eoh_malformed(ctx, conn);
	arcseal_plan(m->rt->cfg, &m->decision, ev.internal, m->hdrs, m->nhdrs,
	             conn->authserv_id, client.addr, &m->arc);
	if (!m->decision.sign && !m->decision.verify && !m->arc.seal && m->nremove == 0) {
		milter_log_skip(ctx, conn, m);
		milter_count(m, CONFIG_ACT_ACCEPT);
		milter_conn_end_message(conn);
		return SMFIS_ACCEPT;
	}
	/* engine: the signers, on the header block it already has */
	dkim_status st = milter_start_dkim(m);
	if (st != DKIM_OK)
		return milter_fail(ctx, conn, milter_engine_cause(m, m->decision.sign),
		                   m->err.message);
	return milter_eoh_decided(ctx, conn);
}

/* ---- body ----------------------------------------------------------------------- */

static sfsistat mlfi_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	milter_conn *conn = milter_conn_get(ctx);
	sfsistat reply = conn != NULL && conn->nr_body ? SMFIS_NOREPLY : SMFIS_CONTINUE;
	milter_msg *m = conn != NULL ? conn->msg : NULL;
	if (m == NULL || m->failed || !m->started)
		return reply;
	if (dkim_msg_body(m->dkim, data, len, &m->err) != DKIM_OK)
		m->failed = true;   /* acted upon at end of message */
	return reply;
}

/* ---- end of message: act and report ------------------------------------------ */

/* The value we insert: verbatim when the MTA keeps leading space, else the
 * MTA adds the space itself. */
static bool milter_insert(SMFICTX *ctx, const milter_conn *conn, const char *name,
                          const char *value)
{
	char *v = NULL;
	if (asprintf(&v, "%s%s", conn->leadspc ? " " : "", value) < 0)
		return false;
	bool ok = smfi_insheader(ctx, 0, (char *)name, v) == MI_SUCCESS;
	free(v);
	return ok;
}

/*
 * DKIM-Signature fields at the top, each inserted at index 0 in signer
 * (SigningTable match) order, as OpenDKIM does: the last match ends up
 * topmost.
 */
static bool milter_add_signatures(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	for (size_t i = 0; i < m->signers.count; i++) {
		const char *sig = dkim_msg_signature(m->dkim, (int)i, "\n");
		if (sig == NULL || !milter_insert(ctx, conn, "DKIM-Signature", sig))
			return false;
		metrics_signature(m->signers.v[i].alg);
	}
	return true;
}

/*
 * Removes the Authentication-Results fields that claim our authserv-id.
 * From the highest index down: each deletion renumbers the fields after it
 * in the MTA (CVE-2022-48521 was deleting in ascending order).
 */
static bool milter_remove_forged_ar(SMFICTX *ctx, milter_msg *m)
{
	for (size_t i = m->nremove; i-- > 0;) {
		if (smfi_chgheader(ctx, MILTER_AR_NAME, (int)m->ar_remove[i], NULL) != MI_SUCCESS)
			return false;
	}
	return true;
}

/*
 * RemoveOldSignatures: the message's DKIM-Signature fields go when we sign
 * it (policy_sign_headers kept them out of h=). Before ours are inserted,
 * so that the indexes still name theirs; from the highest index down, as
 * for Authentication-Results, because each deletion renumbers the rest.
 */
static bool milter_remove_old_signatures(SMFICTX *ctx, milter_msg *m)
{
	if (!m->decision.sign || !m->rt->cfg->remove_old_signatures)
		return true;
	for (size_t i = m->nsig; i > 0; i--) {
		if (smfi_chgheader(ctx, "DKIM-Signature", (int)i, NULL) != MI_SUCCESS)
			return false;
		m->nsig_removed++;
	}
	return true;
}

/* The engine's results as a list, topmost signature first. */
static const dkim_sig_result **milter_results(const dkim_msg *dkim, size_t *n)
{
	*n = dkim_msg_result_count(dkim);
	const dkim_sig_result **list = calloc(*n + 1, sizeof(*list));
	for (size_t i = 0; list != NULL && i < *n; i++)
		list[i] = dkim_msg_result(dkim, i);
	return list;
}

static verdict_cause milter_verdict(const dkim_msg *dkim, size_t *decisive)
{
	size_t n;
	const dkim_sig_result **list = milter_results(dkim, &n);
	*decisive = 0;
	if (list == NULL)
		return VERDICT_INTERNAL;
	verdict_cause cause = verdict_from_results(list, n, decisive);
	free(list);
	return cause;
}

static bool milter_add_ar(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	size_t n;
	const dkim_sig_result **list = milter_results(m->dkim, &n);
	if (list == NULL)
		return false;
	authres_arc arc;
	const authres_arc *arc_r = m->arc.report ? arcseal_ar(&m->arc, m->dkim, &arc) : NULL;
	/* no signature and no ARC chain: nothing to say, unless asked */
	if (n == 0 && !m->rt->cfg->always_add_ar &&
	    (arc_r == NULL || arc_r->result == DKIM_ARC_NONE)) {
		free(list);
		return true;
	}
	/* AuthservIDWithJobID: the MTA's queue id, when it gave a usable one
	 * (authres_format_job leaves out anything but token characters). */
	const char *job = m->rt->cfg->authserv_id_with_jobid && m->qid[0] != '\0' ? m->qid : NULL;
	char *value = authres_format_arc(conn->authserv_id, job, list, n, arc_r, "\n\t");
	free(list);
	bool ok = value != NULL && milter_insert(ctx, conn, MILTER_AR_NAME, value);
	free(value);
	return ok;
}

/* ---- the log line ------------------------------------------------------------- */

/* The one line per message (msglog.h says when and what). */
static void milter_log_message(SMFICTX *ctx, const milter_conn *conn, milter_msg *m,
                               config_action action, const dkim_sig_result *r)
{
	const config *cfg = m->rt->cfg;
	msglog_facts f = {
		.qid = milter_qid(ctx, m), .action = action,
		.decision = &m->decision, .signers = &m->signers, .result = r,
		.ar_removed = m->nremove, .sig_removed = m->nsig_removed,
		.client_host = conn->hostname,
		.log_why = cfg->log_why && cfg->sign,
		.log_success = cfg->syslog_success || log_is_verbose(),
	};
	char line[1024];
	int prio = msglog_format(&f, line, sizeof(line));
	if (prio >= 0)
		log_msg(prio, "%s", line);
}

/*
 * OpenDKIM's line for each signature added, word for word: log monitors
 * (Prometheus' postfix_exporter, many greps) count it. Written whatever
 * SyslogSuccess says, as OpenDKIM does; our own line follows.
 */
static void milter_log_signatures(SMFICTX *ctx, milter_msg *m)
{
	for (size_t i = 0; m->decision.sign && i < m->signers.count; i++)
		log_msg(LOG_INFO, "%s: DKIM-Signature field added (s=%s, d=%s)",
		        milter_qid(ctx, m), m->signers.v[i].selector, m->signers.v[i].domain);
}

/* ---- end of message ------------------------------------------------------------ */

/* SoftwareHeader: who processed the message (as OpenDKIM's DKIM-Filter). */
static bool milter_add_software_header(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	if (!m->rt->cfg->software_header || (!m->decision.sign && !m->decision.verify))
		return true;
	char value[512];
	snprintf(value, sizeof(value), "dkimd (OpenDKIM compatible) v%s %s %s",
	         MILTER_VERSION, conn->authserv_id, milter_qid(ctx, m));
	return milter_insert(ctx, conn, "DKIM-Filter", value);
}

static sfsistat milter_eom_act(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	if (!milter_add_software_header(ctx, conn))
		return milter_fail(ctx, conn, VERDICT_INTERNAL, "cannot add DKIM-Filter");
	if (!milter_remove_old_signatures(ctx, m))
		return milter_fail(ctx, conn, VERDICT_INTERNAL, "cannot remove old DKIM-Signature");
	if (m->decision.sign && !milter_add_signatures(ctx, conn))
		return milter_fail(ctx, conn, VERDICT_INTERNAL, "cannot add DKIM-Signature");
	milter_log_signatures(ctx, m);
	if (!milter_remove_forged_ar(ctx, m))
		return milter_fail(ctx, conn, VERDICT_INTERNAL,
		                   "cannot remove forged Authentication-Results");
	if (m->decision.verify && !milter_add_ar(ctx, conn))
		return milter_fail(ctx, conn, VERDICT_INTERNAL, "cannot add Authentication-Results");
	bool sealed = false;
	if (!arcseal_insert(&m->arc, m->dkim, ctx, conn->leadspc, &sealed))
		return milter_fail(ctx, conn, VERDICT_INTERNAL, "cannot add the ARC set");
	if (sealed)
		log_msg(LOG_INFO, "%s: ARC set added (d=%s, s=%s)", milter_qid(ctx, m),
		        m->rt->cfg->arc_key->domain, m->rt->cfg->arc_key->selector);
	size_t decisive = 0;
	verdict_cause cause = VERDICT_PASS;
	if (m->decision.verify)
		cause = milter_verdict(m->dkim, &decisive);
	config_action action = m->decision.verify ? verdict_action(m->rt->cfg, cause)
	                                          : CONFIG_ACT_ACCEPT;
	const dkim_sig_result *r = m->decision.verify ? dkim_msg_result(m->dkim, decisive) : NULL;
	milter_log_message(ctx, conn, m, action, r);
	if (m->decision.verify)
		metrics_verify_result(r != NULL ? r->result : DKIM_RESULT_NONE, cause);
	milter_count(m, action);
	return milter_act(ctx, action, cause);
}

/* The end of a malformed or oversized message (milter_eoh_malformed,
 * milter_eoh_too_big): the permerror result, forged fields removed. */
static sfsistat milter_eom_malformed(SMFICTX *ctx, milter_conn *conn)
{
	milter_msg *m = conn->msg;
	const char *why = m->oversized ? "header block over MaximumHeaders"
	                               : "bad message/signature format";
	bool quiet = !m->oversized && m->rt->cfg->ignore_malformed;
	config_action action = m->oversized ? verdict_action(m->rt->cfg, VERDICT_SECURITY)
	                                    : CONFIG_ACT_ACCEPT;
	if (!milter_remove_forged_ar(ctx, m))
		return milter_fail(ctx, conn, VERDICT_INTERNAL,
		                   "cannot remove forged Authentication-Results");
	if (!quiet) {
		char *value = NULL;
		bool ok = asprintf(&value, "%s;\n\tdkim=permerror (%s)", conn->authserv_id, why) >= 0 &&
		          milter_insert(ctx, conn, MILTER_AR_NAME, value);
		free(value);
		if (!ok)
			return milter_fail(ctx, conn, VERDICT_INTERNAL,
			                   "cannot add Authentication-Results");
	}
	log_msg(LOG_NOTICE, "%s: action=%s result=permerror reason=\"%s\"%s%s",
	        milter_qid(ctx, m), config_action_name(action), why,
	        quiet ? " (IgnoreMalformedMail)" : "",
	        m->nremove > 0 ? " removed forged Authentication-Results" : "");
	milter_count(m, action);
	return milter_act(ctx, action, VERDICT_SECURITY);
}

static sfsistat mlfi_eom(SMFICTX *ctx)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	milter_conn *conn = milter_conn_get(ctx);
	milter_msg *m = conn != NULL ? conn->msg : NULL;
	if (m == NULL)
		return SMFIS_ACCEPT;   /* accepted earlier: nothing to do */
	(void)milter_qid(ctx, m);
	sfsistat st;
	if (m->malformed && !m->failed) {
		st = milter_eom_malformed(ctx, conn);
		milter_conn_end_message(conn);
	} else if (m->failed || !m->started) {
		st = milter_fail(ctx, conn, VERDICT_INTERNAL,
		                 m->err.message[0] != '\0' ? m->err.message : "no message state");
	} else if (dkim_msg_eom(m->dkim, &m->err) != DKIM_OK) {
		st = milter_fail(ctx, conn, milter_engine_cause(m, m->decision.sign), m->err.message);
	} else {
		st = milter_eom_act(ctx, conn);
		milter_conn_end_message(conn);
	}
	metrics_eom_done(&start);
	return st;
}

/* ---- the end ---------------------------------------------------------------------- */

static sfsistat mlfi_abort(SMFICTX *ctx)
{
	milter_conn_end_message(smfi_getpriv(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat mlfi_close(SMFICTX *ctx)
{
	milter_conn *conn = smfi_getpriv(ctx);
	milter_conn_end_message(conn);
	if (conn != NULL)
		metrics_connection_close();
	free(conn);
	smfi_setpriv(ctx, NULL);
	/*
	 * libmilter's worker threads come and go under its own control, and
	 * OpenSSL's automatic per-thread cleanup misses some of them at exit
	 * (their error queue and private DRBG leak; LeakSanitizer sees it).
	 * Releasing the thread's OpenSSL state when a connection ends is
	 * cheap, and OpenSSL sets it up again if the thread signs later.
	 */
	OPENSSL_thread_stop();
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
	.xxfi_name = "opendkim",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = mlfi_connect,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_data = mlfi_data,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};
