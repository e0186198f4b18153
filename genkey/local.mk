# genkey: opendkim-genkey and opendkim-testkey. Installed in sbin, as
# Debian's opendkim-tools does.
sbin_PROGRAMS += genkey/opendkim-genkey genkey/opendkim-testkey

noinst_LIBRARIES += genkey/libgenkey.a
genkey_libgenkey_a_SOURCES = genkey/record.h genkey/record.c

genkey_opendkim_genkey_SOURCES = genkey/genkey.c
genkey_opendkim_genkey_LDADD = genkey/libgenkey.a $(DKIM_LIBS)

genkey_opendkim_testkey_SOURCES = genkey/testkey.c
genkey_opendkim_testkey_LDADD = $(ODKCORE_LIBS) $(DKIM_LIBS)
