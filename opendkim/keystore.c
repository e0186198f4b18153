/*
 * keystore.c - signing keys from a KeyTable or from KeyFile, loaded and
 * checked when the configuration is loaded.
 *
 * Interface: keystore.h. Key material is parsed by libdkim
 * (dkim_privkey_load / dkim_privkey_load_file); this module only decides
 * where it comes from and whether the file is safe to use.
 *
 * On a reload, a key file that stat(2) shows unchanged since the
 * previous keystore read it is not read again: the new entry shares the
 * previous entry's parsed key (dkim_privkey_dup).
 *
 * Errors: each bad KeyTable line or key is one "FILE:LINE: ..." message
 * naming the key and its path; loading continues to find every problem
 * and then returns NULL.
 */
#include "keystore.h"

#include <errno.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- file safety (RequireSafeKeys) ---------------------------------------- */

/* May this uid own a key file or a directory above one? */
static bool keystore_owner_ok(uid_t uid, const keystore_options *opts)
{
	return uid == 0 || uid == geteuid() ||
	       (opts->owner_set && uid == opts->owner_uid);
}

/* RequireSafeKeys on a file's stat(2); the reason in why when unsafe. */
static bool keystore_stat_is_safe(const struct stat *st,
                                  const keystore_options *opts, char *why,
                                  size_t why_size)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, why_size, "not a regular file");
		return false;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(why, why_size,
		         "readable or writable by group or other (mode %04o); "
		         "chmod 600 it",
		         (unsigned)(st->st_mode & 07777));
		return false;
	}
	if (!keystore_owner_ok(st->st_uid, opts)) {
		snprintf(why, why_size,
		         "owned by uid %u, not root or the user opendkim runs as",
		         (unsigned)st->st_uid);
		return false;
	}
	return true;
}

/*
 * One directory above a key file: whoever can write it can replace the
 * key (rename another file over it), so it must not be writable by group
 * or other, unless its sticky bit limits that to what one owns (/tmp),
 * and must belong to root, the checking user or UserID.
 */
static bool keystore_dir_is_safe(const char *dir, const keystore_options *opts,
                                 char *why, size_t why_size)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(why, why_size, "directory %s: %s", dir, strerror(errno));
		return false;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0) {
		snprintf(why, why_size, "directory %s is writable by %s (mode "
		         "%04o, no sticky bit), who can replace the key; chmod "
		         "go-w it", dir, (st.st_mode & S_IWOTH) ? "others"
		                                                 : "its group",
		         (unsigned)(st.st_mode & 07777));
		return false;
	}
	if (!keystore_owner_ok(st.st_uid, opts)) {
		snprintf(why, why_size, "directory %s is owned by uid %u (not "
		         "root or the user opendkim runs as), who can replace "
		         "the key", dir, (unsigned)st.st_uid);
		return false;
	}
	return true;
}

/* Every directory above path (made absolute), from its own up to "/". */
static bool keystore_parents_are_safe(const char *path,
                                      const keystore_options *opts,
                                      char *why, size_t why_size)
{
	char buf[PATH_MAX];
	char *slash;
	int n;

	if (path[0] == '/') {
		n = snprintf(buf, sizeof(buf), "%s", path);
	} else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(why, why_size, "cannot tell its directory: %s",
			         strerror(errno));
			return false;
		}
		n = snprintf(buf, sizeof(buf), "%s/%s", cwd, path);
	}
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(why, why_size, "path too long");
		return false;
	}
	while ((slash = strrchr(buf, '/')) != NULL) {
		if (slash == buf)
			return keystore_dir_is_safe("/", opts, why, why_size);
		*slash = '\0';
		if (!keystore_dir_is_safe(buf, opts, why, why_size))
			return false;
	}
	return true;
}

/*
 * The directories of both the path as written and the file's real
 * location: a symbolic link on the way is only as safe as the directory
 * holding it, and the file only as safe as the one it is really in.
 */
static bool keystore_dirs_are_safe(const char *path, const keystore_options *opts,
                                   char *why, size_t why_size)
{
	char *real;
	bool ok;

	if (!keystore_parents_are_safe(path, opts, why, why_size))
		return false;
	real = realpath(path, NULL);
	if (real == NULL)
		return true;    /* the file's own stat(2) reports it */
	ok = strcmp(real, path) == 0 ||
	     keystore_parents_are_safe(real, opts, why, why_size);
	free(real);
	return ok;
}

bool keystore_file_is_safe(const char *path, const keystore_options *opts,
                           char *why, size_t why_size)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(why, why_size, "%s", strerror(errno));
		return false;
	}
	return keystore_stat_is_safe(&st, opts, why, why_size) &&
	       keystore_dirs_are_safe(path, opts, why, why_size);
}

