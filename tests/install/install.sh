#!/bin/sh
# tests/install/install.sh - "make install DESTDIR=..." from the build
# directory, then run and check what was installed:
#   - the binaries (opendkim -V, --help of each);
#   - opendkim -n on the installed sample configuration, made to point into
#     a scratch directory, with the installed sample tables and keys made
#     by the installed opendkim-genkey; -n errors and warnings as documented;
#   - a fresh install (the sample and the tables installed with it, no
#     key yet) passes opendkim -n without a word;
#   - a second install keeps a changed opendkim.conf and KeyTable; uninstall
#     keeps them too and removes everything else;
#   - the man pages render without a groff warning, and describe every key
#     of the option table in opendkim/config.c and every flag of --help;
#   - the systemd unit passes systemd-analyze verify; the sysusers.d and
#     tmpfiles.d snippets apply to a scratch root (as root only).
# Needs $top_srcdir and $top_builddir (set by make check).
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/installtest.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
ROOT=$T/root
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# make in the build directory, without the flags of the "make check" that
# runs this test (its jobserver, -w, TESTS=...).
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make --no-print-directory -C "$top_builddir" "$@"
}

# The value of a variable of the build's Makefile (sbindir, mandir, ...).
mkvar() {
	printf 'print-%s:\n\t@echo $(%s)\n' "$1" "$1" |
		submake -s -f Makefile -f - "print-$1"
}

install_into() {
	submake install DESTDIR="$ROOT" \
		> "$T/install.log" 2>&1 || {
		tail -n 30 "$T/install.log" >&2
		echo "FAIL: make install DESTDIR=$ROOT" >&2
		exit 1
	}
}

SBINDIR=$(mkvar sbindir) && SYSCONFDIR=$(mkvar sysconfdir) &&
	MANDIR=$(mkvar mandir) && DOCDIR=$(mkvar docdir) &&
	UNITDIR=$(mkvar systemdsystemunitdir) &&
	SYSUSERSDIR=$(mkvar sysusersdir) && TMPFILESDIR=$(mkvar tmpfilesdir) ||
	{ echo "FAIL: cannot read the build's directories" >&2; exit 1; }

# ---- install ------------------------------------------------------------------
install_into
for f in "$SBINDIR/opendkim" "$SBINDIR/opendkim-genkey" "$SBINDIR/opendkim-testkey" \
	"$SYSCONFDIR/opendkim.conf" "$MANDIR/man8/opendkim.8" "$MANDIR/man5/opendkim.conf.5" \
	"$MANDIR/man8/opendkim-genkey.8" "$MANDIR/man8/opendkim-testkey.8" \
	"$DOCDIR/examples/KeyTable" "$DOCDIR/examples/SigningTable" \
	"$DOCDIR/examples/TrustedHosts" "$UNITDIR/opendkim.service" \
	"$SYSUSERSDIR/opendkim.conf" "$TMPFILESDIR/opendkim.conf" \
	"$SYSCONFDIR/opendkim/KeyTable" "$SYSCONFDIR/opendkim/SigningTable" \
	"$SYSCONFDIR/opendkim/TrustedHosts"; do
	[ -f "$ROOT$f" ] || fail "not installed: $f"
done
[ -x "$ROOT$SBINDIR/opendkim" ] && ok "installed in $ROOT"
ODK=$ROOT$SBINDIR/opendkim
GENKEY=$ROOT$SBINDIR/opendkim-genkey

# ---- the installed binaries ----------------------------------------------------
"$ODK" -V > "$T/V" 2>&1 && grep -q '^opendkim (dkimd) ' "$T/V" &&
	ok "opendkim -V: $(head -n 1 "$T/V")" || fail "opendkim -V: $(cat "$T/V")"
for p in opendkim-genkey opendkim-testkey; do
	"$ROOT$SBINDIR/$p" -V 2>&1 | grep -q "^$p (dkimd) " && ok "$p -V" || fail "$p -V"
