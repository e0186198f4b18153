#!/usr/bin/python3
"""A minimal SMTP server that stores every message it receives, for tests.

usage: smtpsink.py PORTFILE OUTDIR
Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and
writes each message to OUTDIR/N.eml (N = 1, 2, ...) with LF line ends,
dot-stuffing removed, preceded by "X-Sink-Mail-From:" and "X-Sink-Rcpt-To:"
lines. Runs until killed. Python standard library only.
"""
import os
import socketserver
import sys
import threading

COUNTER_LOCK = threading.Lock()
COUNTER = [0]


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def read_data(self):
        lines = []
        while True:
            raw = self.rfile.readline(1 << 20)
            if not raw:
                return None
            line = raw.rstrip(b"\r\n")
            if line == b".":
                return lines
            if line.startswith(b".."):
                line = line[1:]
            lines.append(line)

    def store(self, sender, rcpts, lines):
        with COUNTER_LOCK:
            COUNTER[0] += 1
            n = COUNTER[0]
        path = os.path.join(self.server.outdir, "%d.eml" % n)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Sink-Mail-From: " + sender + b"\n")
            f.write(b"X-Sink-Rcpt-To: " + b",".join(rcpts) + b"\n")
            for line in lines:
                f.write(line + b"\n")
        os.rename(tmp, path)   # complete files only

    def handle(self):
        self.reply("220 sink.example ESMTP test sink")
        sender, rcpts = b"", []
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            cmd = raw.strip()
            verb = cmd[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 sink.example")
            elif verb == b"MAIL":
                sender, rcpts = cmd[10:].strip(b" <>"), []
                self.reply("250 2.1.0 ok")
            elif verb == b"RCPT":
                rcpts.append(cmd[8:].strip(b" <>"))
                self.reply("250 2.1.5 ok")
            elif verb == b"DATA":
                self.reply("354 go ahead")
                lines = self.read_data()
                if lines is None:
                    return
                self.store(sender, rcpts, lines)
                self.reply("250 2.0.0 stored")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 bye")
                return
            elif verb in (b"RSET", b"NOOP"):
                self.reply("250 2.0.0 ok")
            else:
                self.reply("502 5.5.2 not implemented")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Session)
    server.outdir = sys.argv[2]
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


main()
