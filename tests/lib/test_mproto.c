/*
 * test_mproto.c - tests/lib/mproto.c and mproto_msg.c: the MTA side of the
 * milter protocol against a scripted milter on the other end of a
 * socketpair (its replies are queued before the client reads them), and
 * the message model the clients change and write.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mproto.h"
#include "mproto_msg.h"

/* SMFIF_ADDHDRS | SMFIF_CHGHDRS (libmilter/mfapi.h) */
#define TEST_ACTIONS 0x11u

static int peer = -1;       /* the scripted milter's end */
static mproto_conn conn;

/* ---- the scripted milter --------------------------------------------------- */

static void put_raw(const void *data, size_t len)
{
	cr_assert_eq(write(peer, data, len), (ssize_t)len);
}

static void put(char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);
	put_raw(&n, 4);
	put_raw(&cmd, 1);
	if (len > 0)
		put_raw(data, len);
}

/* Reads the next packet the client sent; its data NUL-terminated in buf. */
static char get(char *buf, size_t size, size_t *len)
{
	uint32_t n;
	char cmd;
	cr_assert_eq(recv(peer, &n, 4, MSG_WAITALL), 4);
	*len = ntohl(n) - 1;
	cr_assert_lt(*len, size);
	cr_assert_eq(recv(peer, &cmd, 1, MSG_WAITALL), 1);
	if (*len > 0)
		cr_assert_eq(recv(peer, buf, *len, MSG_WAITALL), (ssize_t)*len);
	buf[*len] = '\0';
	return cmd;
}

/* Nothing more was sent. */
static void none_sent(void)
{
	char c;
	cr_assert_eq(recv(peer, &c, 1, MSG_DONTWAIT), -1, "unexpected bytes from the client");
}

static void put_optneg(uint32_t version, uint32_t actions, uint32_t proto)
{
	uint32_t v[3] = { htonl(version), htonl(actions), htonl(proto) };
	put(SMFIC_OPTNEG, v, sizeof(v));
}

/* Negotiates with the milter asking for proto, the client's settings
 * those of set (offer and timeout filled in); true when the client agreed. */
static bool start_with(uint32_t version, uint32_t proto, mproto_settings set)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer = sv[1];
	put_optneg(version, TEST_ACTIONS, proto);
	set.offer_prot = MPROTO_POSTFIX_PROT;
	set.timeout_ms = 300;
	bool ok = mproto_attach(&conn, sv[0], &set);
	char buf[64];
	size_t len;
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_OPTNEG);
	cr_assert_eq(len, 12);
	uint32_t v[3];
	memcpy(v, buf, sizeof(v));
	cr_assert_eq(ntohl(v[0]), SMFI_PROT_VERSION);
	cr_assert_eq(ntohl(v[1]), SMFI_CURR_ACTS);
	cr_assert_eq(ntohl(v[2]), MPROTO_POSTFIX_PROT);
	return ok;
}

static bool start(uint32_t version, uint32_t proto)
{
	return start_with(version, proto, (mproto_settings){ .quick_ack = false });
}

static void teardown(void)
{
	mproto_close(&conn, false);
	if (peer >= 0)
		close(peer);
	peer = -1;
}

static void error_has(const char *what)
{
	cr_assert(strstr(conn.error, what) != NULL, "error \"%s\", want \"%s\"", conn.error, what);
}

TestSuite(mproto, .fini = teardown);

/* ---- negotiation ------------------------------------------------------------ */

Test(mproto, negotiation_takes_the_milters_bits)
{
	cr_assert(start(6, SMFIP_NR_HDR | SMFIP_HDR_LEADSPC), "%s", conn.error);
	cr_assert_eq(conn.proto, SMFIP_NR_HDR | SMFIP_HDR_LEADSPC);
	cr_assert_eq(conn.actions, TEST_ACTIONS);
}

Test(mproto, negotiation_refuses_bits_not_offered)
{
	cr_assert_not(start(6, SMFIP_MDS_1M));
	error_has("not offered");
}

Test(mproto, negotiation_refuses_unknown_versions)
{
	cr_assert_not(start(1, 0));
	error_has("version 1");
	teardown();
	cr_assert_not(start(7, 0));
	error_has("version 7");
}

