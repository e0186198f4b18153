# opendkim: the milter daemon (libmilter side, process, reporting).
sbin_PROGRAMS += opendkim/opendkim
opendkim_opendkim_SOURCES = \
	opendkim/main.c \
	opendkim/milter.c opendkim/milter.h \
	opendkim/runtime.c opendkim/runtime.h \
	opendkim/arcseal.c opendkim/arcseal.h \
	opendkim/verdict.c opendkim/verdict.h \
	opendkim/metrics_http.c opendkim/metrics_http.h \
	opendkim/log.c opendkim/log.h
opendkim_opendkim_CPPFLAGS = $(AM_CPPFLAGS) -DDKIMD_VERSION='"$(PACKAGE_VERSION)"'
opendkim_opendkim_LDADD = opendkim/libodkcore.a $(DKIM_LIBS) $(MILTER_LIBS)
# Optional parts (configure --with-microhttpd, --with-libsystemd).
if HAVE_MICROHTTPD
opendkim_opendkim_CPPFLAGS += -DDKIMD_HAVE_MHD $(MHD_CFLAGS)
opendkim_opendkim_LDADD += $(MHD_LIBS)
endif
if HAVE_LIBSYSTEMD
opendkim_opendkim_CPPFLAGS += -DDKIMD_HAVE_SYSTEMD $(SYSTEMD_CFLAGS)
opendkim_opendkim_LDADD += $(SYSTEMD_LIBS)
endif