/*
 * stat(2) of a key file and, with RequireSafeKeys, its safety check; the
 * error names the file. A file that cannot be stat()ed is never used,
 * not even through a key read before.
 */
static bool keystore_check_path(const char *path, const keystore_options *opts,
                                struct stat *st, dkim_error *err)
{
	char why[200];

	if (stat(path, st) != 0) {
		err->status = DKIM_ERR_IO;
		snprintf(err->message, sizeof(err->message),
		         "cannot read key file %s: %s", path, strerror(errno));
		return false;
	}
	if (opts->require_safe &&
	    (!keystore_stat_is_safe(st, opts, why, sizeof(why)) ||
	     !keystore_dirs_are_safe(path, opts, why, sizeof(why)))) {
		err->status = DKIM_ERR_KEY;
		snprintf(err->message, sizeof(err->message),
		         "key file %s is not safe (RequireSafeKeys): %s", path,
		         why);
		return false;
	}
	return true;
}

/* Loads a key file after the safety check; the error names the file. */
static dkim_privkey *keystore_load_path(const char *path,
                                        const keystore_options *opts,
                                        dkim_error *err)
{
	struct stat st;

	if (!keystore_check_path(path, opts, &st, err))
		return NULL;
	return dkim_privkey_load_file(path, err);
}

/* ---- reuse of unchanged key files (reload) -------------------------------- */

