# tests/install: "make install DESTDIR=..." from the build directory, then
# the installed binaries, sample configuration, man pages and systemd files
# are checked (tests/install/install.sh says what exactly).
TESTS += tests/install/install.sh
dist_noinst_SCRIPTS += tests/install/install.sh
