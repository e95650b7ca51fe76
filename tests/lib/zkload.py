"""zkload — client-side workloads and read-back for the ensemble fault tests (raw sockets).

Owns:
  * FailoverClient: one session that moves between ensemble members like a real client
    (on connection loss it reconnects to the next address with its session id, password
    and last zxid seen), and records what a client can observe: every session id it held,
    every move, and any reply whose zxid went backwards.
  * SeqWriter: a thread creating <root>/<name>-<i> one at a time through a FailoverClient,
    recording which creates were acknowledged (and when), which had an unknown outcome
    (the connection was lost with the request in flight) and which were refused.
  * PipelinedWriter: a thread keeping `window` creates in flight on one connection
    (bulk load; stops when the connection ends), recording the acknowledged ones.
  * read_tree / compare_trees: a subtree read from ONE member after sync (data and full
    Stat of every node, pipelined), and a comparison of such reads across members.
Facts about the wire format: /work/shared/research/zk-compat.md; encoding helpers in zkraw.
"""

import hashlib
import socket
import struct
import threading
import time
from collections import deque

import zkraw
from zkraw import frame, i32

ZNODEEXISTS = -110
ZNONODE = -101


class ConnectionLoss(Exception):
    """The connection ended (or a reply did not come in time) with a request in flight:
    its outcome is unknown."""


class SessionExpired(Exception):
    """A server answered the reconnect with timeOut 0: the session is gone."""


def parse_children(body):
    n = struct.unpack(">i", body[:4])[0]
    off, names = 4, []
    for _ in range(max(n, 0)):
        ln = struct.unpack(">i", body[off:off + 4])[0]
        names.append(body[off + 4:off + 4 + ln].decode())
        off += 4 + ln
    return names


class FailoverClient:
    """A session spread over `ports`. Not thread-safe (one user thread).

    call() raises ConnectionLoss when the connection fails with the request in flight (the
    next call reconnects, starting with the next address) and SessionExpired when the
    session was refused on reconnect. connect() tries the addresses round-robin until
    give_up_s passes (then ConnectionLoss)."""

    def __init__(self, ports, start=0, timeout_ms=10000, connect_timeout=1.0,
                 request_timeout=4.0, give_up_s=30.0):
        self.ports = list(ports)
        self.idx = start
        self.timeout_ms = timeout_ms
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.give_up_s = give_up_s
        self.conn = None
        self.port = None
        self.session_id = 0
        self.passwd = b"\0" * 16
        self.last_zxid = 0
        self.sessions = []          # every session id this client held, in order
        self.moves = []             # (monotonic time, port) of every (re)connect
        self.zxid_backwards = []    # (port, seen, before) for each reply whose zxid went back
        self.xid = 0

    def close(self):
        """Closes the session (closeSession) if connected, then the socket."""
        if self.conn is not None:
            try:
                self._call_once(zkraw.OP_CLOSE, b"")
            except (ConnectionLoss, OSError):
                pass
            self._drop()

    def _drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
            self.idx += 1

    def connect(self):
        deadline = time.monotonic() + self.give_up_s
        tried = 0
        while True:
            port = self.ports[self.idx % len(self.ports)]
            c = None
            try:
                c = zkraw.RawConn(port, timeout=self.connect_timeout)
                _p, to, sid, pw, _n = c.handshake(timeout_ms=self.timeout_ms,
                                                  session_id=self.session_id,
                                                  passwd=self.passwd, last_zxid=self.last_zxid)
                if to > 0 and sid != 0:
                    if sid != self.session_id:
                        self.sessions.append(sid)
                    self.session_id, self.passwd = sid, pw
                    self.conn, self.port = c, port
                    self.conn.timeout = self.request_timeout
                    self.moves.append((time.monotonic(), port))
                    return
                c.close()
                if self.session_id != 0:
                    raise SessionExpired("session 0x%x refused by port %d" % (self.session_id, port))
            except (OSError, zkraw.Closed, socket.timeout, struct.error, ValueError):
                if c is not None:
                    c.close()
            self.idx += 1
            tried += 1
            if time.monotonic() > deadline:
                raise ConnectionLoss("no server accepted the session within %.0fs" % self.give_up_s)
            if tried % len(self.ports) == 0:
                time.sleep(0.005)

    def _call_once(self, op, body):
        self.xid += 1
        xid = self.xid
        try:
            self.conn.send(frame(i32(xid) + i32(op) + body))
            while True:
                rxid, zxid, err, rbody = self.conn.read_reply(self.request_timeout)
                if rxid in (zkraw.XID_NOTIFY, zkraw.XID_PING):
                    continue
                if rxid != xid:
                    raise ConnectionLoss("reply xid %d, expected %d" % (rxid, xid))
                if zxid > 0:
                    if zxid < self.last_zxid:
                        self.zxid_backwards.append((self.port, zxid, self.last_zxid))
                    else:
                        self.last_zxid = zxid
                return err, rbody
        except (OSError, zkraw.Closed, socket.timeout, struct.error) as e:
            self._drop()
            raise ConnectionLoss("%s on port %s" % (type(e).__name__, self.port))

    def call(self, op, body=b""):
        """One request; returns (err, body). Connects first if needed."""
        if self.conn is None:
            self.connect()
        return self._call_once(op, body)

    def create(self, path, data=b"", flags=0):
        return self.call(zkraw.OP_CREATE, zkraw.create_body(path, data, flags=flags))[0]

    def set(self, path, data):
        return self.call(zkraw.OP_SETDATA, zkraw.setdata_body(path, data))[0]