done

# ---- a fresh install passes opendkim -n -----------------------------------
# The installed sample with the installed tables (KeyTable and SigningTable
# with their entries commented out: no key exists yet), as on a host that
# never had OpenDKIM: -n is clean, so the unit's ExecStartPre passes too.
sed "s|/etc/opendkim/|$ROOT$SYSCONFDIR/opendkim/|g" "$ROOT$SYSCONFDIR/opendkim.conf" > "$T/fresh.conf"
id opendkim > /dev/null 2>&1 || sed -i "s|^UserID.*|UserID $(id -un)|" "$T/fresh.conf"
if "$ODK" -n -x "$T/fresh.conf" > "$T/n.out" 2>&1 && [ ! -s "$T/n.out" ]; then
	ok "opendkim -n accepts a fresh install (sample and installed tables, no key yet)"
else
	fail "opendkim -n on a fresh install: $(cat "$T/n.out")"
fi
grep -v '^#' "$ROOT$SYSCONFDIR/opendkim/KeyTable" "$ROOT$SYSCONFDIR/opendkim/SigningTable" | grep -q . &&
	fail "installed KeyTable/SigningTable have active entries"

# ---- opendkim -n on the installed sample -----------------------------------
# The sample names /etc/opendkim/...: the copy points into $T/etc instead.
ETC=$T/etc/opendkim
mkdir -p "$ETC/keys/example.com"
for t in KeyTable SigningTable TrustedHosts; do
	sed "s|/etc/opendkim/|$ETC/|g" "$ROOT$DOCDIR/examples/$t" > "$ETC/$t"
done
sed "s|/etc/opendkim/|$ETC/|g" "$ROOT$SYSCONFDIR/opendkim.conf" > "$T/opendkim.conf"
# UserID opendkim needs that user (Debian's opendkim package makes it).
id opendkim > /dev/null 2>&1 ||
	sed -i "s|^UserID.*|UserID $(id -un)|" "$T/opendkim.conf"
"$GENKEY" -D "$ETC/keys/example.com" -d example.com -s default > "$T/genkey.log" 2>&1 &&
	"$GENKEY" -D "$ETC/keys/example.com" -d example.com -s ed25519 -k ed25519 \
		>> "$T/genkey.log" 2>&1 || fail "opendkim-genkey: $(cat "$T/genkey.log")"
if "$ODK" -n -x "$T/opendkim.conf" > "$T/n.out" 2>&1 && [ ! -s "$T/n.out" ]; then
	ok "opendkim -n accepts the installed sample with its tables and keys"
else
	fail "opendkim -n on the sample: $(cat "$T/n.out")"
fi

# Documented in opendkim.conf(5): unknown key = error with file:line, an
# unsupported OpenDKIM key = warning (still exit 0).
cp "$T/opendkim.conf" "$T/warn.conf"
echo "TrustAnchorFile /usr/share/dns/root.key" >> "$T/warn.conf"
line=$(wc -l < "$T/warn.conf")
if "$ODK" -n -x "$T/warn.conf" > "$T/n.out" 2>&1 &&
	grep -q "warn.conf:$line: OpenDKIM option 'TrustAnchorFile' is not supported and is ignored" "$T/n.out"; then
	ok "opendkim -n: unsupported OpenDKIM key is a warning"
else
	fail "opendkim -n, unsupported key: $(cat "$T/n.out")"
fi
echo "SignHeaderz From" >> "$T/warn.conf"
line=$((line + 1))
"$ODK" -n -x "$T/warn.conf" > "$T/n.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "warn.conf:$line: unknown option 'SignHeaderz'" "$T/n.out"; then
	ok "opendkim -n: unknown key is an error (exit 1)"
else
	fail "opendkim -n, unknown key: exit $rc: $(cat "$T/n.out")"
fi

