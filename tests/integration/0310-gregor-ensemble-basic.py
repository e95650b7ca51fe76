#!/usr/bin/python3
"""A gregor-coord ensemble on loopback: three voters and one observer, with the zoo.cfg
Apache ZooKeeper accepts (server.N lines, myid, peerType=observer, initLimit/syncLimit).

Checked with kazoo (real client, unchanged):
  - one leader is elected; the others follow / observe (srvr Mode, mntr quorum figures);
  - writes through a follower and through the observer are visible everywhere after sync,
    and a watch set on one server fires for a write made through another;
  - a session moves to another server with its id (multi-host connect string; the server
    it was on is killed) and keeps its ephemeral node; when the old connection is still
    open, it is closed or its writes fail with SESSIONMOVED (raw protocol);
  - an ephemeral node disappears on every server when its session expires (the client
    process is killed), exactly once;
  - kill -9 of the leader: a new one is elected, every acknowledged write survives, and
    the old leader rejoins and converges (same tree digest everywhere);
  - a leader that logged writes no one else has (its followers were dead) and died: when
    it rejoins, the new leader truncates them (TRUNC) and its tree is rebuilt;
  - a follower and the observer that were down while the others took snapshots and
    restarted (so the log no longer reaches back far enough) get a whole snapshot (SNAP).

Own processes (not tests/lib/zkharness.py's Server): each server runs in its own process
group and is killed at exit.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkharness as zkh  # noqa: E402
import zkraw  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402

TICK = 300


class Member:
    def __init__(self, base, sid, observer):
        self.sid = sid
        self.observer = observer
        self.dir = os.path.join(base, "s%d" % sid)
        os.makedirs(os.path.join(self.dir, "data"))
        with open(os.path.join(self.dir, "data", "myid"), "w") as f:
            f.write("%d\n" % sid)
        self.pick_ports()
        self.proc = None
        self.logf = None

    def pick_ports(self):
        self.client_port = zkh.free_port()
        self.quorum_port = zkh.free_port()
        self.election_port = zkh.free_port()

    def server_line(self):
        return "server.%d=127.0.0.1:%d:%d%s" % (self.sid, self.quorum_port, self.election_port,
                                                ":observer" if self.observer else "")

    def write_config(self, lines):
        cfg = ["tickTime=%d" % TICK, "initLimit=10", "syncLimit=5",
               "dataDir=%s" % os.path.join(self.dir, "data"),
               "clientPort=%d" % self.client_port, "clientPortAddress=127.0.0.1",
               "4lw.commands.whitelist=*", "maxClientCnxns=0", "snapCount=40"]
        if self.observer:
            cfg.append("peerType=observer")
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
            f.write("\n".join(cfg + lines) + "\n")

    def start(self):
        self.logf = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen([zkh.coord_binary(), os.path.join(self.dir, "zoo.cfg")],
                                     stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        if self.logf:
            self.logf.close()
            self.logf = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def fourlw(self, cmd):
        try:
            return zkh.four_letter(self.client_port, cmd)
        except OSError:
            return ""

    def mode(self):
        for line in self.fourlw("srvr").splitlines():
            if line.startswith("Mode: "):
                return line[6:].strip()
        return None

    def mntr(self):
        out = {}
        for line in self.fourlw("mntr").splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                out[k] = v
        return out

    def addr(self):
        return "127.0.0.1:%d" % self.client_port

    def log_tail(self, n=25):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def client(hosts, timeout=10.0):
    c = KazooClient(hosts=hosts, timeout=timeout, randomize_hosts=False)
    c.start(timeout=15)
    return c


ALL = []   # every member, for diagnostics


def wait(pred, timeout, what):
    """zkh.wait_until, printing every server's state and log tail when it times out."""
    try:
        return zkh.wait_until(pred, timeout, interval=0.1, what=what)
    except TimeoutError:
        for m in ALL:
            zkh.log("server.%d (%s) mntr %s:\n%s" % (m.sid, m.mode(), m.mntr(), m.log_tail()))
        raise


