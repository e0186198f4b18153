#!/usr/bin/python3
"""bench/naivemilter.py - a milter that answers the way libmilter does when
nobody takes care of its socket: Nagle's algorithm on, and at end of message
the inserted field and the final reply as two separate small writes. Over
TCP the second write waits for the MTA's delayed ACK (~40 ms on Linux).

bench/latency.sh runs it as a control: bench/milterload in its Postfix-like
mode must see that stall, or the latency test would prove nothing.

usage: naivemilter.py PORTFILE   (listens on 127.0.0.1, a free port written
to PORTFILE; serves until killed)
"""
import socket
import struct
import sys
import threading


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def send_packet(conn, cmd, data=b""):
    conn.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def serve(conn):
    """Protocol 6: every step is sent and answered (no SMFIP_* flags)."""
    try:
        while True:
            length = struct.unpack(">I", read_exact(conn, 4))[0]
            packet = read_exact(conn, length)
            cmd = packet[:1]
            if cmd == b"O":
                send_packet(conn, b"O", struct.pack(">III", 6, 0x01, 0))
            elif cmd in (b"D", b"A"):
                continue                    # macros and abort: no reply
            elif cmd in (b"Q", b"K"):
                return
            elif cmd == b"E":
                send_packet(conn, b"i", struct.pack(">I", 0) +
                            b"DKIM-Signature\0v=1; a=rsa-sha256; d=example.com; s=x; b=\0")
                send_packet(conn, b"c")     # a second small write: Nagle holds it
            else:
                send_packet(conn, b"c")
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
