# libodkcore.a, the daemon's core: its pure parts (configuration, data
# sets, host lists, keys, the signing/verifying policy, Authentication-
# Results fields, metrics), as a library the milter, testkey and the unit
# tests link. Nothing in it talks to libmilter.
noinst_LIBRARIES += opendkim/libodkcore.a
opendkim_libodkcore_a_SOURCES = \
	opendkim/config.c opendkim/odkconfig.h \
	opendkim/config_socket.c opendkim/config_socket.h \
	opendkim/diag.c opendkim/diag.h \
	opendkim/dataset.c opendkim/dataset.h \
	opendkim/dataset_backend.h opendkim/dataset_dsn.c \
	opendkim/dataset_pgsql.c opendkim/dataset_mysql.c \
	opendkim/dataset_sqlite.c \
	opendkim/dataset_ldap.c opendkim/dataset_ldap.h \
	opendkim/hostlist.c opendkim/hostlist.h \
	opendkim/keystore.c opendkim/keystore.h \
	opendkim/policy.c opendkim/policy.h \
	opendkim/authres.c opendkim/authres.h \
	opendkim/msglog.c opendkim/msglog.h \
	opendkim/metrics.c opendkim/metrics.h

# dsn: data sets: the client libraries configure found (DATASET_LIBS is in
# DKIM_LIBS, which everything linking this library links).
opendkim_libodkcore_a_CPPFLAGS = $(AM_CPPFLAGS) $(DATASET_CPPFLAGS)

ODKCORE_LIBS = opendkim/libodkcore.a