class SeqWriter(threading.Thread):
    """Creates root/name-NNNNNN (data b"name i") one request at a time through its own
    FailoverClient until stop() — acknowledged: list of (i, monotonic time the request was
    sent, monotonic time of the reply);
    uncertain: indexes whose connection was lost in flight; refused: (i, err) for
    replies with err != 0; expired: the session was lost (the writer stops)."""

    def __init__(self, ports, root, name, start=0, timeout_ms=10000, ephemeral=True):
        super().__init__(daemon=True, name="writer-" + name)
        self.client = FailoverClient(ports, start=start, timeout_ms=timeout_ms)
        self.root, self.wname = root, name
        self.acked = []
        self.uncertain = set()
        self.refused = []
        self.expired = None
        self.error = None
        self.sent = 0
        self.want_ephemeral = ephemeral
        self.eph_path = "%s/eph-%s" % (root, name)
        self._stop_ev = threading.Event()
        self.ready = threading.Event()

    def path(self, i):
        return "%s/%s-%06d" % (self.root, self.wname, i)

    def data(self, i):
        return b"%s %d" % (self.wname.encode(), i)

    def stop(self):
        self._stop_ev.set()

    def run(self):
        try:
            if self.want_ephemeral:
                err = self.client.create(self.eph_path, b"owner", flags=1)
                if err != 0:
                    raise RuntimeError("create %s -> %d" % (self.eph_path, err))
            self.ready.set()
            i = 0
            while not self._stop_ev.is_set():
                self.sent = i + 1
                t_sent = time.monotonic()
                try:
                    err = self.client.create(self.path(i), self.data(i))
                except ConnectionLoss:
                    self.uncertain.add(i)
                    i += 1
                    continue
                if err == 0:
                    self.acked.append((i, t_sent, time.monotonic()))
                else:
                    self.refused.append((i, err))
                i += 1
        except SessionExpired as e:
            self.expired = str(e)
        except Exception as e:      # reported by the test
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            self.ready.set()

    def finish(self, timeout=30):
        self.stop()
        self.join(timeout)
        if self.is_alive():
            raise RuntimeError("writer %s did not stop" % self.wname)

    @property
    def acked_set(self):
        return {a[0] for a in self.acked}

    def first_ack_sent_after(self, t):
        """Reply time of the first acknowledged write that was SENT after t (None: none)."""
        return next((a[2] for a in self.acked if a[1] > t), None)

    def acks_sent_after(self, t):
        return sum(1 for a in self.acked if a[1] > t)

    def max_gap(self, t0=None, t1=None):
        """Longest time between consecutive acknowledgements within [t0, t1]."""
        ts = [a[2] for a in self.acked if (t0 is None or a[2] >= t0) and (t1 is None or a[2] <= t1)]
        return max((b - a for a, b in zip(ts, ts[1:])), default=0.0)


