"""mclient.py - a raw milter protocol client for the hostile-input tests.

Plays the MTA's side of the milter protocol (version 6, libmilter/mfdef.h)
byte for byte as the test asks: header names and values, body chunks and
line ends are sent exactly as given (bare CR, bare LF, NUL bytes, a body
that stops in the middle of a CRLF, a "field" without a colon...), which
tests/milter/miltclient, a well-behaved MTA, cannot do. It also sends
garbage and hangs up mid-message on request.

    c = Milter(port)                      # connects and negotiates
    r = c.message(headers, body, client="203.0.113.9")
    r.action      # 'accept', 'continue', 'reject', 'tempfail', 'discard',
                  # or 'replycode 550 5.7.20 ...'
    r.headers     # the header list after the milter's changes
    r.added       # [(name, value)] the milter inserted

headers: a list of (name: bytes, value: bytes); value is sent raw, with its
leading space (the daemon negotiates SMFIP_HDR_LEADSPC). Every protocol
option is offered; steps the milter asks not to get (SMFIP_NO*) are not
sent, replies it says it will not send (SMFIP_NR_*) are not awaited.
Python standard library only. Errors: MilterError on a protocol violation, a closed
connection or a timeout.
"""
import socket
import struct

SMFIP_NOCONNECT = 0x1
SMFIP_NOMAIL = 0x4
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NR_CONN = 0x1000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000
SMFIP_NOHELO = 0x2
SMFIP_NORCPT = 0x8
SMFIP_NODATA = 0x200
SMFIP_NOUNKNOWN = 0x100
MAX_PACKET = 1024 * 1024 + 16
CHUNK = 65535


class MilterError(Exception):
    pass


class Result:
    def __init__(self, headers):
        self.headers = list(headers)
        self.added = []
        self.removed = 0
        self.action = None
        self.quarantine = None

    def header_values(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]