void keystore_fileid_of(const struct stat *st, keystore_fileid *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

/* a is before b by at least KEYSTORE_SETTLE_SECONDS. */
static bool keystore_time_settled(const struct timespec *a,
                                  const struct timespec *b)
{
	return a->tv_sec < b->tv_sec - KEYSTORE_SETTLE_SECONDS ||
	       (a->tv_sec == b->tv_sec - KEYSTORE_SETTLE_SECONDS &&
	        a->tv_nsec <= b->tv_nsec);
}

bool keystore_fileid_settled(const keystore_fileid *id,
                             const struct timespec *now)
{
	return keystore_time_settled(&id->mtime, now) &&
	       keystore_time_settled(&id->ctime, now);
}

/* Milliseconds from now until t is KEYSTORE_SETTLE_SECONDS old. */
static long keystore_ms_until_settled(const struct timespec *t,
                                      const struct timespec *now)
{
	long long ms = ((long long)t->tv_sec + KEYSTORE_SETTLE_SECONDS -
	                (long long)now->tv_sec) * 1000 +
	               (t->tv_nsec - now->tv_nsec) / 1000000 + 1;

	return ms < 0 ? 0 : (long)ms;
}

long keystore_settle_wait_ms(const keystore *ks)
{
	const long cap = KEYSTORE_SETTLE_SECONDS * 1000L + 100;
	struct timespec now;
	long wait = 0;

	if (ks == NULL || clock_gettime(CLOCK_REALTIME, &now) != 0)
		return 0;
	for (size_t i = 0; i < ks->count; i++) {
		const keystore_entry *e = &ks->entries[i];
		long m, c;

		if (e->path == NULL || e->key == NULL || e->reusable)
			continue;
		m = keystore_ms_until_settled(&e->id.mtime, &now);
		c = keystore_ms_until_settled(&e->id.ctime, &now);
		if (m > wait)
			wait = m;
		if (c > wait)
			wait = c;
	}
	/* A time in the future (a clock set back) would never settle. */
	return wait > cap ? cap : wait;
}

static bool keystore_fileid_equal(const keystore_fileid *a,
                                  const keystore_fileid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

const keystore_entry *keystore_reusable(const keystore *previous,
                                        const char *path,
                                        const keystore_fileid *id)
{
	size_t lo = 0, hi;

	if (previous == NULL)
		return NULL;
	/* Binary search of by_path: a KeyTable may hold thousands of keys. */
	hi = previous->nby_path;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const keystore_entry *e = previous->by_path[mid];
		int c = strcmp(path, e->path);

		if (c == 0)
			return e->reusable && keystore_fileid_equal(id, &e->id)
			       ? e : NULL;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int keystore_cmp_path(const void *a, const void *b)
{
	const keystore_entry *x = *(const keystore_entry *const *)a;
	const keystore_entry *y = *(const keystore_entry *const *)b;

	return strcmp(x->path, y->path);
}

/* By name without case, then by position in the KeyTable. */
static int keystore_cmp_name(const void *a, const void *b)
{
	const keystore_entry *x = *(const keystore_entry *const *)a;
	const keystore_entry *y = *(const keystore_entry *const *)b;
	int c = strcasecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;      /* entries[] is in file order */
}

/* Builds ks->by_path and ks->by_name; false without memory. */
static bool keystore_index(keystore *ks)
{
	size_t i, n = ks->count ? ks->count : 1;

	ks->by_path = malloc(n * sizeof(*ks->by_path));
	ks->by_name = malloc(n * sizeof(*ks->by_name));
	if (ks->by_path == NULL || ks->by_name == NULL)
		return false;
	for (i = 0; i < ks->count; i++) {
		if (ks->entries[i].path != NULL && ks->entries[i].key != NULL)
			ks->by_path[ks->nby_path++] = &ks->entries[i];
		if (ks->entries[i].name != NULL)
			ks->by_name[ks->nby_name++] = &ks->entries[i];
	}
	qsort(ks->by_path, ks->nby_path, sizeof(*ks->by_path),
	      keystore_cmp_path);
	qsort(ks->by_name, ks->nby_name, sizeof(*ks->by_name),
	      keystore_cmp_name);
	return true;
}

/* A name defined twice: the first one is used (as OpenDKIM does). */
static void keystore_warn_duplicates(const keystore *ks, diag_list *diag)
{
	size_t i, j;

	for (i = 0; i < ks->nby_name; i = j) {
		const keystore_entry *first = ks->by_name[i];

		for (j = i + 1; j < ks->nby_name &&
		     strcasecmp(ks->by_name[j]->name, first->name) == 0; j++)
			diag_add(diag, DIAG_WARNING,
			         "%s:%u: key name '%s' already defined at "
			         "%s:%u; the first one is used",
			         ks->by_name[j]->file, ks->by_name[j]->line,
			         ks->by_name[j]->name, first->file, first->line);
	}
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
	free(ks->by_path);
	free(ks->by_name);
	free(ks);
}

/* What loading entries needs: the options, previous, where to count. */
typedef struct {
	keystore *ks;
	const keystore *previous;       /* NULL when not a reload */
	const keystore_options *opts;
	diag_list *diag;
	void *loaded;                   /* tsearch(3) tree of this load's
	                                 * entries with a key read, by path */
} keystore_loader;

static int keystore_cmp_entry_path(const void *a, const void *b)
{
	return strcmp(((const keystore_entry *)a)->path,
	              ((const keystore_entry *)b)->path);
}

/*
 * An entry of this load that read the same file, unchanged since: many
 * KeyTables give one key file to every domain, and it is read once.
 */
static const keystore_entry *keystore_loaded_same(const keystore_loader *ld,
                                                  const keystore_entry *e)
{
	void *const *hit = tfind(e, &ld->loaded, keystore_cmp_entry_path);
	const keystore_entry *same = hit != NULL ? *hit : NULL;

	if (same == NULL || memcmp(&same->id, &e->id, sizeof(e->id)) != 0)
		return NULL;
	return same;
}

/*
 * e's key from its file: shared with the previous keystore when the file
 * is unchanged, read otherwise. The identity recorded is the one seen
 * before reading, so a change racing with the read is seen next time.
 */
static dkim_privkey *keystore_key_from_file(keystore_loader *ld,
                                            keystore_entry *e,
                                            dkim_error *err)
{
	const keystore_entry *old;
	dkim_privkey *key;
	struct timespec now;
	struct stat st;

	if (!keystore_check_path(e->path, ld->opts, &st, err))
		return NULL;
	keystore_fileid_of(&st, &e->id);
	if ((old = keystore_loaded_same(ld, e)) != NULL) {
		key = dkim_privkey_dup(old->key, err);
		e->reusable = old->reusable;
		e->reused = old->reused;
		/* counted as its first entry was: reused or read */
		*(old->reused ? &ld->ks->reused : &ld->ks->read) += key != NULL;
		ld->ks->shared += key != NULL;
		return key;
	}
	old = keystore_reusable(ld->previous, e->path, &e->id);
	if (old != NULL) {
		key = dkim_privkey_dup(old->key, err);
		e->reusable = true;
		e->reused = true;
		ld->ks->reused += key != NULL;
		return key;
	}
	/* stat(2)'s times are wall-clock times. */
	e->reusable = clock_gettime(CLOCK_REALTIME, &now) == 0 &&
	              keystore_fileid_settled(&e->id, &now);
	key = dkim_privkey_load_file(e->path, err);
	ld->ks->read += key != NULL;
	return key;
}

/* The tree only points at entries, which the keystore owns. */
static void keystore_tree_node_keep(void *entry)
{
	(void)entry;
}

/* Remembers e, whose key was just read, for the entries after it. */
static void keystore_note_loaded(keystore_loader *ld, keystore_entry *e)
{
	if (e->path != NULL && e->key != NULL &&
	    tfind(e, &ld->loaded, keystore_cmp_entry_path) == NULL)
		(void)tsearch(e, &ld->loaded, keystore_cmp_entry_path);
}

/*
 * Fills e from domain, selector and key text (path or inline key) and
 * loads the key. Returns false after reporting.
 */
static bool keystore_fill(keystore_loader *ld, keystore_entry *e,
                          const char *name, const char *domain,
                          const char *selector, const char *keytext,
                          bool is_path)
{
	dkim_error err = { DKIM_OK, "" };
	diag_list *diag = ld->diag;

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
	if (e->path != NULL) {
		e->key = keystore_key_from_file(ld, e, &err);
		keystore_note_loaded(ld, e);
	} else {
		e->key = dkim_privkey_load(keytext, strlen(keytext), &err);
		ld->ks->read += e->key != NULL;
	}
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
static bool keystore_parse_entry(keystore_loader *ld, keystore_entry *e,
                                 const dataset_entry *de)
{
	diag_list *diag = ld->diag;
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
		ok = keystore_fill(ld, e, de->key, domain, selector, c2 + 1,
		                   keystore_is_path(c2 + 1));
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
 * then as secret as a key file (not a "dsn:" table, which is no file).
 */
static void keystore_check_table(const dataset *keytable,
                                 const keystore_options *opts,
                                 diag_list *diag)
{
	char why[200];
	size_t i;

	/* A table in a database: its access control is the database's. */
	if (!opts->require_safe || keytable->kind == DATASET_CSL ||
	    strncasecmp(keytable->spec, "dsn:", 4) == 0)
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
                        const keystore *previous, diag_list *diag)
{
	keystore *ks = keystore_alloc(keytable->count, opts);
	keystore_loader ld = { .ks = ks, .previous = previous, .opts = opts,
	                       .diag = diag };
	size_t i, errors = diag->errors;

	if (ks == NULL) {
		diag_add(diag, DIAG_ERROR, "%s: out of memory", keytable->file);
		return NULL;
	}
	for (i = 0; i < keytable->count; i++) {
		const dataset_entry *de = &keytable->entries[i];
		keystore_entry *e = &ks->entries[ks->count++];

		if (!keystore_parse_entry(&ld, e, de))
			keystore_entry_clear(e);
	}
	tdestroy(ld.loaded, keystore_tree_node_keep);
	keystore_check_table(keytable, opts, diag);
	if (!keystore_index(ks))
		diag_add(diag, DIAG_ERROR, "%s: out of memory", keytable->file);
	else
		keystore_warn_duplicates(ks, diag);
	if (diag->errors != errors) {
		keystore_free(ks);
		return NULL;
	}
	return ks;
}

keystore *keystore_single(const char *domain, const char *selector,
                          const char *keyfile, const char *file,
                          unsigned line, const keystore_options *opts,
                          const keystore *previous, diag_list *diag)
{
	keystore *ks = keystore_alloc(1, opts);
	keystore_loader ld = { .ks = ks, .previous = previous, .opts = opts,
	                       .diag = diag };

	if (ks == NULL) {
		diag_add(diag, DIAG_ERROR, "%s:%u: out of memory", file, line);
		return NULL;
	}
	ks->count = 1;
	ks->entries[0].file = file;
	ks->entries[0].line = line;
	/* KeyFile is always a path (a relative one is read as given). */
	bool ok = keystore_fill(&ld, &ks->entries[0], "default", domain,
	                        selector, keyfile, true);

	tdestroy(ld.loaded, keystore_tree_node_keep);
	if (!ok) {
		keystore_free(ks);
		return NULL;
	}
	if (!keystore_index(ks)) {
		diag_add(diag, DIAG_ERROR, "%s:%u: out of memory", file, line);
		keystore_free(ks);
		return NULL;
	}
	return ks;
}

const keystore_entry *keystore_find(const keystore *ks, const char *name)
{
	size_t lo = 0, hi;

	if (ks == NULL || name == NULL || ks->by_name == NULL)
		return NULL;
	hi = ks->nby_name;
	while (lo < hi) {       /* the first entry not before name */
		size_t mid = lo + (hi - lo) / 2;

		if (strcasecmp(ks->by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ks->nby_name && strcasecmp(ks->by_name[lo]->name, name) == 0)
		return ks->by_name[lo];
	return NULL;
}

/* ---- keys at signing time ------------------------------------------------- */

char *keystore_expand(const char *text, const char *domain)
{
	size_t n = 0, dlen = strlen(domain), len;
	const char *p;
	char *out, *o;

	for (p = text; *p != '\0'; p++)
		n += *p == '%';
	len = strlen(text) + n * dlen;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	for (p = text, o = out; *p != '\0'; p++) {
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