Test(mproto, negotiation_reply_shorter_than_three_words)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer = sv[1];
	put(SMFIC_OPTNEG, "\0\0\0\6\0\0\0\0", 8);
	mproto_settings set = { .offer_prot = MPROTO_POSTFIX_PROT, .timeout_ms = 300 };
	cr_assert_not(mproto_attach(&conn, sv[0], &set));
	error_has("bad negotiation reply");
}

/* ---- steps ------------------------------------------------------------------ */

Test(mproto, skipped_steps_are_not_sent_and_no_reply_steps_not_awaited)
{
	cr_assert(start(6, SMFIP_NOCONNECT | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NOBODY));
	static const char *const macros[] = { "j", "mx.example.net" };
	mproto_reply r;
	cr_assert(mproto_connect(&conn, macros, 2, "[192.0.2.1]", "192.0.2.1", 25, &r));
	cr_assert_eq(r.code, SMFIR_CONTINUE);
	cr_assert(mproto_helo(&conn, "client.example", &r), "%s", conn.error);
	cr_assert_eq(r.code, SMFIR_CONTINUE);
	cr_assert(mproto_header(&conn, "Subject", " hi", &r), "%s", conn.error);
	cr_assert(mproto_body(&conn, "x\r\n", 3, MILTER_CHUNK_SIZE, &r), "%s", conn.error);
	cr_assert_eq(r.code, SMFIR_CONTINUE);
	cr_assert(mproto_flush(&conn));

	char buf[256];
	size_t len;
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_HELO);
	cr_assert_str_eq(buf, "client.example");
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_HEADER);
	cr_assert_eq(len, 11);
	cr_assert(memcmp(buf, "Subject\0hi\0", 11) == 0, "no HDR_LEADSPC: space dropped");
	none_sent();
}

Test(mproto, macros_always_sends_a_skipped_steps_macros_as_postfix_does)
{
	cr_assert(start_with(6, SMFIP_NORCPT | SMFIP_NODATA,
	                     (mproto_settings){ .macros_always = true }), "%s", conn.error);
	const char *rcpt[] = { "{rcpt_addr}", "b@example.net" };
	const char *data[] = { "i", "QID" };
	mproto_reply r;
	cr_assert(mproto_rcpt(&conn, rcpt, 2, "b@example.net", &r), "%s", conn.error);
	cr_assert_eq(r.code, SMFIR_CONTINUE);
	cr_assert(mproto_data(&conn, data, 2, &r), "%s", conn.error);
	cr_assert_eq(r.code, SMFIR_CONTINUE);
	cr_assert(mproto_macro(&conn, SMFIC_HELO, NULL, 0), "%s", conn.error);
	none_sent();   /* buffered until a read or a flush */
	cr_assert(mproto_flush(&conn));

	char buf[256];
	size_t len;
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_MACRO);
	cr_assert(len == 27 && memcmp(buf, "R{rcpt_addr}\0b@example.net\0", 27) == 0);
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_MACRO);
	cr_assert(len == 7 && memcmp(buf, "Ti\0QID\0", 7) == 0, "DATA's macros, not DATA");
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_MACRO);
	cr_assert(len == 1 && buf[0] == SMFIC_HELO, "an empty macro packet");
	none_sent();
}

Test(mproto, write_each_writes_every_packet_at_once)
{
	cr_assert(start_with(6, SMFIP_NR_HDR, (mproto_settings){ .write_each = true }),
	          "%s", conn.error);
	mproto_reply r;
	char buf[64];
	size_t len;
	cr_assert(mproto_header(&conn, "Subject", " hi", &r), "%s", conn.error);
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_HEADER, "no flush needed");
	cr_assert(mproto_header(&conn, "To", " b", &r), "%s", conn.error);
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_HEADER);
	none_sent();
}

Test(mproto, a_step_with_macros_and_a_replycode)
{
	cr_assert(start(6, 0));
	put(SMFIR_PROGRESS, NULL, 0);
	put(SMFIR_REPLYCODE, "550 5.7.1 no\0", 13);
	const char *macros[] = { "i", "QID", "{auth_authen}", NULL };
	mproto_reply r;
	cr_assert(mproto_mail(&conn, macros, 4, "a@example.com", &r), "%s", conn.error);
	cr_assert_eq(r.code, SMFIR_REPLYCODE);
	cr_assert_str_eq(r.text, "550 5.7.1 no");

	char buf[256];
	size_t len;
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_MACRO);
	cr_assert_eq(len, 7, "stage, i, QID; the NULL pair left out");
	cr_assert(memcmp(buf, "Mi\0QID\0", 7) == 0);
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_MAIL);
	cr_assert_str_eq(buf, "<a@example.com>");
	none_sent();
}