def wait_for_leader(members, timeout=30):
    def check():
        if not all(m.alive() for m in members):
            return None   # a member exited: its log says why (shown on timeout)
        modes = {m.sid: m.mode() for m in members}
        leaders = [s for s, md in modes.items() if md == "leader"]
        ok = len(leaders) == 1 and all(md in ("leader", "follower", "observer") for md in modes.values())
        return leaders[0] if ok else None
    return wait(check, timeout, "one leader and everyone serving")


def main():
    if not os.path.exists(zkh.coord_binary()):
        raise zkh.SkipTest("no gregor-coord binary at %s (run make)" % zkh.coord_binary())
    base = tempfile.mkdtemp(prefix="gregor-ens-")
    members = [Member(base, 1, False), Member(base, 2, False), Member(base, 3, False), Member(base, 4, True)]
    by_id = {m.sid: m for m in members}
    ALL.extend(members)

    def cleanup():
        for m in members:
            m.kill9()
        if os.environ.get("ZKH_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)
        else:
            zkh.log("kept", base)
    import atexit
    atexit.register(cleanup)

    # Ports come from free_port(): another process (a parallel test, an outgoing
    # connection) may take one before the server binds it. Then all start again elsewhere.
    for attempt in range(3):
        lines = [m.server_line() for m in members]
        for m in members:
            m.write_config(lines)
            m.start()
        try:
            zkh.wait_until(lambda: not all(m.alive() for m in members) or
                           all(m.mode() in ("leader", "follower", "observer") for m in members),
                           30, interval=0.1, what="the ensemble to start")
        except TimeoutError:
            pass
        if all(m.alive() for m in members):
            break
        zkh.log("a server did not start (port taken?); again on other ports:\n" +
                "\n".join(m.log_tail(3) for m in members if not m.alive()))
        for m in members:
            m.kill9()
            m.pick_ports()
    leader = wait_for_leader(members)
    zkh.log("leader is server.%d" % leader)
    modes = {m.sid: m.mode() for m in members}
    assert modes[4] == "observer", modes
    followers = [s for s in (1, 2, 3) if s != leader]
    mn = by_id[leader].mntr()
    assert mn.get("zk_server_state") == "leader", mn
    wait(lambda: by_id[leader].mntr().get("zk_synced_followers") == "2", 10, "zk_synced_followers 2 on the leader")
    assert by_id[leader].mntr().get("zk_synced_observers") == "1"
    assert by_id[followers[0]].mntr().get("zk_server_state") == "follower"
    assert "membership: " in by_id[4].fourlw("conf")

    # --- writes through a follower and the observer, visible everywhere after sync
    cs = {m.sid: client(m.addr()) for m in members}
    fired = []
    cs[leader].exists("/via-observer", watch=lambda ev: fired.append(ev))
    cs[followers[0]].create("/via-follower", b"f")
    cs[4].create("/via-observer", b"o")
    cs[4].create("/seq-", b"", sequence=True)
    for sid, c in cs.items():
        c.sync("/")
        assert c.get("/via-follower")[0] == b"f", sid
        assert c.get("/via-observer")[0] == b"o", sid
    wait(lambda: fired, 5, "a watch on the leader firing for a write via the observer")
    assert fired[0].type == "CREATED", fired
    # writes of one session apply in the order sent (pipelined through a follower)
    c = cs[followers[1]]
    c.create("/order", b"0")
    asyncs = [c.set_async("/order", b"%d" % i) for i in range(1, 101)]
    versions = [a.get(timeout=10).version for a in asyncs]
    assert versions == list(range(1, 101)), versions[:10]
    for c2 in cs.values():
        c2.sync("/order")
        assert c2.get("/order")[0] == b"100"

    # --- a session moves with its id when its server dies
    mover_home = by_id[followers[0]]
    other = by_id[followers[1]]
    mc = client("%s,%s" % (mover_home.addr(), other.addr()))
    sid_before = mc.client_id[0]
    mc.create("/mover-eph", b"", ephemeral=True)
    mover_home.kill9()
    wait(lambda: mc.connected and mc._connection._socket is not None and
         mc._connection._socket.getpeername()[1] == other.client_port,
         30, "the client to reconnect to the other server")
    assert mc.client_id[0] == sid_before
    mc.sync("/")
    assert mc.exists("/mover-eph") is not None
    mc.create("/after-move", b"")
    mover_home.start()
    wait_for_leader(members)
    cs[mover_home.sid] = client(mover_home.addr())

    # the same with the old connection still open (raw protocol: a client that moved on)
    ra = zkraw.connect(by_id[followers[0]].client_port)
    assert ra.call(zkraw.OP_CREATE, zkraw.create_body("/raw-moved", b"1"))[0] == 0
    # A server that has not yet applied the client's last zxid closes the connection
    # (ZooKeeper's "client has seen zxid ... our last zxid is ..."): retry as clients do.
    deadline = time.monotonic() + 20
    while True:
        rb = zkraw.RawConn(by_id[followers[1]].client_port)
        try:
            rb.handshake(session_id=ra.session_id, passwd=ra.passwd, last_zxid=ra.last_zxid)
            break
        except zkraw.Closed:
            rb.close()
            assert time.monotonic() < deadline, "server %d never took the moved session" % followers[1]
            time.sleep(0.05)
    assert rb.session_id == ra.session_id
    assert rb.call(zkraw.OP_SETDATA, zkraw.setdata_body("/raw-moved", b"new"))[0] == 0
    try:
        err = ra.call(zkraw.OP_SETDATA, zkraw.setdata_body("/raw-moved", b"old"), timeout=5)[0]
        assert err == -118, err   # SESSIONMOVED
    except zkraw.Closed:
        pass
    assert rb.call(zkraw.OP_SYNC, zkraw.ustr("/raw-moved"))[0] == 0
    err, body = rb.call(zkraw.OP_GETDATA, zkraw.path_watch_body("/raw-moved"))
    assert err == 0 and zkraw.parse_buffer(body)[0] == b"new", body
    rb.call(zkraw.OP_CLOSE)
    ra.close()
    rb.close()

    # --- an ephemeral disappears everywhere when its session expires
    code = ("import sys,time\nfrom kazoo.client import KazooClient\n"
            "z=KazooClient(hosts=sys.argv[1], timeout=2.0); z.start(timeout=10)\n"
            "z.create('/doomed', b'', ephemeral=True)\nprint('ready', flush=True)\ntime.sleep(600)\n")
    p = subprocess.Popen(["/usr/bin/python3", "-c", code, by_id[4].addr()], stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"ready"
    for c2 in cs.values():
        c2.sync("/")
        assert c2.exists("/doomed") is not None
    gone = []
    for c2 in cs.values():
        c2.exists("/doomed", watch=lambda ev: gone.append(ev))
    p.kill()
    p.wait()
    wait(lambda: len(gone) == len(cs), 20, "/doomed deleted on every server")
    assert all(ev.type == "DELETED" for ev in gone), gone
    for c2 in cs.values():
        c2.sync("/")
        assert c2.exists("/doomed") is None

    # --- kill -9 the leader: acknowledged writes survive, a new leader serves
    acked = []
    wc = cs[4]
    for i in range(200):
        wc.create("/acked-%03d" % i, b"x")
        acked.append("/acked-%03d" % i)
    for c2 in cs.values():
        c2.stop()
        c2.close()
    old = by_id[leader]
    old.kill9()
    t0 = time.monotonic()
    new_leader = wait_for_leader([m for m in members if m.sid != old.sid])
    zkh.log("new leader server.%d after %.1fs" % (new_leader, time.monotonic() - t0))
    assert new_leader != old.sid
    nc = client(",".join(m.addr() for m in members if m.sid != old.sid))
    nc.sync("/")
    kids = set(nc.get_children("/"))
    missing = [a for a in acked if a[1:] not in kids]
    assert not missing, missing[:5]
    nc.create("/after-leader-kill", b"")
    old.start()
    wait_for_leader(members)

    def digests():
        ds = set()
        for m in members:
            h = m.fourlw("hash").strip()
            if not h:
                return None
            ds.add(h)
        return ds
    nc.sync("/")
    wait(lambda: (digests() or set()).__len__() == 1, 20, "the same tree digest on every server")
    oc = client(old.addr())
    oc.sync("/")
    assert oc.exists("/after-leader-kill") is not None
    assert oc.exists("/acked-199") is not None
    mc.stop()
    mc.close()
    nc.stop()
    nc.close()
    oc.stop()
    oc.close()

    # --- divergent tail: the leader logs writes its dead followers never see, dies; the
    # others elect a new leader and move on; the old leader rejoins and is truncated
    leader = wait_for_leader(members)
    voters = [s for s in (1, 2, 3) if s != leader]
    lc = client(by_id[leader].addr())
    for s in voters:
        by_id[s].kill9()
    pending = [lc.create_async("/tentative-%d" % i, b"") for i in range(5)]
    wait(lambda: "Zxid" in by_id[leader].fourlw("srvr"), 5, "the leader to answer")
    time.sleep(0.3)   # let it log them (nothing observable: they are never acknowledged)
    by_id[leader].kill9()
    lc.stop()
    lc.close()
    assert not any(p.successful() for p in pending if p.ready())
    for s in voters:
        by_id[s].start()
    wait_for_leader([m for m in members if m.sid != leader])
    tc = client(",".join(by_id[s].addr() for s in voters))
    for i in range(7):
        tc.create("/epoch-after-%d" % i, b"")
    by_id[leader].start()
    wait_for_leader(members)
    tc.sync("/")
    wait(lambda: (digests() or set()).__len__() == 1, 20, "the same tree digest on every server")
    rc = client(by_id[leader].addr())
    rc.sync("/")
    kids = rc.get_children("/")
    assert not [k for k in kids if k.startswith("tentative-")], kids
    assert len([k for k in kids if k.startswith("epoch-after-")]) == 7, kids
    with open(os.path.join(by_id[leader].dir, "server.log"), "rb") as f:
        assert b"truncating the log" in f.read()
    tc.stop()
    tc.close()
    rc.stop()
    rc.close()

    # --- snapshot sync: a follower and the observer miss many txns; the others snapshot and
    # restart, so their logs start after what the two have: they get the leader's snapshot
    leader = wait_for_leader(members)
    behind = [s for s in (1, 2, 3) if s != leader][0]
    up = [s for s in (1, 2, 3) if s != behind]
    by_id[behind].kill9()
    by_id[4].kill9()
    sc = client(",".join(by_id[s].addr() for s in up))
    for i in range(120):
        sc.create("/snap-%03d" % i, b"y" * 50)
    sc.stop()
    sc.close()
    for s in up:
        by_id[s].kill9()
    for s in up:
        by_id[s].start()
    wait_for_leader([by_id[s] for s in up])
    by_id[behind].start()
    by_id[4].start()
    wait_for_leader(members)
    for s in (behind, 4):
        bc = client(by_id[s].addr())
        bc.sync("/")
        assert len([k for k in bc.get_children("/") if k.startswith("snap-")]) == 120
        bc.create("/written-via-%d" % s, b"")
        bc.stop()
        bc.close()
        with open(os.path.join(by_id[s].dir, "server.log"), "rb") as f:
            assert b"installing the leader's snapshot" in f.read(), s
    wait(lambda: (digests() or set()).__len__() == 1, 20, "the same tree digest on every server")


if __name__ == "__main__":
    zkh.run_test(main)
