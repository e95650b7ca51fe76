#!/usr/bin/python3
"""Behaviour that only exists across the members of a 3-voter + 1-observer ensemble, with
kazoo 2.8 clients each connected to ONE member (target kind: GREGOR_ITEST_TARGET, gregor by
default, apache proves the test; skip policy of tests/lib/zkensemble.py):

  * watches fire on the member the watching session is connected to, for writes made
    through another member: exists -> NodeCreated, data -> NodeDataChanged, children ->
    NodeChildrenChanged, data -> NodeDeleted, each exactly once (one-shot);
  * sync(): a value written through the observer is read back through a follower right
    after sync(), 50 times in a row;
  * sessions are cluster-wide: a session whose client died on one follower is resumed on
    the other follower with its id and password; its ephemeral keeps its owner and the
    resumed session can write; closing it removes its ephemerals on every member;
  * expiry: a session whose client died (2 s timeout) expires; its ephemeral disappears on
    every member, a watcher on another member sees NodeDeleted once, and the parent's
    cversion shows exactly one delete (identical Stat on all members).
"""
import logging
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
import zkload  # noqa: E402
from zkharness import log, wait_until  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402

ROOT = "/cm"
# a client that opens a session on argv[1] with timeout argv[2], creates the ephemeral
# argv[3], prints session id and password, and dies without closing the session
ORPHAN = r"""
import os, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[2]))
zk.start(timeout=15)
zk.create(sys.argv[3], b"orphan", ephemeral=True)
sid, pw = zk.client_id
print("%d %s" % (sid, pw.hex()), flush=True)
os._exit(0)
"""


