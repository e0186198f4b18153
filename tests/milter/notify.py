#!/usr/bin/python3
"""A stand-in for systemd's notification socket (sd_notify(3)).

    notify.py SOCKETPATH OUTFILE

Binds a datagram socket at SOCKETPATH and appends each message received
to OUTFILE, its lines joined by "|", one message a line, until killed.
"""
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a") as f:
    f.write("listening\n")
    f.flush()
    while True:
        data = s.recv(4096)
        f.write(data.decode("utf-8", "replace").strip("\n").replace("\n", "|") + "\n")
        f.flush()
