#!/usr/bin/python3
"""F13 and the stall half of F14 on a 3-voter + 1-observer ensemble (peer links through
tests/lib/tcpproxy.py so the resync traffic can be watched):

  1. kill -9 a follower during writes: writes go on (every writer gets writes acknowledged
     after the kill; the longest gap between acknowledgements is printed);
  2. while it is down, a bulk load makes its resync large; it is restarted and killed
     AGAIN while the leader is streaming the resync to it -- the proxy lets only the first
     256 KiB through, so the kill lands mid-transfer (F13: kill mid DIFF/SNAP) -- then
     restarted for good: it must serve again and catch up;
  3. the other follower is stalled with SIGSTOP for longer than syncLimit (an fsync stall,
     F14): writes go on without it; after SIGCONT it rejoins and catches up;
  4. every member (read directly, after sync) holds every acknowledged create and the four
     subtrees are identical (data and Stat), i.e. the replicas converged.
Runs against GREGOR_ITEST_TARGET (gregor by default; apache proves the test)."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
import zkload  # noqa: E402
from zkharness import log, wait_until  # noqa: E402

ROOT = "/f13"
BULK = 4000               # creates while the follower is down
BULK_SIZE = 512           # bytes each: about 2 MiB to resync
MIDSYNC_BYTES = 256 << 10  # the proxy holds the resync after this much; then the kill
STALL_S = 4.0             # > syncLimit (5) x tickTime (500 ms)


def progress(writers, since, n, what, timeout=30):
    def ok():
        bad = [w for w in writers if w.error or w.expired]
        if bad:
            raise AssertionError("writer %s failed: %s" % (bad[0].wname, bad[0].error or bad[0].expired))
        return all(w.acks_sent_after(since) >= n for w in writers)
    wait_until(ok, timeout, what=what)


def main():
    ens = zkensemble.start_ensemble("target", voters=3, observers=1, proxied=True)
    writers = []
    try:
        leader = ens.leader()
        victim, other = ens.followers()[:2]
        observer = ens.observers[0]
        c = zkload.FailoverClient([leader.port])
        assert c.create(ROOT) in (0, zkload.ZNODEEXISTS)
        c.close()
        for k, first in enumerate((victim, other, observer)):
            ports = [first.port] + [m.port for m in ens.members if m is not first]
            writers.append(zkload.SeqWriter(ports, ROOT, "w%d" % k))
        for w in writers:
            w.start()
        progress(writers, 0, 20, "20 acknowledged writes per writer")

        # 1. kill -9 a follower
        t_kill = time.monotonic()
        victim.kill9()
        progress(writers, t_kill, 20, "writes acknowledged after the follower was killed")
        gaps = {w.wname: w.max_gap(t_kill) for w in writers}
        log("follower %d killed: writes went on; longest gap per writer after the kill: %s" % (
            victim.sid, ", ".join("%s %.3f s" % kv for kv in gaps.items())))

        # 2. bulk load, restart, kill mid-resync, restart
        bulk = zkload.PipelinedWriter(leader.port, ROOT, "bulk", window=64, count=BULK,
                                      size=BULK_SIZE)
        t0 = time.monotonic()
        bulk.start()
        bulk.join(120)
        assert bulk.ended == "done" and not bulk.refused and len(bulk.acked) == BULK, (
            "bulk load: %s, %d acknowledged, refused %s" % (bulk.ended, len(bulk.acked),
                                                            bulk.refused[:3]))
        log("bulk load: %d creates of %d bytes acknowledged in %.1f s" % (
            BULK, BULK_SIZE, time.monotonic() - t0))
        # the proxy lets only MIDSYNC_BYTES from the leader through to the restarted
        # follower (on whichever of their links carries it), so it is killed with its
        # resync provably incomplete
        moved = ens.hold_traffic(leader, victim, MIDSYNC_BYTES)
        victim.launch()
        wait_until(lambda: (moved() >= MIDSYNC_BYTES or not victim.alive() or
                            victim.mode(0.2) is not None), 60,
                   interval=0.01, what="the leader streaming the resync to the restarted follower")
        assert victim.alive(), "restarted follower exited:\n" + victim.log_tail()
        got = moved()
        synced = victim.mode(0.2) is not None
        victim.kill9()
        ens.release_traffic(leader, victim)
        log("restarted follower %d killed %s after %d KiB of its resync" % (
            victim.sid, "(it had finished syncing!)" if synced else "mid-resync, held by the proxy",
            got >> 10))
        moved = ens.hold_traffic(leader, victim, 1 << 40)      # only to count the bytes
        t0 = time.monotonic()
        victim.restart()
        total = moved()
        ens.release_traffic(leader, victim)
        log("follower %d restarted: serving as %s after %.1f s; its resync was %d KiB" % (
            victim.sid, victim.mode(), time.monotonic() - t0, total >> 10))
        if synced or total <= got:
            log("note: the resync (%d KiB) was not larger than %d KiB, so the kill came after "
                "it; F13's kill mid-resync was not exercised" % (total >> 10, MIDSYNC_BYTES >> 10))

        # 3. stall the other follower beyond syncLimit
        t_stop = time.monotonic()
        other.sigstop()
        progress([w for w in writers], t_stop, 10,
                 "writes acknowledged while a follower is stalled", timeout=30)
        left = STALL_S - (time.monotonic() - t_stop)
        if left > 0:
            time.sleep(left)        # the stall itself is the fault: it must outlast syncLimit
        n_stalled = sum(w.acks_sent_after(t_stop) for w in writers)
        other.sigcont()
        log("follower %d stalled (SIGSTOP) for %.1f s; %d writes acknowledged meanwhile" % (
            other.sid, time.monotonic() - t_stop, n_stalled))
        t_cont = time.monotonic()
        ens.wait_ready(timeout=60)
        log("after SIGCONT: ensemble ready again in %.1f s, modes %s" % (
            time.monotonic() - t_cont, ens.modes()))
        progress(writers, t_cont, 10, "writes after the stall")
        for w in writers:
            w.finish()

        # 4. convergence
        problems = []
        for w in writers:
            if w.error or w.expired or w.refused:
                problems.append("writer %s: %s %s %s" % (w.wname, w.error, w.expired, w.refused[:3]))
            if w.client.zxid_backwards:
                problems.append("writer %s saw zxids go backwards: %s" % (
                    w.wname, w.client.zxid_backwards[:3]))
        acked = [(w.path(i), w.data(i)) for w in writers for i in sorted(w.acked_set)]
        acked += [(bulk.path(i), bulk.data(i)) for i in bulk.acked]
        trees, pr = zkload.verify_members(ens.members, ROOT, acked)
        problems += pr
        log("%d acknowledged creates checked on all %d members (%d nodes each)" % (
            len(acked), len(ens.members), len(next(iter(trees.values()), {}))))
        for w in writers:
            w.client.close()
        if problems:
            raise AssertionError("follower kill / resync / stall:\n  " + "\n  ".join(problems))
    finally:
        for w in writers:
            w.stop()
        ens.cleanup()


zkharness.run_test(main)
