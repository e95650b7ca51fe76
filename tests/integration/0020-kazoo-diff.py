#!/usr/bin/python3
"""Differential test: a kazoo 2.8 scenario (CRUD, sequence nodes, ensure_path, recursive
delete, ACLs/auth, transactions incl. a rolled-back one, DataWatch/ChildrenWatch and raw watch
event sequences across two sessions, ephemeral cleanup seen from another client, session
resume by (session id, password) after the owning process died, a wrong password, 4lw via
kazoo) against Apache ZooKeeper 3.8 and the target server; the normalized transcripts must
match. Waits are on conditions (kazoo's callback queue, event counts), never fixed sleeps."""
import logging
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkharness  # noqa: E402
from zkclients import Transcript, flush_callbacks, fmt_exc, wait_for  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import KazooException  # noqa: E402
from kazoo.protocol.states import ZnodeStat  # noqa: E402
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE  # noqa: E402

# Run in a child process: open a session, create an ephemeral, print the session id and
# password, then die without closing the session.
ORPHAN = r"""
import os, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=30.0)
zk.start(timeout=15)
zk.create("/kz/resume", b"orphan", ephemeral=True)
sid, pw = zk.client_id
print("%d %s" % (sid, pw.hex()), flush=True)
os._exit(0)
"""


def client(port, **kw):
    zk = KazooClient(hosts="127.0.0.1:%d" % port, timeout=kw.pop("timeout", 10.0), **kw)
    return zk


def attempt(T, label, fn):
    """Runs fn(); prints its result, or the kazoo exception's name and code."""
    try:
        r = fn()
    except KazooException as e:
        T.say(label, "->", fmt_exc(e))
        return None
    if isinstance(r, ZnodeStat):
        T.stat(label + " ->", r)
    elif isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], ZnodeStat):
        first = sorted(r[0]) if isinstance(r[0], list) and all(
            isinstance(x, str) for x in r[0]) else r[0]
        T.say(label, "->", repr(first), T.fmt_stat(r[1]))
    elif isinstance(r, list) and all(isinstance(x, str) for x in r):
        T.say(label, "->", sorted(r))
    else:
        T.say(label, "->", repr(r))
    return r


def fmt_results(results):
    out = []
    for r in results:
        if isinstance(r, Exception):
            out.append(fmt_exc(r))
        elif isinstance(r, ZnodeStat):
            out.append("Stat(" + Transcript.fmt_stat(r) + ")")
        else:
            out.append(repr(r))
    return "[" + ", ".join(out) + "]"


