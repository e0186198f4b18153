# libdkim: the DKIM engine (no milter code).
noinst_LIBRARIES += libdkim/libdkim.a
libdkim_libdkim_a_SOURCES = \
	libdkim/dkim.h libdkim/dkim_resolver.h libdkim/internal.h \
	libdkim/util.c libdkim/names.c libdkim/domain.c libdkim/taglist.c libdkim/canon.c libdkim/bodyhash.c \
	libdkim/header.c libdkim/key.c libdkim/sig.c libdkim/msg.c \
	libdkim/resolver.c libdkim/dnsanswer.c libdkim/dnsanswer.h \
	libdkim/keycache.c libdkim/keycache.h \
	libdkim/arc.c