Test(mproto, the_body_goes_in_chunks_and_skip_reads_as_continue)
{
	cr_assert(start(6, 0));
	put(SMFIR_CONTINUE, NULL, 0);
	put(SMFIR_SKIP, NULL, 0);
	mproto_reply r;
	cr_assert(mproto_body(&conn, "0123456789", 10, 4, &r), "%s", conn.error);
	cr_assert_eq(r.code, SMFIR_CONTINUE);
	char buf[16];
	size_t len;
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_BODY);
	cr_assert_str_eq(buf, "0123");
	cr_assert_eq(get(buf, sizeof(buf), &len), SMFIC_BODY);
	cr_assert_str_eq(buf, "4567");
	none_sent();
}

Test(mproto, a_reply_that_makes_no_sense_at_a_step)
{
	cr_assert(start(6, 0));
	put(SMFIR_ADDHEADER, "X\0y\0", 4);
	mproto_reply r;
	cr_assert_not(mproto_helo(&conn, "client.example", &r));
	error_has("unexpected reply 'h'");
}

Test(mproto, no_reply_is_a_timeout)
{
	cr_assert(start(6, 0));
	mproto_reply r;
	cr_assert_not(mproto_helo(&conn, "client.example", &r));
	error_has("timeout");
}

Test(mproto, a_closed_connection_is_an_error_not_a_signal)
{
	cr_assert(start(6, 0));
	close(peer);
	peer = -1;
	mproto_reply r;
	cr_assert_not(mproto_helo(&conn, "client.example", &r));
	cr_assert(strstr(conn.error, "Broken pipe") != NULL ||
	          strstr(conn.error, "connection closed") != NULL, "%s", conn.error);
}

/* ---- packet lengths ---------------------------------------------------------- */

static void bad_length(uint32_t plen)
{
	cr_assert(start(6, 0));
	uint32_t n = htonl(plen);
	put_raw(&n, 4);
	mproto_reply r;
	cr_assert_not(mproto_helo(&conn, "client.example", &r));
	error_has("bad packet length");
	teardown();
}

Test(mproto, packet_lengths_are_checked_before_reading)
{
	bad_length(0);
	bad_length(MPROTO_MAX_PACKET + 1);
	bad_length(UINT32_MAX);
}

/* ---- end of message ------------------------------------------------------------ */

Test(mproto, end_of_message_modifications_parsed)
{
	cr_assert(start(6, 0));
	put(SMFIR_INSHEADER, "\0\0\0\0DKIM-Signature\0v=1\0", 23);
	put(SMFIR_CHGHEADER, "\0\0\0\2Subject\0\0", 13);
	put(SMFIR_PROGRESS, NULL, 0);
	put(SMFIR_REPLBODY, "new\r\n", 5);
	put(SMFIR_ACCEPT, NULL, 0);
	const char *macros[] = { "i", "QID" };
	cr_assert(mproto_eom(&conn, macros, 2));
	mproto_mod m;
	cr_assert(mproto_eom_next(&conn, &m), "%s", conn.error);
	cr_assert_eq(m.cmd, SMFIR_INSHEADER);
	cr_assert_eq(m.index, 0);
	cr_assert_str_eq(m.name, "DKIM-Signature");
	cr_assert_str_eq(m.value, "v=1");
	cr_assert(mproto_eom_next(&conn, &m));
	cr_assert_eq(m.cmd, SMFIR_CHGHEADER);
	cr_assert_eq(m.index, 2);
	cr_assert_str_eq(m.name, "Subject");
	cr_assert_str_eq(m.value, "");
	cr_assert(mproto_eom_next(&conn, &m));
	cr_assert_eq(m.cmd, SMFIR_REPLBODY);
	cr_assert_eq(m.len, 5);
	cr_assert(mproto_eom_next(&conn, &m));
	cr_assert(mproto_is_final(m.cmd));
	cr_assert_eq(m.cmd, SMFIR_ACCEPT);
}

