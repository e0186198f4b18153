/*
 * fuzz_authres.c - libFuzzer target for opendkim/authres.c.
 *
 * The input is split at NUL bytes: the first piece is a received
 * Authentication-Results value (authserv-id extraction and comparison), the
 * next pieces are d=, i=, s=, a=, b= and the reason of a hostile
 * signature result, then a queue id for AuthservIDWithJobID. The field we
 * write from them must stay one well-formed line per result: no CR/LF
 * other than our folding, no unbalanced quotes; with a job id it must
 * still be recognised as ours.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns the next NUL-terminated piece of the input copy, or "". */
static const char *fuzz_piece(char **cursor, char *end)
{
	if (*cursor >= end)
		return "";
	char *p = *cursor;
	*cursor += strlen(p) + 1;
	return p;
}

static void fuzz_check_output(const char *s)
{
	size_t quotes = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\r' || (*p == '\n' && p[1] != '\t'))
			abort();
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quotes++;
	}
	if (quotes % 2 != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *cursor = copy, *end = copy + size;
	const char *value = fuzz_piece(&cursor, end);
	char id[AUTHRES_ID_MAX];
	(void)authres_authserv_id(value, id, sizeof(id));
	(void)authres_is_ours(value, "mx.example.net");

	dkim_sig_result r[2];
	memset(r, 0, sizeof(r));
	r[0].result = (dkim_result)(size % 7);
	r[0].domain = fuzz_piece(&cursor, end);
	r[0].identity = fuzz_piece(&cursor, end);
	r[0].selector = fuzz_piece(&cursor, end);
	r[0].algorithm = fuzz_piece(&cursor, end);
	r[0].b = fuzz_piece(&cursor, end);
	r[0].reason = fuzz_piece(&cursor, end);
	r[0].key_bits = (unsigned)size;
	r[1] = r[0];
	r[1].b = fuzz_piece(&cursor, end);
	r[1].result = DKIM_RESULT_FAIL;
	const dkim_sig_result *list[] = { &r[0], &r[1] };
	char *out = authres_format_job("mx.example.net", NULL, list, 2, "\n\t");
	if (out != NULL) {
		fuzz_check_output(out);
		free(out);
	}
	/* AuthservIDWithJobID: a hostile queue id never breaks the field,
	 * and the field stays recognisably ours (so a copy is removed). */
	const char *job = fuzz_piece(&cursor, end);
	out = authres_format_job("mx.example.net", job, list, 2, "\n\t");
	if (out != NULL) {
		fuzz_check_output(out);
		if (!authres_is_ours(out, "mx.example.net"))
			__builtin_trap();
		free(out);
	}
	free(copy);
	return 0;
}
