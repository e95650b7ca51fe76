#!/usr/bin/python3
"""F10: kill -9 the leader of a 3-voter + 1-observer ensemble during writes.

Three writer sessions create znodes one at a time (each starts on a different member: the
leader, a follower, the observer; each moves to the next member on connection loss with
its session id and password, as real clients do). Each also owns an ephemeral node. When
every writer has made progress, the leader gets SIGKILL. Then:
  * a new leader is elected among the survivors (srvr Mode), and the outage -- kill to the
    first acknowledged write sent after the kill -- is printed (sanity bound 10 s);
  * the writers go on: each gets writes acknowledged after the kill, with the SAME session
    (never expired), its ephemeral node still there with itself as owner, and no reply's
    zxid lower than one it saw before;
  * every acknowledged create is on every survivor (each read directly after sync) and the
    survivors' subtrees are identical (data and Stat), so writes whose connection was lost
    in flight are on all of them or on none;
  * the old leader, restarted, catches up: its subtree equals the others'.
Runs against GREGOR_ITEST_TARGET (gregor by default; apache proves the test)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
import zkload  # noqa: E402
from zkharness import log, wait_until  # noqa: E402

ROOT = "/f10"
OUTAGE_SANITY_S = 10.0


def main():
    ens = zkensemble.start_ensemble("target", voters=3, observers=1)
    writers = []
    try:
        old = ens.leader()
        follower = next(m for m in ens.followers())
        observer = ens.observers[0]
        c = zkload.FailoverClient([follower.port])
        assert c.create(ROOT) in (0, zkload.ZNODEEXISTS)
        c.close()
        # every writer knows every member; the list starts at its first server
        order = [old, follower, observer]
        for k, first in enumerate(order):
            ports = [first.port] + [m.port for m in ens.members if m is not first]
            w = zkload.SeqWriter(ports, ROOT, "w%d" % k)
            writers.append(w)
            w.start()
        for w in writers:
            w.ready.wait(20)
        wait_until(lambda: all(len(w.acked) >= 30 or w.error or w.expired for w in writers),
                   30, what="30 acknowledged writes per writer")
        for w in writers:
            assert not (w.error or w.expired), "writer %s before the kill: %s %s" % (
                w.wname, w.error, w.expired)
        acked_before = sum(len(w.acked) for w in writers)

        t_kill = time.monotonic()
        old.kill9()
        log("SIGKILL to leader member %d after %d acknowledged writes" % (old.sid, acked_before))
        survivors = [m for m in ens.members if m is not old]

        def progress():
            bad = [w for w in writers if w.error or w.expired]
            if bad:
                return bad
            return all(w.acks_sent_after(t_kill) >= 20 for w in writers)
        wait_until(progress, 30, what="20 acknowledged writes per writer after the kill")
        firsts = [w.first_ack_sent_after(t_kill) for w in writers]
        outage = min(f for f in firsts if f is not None) - t_kill
        log("outage: first acknowledged write sent after the kill came %.3f s after the kill "
            "(per writer: %s)" % (outage, ", ".join(
                "%s %.3f s" % (w.wname, f - t_kill) for w, f in zip(writers, firsts))))
        for w in writers:
            w.finish()

        problems = []
        for w in writers:
            if w.error or w.expired:
                problems.append("writer %s: %s" % (w.wname, w.error or "session expired: " + w.expired))
            if w.refused:
                problems.append("writer %s: creates refused: %s" % (w.wname, w.refused[:5]))
            if len(w.client.sessions) != 1:
                problems.append("writer %s held %d sessions (%s); the session must survive the "
                                "failover" % (w.wname, len(w.client.sessions),
                                              ["0x%x" % s for s in w.client.sessions]))
            if w.client.zxid_backwards:
                problems.append("writer %s saw zxids go backwards: %s" % (
                    w.wname, w.client.zxid_backwards[:3]))
        if outage > OUTAGE_SANITY_S:
            problems.append("no write acknowledged within %.0f s of the kill (%.1f s)" % (
                OUTAGE_SANITY_S, outage))
        moved = writers[0].client.moves
        if len(moved) < 2:
            problems.append("the writer connected to the old leader never reconnected")

        new = ens.wait_ready(members=survivors, timeout=30)
        log("new leader: member %d (modes %s); uncertain creates: %s" % (
            new.sid, ens.modes(), {w.wname: sorted(w.uncertain) for w in writers}))
        if new is old or new.role != "participant":
            problems.append("bad new leader %r" % new)

        acked = [(w.path(i), w.data(i)) for w in writers for i in sorted(w.acked_set)]
        trees, pr = zkload.verify_members(survivors, ROOT, acked)
        problems += pr
        for w in writers:
            for label, t in trees.items():
                node = t.get(w.eph_path)
                owner = node[1][zkload.STAT_KEYS.index("ephemeralOwner")] if node else None
                if owner != w.client.sessions[0]:
                    problems.append("%s: ephemeral %s of writer %s: owner %s, expected 0x%x" % (
                        label, w.eph_path, w.wname, None if owner is None else "0x%x" % owner,
                        w.client.sessions[0]))
        log("%d acknowledged creates checked on %d survivors (%d nodes each)" % (
            len(acked), len(survivors), len(next(iter(trees.values()), {}))))

        t0 = time.monotonic()
        old.restart()
        log("old leader restarted and serving in %.1f s as %s" % (time.monotonic() - t0, old.mode()))
        _, pr = zkload.verify_members(survivors + [old], ROOT, acked)
        problems += ["after restarting the old leader: " + p for p in pr]
        for w in writers:
            w.client.close()
        if problems:
            raise AssertionError("leader kill -9:\n  " + "\n  ".join(problems))
    finally:
        for w in writers:
            w.stop()
        ens.cleanup()


zkharness.run_test(main)
