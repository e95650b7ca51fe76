#!/usr/bin/python3
"""Hostile input against the coordinator: raw-socket probes (bad frame lengths, oversized
packets, garbage, truncated/malformed ConnectRequests, odd timeouts, unknown opcodes,
malformed records, bad/deep/long paths, bad ACLs and auth, 4lw junk, slowloris, many
connections, pipelined floods) while a kazoo "bystander" session keeps working.

Run against Apache ZooKeeper 3.8 AND the target server. Asserts, for each server:
  * the process is alive after every probe;
  * the bystander saw no error and no disconnect, and kept making progress;
  * a fresh client works at the end;
and that the server's reaction to every probe (reply error code, "closed", "open", negotiated
timeout...) is the same as Apache's. A probe's reaction is a short deterministic string; zxids,
session ids and passwords are never part of it."""
import logging
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkharness  # noqa: E402
import zknorm  # noqa: E402
import zkraw  # noqa: E402
from zkraw import boolean, buf, frame, i32, i64, ustr  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402

QUIET_S = 2.5      # how long "the server said nothing and kept the connection" is observed


# ---------------------------------------------------------------- reaction helpers

def raw_reaction(port, data, shut_wr=False):
    """Sends bytes on a fresh connection (no handshake); describes what comes back:
    'closed', 'open' (nothing for QUIET_S), a decoded ConnectResponse, or reply text."""
    c = zkraw.RawConn(port)
    try:
        c.send(data)
        if shut_wr:
            c.sock.shutdown(socket.SHUT_WR)
        out, end = b"", "open"
        c.sock.settimeout(QUIET_S)
        try:
            while True:
                b = c.sock.recv(65536)
                if not b:
                    end = "closed"
                    break
                out += b
        except socket.timeout:
            end = "open"
        except ConnectionResetError:
            end = "closed"
        return "%s%s" % (describe_bytes(out), end)
    finally:
        c.close()


def describe_bytes(out):
    if not out:
        return ""
    if len(out) >= 4 and struct.unpack(">i", out[:4])[0] in (36, 37) and len(out) >= 40:
        n = struct.unpack(">i", out[:4])[0]
        proto, to, sid = struct.unpack(">iiq", out[4:20])
        plen = struct.unpack(">i", out[20:24])[0]
        return "connect-response(len=%d proto=%d timeout=%d session=%s passwd=%d) then " % (
            n, proto, to, "set" if sid else "0", plen)
    text = out.decode("utf-8", "replace")
    if text in ("imok", "rw", "ro"):
        return "reply %r then " % text
    return "reply(%s) then " % ("text" if text.strip() or text == "\n" else "bytes")


def session_reaction(port, send, replies=1):
    """Fresh session; send(conn) writes the probe; reads `replies` replies (each shown as
    xid-kind:err), then checks whether the connection still answers a ping."""
    c = zkraw.connect(port)
    out = []
    try:
        send(c)
        for _ in range(replies):
            xid, _z, err, body = c.read_reply(timeout=5.0)
            kind = {zkraw.XID_AUTH: "auth", zkraw.XID_PING: "ping",
                    zkraw.XID_NOTIFY: "notify"}.get(xid, "reply")
            out.append("%s:%d" % (kind, err))
        c.ping(timeout=5.0)
        out.append("open")
    except zkraw.Closed:
        out.append("closed")
    except socket.timeout:
        out.append("no-answer")
    finally:
        c.close()
    return " ".join(out)


def req(op, body=b"", xid=None):
    return lambda c: c.request(op, body, xid=xid)


def sendraw(data):
    return lambda c: c.send(data)


def cr_body(timeout=10000, sid=0, pwlen=16, pw=None, ro=True):
    body = i32(0) + i64(0) + i32(timeout) + i64(sid)
    body += i32(pwlen) + (pw if pw is not None else b"\0" * max(pwlen, 0))
    return body + (b"\0" if ro else b"")


# ---------------------------------------------------------------- probes