# ---- a second install keeps the configuration ---------------------------------
echo "# changed by the administrator" >> "$ROOT$SYSCONFDIR/opendkim.conf"
echo "# changed by the administrator" >> "$ROOT$SYSCONFDIR/opendkim/KeyTable"
install_into
if tail -n 1 "$ROOT$SYSCONFDIR/opendkim.conf" | grep -q 'changed by the administrator'; then
	ok "second install kept the changed opendkim.conf"
else
	fail "second install overwrote opendkim.conf"
fi
tail -n 1 "$ROOT$SYSCONFDIR/opendkim/KeyTable" | grep -q 'changed by the administrator' &&
	ok "second install kept the changed KeyTable" || fail "second install overwrote KeyTable"

# ---- man pages ----------------------------------------------------------------------
for page in man8/opendkim.8 man5/opendkim.conf.5 man8/opendkim-genkey.8 man8/opendkim-testkey.8; do
	f=$ROOT$MANDIR/$page
	w=$( { for width in 65 78 80 100; do
		groff -ww -z -man -rLL=${width}n "$f"; done; } 2>&1)
	if command -v man > /dev/null 2>&1; then
		w=$w$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 > /dev/null)
	fi
	[ -z "$w" ] && ok "$page renders without warnings" || fail "$page: $w"
done

# opendkim.conf(5) describes every key of the option table (".TP" then
# ".B Key") and lists every unsupported OpenDKIM key.
CONF5=$ROOT$MANDIR/man5/opendkim.conf.5
SRC=$top_srcdir/opendkim/config.c
# The LDAP keys are taken by the LDAP data sets (opendkim/dataset_ldap.c).
{ sed -n 's/^[[:space:]]*CONFIG_OPT("\([^"]*\)".*/\1/p' "$SRC"
  sed -n '/^static const char \*const dsl_\(inert_\)*keys\[/,/};/p' \
	"$top_srcdir/opendkim/dataset_ldap.c" | grep -o '"LDAP[^"]*"' | tr -d '"'; } | sort > "$T/supported"
[ -s "$T/supported" ] || fail "no CONFIG_OPT entries found in $SRC"
sed -n '/config_opendkim_options\[\] = {/,/};/p' "$SRC" | grep -o '"[^"]*"' |
	tr -d '"' | sort | comm -23 - "$T/supported" | grep -vx Include > "$T/unsupported"
sed -n '/^\.TP$/{n;s/^\.B \([A-Za-z\\-]*\)$/\1/p;}' "$CONF5" | sed 's/\\-/-/g' | sort > "$T/documented"
missing=$(comm -23 "$T/supported" "$T/documented" | tr '\n' ' ')
[ -z "$missing" ] && ok "opendkim.conf(5) documents all $(wc -l < "$T/supported") keys" ||
	fail "opendkim.conf(5) does not document: $missing"
# The list is the first paragraph after the section's introduction.
awk '/^\.SH UNSUPPORTED OPENDKIM KEYS/ { s = 1; next }
	s == 1 && /^\.PP/ { s = 2; next } s == 2 && /^\./ { exit } s == 2' "$CONF5" | sed 's/\\-/-/g' |
	tr ',. ' '\n\n\n' | sort -u > "$T/listed"
missing=$(comm -23 "$T/unsupported" "$T/listed" | tr '\n' ' ')
[ -z "$missing" ] && ok "opendkim.conf(5) lists all $(wc -l < "$T/unsupported") unsupported OpenDKIM keys" ||
	fail "opendkim.conf(5) does not list as unsupported: $missing"
wrong=$(comm -12 "$T/supported" "$T/listed" | tr '\n' ' ')
[ -z "$wrong" ] || fail "opendkim.conf(5) lists supported keys as unsupported: $wrong"

