/*
 * keystore.c - signing keys from a KeyTable or from KeyFile, loaded and
 * checked when the configuration is loaded.
 *
 * Interface: keystore.h. Key material is parsed by libdkim
 * (dkim_privkey_load / dkim_privkey_load_file); this module only decides
 * where it comes from and whether the file is safe to use.
 *
 * Errors: each bad KeyTable line or key is one "FILE:LINE: ..." message
 * naming the key and its path; loading continues to find every problem
 * and then returns NULL.
 */
#include "keystore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- file safety (RequireSafeKeys) ---------------------------------------- */

bool keystore_file_is_safe(const char *path, const keystore_options *opts,
                           char *why, size_t why_size)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "not a regular file");
		return false;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(why, why_size,
		         "readable or writable by group or other (mode %04o); "
		         "chmod 600 it",
		         (unsigned)(st.st_mode & 07777));
		return false;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    !(opts->owner_set && st.st_uid == opts->owner_uid)) {
		snprintf(why, why_size,
		         "owned by uid %u, not root or the user opendkim runs as",
		         (unsigned)st.st_uid);
		return false;
	}
	return true;
}

/* Loads a key file after the safety check; the error names the file. */
static dkim_privkey *keystore_load_path(const char *path,
                                        const keystore_options *opts,
                                        dkim_error *err)
{
	char why[160];
	struct stat st;

	if (stat(path, &st) != 0) {
		err->status = DKIM_ERR_IO;
		snprintf(err->message, sizeof(err->message),
		         "cannot read key file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (opts->require_safe && !keystore_file_is_safe(path, opts, why,
	                                                 sizeof(why))) {
		err->status = DKIM_ERR_KEY;
		snprintf(err->message, sizeof(err->message),
		         "key file %s is not safe (RequireSafeKeys): %s", path,
		         why);
		return NULL;
	}
	return dkim_privkey_load_file(path, err);
}

dkim_alg keystore_key_alg(const dkim_privkey *key)
{
	return dkim_privkey_type(key) == DKIM_KEY_ED25519
	       ? DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256;
}

/* ---- entries --------------------------------------------------------------- */

/* opendkim.conf(5) KeyTable: OpenDKIM's rule - a path starts with "/", "./" or "../". */
static bool keystore_is_path(const char *key)
{
	return key[0] == '/' || strncmp(key, "./", 2) == 0 ||
	       strncmp(key, "../", 3) == 0;
}

/* Domain or selector text: letters, digits, "-", "_", ".", not empty. */
static bool keystore_valid_label_text(const char *s)
{
	if (*s == '\0' || *s == '.')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
		if (c == '.' && s[1] == '.')
			return false;
	}
	return true;
}

static void keystore_entry_clear(keystore_entry *e)
{
	free(e->name);
	free(e->domain);
	free(e->selector);
	free(e->path);
	dkim_privkey_free(e->key);
	memset(e, 0, sizeof(*e));
}

void keystore_free(keystore *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->count; i++)
		keystore_entry_clear(&ks->entries[i]);
	free(ks->entries);
	free(ks);
}

/*
 * Fills e from domain, selector and key text (path or inline key) and
 * loads the key. Returns false after reporting.
 */
static bool keystore_fill(keystore_entry *e, const char *name,
                          const char *domain, const char *selector,
                          const char *keytext, bool is_path,
                          const keystore_options *opts, diag_list *diag)
{
	dkim_error err = { DKIM_OK, "" };

	if (strcmp(domain, "%") != 0 && !keystore_valid_label_text(domain)) {
		diag_add(diag, DIAG_ERROR, "%s:%u: key '%s': bad domain '%s'",
		         e->file, e->line, name, domain);
		return false;
	}
	if (!keystore_valid_label_text(selector)) {
		diag_add(diag, DIAG_ERROR, "%s:%u: key '%s': bad selector '%s'",
		         e->file, e->line, name, selector);
		return false;
	}
	e->name = strdup(name);
	e->domain = strdup(domain);
	e->selector = strdup(selector);
	if (is_path)
		e->path = strdup(keytext);
	if (e->name == NULL || e->domain == NULL || e->selector == NULL ||
	    (is_path && e->path == NULL)) {
		diag_add(diag, DIAG_ERROR, "%s:%u: out of memory", e->file,
		         e->line);
		return false;
	}
	if (e->path != NULL && strchr(e->path, '%') != NULL)
		return true;    /* per-domain file: read when a message needs it */
	if (e->path != NULL)
		e->key = keystore_load_path(e->path, opts, &err);
	else
		e->key = dkim_privkey_load(keytext, strlen(keytext), &err);
	if (e->key == NULL) {
		diag_add(diag, DIAG_ERROR, "%s:%u: key '%s' (%s): %s", e->file,
		         e->line, name, e->path ? e->path : "inline key",
		         err.message);
		return false;
	}
	return true;
}

/*
 * One KeyTable entry: value "DOMAIN:SELECTOR:KEY". The key part is
 * everything after the second colon (an inline PEM key keeps its
 * spaces).
 */