def probes_prehandshake():
    P = []
    P.append(("frame length -1", lambda p: raw_reaction(p, i32(-1))))
    P.append(("frame length 0", lambda p: raw_reaction(p, i32(0))))
    P.append(("frame length 2^31-1", lambda p: raw_reaction(p, i32(0x7fffffff))))
    P.append(("frame length maxbuffer+1", lambda p: raw_reaction(p, i32(0x100000))))
    P.append(("garbage bytes", lambda p: raw_reaction(p, b"GARBAGE\x00\xff" * 8)))
    P.append(("truncated ConnectRequest then EOF",
              lambda p: raw_reaction(p, zkraw.connect_request()[:20], shut_wr=True)))
    P.append(("truncated ConnectRequest held open",
              lambda p: raw_reaction(p, zkraw.connect_request()[:20])))
    P.append(("ConnectRequest frame of 10 bytes", lambda p: raw_reaction(p, frame(b"\0" * 10))))
    P.append(("ConnectRequest passwd length -5",
              lambda p: raw_reaction(p, frame(cr_body(pwlen=-5, pw=b"")))))
    P.append(("ConnectRequest passwd length 1000",
              lambda p: raw_reaction(p, frame(cr_body(pwlen=1000, pw=b"\0" * 16)))))
    P.append(("ConnectRequest unknown session",
              lambda p: raw_reaction(p, zkraw.connect_request(session_id=0x1234))))
    P.append(("ConnectRequest lastZxidSeen from the future",
              lambda p: raw_reaction(p, zkraw.connect_request(last_zxid=1 << 40))))
    P.append(("ConnectRequest without readOnly byte",
              lambda p: raw_reaction(p, zkraw.connect_request(with_ro=False))))
    P.append(("ConnectRequest readOnly=1",
              lambda p: raw_reaction(p, zkraw.connect_request(read_only=True))))
    P.append(("ConnectRequest protocolVersion 99",
              lambda p: raw_reaction(p, zkraw.connect_request(proto=99))))
    for to in (-5, 0, 1, 3999, 4000, 40000, 40001, 2 ** 31 - 1):
        P.append(("ConnectRequest timeout %d" % to,
                  lambda p, to=to: raw_reaction(p, zkraw.connect_request(timeout_ms=to))))
    P.append(("getData as first packet",
              lambda p: raw_reaction(p, frame(i32(1) + i32(4) + zkraw.path_watch_body("/")))))
    P.append(("ping as first packet", lambda p: raw_reaction(p, frame(i32(-2) + i32(11)))))
    for w in (b"ruok", b"isro", b"ruokEXTRA", b"RUOK", b"xxxx", b"kill", b"stmk", b"wchp",
              b"dump", b"cons", b"envi", b"conf", b"mntr", b"srvr", b"stat", b"wchc", b"dirs",
              b"gtmk", b"ru"):
        P.append(("4lw %r" % w.decode(), lambda p, w=w: raw_reaction(p, w)))
    return P