def orphan(member, timeout_s, path):
    out = subprocess.run(["/usr/bin/python3", "-c", ORPHAN, member.address, str(timeout_s), path],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("orphan client failed: %s" % out.stderr[-2000:])
    sid, pw = out.stdout.split()
    return int(sid), bytes.fromhex(pw)


def client(member, **kw):
    zk = KazooClient(hosts=member.address, timeout=kw.pop("timeout", 10.0), **kw)
    zk.start(timeout=20)
    return zk


def stat_everywhere(ens, path):
    """{sid: Stat dict or None} read from every member after sync."""
    out = {}
    for m in ens.members:
        t = zkload.read_tree(m.port, path) if path else {}
        out[m.sid] = dict(zip(zkload.STAT_KEYS, t[path][1])) if path in t else None
    return out


def main():
    logging.getLogger("kazoo").setLevel(logging.ERROR)
    ens = zkensemble.start_ensemble("target", voters=3, observers=1)
    clients = []
    problems = []
    try:
        f1, f2 = ens.followers()[:2]
        obs = ens.observers[0]
        a = client(f1)
        b = client(obs)
        clients += [a, b]
        b.ensure_path(ROOT)

        # --- watches across members
        ev = []
        lock = threading.Lock()

        def rec(kind):
            def fn(e):
                with lock:
                    ev.append((kind, e.type, e.path))
            return fn
        a.exists(ROOT + "/x", watch=rec("exists"))
        b.create(ROOT + "/x", b"1")
        wait_until(lambda: len(ev) >= 1, 10, what="NodeCreated on the follower")
        a.get(ROOT + "/x", watch=rec("data"))
        a.get_children(ROOT, watch=rec("children"))
        b.set(ROOT + "/x", b"2")
        b.set(ROOT + "/x", b"3")          # one-shot: no second data event
        b.create(ROOT + "/y", b"")
        wait_until(lambda: len(ev) >= 3, 10, what="data and child events on the follower")
        a.get(ROOT + "/x", watch=rec("data2"))
        b.delete(ROOT + "/x")
        wait_until(lambda: len(ev) >= 4, 10, what="NodeDeleted on the follower")
        a.sync(ROOT)
        time.sleep(0.2)                   # a duplicate event would arrive by now
        want = [("exists", "CREATED", ROOT + "/x"), ("data", "CHANGED", ROOT + "/x"),
                ("children", "CHILD", ROOT), ("data2", "DELETED", ROOT + "/x")]
        with lock:
            got = list(ev)
        if sorted(got[1:3]) == sorted(want[1:3]):
            got[1:3] = want[1:3]          # data and child events of two writes: either order
        if got != want:
            problems.append("watch events on follower %d for writes through the observer: %s, "
                            "expected %s" % (f1.sid, got, want))
        log("watches: %s" % got)

        # --- sync: read-your-writes across members
        stale = []
        for i in range(50):
            val = b"v%d" % i
            b.set(ROOT + "/y", val)
            a.sync(ROOT + "/y")
            data, _ = a.get(ROOT + "/y")
            if data != val:
                stale.append((i, data))
        if stale:
            problems.append("after sync() the follower returned stale data %d of 50 times: %s" % (
                len(stale), stale[:5]))
        log("sync: 50 writes through the observer read back through follower %d after sync, "
            "%d stale" % (f1.sid, len(stale)))

        # --- a session moves between followers
        sid, pw = orphan(f1, 10, ROOT + "/e")
        c = KazooClient(hosts=f2.address, timeout=10, client_id=(sid, pw))
        c.start(timeout=20)
        clients.append(c)
        if c.client_id[0] != sid:
            problems.append("session 0x%x was not resumed on follower %d (got 0x%x)" % (
                sid, f2.sid, c.client_id[0]))
        c.create(ROOT + "/e2", b"", ephemeral=True)
        owners = {m: (s or {}).get("ephemeralOwner") for m, s in stat_everywhere(ens, ROOT + "/e").items()}
        owners2 = {m: (s or {}).get("ephemeralOwner") for m, s in stat_everywhere(ens, ROOT + "/e2").items()}
        if set(owners.values()) != {sid} or set(owners2.values()) != {sid}:
            problems.append("ephemeral owners after the move: /e %s, /e2 %s (want 0x%x)" % (
                owners, owners2, sid))
        c.stop()
        c.close()
        clients.remove(c)
        left = {m: (s is not None) for p in ("/e", "/e2")
                for m, s in stat_everywhere(ens, ROOT + p).items() if s is not None}
        if left:
            problems.append("ephemerals still present after their session closed: %s" % left)
        log("session 0x%x moved from follower %d to %d; ephemerals kept, then removed on close" % (
            sid, f1.sid, f2.sid))

        # --- expiry: removed everywhere, exactly once
        cv0 = stat_everywhere(ens, ROOT)
        sid, _ = orphan(obs, 2, ROOT + "/d")
        deleted = []
        a.exists(ROOT + "/d", watch=lambda e: deleted.append(e.type))
        t0 = time.monotonic()
        wait_until(lambda: deleted, 30, what="NodeDeleted of the expired session's ephemeral")
        took = time.monotonic() - t0
        a.sync(ROOT)
        time.sleep(0.2)
        after = stat_everywhere(ens, ROOT)
        gone = stat_everywhere(ens, ROOT + "/d")
        if deleted != ["DELETED"]:
            problems.append("watcher on follower %d saw %s for the expired ephemeral" % (f1.sid, deleted))
        if any(v is not None for v in gone.values()):
            problems.append("expired ephemeral still on members %s" % [k for k, v in gone.items() if v])
        if len({tuple(sorted(v.items())) for v in after.values()}) != 1:
            problems.append("%s Stat differs between members after the expiry: %s" % (ROOT, after))
        cvs = {k: after[k]["cversion"] - cv0[k]["cversion"] for k in after}
        if set(cvs.values()) != {2}:
            problems.append("%s cversion grew by %s (create + one delete = 2)" % (ROOT, cvs))
        log("expiry: session 0x%x (2 s) expired, its ephemeral gone on all members %.1f s after "
            "its client died; one delete" % (sid, took))
        if problems:
            raise AssertionError("cross-member behaviour:\n  " + "\n  ".join(problems))
    finally:
        for zk in clients:
            try:
                zk.stop()
                zk.close()
            except Exception:
                pass
        ens.cleanup()


zkharness.run_test(main)
