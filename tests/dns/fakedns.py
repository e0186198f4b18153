#!/usr/bin/python3
"""fakedns.py MODE PORTFILE - a misbehaving DNS server for tests.

Listens on 127.0.0.1 (UDP and TCP, same kernel-chosen port, written to
PORTFILE) until killed. Python standard library only.

MODE:
  silent     reads queries and never answers
  servfail   answers every query with RCODE 2 (SERVFAIL)
  refused    answers every query with RCODE 5 (REFUSED)
  wrongname  NOERROR with a TXT answer owned by another name than asked
  garbage    answers with the query ID followed by random bytes
  slow       after FAKEDNS_DELAY seconds (default 0.5), a TXT answer
             holding FAKEDNS_TXT (keep it under ~400 bytes: UDP only)

Every query name received is appended to FAKEDNS_LOG (if set), one a line.
"""
import os
import select
import socket
import struct
import sys
import threading
import time

RCODES = {"servfail": 2, "refused": 5}


def question_end(query):
    """Offset just past the first question (QNAME, QTYPE, QCLASS)."""
    pos = 12
    while pos < len(query):
        n = query[pos]
        if n == 0:
            return pos + 1 + 4
        if n & 0xC0:
            return None
        pos += 1 + n
    return None


def txt_rr(owner_labels, text):
    name = b"".join(bytes([len(l)]) + l for l in owner_labels) + b"\0"
    chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [b""]
    rdata = b"".join(bytes([len(c)]) + c for c in chunks)
    return name + struct.pack("!HHIH", 16, 1, 300, len(rdata)) + rdata


def reply(mode, query):
    if len(query) < 12:
        return None
    qid = query[:2]
    if mode == "garbage":
        return qid + os.urandom(60)
    end = question_end(query)
    if end is None or end > len(query):
        return None
    question = query[12:end]
    flags = 0x8180  # QR, RD, RA
    if mode in RCODES:
        return qid + struct.pack("!HHHHH", flags | RCODES[mode], 1, 0, 0, 0) + question
    if mode == "slow":
        labels, pos = [], 12
        while query[pos] != 0:
            labels.append(query[pos + 1:pos + 1 + query[pos]])
            pos += 1 + query[pos]
        rr = txt_rr(labels, os.environ.get("FAKEDNS_TXT", "").encode())
        return qid + struct.pack("!HHHHH", flags, 1, 1, 0, 0) + question + rr
    if mode == "wrongname":
        rr = txt_rr([b"other", b"example", b"test"], b"v=DKIM1; p=")
        return qid + struct.pack("!HHHHH", flags, 1, 1, 0, 0) + question + rr
    return None


def log_query(query):
    path = os.environ.get("FAKEDNS_LOG")
    end = question_end(query)
    if not path or end is None or end > len(query):
        return
    labels, pos = [], 12
    while query[pos] != 0:
        labels.append(query[pos + 1:pos + 1 + query[pos]].decode("ascii", "replace"))
        pos += 1 + query[pos]
    with open(path, "a") as f:
        f.write(".".join(labels) + "\n")


def answer_later(sock, out, peer):
    time.sleep(float(os.environ.get("FAKEDNS_DELAY", "0.5")))
    sock.sendto(out, peer)


def serve_udp(sock, mode):
    data, peer = sock.recvfrom(65535)
    log_query(data)
    out = reply(mode, data)
    if out is None:
        return
    if mode == "slow":
        threading.Thread(target=answer_later, args=(sock, out, peer), daemon=True).start()
    else:
        sock.sendto(out, peer)


def serve_tcp(conn, mode):
    conn.settimeout(2)
    try:
        hdr = conn.recv(2)
        if len(hdr) < 2:
            return
        (n,) = struct.unpack("!H", hdr)
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return
            data += chunk
        log_query(data)
        out = reply(mode, data)
        if out is not None:
            conn.sendall(struct.pack("!H", len(out)) + out)
    except OSError:
        pass
    finally:
        conn.close()


def bind_pair():
    """A UDP and a TCP socket on the same free port (the kernel picks the
    UDP one; the TCP port may be taken, then try another)."""
    for _ in range(100):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        return udp, tcp, port
    sys.exit("fakedns.py: no free port for UDP and TCP")


def main():
    mode, portfile = sys.argv[1], sys.argv[2]
    if mode not in ("silent", "servfail", "refused", "wrongname", "garbage", "slow"):
        sys.exit("fakedns.py: unknown mode " + mode)
    udp, tcp, port = bind_pair()
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(portfile + ".tmp", portfile)
    held = []  # silent mode keeps TCP connections open, unanswered
    while True:
        ready, _, _ = select.select([udp, tcp], [], [])
        if udp in ready:
            serve_udp(udp, mode)
        if tcp in ready:
            conn, _ = tcp.accept()
            if mode == "silent":
                held.append(conn)
            else:
                serve_tcp(conn, mode)


if __name__ == "__main__":
    main()