def probes_session():
    P = []
    P.append(("unknown opcode 999", lambda p: session_reaction(p, req(999))))
    P.append(("opcode 0 (notification)", lambda p: session_reaction(p, req(0))))
    P.append(("opcode -10 (createSession)", lambda p: session_reaction(p, req(-10))))
    P.append(("getData path length 1000, 4 bytes",
              lambda p: session_reaction(p, req(4, i32(1000) + b"/abc"))))
    P.append(("getData path length -7", lambda p: session_reaction(p, req(4, i32(-7)))))
    P.append(("getData empty body", lambda p: session_reaction(p, req(4, b""))))
    P.append(("create missing flags",
              lambda p: session_reaction(p, req(1, ustr("/h-x") + buf(b"") +
                                                zkraw.acl_vec(zkraw.WORLD_ANYONE_ALL)))))
    P.append(("create ACL count -5",
              lambda p: session_reaction(p, req(1, ustr("/h-a") + buf(b"") + i32(-5) + i32(0)))))
    P.append(("create ACL count 10^6",
              lambda p: session_reaction(p, req(1, ustr("/h-b") + buf(b"") + i32(10 ** 6) +
                                                i32(0)))))
    P.append(("create empty ACL",
              lambda p: session_reaction(p, req(1, zkraw.create_body("/h-c", acls=[])))))
    P.append(("create ACL unknown scheme",
              lambda p: session_reaction(p, req(1, zkraw.create_body(
                  "/h-d", acls=[(31, "nosuch", "x")])))))
    P.append(("create ACL digest id without hash",
              lambda p: session_reaction(p, req(1, zkraw.create_body(
                  "/h-e", acls=[(31, "digest", "user")])))))
    P.append(("create ACL ip garbage",
              lambda p: session_reaction(p, req(1, zkraw.create_body(
                  "/h-f", acls=[(31, "ip", "999.1.2.3/77")])))))
    P.append(("create flags 77",
              lambda p: session_reaction(p, req(1, zkraw.create_body("/h-g", flags=77)))))
    P.append(("create flags -1",
              lambda p: session_reaction(p, req(1, zkraw.create_body("/h-g2", flags=-1)))))
    P.append(("create TTL without ttl (op 21, flags 5)",
              lambda p: session_reaction(p, req(21, zkraw.create_body("/h-t", flags=5)))))
    P.append(("create TTL 0 (op 21)",
              lambda p: session_reaction(p, req(21, zkraw.create_body("/h-t0", flags=5) +
                                                i64(0)))))
    P.append(("create TTL with flags 0 (op 21)",
              lambda p: session_reaction(p, req(21, zkraw.create_body("/h-t1", flags=0) +
                                                i64(1000)))))
    bad_paths = [("", "empty"), ("noslash", "no leading /"), ("/", "root"), ("//", "//"),
                 ("/h//x", "inner //"), ("/h-p/", "trailing /"), ("/.", "/."), ("/..", "/.."),
                 ("/h/./x", "/./"), ("/h/../x", "/../"), ("/h\x00x", "NUL"),
                 ("/h\x01x", "control char"), ("/h\x7fx", "DEL"), ("/h\u0085x", "C1 control"),
                 ("/h\ud800x", "lone surrogate"), ("/h\ufffex", "U+FFFE"),
                 ("/zookeeper", "/zookeeper"), ("/zookeeper/quota", "/zookeeper/quota"),
                 # parent exists, so the node name itself is what gets judged
                 ("/zookeeper/", "existing parent + trailing /"),
                 ("/zookeeper/.", "existing parent + /."),
                 ("/zookeeper/..", "existing parent + /.."),
                 ("/zookeeper/\x00", "existing parent + NUL name")]
    for path, what in bad_paths:
        enc = path.encode("utf-8", "surrogatepass")
        P.append(("create path %s" % what,
                  lambda p, enc=enc: session_reaction(p, req(1, i32(len(enc)) + enc + buf(b"x") +
                                                         zkraw.acl_vec(zkraw.WORLD_ANYONE_ALL) +
                                                         i32(0)))))
        P.append(("getData path %s" % what,
                  lambda p, enc=enc: session_reaction(p, req(4, i32(len(enc)) + enc +
                                                         b"\0"))))
        P.append(("delete path %s" % what,
                  lambda p, enc=enc: session_reaction(p, req(2, i32(len(enc)) + enc + i32(-1)))))
    P.append(("create invalid UTF-8 path",
              lambda p: session_reaction(p, req(1, i32(4) + b"/\xff\xfe\xfd" + buf(b"") +
                                                zkraw.acl_vec(zkraw.WORLD_ANYONE_ALL) + i32(0)))))
    P.append(("create 500 KB path name", lambda p: session_reaction(
        p, req(1, zkraw.create_body("/h-long-" + "x" * 500000)))))
    P.append(("delete 500 KB path name", lambda p: session_reaction(
        p, req(2, zkraw.delete_body("/h-long-" + "x" * 500000)))))
    P.append(("setData null data on /", lambda p: session_reaction(
        p, req(5, ustr("/") + i32(-1) + i32(-1)))))
    P.append(("setData data length 2^30", lambda p: session_reaction(
        p, req(5, ustr("/") + i32(1 << 30) + b"abc"))))
    P.append(("frame exactly maxbuffer (setData)", lambda p: session_reaction(
        p, sendraw(frame(i32(1) + i32(5) + ustr("/h-m") + buf(b"\0" * (0xfffff - 8 - 8 - 4 - 4)) +
                         i32(-1))))))
    P.append(("frame maxbuffer+1 (setData)", lambda p: session_reaction(
        p, sendraw(frame(i32(1) + i32(5) + ustr("/h-m") + buf(b"\0" * (0x100000 - 8 - 8 - 4 - 4)) +
                         i32(-1))))))
    P.append(("frame length -1 in session", lambda p: session_reaction(p, sendraw(i32(-1)), 0)))
    P.append(("frame length 0 in session", lambda p: session_reaction(p, sendraw(i32(0)), 0)))
    P.append(("frame of 3 bytes in session",
              lambda p: session_reaction(p, sendraw(i32(3) + b"abc"), 0)))
    P.append(("frame length 2^31-1 in session",
              lambda p: session_reaction(p, sendraw(i32(0x7fffffff)), 0)))
    P.append(("second ConnectRequest in session",
              lambda p: session_reaction(p, sendraw(zkraw.connect_request()))))
    P.append(("auth unknown scheme", lambda p: session_reaction(
        p, req(100, i32(0) + ustr("nosuch") + buf(b"x"), xid=-4))))
    P.append(("auth digest without colon", lambda p: session_reaction(
        p, req(100, i32(0) + ustr("digest") + buf(b"nocolon"), xid=-4))))
    P.append(("auth truncated", lambda p: session_reaction(p, req(100, i32(0), xid=-4))))
    P.append(("multi with unknown op type", lambda p: session_reaction(
        p, req(14, i32(99) + boolean(False) + i32(-1) + ustr("/x") + i32(-1) + boolean(True) +
               i32(-1)))))
    P.append(("multi truncated", lambda p: session_reaction(
        p, req(14, i32(2) + boolean(False) + i32(-1) + ustr("/x")))))
    P.append(("multi empty", lambda p: session_reaction(
        p, req(14, i32(-1) + boolean(True) + i32(-1)))))
    P.append(("multi with read op inside", lambda p: session_reaction(
        p, req(14, i32(4) + boolean(False) + i32(-1) + zkraw.path_watch_body("/") +
               i32(-1) + boolean(True) + i32(-1)))))
    P.append(("setWatches garbage", lambda p: session_reaction(
        p, req(101, i64(0) + i32(5) + b"junk", xid=-8))))
    P.append(("setWatches vector count 10^7", lambda p: session_reaction(
        p, req(101, i64(0) + i32(10 ** 7) + i32(-1) + i32(-1), xid=-8))))
    P.append(("closeSession", probe_close_session))
    return P