class PipelinedWriter(threading.Thread):
    """Creates root/name-NNNNNN with `window` requests in flight on ONE connection to
    `port` (no failover) until stop(), `count` creates, or the connection ends.
    acked: indexes acknowledged with err 0; sent: creates sent; ended: why it ended."""

    def __init__(self, port, root, name, window=32, count=None, size=64):
        super().__init__(daemon=True, name="pwriter-" + name)
        self.port, self.root, self.wname = port, root, name
        self.window, self.count, self.size = window, count, size
        self.acked = []
        self.refused = []
        self.sent = 0
        self.ended = None
        self._stop_ev = threading.Event()

    def path(self, i):
        return "%s/%s-%06d" % (self.root, self.wname, i)

    def data(self, i):
        """size bytes: a tag, then pseudo-random bytes derived from it (incompressible, so
        a resync of these nodes really moves size bytes per node)."""
        tag = b"%s %d " % (self.wname.encode(), i)
        out, h = [tag], tag
        n = len(tag)
        while n < self.size:
            h = hashlib.sha256(h).digest()
            out.append(h)
            n += len(h)
        return b"".join(out)[:max(self.size, len(tag))]

    def stop(self):
        self._stop_ev.set()

    def run(self):
        try:
            c = zkraw.connect(self.port, timeout=10.0, timeout_ms=10000)
        except Exception as e:
            self.ended = "connect: %r" % e
            return
        inflight = deque()
        xid = 0
        try:
            while True:
                stopping = self._stop_ev.is_set() or (self.count is not None and
                                                      self.sent >= self.count)
                if stopping and not inflight:
                    break
                batch = []
                while not stopping and len(inflight) < self.window and (
                        self.count is None or self.sent < self.count):
                    xid += 1
                    i = self.sent
                    self.sent += 1
                    batch.append(frame(i32(xid) + i32(zkraw.OP_CREATE) +
                                       zkraw.create_body(self.path(i), self.data(i))))
                    inflight.append((xid, i))
                if batch:
                    c.send(b"".join(batch))
                rxid, _z, err, _b = c.read_reply(timeout=10.0)
                if rxid in (zkraw.XID_NOTIFY, zkraw.XID_PING):
                    continue
                exp_xid, i = inflight.popleft()
                if rxid != exp_xid:
                    self.ended = "reply xid %d, expected %d" % (rxid, exp_xid)
                    return
                if err == 0:
                    self.acked.append(i)
                else:
                    self.refused.append((i, err))
            self.ended = "done"
        except (zkraw.Closed, OSError, socket.timeout) as e:
            self.ended = "connection ended: %s" % type(e).__name__
        finally:
            c.close()

    def finish(self, timeout=60):
        self.stop()
        self.join(timeout)


# ------------------------------------------------------------------ read-back

STAT_KEYS = ("czxid", "mzxid", "pzxid", "ctime", "mtime", "version", "cversion", "aversion",
             "ephemeralOwner", "dataLength", "numChildren")


def _pipeline(c, reqs, timeout):
    """Sends (op, body) requests in batches and returns [(err, body)] in order."""
    out = []
    for k in range(0, len(reqs), 500):
        chunk = reqs[k:k + 500]
        base = c.xid
        c.send(b"".join(frame(i32(base + j + 1) + i32(op) + body)
                        for j, (op, body) in enumerate(chunk)))
        c.xid = base + len(chunk)
        for j in range(len(chunk)):
            while True:
                rxid, _z, err, rb = c.read_reply(timeout=timeout)
                if rxid not in (zkraw.XID_NOTIFY, zkraw.XID_PING):
                    break
            if rxid != base + j + 1:
                raise ValueError("reply xid %d, expected %d" % (rxid, base + j + 1))
            out.append((err, rb))
    return out


ZNOAUTH = -102
NOAUTH_DATA = b"<NoAuth>"


def add_auth(c, scheme, cred, timeout=10.0):
    """Sends an AuthPacket on RawConn c and waits for its reply; returns the err."""
    c.send(frame(i32(zkraw.XID_AUTH) + i32(zkraw.OP_AUTH) + i32(0) + zkraw.ustr(scheme) +
                 zkraw.buf(cred)))
    while True:
        rxid, _z, err, _b = c.read_reply(timeout=timeout)
        if rxid == zkraw.XID_AUTH:
            return err


