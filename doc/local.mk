# doc/: man pages, systemd unit, install rules