static void bad_mod(char cmd, const char *data, size_t len, const char *why)
{
	cr_assert(start(6, 0));
	put(cmd, data, len);
	cr_assert(mproto_eom(&conn, NULL, 0));
	mproto_mod m;
	cr_assert_not(mproto_eom_next(&conn, &m), "'%c' %zu bytes accepted", cmd, len);
	error_has(why);
	teardown();
}

Test(mproto, malformed_modifications_refused)
{
	bad_mod(SMFIR_INSHEADER, "\0\0\0", 3, "short");
	bad_mod(SMFIR_CHGHEADER, "\0\0\0\1", 4, "malformed");
	bad_mod(SMFIR_ADDHEADER, "X-Name", 6, "malformed");
	bad_mod(SMFIR_ADDHEADER, "\0value\0", 7, "malformed");
	bad_mod(SMFIR_ADDHEADER, "X-Name\0value", 12, "without its NUL");
	bad_mod(SMFIR_SETSYMLIST, "x", 1, "unexpected reply 'l'");
}

/* ---- the message ------------------------------------------------------------------ */

static void load(mproto_msg *m, const char *text)
{
	char path[] = "/tmp/test_mproto.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char err[256];
	bool ok = mproto_msg_load(m, path, err, sizeof(err));
	unlink(path);
	cr_assert(ok, "%s", err);
}

static void written(const mproto_msg *m, const char *want)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert(mproto_msg_write(m, f));
	fclose(f);
	cr_assert_str_eq(text, want);
	free(text);
}

Test(mproto_msg, load_and_write_back)
{
	mproto_msg m;
	load(&m, "From : a@example.com\r\nSubject: one\r\n two\r\n\r\nbody\r\nlast");
	cr_assert_eq(m.count, 2);
	cr_assert_str_eq(m.fields[0].name, "From");
	cr_assert_str_eq(m.fields[1].value, " one\n two");
	cr_assert_eq(m.body_len, 12);
	cr_assert(memcmp(m.body, "body\r\nlast\r\n", 12) == 0, "CRLF, the last line too");
	written(&m, "From: a@example.com\nSubject: one\n two\n\nbody\nlast\n");
	mproto_msg_free(&m);
}

Test(mproto_msg, bad_messages_refused)
{
	static const char *const bad[] = { " folded first\n\n", "no colon\n\n", ": no name\n\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char path[] = "/tmp/test_mproto.XXXXXX";
		int fd = mkstemp(path);
		cr_assert_eq(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		mproto_msg m;
		char err[256];
		cr_assert_not(mproto_msg_load(&m, path, err, sizeof(err)), "%s accepted", bad[i]);
		cr_assert_eq(m.count, 0);
		unlink(path);
	}
}

Test(mproto_msg, modifications_in_order_as_postfix_applies_them)
{
	mproto_msg m;
	load(&m, "A-R: one\nSubject: s\nA-R: two\nA-R: three\n\nb\n");
	cr_assert(mproto_msg_header_mod(&m, false, SMFIR_INSHEADER, 0, "DKIM-Signature", "v=1"));
	/* Deleting the first A-R renumbers the rest: "two" is now the first. */
	cr_assert(mproto_msg_header_mod(&m, false, SMFIR_CHGHEADER, 1, "a-r", ""));
	cr_assert(mproto_msg_header_mod(&m, false, SMFIR_CHGHEADER, 2, "A-R", "3\r\n\tfolded"));
	cr_assert(mproto_msg_header_mod(&m, true, SMFIR_CHGHEADER, 5, "X-New", " past the end"));
	cr_assert(mproto_msg_header_mod(&m, false, SMFIR_CHGHEADER, 9, "X-Gone", ""));
	cr_assert(mproto_msg_header_mod(&m, true, SMFIR_ADDHEADER, 0, "X-Last", " z"));
	cr_assert(mproto_msg_header_mod(&m, false, SMFIR_INSHEADER, 99, "X-Ins", "end"));
	written(&m, "DKIM-Signature: v=1\nSubject: s\nA-R: two\nA-R: 3\n\tfolded\n"
	            "X-New: past the end\nX-Last: z\nX-Ins: end\n\nb\n");
	cr_assert(mproto_msg_body_mod(&m, "n", 1));
	cr_assert(mproto_msg_body_mod(&m, "ew\r\n", 4));
	cr_assert_eq(m.body_len, 5);
	cr_assert(memcmp(m.body, "new\r\n", 5) == 0);
	mproto_msg_free(&m);
}
