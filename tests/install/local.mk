# tests/install: "make install DESTDIR=..." from the build directory, then
# the installed binaries, sample configuration, man pages and systemd files
# are checked (install.sh); the daemon runs under an emulation of the
# systemd unit's system-call filter (seccomp.sh).
TESTS += tests/install/install.sh tests/install/seccomp.sh
dist_noinst_SCRIPTS += tests/install/install.sh tests/install/seccomp.sh \
	tests/install/readme-walk.sh