def read_tree(port, root, timeout=30.0, sync=True, auths=()):
    """Reads the subtree at root from the server on `port` alone, after sync(root) (so it
    has everything the leader committed before). auths: (scheme, credential bytes) pairs
    added to the session first. Returns {path: (data, stat-tuple)} with the stat fields
    in STAT_KEYS order (the Stat comes from exists, so a node this session may not read
    is still listed, with data NOAUTH_DATA; its children are then not listed either).
    A node deleted while being read is left out. Raises OSError / zkraw.Closed /
    ValueError when the server does not answer or fails a request."""
    with zkraw.connect(port, timeout=timeout) as c:
        for scheme, cred in auths:
            err = add_auth(c, scheme, cred, timeout)
            if err != 0:
                raise ValueError("auth %s on port %d -> %d" % (scheme, port, err))
        if sync:
            err, _ = c.call(zkraw.OP_SYNC, zkraw.ustr(root), timeout=timeout)
            if err != 0:
                raise ValueError("sync %s on port %d -> %d" % (root, port, err))
        tree = {}
        level = [root]
        while level:
            stats = _pipeline(c, [(zkraw.OP_EXISTS, zkraw.path_watch_body(p)) for p in level],
                              timeout)
            datas = _pipeline(c, [(zkraw.OP_GETDATA, zkraw.path_watch_body(p)) for p in level],
                              timeout)
            kids = _pipeline(c, [(zkraw.OP_GETCHILDREN, zkraw.path_watch_body(p))
                                 for p in level], timeout)
            nxt = []
            for p, (serr, sb), (err, rb), (kerr, kb) in zip(level, stats, datas, kids):
                if serr == ZNONODE:
                    continue
                if serr != 0 or err not in (0, ZNONODE, ZNOAUTH):
                    raise ValueError("exists/getData %s on port %d -> %d/%d" % (p, port, serr, err))
                st, _ = zkraw.parse_stat(sb, 0)
                data = NOAUTH_DATA if err == ZNOAUTH else (
                    zkraw.parse_buffer(rb)[0] or b"" if err == 0 else b"")
                tree[p] = (data, tuple(st[k] for k in STAT_KEYS))
                if kerr == 0:
                    base = p.rstrip("/")
                    nxt.extend("%s/%s" % (base, n) for n in sorted(parse_children(kb)))
            level = nxt
        return tree


def compare_trees(trees):
    """trees: {label: tree from read_tree}. Returns a list of differences (empty when
    every tree is identical: same paths, data and Stat)."""
    labels = list(trees)
    if not labels:
        return []
    ref_label = labels[0]
    ref = trees[ref_label]
    problems = []
    for lb in labels[1:]:
        t = trees[lb]
        only_ref = sorted(set(ref) - set(t))
        only_t = sorted(set(t) - set(ref))
        if only_ref:
            problems.append("%d nodes on %s missing on %s (first %s)" % (
                len(only_ref), ref_label, lb, only_ref[:3]))
        if only_t:
            problems.append("%d nodes on %s missing on %s (first %s)" % (
                len(only_t), lb, ref_label, only_t[:3]))
        diff = [p for p in sorted(set(ref) & set(t)) if ref[p] != t[p]]
        for p in diff[:3]:
            problems.append("%s differs: %s has %r %s, %s has %r %s" % (
                p, ref_label, ref[p][0][:40], dict(zip(STAT_KEYS, ref[p][1])),
                lb, t[p][0][:40], dict(zip(STAT_KEYS, t[p][1]))))
        if len(diff) > 3:
            problems.append("... %d differing nodes in all between %s and %s" % (
                len(diff), ref_label, lb))
    return problems


def missing_acked(tree, paths_with_data):
    """Acknowledged creates (path, data) that are not in tree with that data."""
    return [(p, d) for p, d in paths_with_data if p not in tree or tree[p][0] != d]


def verify_members(members, root, acked, timeout=30.0):
    """Reads root's subtree from every member (each directly, after sync) and checks that
    every acknowledged (path, data) in `acked` is on each and that all reads are
    identical. Returns (trees {sid: tree}, problems)."""
    trees, problems = {}, []
    for m in members:
        try:
            trees["member %d" % m.sid] = read_tree(m.port, root, timeout=timeout)
        except Exception as e:
            problems.append("member %d: reading %s failed: %s: %s" % (m.sid, root, type(e).__name__, e))
    for label, t in trees.items():
        miss = missing_acked(t, acked)
        if miss:
            problems.append("%s lacks %d of %d acknowledged creates (first: %s)" % (
                label, len(miss), len(acked), [p for p, _ in miss[:3]]))
    problems += compare_trees(trees)
    return trees, problems