def probe_close_session(port):
    """closeSession: the reply, then the server closes the connection. (Anything sent after
    the close request races with the close on Apache, so nothing is.)"""
    with zkraw.connect(port) as c:
        c.request(zkraw.OP_CLOSE)
        xid, _z, err, _b = c.read_reply(timeout=5.0)
        try:
            c.read_frame(timeout=5.0)
            return "reply xid-ok=%s err=%d, then more data" % (xid == c.xid, err)
        except zkraw.Closed:
            return "reply xid-ok=%s err=%d, then closed" % (xid == c.xid, err)
        except socket.timeout:
            return "reply xid-ok=%s err=%d, then still open after 5s" % (xid == c.xid, err)


def probe_pipelined_flood(port):
    """2000 exists requests in one write; all replies must come back in xid order."""
    with zkraw.connect(port) as c:
        n = 2000
        data = b"".join(frame(i32(i + 1) + i32(3) + zkraw.path_watch_body("/h-none"))
                        for i in range(n))
        c.send(data)
        xids = []
        for _ in range(n):
            xid, _z, err, _b = c.read_reply(timeout=20)
            xids.append((xid, err))
        ok = [x for x, _ in xids] == list(range(1, n + 1))
        errs = sorted(set(e for _, e in xids))
        return "%d replies, in order=%s, errors=%s" % (len(xids), ok, errs)


def probe_deep_tree(port):
    """A 1000-level deep chain created and deleted with pipelined requests; a recursive
    count on its top (must not overflow a C stack in the server)."""
    depth = 1000
    with zkraw.connect(port) as c:
        paths = ["/h-deep" + "/d" * i for i in range(depth)]
        c.send(b"".join(frame(i32(i + 1) + i32(zkraw.OP_CREATE) + zkraw.create_body(p))
                        for i, p in enumerate(paths)))
        errs = [c.read_reply(timeout=30)[2] for _ in paths]
        err_n, body = c.call(zkraw.OP_GETALLCHILDRENNUMBER, ustr(paths[0]))
        count = struct.unpack(">i", body[:4])[0] if err_n == 0 else None
        err_e, _ = c.call(zkraw.OP_GETEPHEMERALS, ustr("/h-deep"))
        base = c.xid
        c.send(b"".join(frame(i32(base + i + 1) + i32(zkraw.OP_DELETE) + zkraw.delete_body(p))
                        for i, p in enumerate(reversed(paths))))
        derrs = [c.read_reply(timeout=30)[2] for _ in paths]
        c.xid = base + depth
        return "create errors=%s count=%s/%d ephemerals=%d delete errors=%s" % (
            sorted(set(errs)), count, err_n, err_e, sorted(set(derrs)))


