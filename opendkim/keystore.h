/*
 * keystore.h - the signing keys: a KeyTable, or the single key of
 * Domain + Selector + KeyFile.
 *
 * KeyTable lines (OpenDKIM syntax):
 *     KEYNAME  DOMAIN:SELECTOR:KEY
 * DOMAIN "%" means the sender's domain. KEY is a path when it starts with
 * "/", "./" or "../", otherwise the key itself inline (base64 DER, or PEM
 * with its line breaks lost, as dkim_privkey_load accepts). A "%" in a key
 * path is replaced by the sender's domain (per-domain key files).
 *
 * Every key is read and checked when the configuration is loaded, so that
 * `opendkim -n` and a SIGHUP reload see every problem. A file named by
 * several entries (one key for many domains) is read once per load: the
 * later entries share its parsed key while its stat(2) identity is the
 * same. The exception is a
 * path containing "%": it can only be read when a message names the
 * domain, and then it is loaded for that message (checked the same way).
 *
 * RequireSafeKeys: a key file must be a regular file, not readable or
 * writable by group or other, and owned by root, by the user running the
 * check, or by the UserID the daemon will run as. Every directory above it
 * (of the path as written and of its realpath) must not be writable by
 * group or other unless sticky, and must have one of those owners: whoever
 * can write a directory can replace the key. Otherwise the key is refused
 * with an error naming the file or directory and the reason. A KeyTable
 * file holding a key inline must pass the same check.
 *
 * Reload: given the keystore loaded before (previous), a key file whose
 * path and stat(2) identity (device, inode, size, modification and
 * change times) are those recorded when previous read it is not read
 * again: its parsed key is shared with previous. So a reload after the
 * daemon dropped root works with root-owned 0600 key files, and a
 * KeyTable of thousands of keys is not parsed again. A file that changed
 * is read again (it must then be readable by the daemon's user), and
 * RequireSafeKeys is checked on every file either way; a file that cannot
 * be stat()ed is an error. Inline keys are always parsed. A file changed
 * less than KEYSTORE_SETTLE_SECONDS before it was read is read again at
 * the next reload: a second write within the file system's timestamp
 * granularity could leave size and times as they were.
 *
 * Errors at load: "FILE:LINE: ..." (the KeyTable line) with the key path
 * and libdkim's reason, added to a diag_list; loading returns NULL.
 *
 * A loaded keystore is immutable and may be shared by threads.
 */
#ifndef ODK_KEYSTORE_H
#define ODK_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "dkim.h"
#include "dataset.h"

typedef struct {
	bool require_safe;      /* RequireSafeKeys */
	bool owner_set;         /* owner_uid is an allowed owner too */
	uid_t owner_uid;        /* the UserID's uid */
} keystore_options;

/* What tells that a key file changed, without reading it (stat(2)). */
typedef struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
} keystore_fileid;

typedef struct {
	char *name;             /* KeyTable key name ("default" for KeyFile) */
	char *domain;           /* d=, or "%" */
	char *selector;         /* s= */
	char *path;             /* key file, NULL when inline */
	dkim_privkey *key;      /* NULL only when path contains "%" */
	keystore_fileid id;     /* path's identity before key was read;
	                         * set when path != NULL and key != NULL */
	bool reusable;          /* id is settled: a reload may reuse key */
	bool reused;            /* key came from the previous keystore */
	const char *file;       /* where it was defined (KeyTable or config) */
	unsigned line;
} keystore_entry;

typedef struct keystore {
	keystore_entry *entries;
	size_t count;
	keystore_options opts;
	const keystore_entry **by_path; /* the entries with a key read from
	                         * a file, sorted by path (for a reload) */
	size_t nby_path;
	const keystore_entry **by_name; /* every entry, sorted by name (case
	                         * ignored), file order within a name */
	size_t nby_name;
	size_t reused;          /* key files unchanged, taken from previous */
	size_t read;            /* keys read from files or parsed inline */
	size_t shared;          /* of reused + read: entries naming the file
	                         * of an earlier entry of this load, whose
	                         * key they share (one key, many domains) */
} keystore;

/*
 * Loads every entry of a KeyTable data set and its key. previous (may be
 * NULL): the keystore loaded before, whose unchanged key files are not
 * read again (see Reload above). NULL on error.
 */
keystore *keystore_load(const dataset *keytable, const keystore_options *opts,
                        const keystore *previous, diag_list *diag);

/*
 * The single-key form: one entry named "default" with domain (may be "%"),
 * selector and the key file. file/line: the configuration line of KeyFile.
 * previous as for keystore_load.
 */
keystore *keystore_single(const char *domain, const char *selector,
                          const char *keyfile, const char *file,
                          unsigned line, const keystore_options *opts,
                          const keystore *previous, diag_list *diag);

#define KEYSTORE_SETTLE_SECONDS 2

/* The identity of a file from its stat(2). */
void keystore_fileid_of(const struct stat *st, keystore_fileid *id);

/*
 * True when the file's last change (mtime and ctime) is at least
 * KEYSTORE_SETTLE_SECONDS before now: a file changed again later would
 * show other times. A time in the future is not settled.
 */
bool keystore_fileid_settled(const keystore_fileid *id,
                             const struct timespec *now);

/*
 * Milliseconds until every key file ks read is settled, so that a reload
 * could reuse them all; 0 when they are (at most KEYSTORE_SETTLE_SECONDS
 * and a little more, whatever the file times say). A daemon about to drop
 * root waits that long and loads the configuration again, still as root:
 * keys written just before it started are then read settled, and kept by
 * every reload after the drop instead of being read again as a user that
 * cannot.
 */
long keystore_settle_wait_ms(const keystore *ks);

/*
 * The reuse decision of a reload: the entry of previous whose key was
 * read from path while the file had identity id and which is reusable,
 * or NULL when there is none (a new path, the file changed, or it had
 * just changed when read) and the file must be read.
 */
const keystore_entry *keystore_reusable(const keystore *previous,
                                        const char *path,
                                        const keystore_fileid *id);

void keystore_free(keystore *ks);

/* The entry named name (case-insensitive; the first in the KeyTable when
 * a name is defined twice), or NULL. A binary search: it runs for every
 * message signed, and for every SigningTable line at load. */
const keystore_entry *keystore_find(const keystore *ks, const char *name);

/*
 * Safety check of a key file for RequireSafeKeys (see above). True when
 * safe; otherwise false with the reason in why ("readable by group or
 * other (mode 0644)", "owned by uid 1000", ...).
 */
bool keystore_file_is_safe(const char *path, const keystore_options *opts,
                           char *why, size_t why_size);

/*
 * text with every "%" replaced by domain (malloc'd; NULL without memory):
 * OpenDKIM's KeyTable and SigningTable "%", the sender's domain, in a key
 * path, a d= or a signer (i=). The one expander for all of them.
 */
char *keystore_expand(const char *text, const char *domain);

/*
 * A usable key for signing a message from sender_domain with entry e.
 * When e->key is loaded, *key = e->key and *owned = false. Otherwise the
 * path's "%" is replaced and the file read and checked: *key is a new key
 * and *owned = true (the caller frees it with dkim_privkey_free).
 * Returns false with err set on failure (the message names the file).
 */
bool keystore_entry_key(const keystore_entry *e, const char *sender_domain,
                        const keystore_options *opts,
                        dkim_privkey **key, bool *owned,
                        dkim_error *err);

/* The algorithm a key signs with: rsa-sha256 or ed25519-sha256. */
dkim_alg keystore_key_alg(const dkim_privkey *key);

#endif /* ODK_KEYSTORE_H */