static bool keystore_parse_entry(keystore_entry *e, const dataset_entry *de,
                                 const keystore_options *opts,
                                 diag_list *diag)
{
	const char *v = de->value;
	const char *c1 = strchr(v, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char *domain, *selector;
	bool ok;

	e->file = de->file;
	e->line = de->line;
	if (c2 == NULL || c2[1] == '\0') {
		diag_add(diag, DIAG_ERROR,
		         "%s:%u: key '%s': value must be DOMAIN:SELECTOR:KEY",
		         de->file, de->line, de->key);
		return false;
	}
	domain = strndup(v, (size_t)(c1 - v));
	selector = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	if (domain == NULL || selector == NULL) {
		diag_add(diag, DIAG_ERROR, "%s:%u: out of memory", de->file,
		         de->line);
		ok = false;
	} else {
		ok = keystore_fill(e, de->key, domain, selector, c2 + 1,
		                   keystore_is_path(c2 + 1), opts, diag);
	}
	free(domain);
	free(selector);
	return ok;
}

static keystore *keystore_alloc(size_t n, const keystore_options *opts)
{
	keystore *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	ks->entries = calloc(n ? n : 1, sizeof(*ks->entries));
	if (ks->entries == NULL) {
		free(ks);
		return NULL;
	}
	ks->opts = *opts;
	return ks;
}

/*
 * RequireSafeKeys also covers a KeyTable file holding keys inline: it is
 * then as secret as a key file.
 */
static void keystore_check_table(const dataset *keytable,
                                 const keystore_options *opts,
                                 diag_list *diag)
{
	char why[160];
	size_t i;

	if (!opts->require_safe || keytable->kind == DATASET_CSL)
		return;
	for (i = 0; i < keytable->count; i++) {
		const char *c = strchr(keytable->entries[i].value, ':');

		c = c ? strchr(c + 1, ':') : NULL;
		if (c != NULL && c[1] != '\0' && !keystore_is_path(c + 1))
			break;
	}
	if (i < keytable->count &&
	    !keystore_file_is_safe(keytable->file, opts, why, sizeof(why)))
		diag_add(diag, DIAG_ERROR, "%s:%u: KeyTable holds a private key "
		         "inline but the file is not safe (RequireSafeKeys): %s",
		         keytable->file, keytable->entries[i].line, why);
}

keystore *keystore_load(const dataset *keytable, const keystore_options *opts,
                        diag_list *diag)
{
	keystore *ks = keystore_alloc(keytable->count, opts);
	size_t i, errors = diag->errors;

	if (ks == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: out of memory", keytable->file);
		return NULL;
	}
	for (i = 0; i < keytable->count; i++) {
		const dataset_entry *de = &keytable->entries[i];
		const keystore_entry *dup = keystore_find(ks, de->key);
		keystore_entry *e = &ks->entries[ks->count++];

		if (dup != NULL)
			diag_add(diag, DIAG_WARNING,
			         "%s:%u: key name '%s' already defined at %s:%u; "
			         "the first one is used", de->file, de->line,
			         de->key, dup->file, dup->line);
		if (!keystore_parse_entry(e, de, opts, diag))
			keystore_entry_clear(e);
	}
	keystore_check_table(keytable, opts, diag);
	if (diag->errors != errors) {
		keystore_free(ks);
		return NULL;
	}
	return ks;
}

keystore *keystore_single(const char *domain, const char *selector,
                          const char *keyfile, const char *file,
                          unsigned line, const keystore_options *opts,
                          diag_list *diag)
{
	keystore *ks = keystore_alloc(1, opts);

	if (ks == NULL) {
		diag_add(diag, DIAG_ERROR, "%s:%u: out of memory", file, line);
		return NULL;
	}
	ks->count = 1;
	ks->entries[0].file = file;
	ks->entries[0].line = line;
	/* KeyFile is always a path (a relative one is read as given). */
	if (!keystore_fill(&ks->entries[0], "default", domain, selector,
	                   keyfile, true, opts, diag)) {
		keystore_free(ks);
		return NULL;
	}
	return ks;
}

const keystore_entry *keystore_find(const keystore *ks, const char *name)
{
	size_t i;

	if (ks == NULL || name == NULL)
		return NULL;
	for (i = 0; i < ks->count; i++)
		if (ks->entries[i].name != NULL &&
		    strcasecmp(ks->entries[i].name, name) == 0)
			return &ks->entries[i];
	return NULL;
}

/* ---- keys at signing time ------------------------------------------------- */

/* path with every "%" replaced by domain; NULL without memory. */
static char *keystore_expand(const char *path, const char *domain)
{
	size_t n = 0, dlen = strlen(domain), len;
	const char *p;
	char *out, *o;

	for (p = path; *p != '\0'; p++)
		n += *p == '%';
	len = strlen(path) + n * dlen;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	for (p = path, o = out; *p != '\0'; p++) {
		if (*p == '%') {
			memcpy(o, domain, dlen);
			o += dlen;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

bool keystore_entry_key(const keystore_entry *e, const char *sender_domain,
                        const keystore_options *opts, dkim_privkey **key,
                        bool *owned, dkim_error *err)
{
	char *path;

	*owned = false;
	*key = e->key;
	if (e->key != NULL)
		return true;
	/* The domain goes into a file name: refuse anything path-like. */
	if (e->path == NULL || sender_domain == NULL ||
	    !keystore_valid_label_text(sender_domain)) {
		err->status = DKIM_ERR_INVALID;
		snprintf(err->message, sizeof(err->message),
		         "key '%s': no usable sender domain for %s", e->name,
		         e->path ? e->path : "inline key");
		return false;
	}
	path = keystore_expand(e->path, sender_domain);
	if (path == NULL) {
		err->status = DKIM_ERR_NOMEM;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return false;
	}
	*key = keystore_load_path(path, opts, err);
	free(path);
	*owned = *key != NULL;
	return *key != NULL;
}
