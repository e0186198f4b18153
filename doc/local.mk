# doc/: man pages, the sample configuration, the systemd unit and its
# sysusers.d/tmpfiles.d snippets, and how they are installed.
#
#   $(sbindir)/opendkim ...................... opendkim/local.mk, genkey/local.mk
#   $(mandir)/man5, man8 ..................... the man pages below
#   $(sysconfdir)/opendkim.conf .............. conf/opendkim.conf, only when
#                                              there is none (never overwritten)
#   $(sysconfdir)/opendkim/KeyTable, ......... the tables the sample names, each
#     SigningTable, TrustedHosts               only when there is none: KeyTable
#                                              and SigningTable with every entry
#                                              commented out (no key yet)
#   $(docdir)/examples ....................... the sample configuration, tables
#                                              and Postfix lines
#   $(systemdsystemunitdir)/opendkim.service . configure --with-systemdsystemunitdir
#   $(sysusersdir)/opendkim.conf, $(tmpfilesdir)/opendkim.conf

dist_man_MANS = doc/opendkim.8 doc/opendkim.conf.5 \
	doc/opendkim-genkey.8 doc/opendkim-testkey.8

# The sample configuration and tables, for reference (conf/local.mk puts
# them in the tarball).
examplesdir = $(docdir)/examples
examples_DATA = conf/opendkim.conf conf/KeyTable conf/SigningTable \
	conf/TrustedHosts conf/postfix-main.cf.sample \
	conf/prometheus.yml conf/dkimd-alerts.yml

# systemd. The unit names $(sbindir) and $(sysconfdir), so it is made here
# with sed rather than by configure (make expands the directories fully).
sysusersdir = $(prefix)/lib/sysusers.d
tmpfilesdir = $(prefix)/lib/tmpfiles.d
EXTRA_DIST += systemd/opendkim.service.in systemd/opendkim.sysusers \
	systemd/opendkim.tmpfiles
CLEANFILES += systemd/opendkim.service
if INSTALL_SYSTEMD
systemdsystemunit_DATA = systemd/opendkim.service
endif
noinst_DATA = systemd/opendkim.service

systemd/opendkim.service: $(srcdir)/systemd/opendkim.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@SERVICE_TYPE[@]|$(SERVICE_TYPE)|g' \
	    $(srcdir)/systemd/opendkim.service.in > $@.tmp && mv $@.tmp $@

# The snippets are installed under the name systemd looks for.
doc_install_snippets:
	$(MKDIR_P) '$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(tmpfilesdir)'
	$(INSTALL_DATA) $(srcdir)/systemd/opendkim.sysusers \
		'$(DESTDIR)$(sysusersdir)/opendkim.conf'
	$(INSTALL_DATA) $(srcdir)/systemd/opendkim.tmpfiles \
		'$(DESTDIR)$(tmpfilesdir)/opendkim.conf'

# An existing opendkim.conf is the administrator's: it is never replaced.
doc_install_conf:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -f '$(DESTDIR)$(sysconfdir)/opendkim.conf'; then \
		echo "keeping the existing $(DESTDIR)$(sysconfdir)/opendkim.conf"; \
	else \
		echo " $(INSTALL_DATA) conf/opendkim.conf '$(DESTDIR)$(sysconfdir)/opendkim.conf'"; \
		$(INSTALL_DATA) $(srcdir)/conf/opendkim.conf \
			'$(DESTDIR)$(sysconfdir)/opendkim.conf'; \
	fi

# The tables the sample configuration names, so that a fresh install
# passes "opendkim -n" and starts (verifying only until a key is added):
# KeyTable and SigningTable are the examples with each entry commented
# out, since their keys do not exist yet; TrustedHosts is the example
# (loopback). DOC_TABLE_CMD writes table $$t as installed to stdout.
DOC_TABLES = KeyTable SigningTable TrustedHosts
DOC_TABLE_CMD = case $$t in \
	TrustedHosts) cat $(srcdir)/conf/$$t ;; \
	*) echo "\# Installed with every entry commented out: add your keys (README, \"The first key\")."; \
	   sed -e 's/^\([^\#]\)/\# \1/' $(srcdir)/conf/$$t ;; \
	esac

# Existing tables are the administrator's: never replaced.
doc_install_tables:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/opendkim'
	@for t in $(DOC_TABLES); do \
		dst='$(DESTDIR)$(sysconfdir)/opendkim/'$$t; \
		if test -f "$$dst"; then \
			echo "keeping the existing $$dst"; continue; \
		fi; \
		echo " installing $$dst"; \
		{ $(DOC_TABLE_CMD); } > "$$dst.tmp" && chmod 644 "$$dst.tmp" && \
			mv "$$dst.tmp" "$$dst" || exit 1; \
	done

if INSTALL_SYSTEMD
DOC_SNIPPETS = doc_install_snippets
endif
install-data-hook: doc_install_conf doc_install_tables $(DOC_SNIPPETS)

# Uninstall removes the configuration only when it is still the sample.
uninstall-hook:
	rm -f '$(DESTDIR)$(sysusersdir)/opendkim.conf' \
		'$(DESTDIR)$(tmpfilesdir)/opendkim.conf'
	@if cmp -s $(srcdir)/conf/opendkim.conf \
			'$(DESTDIR)$(sysconfdir)/opendkim.conf'; then \
		echo " rm -f '$(DESTDIR)$(sysconfdir)/opendkim.conf'"; \
		rm -f '$(DESTDIR)$(sysconfdir)/opendkim.conf'; \
	fi
	@for t in $(DOC_TABLES); do \
		dst='$(DESTDIR)$(sysconfdir)/opendkim/'$$t; \
		test -f "$$dst" || continue; \
		if { $(DOC_TABLE_CMD); } | cmp -s - "$$dst"; then \
			echo " rm -f $$dst"; rm -f "$$dst"; \
		fi; \
	done
	-rmdir '$(DESTDIR)$(sysconfdir)/opendkim' 2> /dev/null

.PHONY: doc_install_snippets doc_install_conf doc_install_tables

# "make installcheck" (run by distcheck too): the installed programs start.
installcheck-local:
	'$(DESTDIR)$(sbindir)/opendkim' -V > /dev/null
	'$(DESTDIR)$(sbindir)/opendkim-genkey' -V > /dev/null
	'$(DESTDIR)$(sbindir)/opendkim-testkey' -V > /dev/null
	'$(DESTDIR)$(sbindir)/opendkim' -n -x /dev/null

# Files of the tree that have no fragment of their own: the scripts the
# README names (demo, dependencies, the whole test run), CI's entry point,
# and the fuzz runner with its notes.
EXTRA_DIST += scripts/demo scripts/install-deps scripts/test-all .ci/run \
	tests/fuzz/run tests/fuzz/README.md