# Every option in each program's --help appears in its man page.
for p in opendkim opendkim-genkey opendkim-testkey; do
	"$ROOT$SBINDIR/$p" --help 2> /dev/null |
		grep -o -- '\(^\|[ ,]\)--*[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,]*//' | sort -u > "$T/flags"
	sed 's/\\-/-/g; s/\\f[BIRP]//g' "$ROOT$MANDIR/man8/$p.8" > "$T/page"
	missing=""
	while read -r flag; do
		grep -q -- "$flag\([^A-Za-z0-9-]\|$\)" "$T/page" || missing="$missing $flag"
	done < "$T/flags"
	[ -z "$missing" ] && ok "$p(8) documents its $(wc -l < "$T/flags") options" ||
		fail "$p(8) does not document:$missing"
done

# ---- systemd -------------------------------------------------------------------------
UNIT=$ROOT$UNITDIR/opendkim.service
grep -q "^ExecStart=$SBINDIR/opendkim -f -x $SYSCONFDIR/opendkim.conf\$" "$UNIT" &&
	ok "unit runs $SBINDIR/opendkim -f" || fail "unit ExecStart: $(grep ExecStart "$UNIT")"
# The socket directories the README names, Debian's chrooted one included.
grep -q "^ReadWritePaths=-/var/spool/postfix/opendkim -/var/spool/postfix/run/opendkim\$" "$UNIT" &&
	ok "unit may write both chrooted socket directories (ours and Debian's)" ||
	fail "unit ReadWritePaths: $(grep ReadWritePaths "$UNIT")"
if command -v systemd-analyze > /dev/null 2>&1; then
	# verify wants the programs to exist: point the copy into DESTDIR.
	mkdir -p "$T/unit" && sed "s|$SBINDIR/|$ROOT$SBINDIR/|g" "$UNIT" > "$T/unit/opendkim.service"
	if out=$(systemd-analyze verify "$T/unit/opendkim.service" 2>&1) && [ -z "$out" ]; then
		ok "systemd-analyze verify accepts the unit"
	else
		fail "systemd-analyze verify: $out"
	fi
else
	echo "note: systemd-analyze not installed; unit not verified"
fi
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers > /dev/null 2>&1; then
	SR=$T/sysroot
	mkdir -p "$SR/etc"
	if systemd-sysusers --root="$SR" "$ROOT$SYSUSERSDIR/opendkim.conf" > "$T/su.log" 2>&1 &&
		grep -q '^opendkim:.*:/usr/sbin/nologin$' "$SR/etc/passwd" &&
		systemd-tmpfiles --root="$SR" --create "$ROOT$TMPFILESDIR/opendkim.conf" >> "$T/su.log" 2>&1 &&
		[ "$(stat -c %a "$SR/run/opendkim")" = 750 ] &&
		[ "$(stat -c %a "$SR/var/spool/postfix/opendkim")" = 750 ] &&
		[ "$(stat -c %u "$SR/var/spool/postfix/opendkim")" = \
		  "$(grep '^opendkim:' "$SR/etc/passwd" | cut -d: -f3)" ]; then
		ok "sysusers.d makes the user; tmpfiles.d the socket directories (0750, opendkim)"
	else
		fail "sysusers/tmpfiles snippets: $(cat "$T/su.log")"
	fi
else
	echo "note: not root or no systemd-sysusers: snippets not applied"
fi

# ---- uninstall keeps the changed configuration, removes the rest -----------------
submake uninstall DESTDIR="$ROOT" > "$T/uninstall.log" 2>&1 ||
	fail "make uninstall: $(tail -n 20 "$T/uninstall.log")"
left=$(cd "$ROOT" && find . -type f | sort | tr '\n' ' ')
[ "$left" = ".$SYSCONFDIR/opendkim.conf .$SYSCONFDIR/opendkim/KeyTable " ] &&
	ok "uninstall left only the changed opendkim.conf and KeyTable" ||
	fail "after uninstall: $left"

[ $FAILS -eq 0 ] || { echo "$FAILS failure(s)" >&2; exit 1; }
exit 0
