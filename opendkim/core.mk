# opendkim core: the pure parts of the daemon (configuration, data sets,
# host lists, keys, policy, Authentication-Results fields), as a library
# the milter, testkey and the unit tests link.
noinst_LIBRARIES += opendkim/libodkconf.a
opendkim_libodkconf_a_SOURCES = \
	opendkim/config.c opendkim/config.h \
	opendkim/dataset.c opendkim/dataset.h \
	opendkim/hostlist.c opendkim/hostlist.h \
	opendkim/keystore.c opendkim/keystore.h \
	opendkim/policy.c opendkim/policy.h \
	opendkim/authres.c opendkim/authres.h \
	opendkim/metrics.c opendkim/metrics.h

ODKCONF_LIBS = opendkim/libodkconf.a
