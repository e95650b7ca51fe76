"""zkraw — a tiny raw-socket ZooKeeper client for tests that need byte-level control
(hostile input, pipelining, exact reply codes). Standard library only.

Owns: jute encoding of the few records the tests send (ConnectRequest, RequestHeader,
path/data/ACL bodies), frame reading, and RawConn, one TCP connection with its session
state. Facts from /work/shared/research/zk-compat.md §1-§4; nothing here is copied code.

Encoding: every frame = int32 BE length + payload; jute int = 4 B BE, long = 8 B BE,
bool = 1 B, buffer/ustring = int32 length + bytes (-1 = null), vector = int32 count + items.
"""

import socket
import struct
import time

# opcodes
OP_CREATE, OP_DELETE, OP_EXISTS, OP_GETDATA, OP_SETDATA = 1, 2, 3, 4, 5
OP_GETACL, OP_SETACL, OP_GETCHILDREN, OP_SYNC, OP_PING = 6, 7, 8, 9, 11
OP_GETCHILDREN2, OP_CHECK, OP_MULTI, OP_CREATE2 = 12, 13, 14, 15
OP_GETALLCHILDRENNUMBER, OP_GETEPHEMERALS, OP_WHOAMI = 104, 103, 107
OP_AUTH, OP_SETWATCHES, OP_CLOSE = 100, 101, -11
XID_PING, XID_AUTH, XID_NOTIFY = -2, -4, -1
MAX_BUFFER = 0xfffff

WORLD_ANYONE_ALL = [(31, "world", "anyone")]


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def boolean(v):
    return b"\x01" if v else b"\x00"


def buf(b):
    """jute buffer; None encodes as length -1."""
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def ustr(s):
    if s is None:
        return i32(-1)
    b = s.encode("utf-8") if isinstance(s, str) else s
    return i32(len(b)) + b


def acl_vec(acls):
    return i32(len(acls)) + b"".join(i32(p) + ustr(sc) + ustr(i) for p, sc, i in acls)


def frame(payload):
    return i32(len(payload)) + payload


def connect_request(timeout_ms=10000, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                    read_only=False, proto=0, with_ro=True):
    body = i32(proto) + i64(last_zxid) + i32(timeout_ms) + i64(session_id) + buf(passwd)
    if with_ro:
        body += boolean(read_only)
    return frame(body)


def create_body(path, data=b"", acls=WORLD_ANYONE_ALL, flags=0):
    return ustr(path) + buf(data) + acl_vec(acls) + i32(flags)


def path_watch_body(path, watch=False):
    return ustr(path) + boolean(watch)


def setdata_body(path, data, version=-1):
    return ustr(path) + buf(data) + i32(version)


def delete_body(path, version=-1):
    return ustr(path) + i32(version)


class Closed(Exception):
    """The server closed the connection."""


class RawConn:
    """One TCP connection to a ZooKeeper-protocol server. Not thread-safe.
    Caller owns it; close() is idempotent."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.xid = 0
        self.session_id = 0
        self.passwd = b""
        self.negotiated = 0
        self.last_zxid = 0

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        self.sock.sendall(data)

    def _recv_exact(self, n, timeout):
        out = b""
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(n - len(out))
            except ConnectionResetError:
                raise Closed("reset")
            if not b:
                raise Closed("eof")
            out += b
        return out

    def read_frame(self, timeout=None):
        """Returns one frame's payload. Raises Closed or socket.timeout."""
        t = self.timeout if timeout is None else timeout
        n = struct.unpack(">i", self._recv_exact(4, t))[0]
        if n < 0 or n > 64 * 1024 * 1024:
            raise ValueError("server sent frame length %d" % n)
        return self._recv_exact(n, t)

    def handshake(self, **kw):
        """Sends a ConnectRequest and reads the ConnectResponse.
        Returns (protocolVersion, timeOut, sessionId, passwd, response length)."""
        self.send(connect_request(**kw))
        resp = self.read_frame()
        proto, to, sid = struct.unpack(">iiq", resp[:16])
        plen = struct.unpack(">i", resp[16:20])[0]
        pw = resp[20:20 + max(plen, 0)]
        self.session_id, self.passwd, self.negotiated = sid, pw, to
        return proto, to, sid, pw, len(resp)

    def request(self, op, body=b"", xid=None):
        """Sends one request; returns its xid."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(frame(i32(xid) + i32(op) + body))
        return xid

    def read_reply(self, timeout=None):
        """Reads one reply. Returns (xid, zxid, err, body)."""
        p = self.read_frame(timeout)
        xid, zxid, err = struct.unpack(">iqi", p[:16])
        if zxid > self.last_zxid and xid != XID_NOTIFY:
            self.last_zxid = zxid
        return xid, zxid, err, p[16:]

    def call(self, op, body=b"", timeout=None):
        """Request + its reply (notifications before it are skipped). Returns (err, body)."""
        xid = self.request(op, body)
        while True:
            rxid, _z, err, rbody = self.read_reply(timeout)
            if rxid == XID_NOTIFY:
                continue
            if rxid != xid:
                raise ValueError("reply xid %d, expected %d" % (rxid, xid))
            return err, rbody

    def ping(self, timeout=None):
        """Ping round trip; returns True when the ping reply came back."""
        self.request(OP_PING, xid=XID_PING)
        while True:
            rxid, _z, _e, _b = self.read_reply(timeout)
            if rxid == XID_PING:
                return True


def connect(port, timeout=5.0, **kw):
    """New RawConn with a completed handshake (a fresh session)."""
    c = RawConn(port, timeout)
    try:
        c.handshake(**kw)
    except BaseException:
        c.close()
        raise
    return c


def parse_stat(b, off=0):
    """Decodes a 68-byte Stat at b[off:]; returns (dict, new offset)."""
    f = struct.unpack(">qqqqiiiqiiq", b[off:off + 68])
    keys = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
            "ephemeralOwner", "dataLength", "numChildren", "pzxid")
    return dict(zip(keys, f)), off + 68


def parse_buffer(b, off=0):
    n = struct.unpack(">i", b[off:off + 4])[0]
    off += 4
    if n < 0:
        return None, off
    return b[off:off + n], off + n