class Milter:
    def __init__(self, port, host="127.0.0.1", timeout=30, offer=0x1FFFFF):
        """offer: the SMFIP_* protocol bits offered at negotiation (all by
        default); withhold an SMFIP_NR_* bit to be answered at that step."""
        self.offer = offer
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        # One write per packet: without this, Nagle holds each small packet
        # until the milter's delayed ACK (~40 ms), as the buffered writes of
        # a real MTA would not.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected = False
        self._negotiate()

    # ---- packets -------------------------------------------------------
    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            part = self.sock.recv(n - len(buf))
            if not part:
                raise MilterError("connection closed by the milter")
            buf += part
        return buf

    def recv(self):
        (n,) = struct.unpack(">I", self._recv_exact(4))
        if n < 1 or n > MAX_PACKET:
            raise MilterError("bad packet length %d" % n)
        data = self._recv_exact(n)
        return data[:1], data[1:]

    def close(self):
        try:
            self.send(b"Q")
        except OSError:
            pass
        self.sock.close()

    def _negotiate(self):
        self.send(b"O", struct.pack(">III", 6, 0x1FF, self.offer))
        cmd, data = self.recv()
        if cmd != b"O" or len(data) < 12:
            raise MilterError("bad negotiation reply %r" % cmd)
        self.version, self.actions, self.proto = struct.unpack(">III", data[:12])

    def _want(self, flag):
        return not (self.proto & flag)

    def _reply(self):
        """The reply to a step; 'continue' or a final action."""
        cmd, data = self.recv()
        return self._action(cmd, data)

    @staticmethod
    def _action(cmd, data):
        names = {b"a": "accept", b"c": "continue", b"r": "reject",
                 b"t": "tempfail", b"d": "discard"}
        if cmd in names:
            return names[cmd]
        if cmd == b"y":
            return "replycode " + data.rstrip(b"\0").decode("latin-1")
        raise MilterError("unexpected reply %r" % cmd)

    # ---- a message -------------------------------------------------------
    def start(self, client="127.0.0.1", hostname=None, auth=None, qid="HOSTILE1"):
        """connect (the first time) + MAIL; returns None, or the final
        action if one came. Like an MTA, one connect per connection: later
        messages reuse the first client (client= is then ignored)."""
        if not self.connected:
            host = (hostname or "[%s]" % client).encode()
            fam = b"6" if ":" in client else b"4"
            self.connected = True
            if self._want(SMFIP_NOCONNECT):
                self.send(b"D", b"C" + b"j\0mx.example.net\0")
                self.send(b"C", host + b"\0" + fam + struct.pack(">H", 25) + client.encode() + b"\0")
                a = self._step_reply(SMFIP_NR_CONN)
                if a != "continue":
                    return a
        macros = b"i\0" + qid.encode() + b"\0"
        if auth:
            macros += b"{auth_type}\0PLAIN\0{auth_authen}\0" + auth.encode() + b"\0"
        if not self._want(SMFIP_NOMAIL):
            return None
        self.send(b"D", b"M" + macros)
        self.send(b"M", b"<sender@example.com>\0")
        a = self._step_reply(SMFIP_NR_MAIL)
        return None if a == "continue" else a

    def _step_reply(self, nr_flag):
        """The reply to a step, unless the milter said it sends none."""
        return self._reply() if self._want(nr_flag) else "continue"

    def headers(self, headers):
        if not self._want(SMFIP_NOHDRS):
            return None
        for name, value in headers:
            self.send(b"L", name + b"\0" + value + b"\0")
            a = self._step_reply(SMFIP_NR_HDR)
            if a != "continue":
                return a
        return None

    def message(self, headers, body, client="127.0.0.1", hostname=None, auth=None,
                qid="HOSTILE1"):
        res = Result(headers)
        a = self.start(client, hostname, auth, qid)
        if a is None:
            a = self.headers(headers)
        if a is None and self._want(SMFIP_NOEOH):
            self.send(b"N")
            a = self._step_reply(SMFIP_NR_EOH)
            a = None if a == "continue" else a
        if a is None and self._want(SMFIP_NOBODY):
            for i in range(0, len(body), CHUNK):
                self.send(b"B", body[i:i + CHUNK])
                b = self._step_reply(SMFIP_NR_BODY)
                if b != "continue":
                    a = b
                    break
        if a is None:
            self.send(b"E")
            a = self._eom(res)
        res.action = a
        return res

    def _eom(self, res):
        while True:
            cmd, data = self.recv()
            if cmd == b"i":
                idx = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                res.headers.insert(idx, (name, value))
                res.added.append((name, value))
            elif cmd == b"h":
                name, value = data.split(b"\0")[:2]
                res.headers.append((name, value))
                res.added.append((name, value))
            elif cmd == b"m":
                idx = struct.unpack(">I", data[:4])[0]
                name, value = data[4:].split(b"\0")[:2]
                self._change(res, idx, name, value)
            elif cmd == b"q":
                res.quarantine = data.rstrip(b"\0")
            elif cmd == b"p":
                continue  # progress
            else:
                return self._action(cmd, data)

    @staticmethod
    def _change(res, idx, name, value):
        """The idx-th (1-based) field called name: changed, or deleted if empty."""
        seen = 0
        for pos, (n, _) in enumerate(res.headers):
            if n.lower() == name.lower():
                seen += 1
                if seen == idx:
                    if value == b"":
                        del res.headers[pos]
                        res.removed += 1
                    else:
                        res.headers[pos] = (n, value)
                    return


def parse(raw):
    """A stored message (LF or CRLF) into (headers, body with CRLF)."""
    raw = raw.replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    headers = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + b"\r\n" + line)
        else:
            n, _, v = line.partition(b":")
            headers.append((n, v))
    return headers, body.replace(b"\n", b"\r\n")


def render(headers, body):
    """A message as bytes, CRLF line ends (for dkimpy)."""
    out = b"".join(n + b":" + v + b"\r\n" for n, v in headers)
    return out + b"\r\n" + body


def ar_of(res, authserv_id=b"mx.example.net"):
    """The Authentication-Results values carrying authserv_id, in order."""
    return [v for v in res.header_values(b"Authentication-Results")
            if v.strip().lower().startswith(authserv_id.lower())]