def probe_many_connections(port):
    """60 simultaneous sessions (Apache's default per-IP limit is 60) and 100 idle TCP
    connections that never send a byte; all sessions must answer a ping."""
    idle, conns = [], []
    try:
        for _ in range(100):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        for _ in range(60):
            conns.append(zkraw.RawConn(port))
        for c in conns:
            c.send(zkraw.connect_request())
        ok = 0
        for c in conns:
            try:
                c.read_frame(timeout=10)
                c.ping(timeout=10)
                ok += 1
            except (zkraw.Closed, socket.timeout):
                pass
        return "%d/%d sessions answered with 100 idle connections open" % (ok, len(conns))
    finally:
        for c in conns:
            try:
                c.request(zkraw.OP_CLOSE)
            except OSError:
                pass
            c.close()
        for s in idle:
            s.close()


def probe_slowloris(port):
    """One connection sends its ConnectRequest a byte at a time (20 ms apart) while other
    sessions do work; both must succeed."""
    data = zkraw.connect_request()
    c = zkraw.RawConn(port)
    other_ok = []
    try:
        for i, b in enumerate(data):
            c.send(bytes([b]))
            if i == len(data) // 2:
                with zkraw.connect(port) as o:
                    other_ok.append(o.call(zkraw.OP_EXISTS, zkraw.path_watch_body("/"))[0])
            time.sleep(0.02)     # slowness is the point of this probe
        resp = c.read_frame(timeout=10)
        c.ping(timeout=10)
        return "slow handshake ok (len %d), other session meanwhile: err %s" % (
            len(resp), other_ok)
    except (zkraw.Closed, socket.timeout) as e:
        return "slow handshake failed: %s; other session: %s" % (type(e).__name__, other_ok)
    finally:
        c.close()


def probe_big_fanout(port):
    """3000 children under one node (pipelined creates), then getChildren2 and cleanup."""
    n = 3000
    with zkraw.connect(port) as c:
        c.call(zkraw.OP_CREATE, zkraw.create_body("/h-fan"))
        base = c.xid
        c.send(b"".join(frame(i32(base + i + 1) + i32(zkraw.OP_CREATE) +
                              zkraw.create_body("/h-fan/c%05d" % i)) for i in range(n)))
        errs = set(c.read_reply(timeout=30)[2] for _ in range(n))
        c.xid = base + n
        err, body = c.call(zkraw.OP_GETCHILDREN2, zkraw.path_watch_body("/h-fan"))
        count = struct.unpack(">i", body[:4])[0] if err == 0 else None
        base = c.xid
        c.send(b"".join(frame(i32(base + i + 1) + i32(zkraw.OP_DELETE) +
                              zkraw.delete_body("/h-fan/c%05d" % i)) for i in range(n)))
        derrs = set(c.read_reply(timeout=30)[2] for _ in range(n))
        c.xid = base + n
        c.call(zkraw.OP_DELETE, zkraw.delete_body("/h-fan"))
        return "create errors=%s children=%s delete errors=%s" % (sorted(errs), count,
                                                                  sorted(derrs))


# ---------------------------------------------------------------- bystander

