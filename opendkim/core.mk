# opendkim core: the pure parts of the daemon (configuration, data sets,
# host lists, keys, policy, Authentication-Results fields), as a library
# the milter, testkey and the unit tests link.
noinst_LIBRARIES += opendkim/libodkconf.a
opendkim_libodkconf_a_SOURCES = \
	opendkim/config.c opendkim/config.h \
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
	opendkim/metrics.c opendkim/metrics.h

# dsn: data sets: the client libraries configure found (DATASET_LIBS is in
# DKIM_LIBS, which everything linking this library links).
opendkim_libodkconf_a_CPPFLAGS = $(AM_CPPFLAGS) $(DATASET_CPPFLAGS)

ODKCONF_LIBS = opendkim/libodkconf.a