def scenario(port):
    T = Transcript()
    zk = client(port)
    states = []
    zk.add_listener(lambda s: states.append(str(s)))
    zk.start(timeout=20)
    T.say("connected session#=%d" % zk.client_id[0])
    T.say("server_version[:2]", zk.server_version()[:2])
    T.say("ruok", zk.command(b"ruok"))
    T.say("isro", zk.command(b"isro"))

    # --- CRUD, sequence nodes, create2, ensure_path
    attempt(T, "create /kz", lambda: zk.create("/kz", b"root"))
    attempt(T, "create /kz again", lambda: zk.create("/kz", b"x"))
    attempt(T, "create no parent", lambda: zk.create("/kz/no/parent", b"x"))
    attempt(T, "create makepath", lambda: zk.create("/kz/mp/a/b", b"deep", makepath=True))
    for i in range(3):
        attempt(T, "create seq %d" % i, lambda: zk.create("/kz/seq-", b"s", sequence=True))
    attempt(T, "create eph seq", lambda: zk.create("/kz/eseq-", b"e", ephemeral=True,
                                                   sequence=True))
    attempt(T, "create2", lambda: zk.create("/kz/c2", b"with-stat", include_data=True))
    attempt(T, "create2 eph", lambda: zk.create("/kz/c2e", b"", ephemeral=True,
                                                include_data=True))
    attempt(T, "child of ephemeral", lambda: zk.create("/kz/c2e/kid", b"x"))
    attempt(T, "create bad path", lambda: zk.create("/kz//x", b"x"))
    attempt(T, "create empty data", lambda: zk.create("/kz/empty"))
    attempt(T, "ensure_path", lambda: zk.ensure_path("/kz/ep/a/b/c"))
    attempt(T, "ensure_path again", lambda: zk.ensure_path("/kz/ep/a/b/c"))
    attempt(T, "exists", lambda: zk.exists("/kz/ep/a/b/c"))
    attempt(T, "exists missing", lambda: zk.exists("/kz/missing"))
    attempt(T, "get", lambda: zk.get("/kz"))
    attempt(T, "get empty", lambda: zk.get("/kz/empty"))
    attempt(T, "get missing", lambda: zk.get("/kz/missing"))
    attempt(T, "set", lambda: zk.set("/kz", b"root2"))
    attempt(T, "set version 1", lambda: zk.set("/kz", b"root3", version=1))
    attempt(T, "set bad version", lambda: zk.set("/kz", b"nope", version=7))
    attempt(T, "set missing", lambda: zk.set("/kz/missing", b"x"))
    attempt(T, "get after sets", lambda: zk.get("/kz"))
    attempt(T, "children", lambda: zk.get_children("/kz"))
    attempt(T, "children+stat", lambda: zk.get_children("/kz", include_data=True))
    attempt(T, "children missing", lambda: zk.get_children("/kz/missing"))
    attempt(T, "sync", lambda: zk.sync("/kz"))
    attempt(T, "delete not empty", lambda: zk.delete("/kz/mp"))
    attempt(T, "delete bad version", lambda: zk.delete("/kz/empty", version=3))
    attempt(T, "delete version 0", lambda: zk.delete("/kz/empty", version=0))
    attempt(T, "delete missing", lambda: zk.delete("/kz/empty"))
    attempt(T, "delete recursive", lambda: zk.delete("/kz/mp", recursive=True))
    attempt(T, "after recursive", lambda: zk.exists("/kz/mp"))
    attempt(T, "stat of /kz", lambda: zk.exists("/kz"))

    # --- ACLs and auth
    attempt(T, "get_acls", lambda: zk.get_acls("/kz"))
    dig = make_digest_acl("alice", "secret", all=True)
    attempt(T, "create digest-protected", lambda: zk.create("/kz/acl", b"private", acl=[dig]))
    attempt(T, "get_acls digest", lambda: zk.get_acls("/kz/acl"))
    attempt(T, "get without auth", lambda: zk.get("/kz/acl"))
    attempt(T, "add_auth", lambda: zk.add_auth("digest", "alice:secret"))
    attempt(T, "get with auth", lambda: zk.get("/kz/acl"))
    attempt(T, "set_acls read-only world", lambda: zk.set_acls(
        "/kz/acl", [make_digest_acl("alice", "secret", all=True),
                    make_digest_acl("bob", "pw", read=True)]))
    attempt(T, "set_acls bad version", lambda: zk.set_acls("/kz/acl", OPEN_ACL_UNSAFE, version=9))
    attempt(T, "get_acls after", lambda: zk.get_acls("/kz/acl"))
    attempt(T, "set_acls invalid (empty)", lambda: zk.set_acls("/kz/acl", []))

    # --- transactions (multi)
    t = zk.transaction()
    t.check("/kz", 2)
    t.create("/kz/t1", b"one")
    t.set_data("/kz", b"in-txn")
    t.delete("/kz/c2")
    T.say("multi ok ->", fmt_results(t.commit()))
    t = zk.transaction()
    t.create("/kz/t2", b"two")
    t.check("/kz", 99)
    t.set_data("/kz", b"never")
    T.say("multi bad check ->", fmt_results(t.commit()))
    t = zk.transaction()
    t.create("/kz/t3", b"three")
    t.create("/kz/none/t4", b"four")
    T.say("multi no parent ->", fmt_results(t.commit()))
    t = zk.transaction()
    t.delete("/kz/t1")
    t.create("/kz/t1", b"again")
    t.create("/kz/tseq-", b"", sequence=True)
    T.say("multi delete+create ->", fmt_results(t.commit()))
    attempt(T, "after multis /kz", lambda: zk.get("/kz"))
    attempt(T, "after multis children", lambda: zk.get_children("/kz"))

    # --- watches: DataWatch / ChildrenWatch sequences on one session
    zk.create("/kz/dw", b"d0")
    dw_events = []

    @zk.DataWatch("/kz/dw")
    def _dw(data, stat, event):
        dw_events.append("data=%r version=%s event=%s" % (
            data, stat.version if stat else None, event.type if event else None))
    zk.set("/kz/dw", b"d1")
    flush_callbacks(zk)
    zk.set("/kz/dw", b"d2")
    flush_callbacks(zk)
    zk.delete("/kz/dw")
    flush_callbacks(zk)
    zk.create("/kz/dw", b"reborn")
    flush_callbacks(zk)
    for e in dw_events:
        T.say("DataWatch", e)

    zk.create("/kz/cw")
    cw_events = []

    @zk.ChildrenWatch("/kz/cw", send_event=True)
    def _cw(children, event):
        cw_events.append("children=%s event=%s" % (sorted(children),
                                                  event.type if event else None))
    zk.create("/kz/cw/a")
    flush_callbacks(zk)
    zk.create("/kz/cw/b")
    flush_callbacks(zk)
    zk.delete("/kz/cw/a")
    flush_callbacks(zk)
    zk.set("/kz/cw", b"data change is not a child event")
    flush_callbacks(zk)
    for e in cw_events:
        T.say("ChildrenWatch", e)

    # --- raw one-shot watches fired by a second session
    zk2 = client(port)
    zk2.start(timeout=20)
    T.say("second session#=%d" % zk2.client_id[0])
    raw = []
    zk.get("/kz/t1", watch=lambda ev: raw.append("get-watch %s %s" % (ev.type, ev.path)))
    zk.exists("/kz/later", watch=lambda ev: raw.append("exists-watch %s %s" % (ev.type, ev.path)))
    zk.get_children("/kz/cw", watch=lambda ev: raw.append("child-watch %s %s" % (ev.type,
                                                                                ev.path)))
    zk2.set("/kz/t1", b"from-2")
    zk2.set("/kz/t1", b"from-2 again")      # one-shot: no second event
    zk2.create("/kz/later", b"x")
    zk2.create("/kz/cw/c", b"x")
    flush_callbacks(zk)
    for e in raw:
        T.say("raw", e)

    # --- ephemeral of a closed session disappears, seen by the other client
    zk2.create("/kz/eph2", b"mine", ephemeral=True)
    gone = []
    st = zk.exists("/kz/eph2", watch=lambda ev: gone.append("%s %s" % (ev.type, ev.path)))
    T.stat("eph2 before close:", st)
    T.say("eph2 owner is second session:", st.ephemeralOwner == zk2.client_id[0])
    zk2.stop()
    zk2.close()
    wait_for(lambda: gone, what="NodeDeleted of /kz/eph2")
    flush_callbacks(zk)
    T.say("after close of second session:", gone, "exists:", zk.exists("/kz/eph2"))

    # --- resume a session (id + password) after its owner process died
    out = subprocess.run(["/usr/bin/python3", "-c", ORPHAN, "127.0.0.1:%d" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("orphan helper failed: %s" % out.stderr.decode()[-2000:])
    sid_s, pw_hex = out.stdout.decode().split()
    sid, pw = int(sid_s), bytes.fromhex(pw_hex)
    T.say("orphan session#=%d password length %d" % (sid, len(pw)))
    st = zk.exists("/kz/resume")
    T.stat("orphan ephemeral:", st)
    zk3 = client(port, client_id=(sid, pw))
    st3 = []
    zk3.add_listener(lambda s: st3.append(str(s)))
    zk3.start(timeout=20)
    T.say("resumed same session:", zk3.client_id[0] == sid, "session#=%d" % zk3.client_id[0])
    attempt(T, "resumed session sees", lambda: zk3.get("/kz/resume"))
    attempt(T, "resumed session creates", lambda: zk3.create("/kz/resume2", b"", ephemeral=True))
    attempt(T, "owner of resume2", lambda: zk.exists("/kz/resume2"))
    # a wrong password for a live session: the server answers "expired" (kazoo then starts a
    # fresh session) -- and Apache ZooKeeper first drops the connection that holds the
    # session, so the rightful owner reconnects (SUSPENDED, CONNECTED). The owner's next
    # request is retried on ConnectionLoss, so its state list is complete when it returns.
    zk4 = client(port, client_id=(sid, b"\x00" * 16))
    st4 = []
    zk4.add_listener(lambda s: st4.append(str(s)))
    zk4.start(timeout=20)
    T.say("wrong password: new session", zk4.client_id[0] != sid, "session#=%d" % zk4.client_id[0],
          "states", st4)
    attempt(T, "resumed session still alive", lambda: zk3.retry(zk3.exists, "/kz/resume"))
    zk4.stop()
    zk4.close()
    zk3.stop()
    zk3.close()
    attempt(T, "after resumed session closed", lambda: zk.exists("/kz/resume"))
    attempt(T, "after resumed session closed 2", lambda: zk.exists("/kz/resume2"))
    T.say("resumed session states", st3)

    attempt(T, "final children", lambda: zk.get_children("/kz", include_data=True))
    attempt(T, "cleanup", lambda: zk.delete("/kz", recursive=True))
    attempt(T, "root", lambda: zk.get_children("/"))
    flush_callbacks(zk)
    zk.stop()
    zk.close()
    T.say("states", states)
    return T.text()


def main():
    logging.getLogger("kazoo").setLevel(logging.ERROR)   # expected reconnects are not news
    zkharness.differential([("kazoo-scenario", scenario)], out_dir=os.environ.get("ZKH_OUT"))


zkharness.run_test(main)