class Bystander:
    """A kazoo session doing set/get/create/delete in a loop on its own thread; records
    every exception and every connection-state change."""

    def __init__(self, port):
        self.zk = KazooClient(hosts="127.0.0.1:%d" % port, timeout=10.0)
        self.states = []
        self.errors = []
        self.ops = 0
        self.stop_ev = threading.Event()
        self.zk.add_listener(lambda s: self.states.append(str(s)))
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.zk.start(timeout=20)
        self.states.clear()
        self.zk.ensure_path("/bystander")
        self.thread.start()

    def _run(self):
        i = 0
        while not self.stop_ev.is_set():
            i += 1
            try:
                v = b"v%d" % i
                self.zk.set("/bystander", v)
                data, _ = self.zk.get("/bystander")
                if data != v:
                    self.errors.append("read %r after writing %r" % (data, v))
                p = self.zk.create("/bystander/e-", b"", ephemeral=True, sequence=True)
                self.zk.delete(p)
                self.ops += 4
            except Exception as e:      # anything at all is a failure of the server
                self.errors.append("%s: %s" % (type(e).__name__, e))
                if len(self.errors) > 20:
                    return

    def stop(self):
        self.stop_ev.set()
        self.thread.join(30)
        self.zk.stop()
        self.zk.close()


# ---------------------------------------------------------------- driver

def run_side(srv):
    """All probes against one server. Returns (reactions text, problems list)."""
    problems = []
    by = Bystander(srv.port)
    by.start()
    lines = []
    all_probes = (probes_prehandshake() + probes_session() +
                  [("pipelined flood", probe_pipelined_flood),
                   ("deep tree", probe_deep_tree),
                   ("wide node", probe_big_fanout),
                   ("many connections", probe_many_connections),
                   ("slowloris", probe_slowloris)])
    t0 = time.monotonic()
    for name, fn in all_probes:
        try:
            r = fn(srv.port)
        except (BrokenPipeError, ConnectionResetError):
            # the server closed while the probe was still writing (a big frame refused
            # by its length before all its bytes were sent): that is a close
            r = "closed"
        except Exception as e:
            r = "probe error %s: %s" % (type(e).__name__, str(e)[:200])
        lines.append("%s: %s" % (name, r))
        if not srv.alive():
            problems.append("%s server died after probe %r\n%s" % (srv.kind, name, srv.log_tail()))
            break
    ops_before = by.ops
    # the bystander must still make progress after everything
    try:
        zkharness.wait_until(lambda: by.ops >= ops_before + 40 or by.errors, 20,
                             what="bystander progress")
    except TimeoutError as e:
        problems.append("%s: bystander stalled: %s" % (srv.kind, e))
    states_during = list(by.states)
    by.stop()
    if by.errors:
        problems.append("%s: bystander got errors: %s" % (srv.kind, by.errors[:5]))
    if states_during:
        problems.append("%s: bystander connection changed state: %s" % (srv.kind,
                                                                        states_during))
    if srv.alive():
        try:
            with zkraw.connect(srv.port) as c:
                err, _ = c.call(zkraw.OP_EXISTS, zkraw.path_watch_body("/bystander"))
                if err != 0:
                    problems.append("%s: fresh client exists(/bystander) -> %d" % (srv.kind, err))
        except Exception as e:
            problems.append("%s: fresh client failed at the end: %r" % (srv.kind, e))
    zkharness.log("%s: %d probes in %.1fs, bystander did %d ops" % (
        srv.kind, len(lines), time.monotonic() - t0, by.ops))
    return "\n".join(lines) + "\n", problems


def main():
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    ref, tgt = zkharness.start_pair()
    results = {}

    def side(role, srv):
        try:
            results[role] = run_side(srv)
        except BaseException as e:      # reported below
            results[role] = ("", ["%s: %s: %r" % (srv.kind, role, e)])
    try:
        # the two servers are independent: probe both at once
        ts = [threading.Thread(target=side, args=("reference", ref)),
              threading.Thread(target=side, args=("target", tgt))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        ref.cleanup()
        tgt.cleanup()
    ref_text, problems = results["reference"]
    tgt_text, tgt_problems = results["target"]
    problems = problems + tgt_problems
    out = os.environ.get("ZKH_OUT")
    if out:
        os.makedirs(out, exist_ok=True)
        for side, text in (("apache", ref_text), (tgt.kind + "-target", tgt_text)):
            with open(os.path.join(out, "hostile.%s" % side), "w") as f:
                f.write(text)
    if ref_text != tgt_text:
        problems.append("reactions differ from Apache ZooKeeper's:\n" +
                        zknorm.unified_diff(ref_text, tgt_text, "apache", tgt.kind))
    if problems:
        raise AssertionError("\n\n".join(problems))


zkharness.run_test(main)
