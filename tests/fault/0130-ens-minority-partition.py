#!/usr/bin/python3
"""F11: a minority partition of a 3-voter + 1-observer ensemble, made with the in-repo TCP
proxy on every peer link (tests/lib/tcpproxy.py, "blackhole": bytes vanish, connections
stay open, so each side notices only through its own timeouts, as in a real partition).

Round 1 -- the leader is cut off from everyone:
  * it stops serving: within 15 s it no longer grants sessions, and srvr shows no Mode;
  * a client that stays on it keeps trying to create nodes: not one is acknowledged;
  * the other voters elect a new leader and writes through them go on;
  * after healing, the old leader rejoins; all four members hold identical subtrees with
    every acknowledged write, and none of the writes sent to the isolated leader.
Round 2 -- one follower and the observer are cut off from the two other voters:
  * the follower + observer side stops serving (an observer never counts as a voter, so
    1 voter + 1 observer is no quorum); the two voters go on;
  * after healing all four agree again, as above.
Runs against GREGOR_ITEST_TARGET (gregor by default; apache proves the test)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
import zkload  # noqa: E402
from zkharness import log, wait_until  # noqa: E402

ROOT = "/f11"
STOP_SERVING_S = 15.0      # sanity bound: the minority must stop serving by then
NEW_LEADER_S = 15.0


class MinorityProbe(threading.Thread):
    """Keeps creating ROOT/minority-<tag>-<i> through ONE member only. Counts what came
    back: acknowledged (must stay 0), error replies, lost connections / refusals."""

    def __init__(self, member, tag):
        super().__init__(daemon=True, name="probe-" + tag)
        self.client = zkload.FailoverClient([member.port], give_up_s=0.5, request_timeout=1.0)
        self.tag = tag
        self.sent = []
        self.acked, self.errors, self.lost = [], [], 0
        self.stop_ev = threading.Event()

    def path(self, i):
        return "%s/minority-%s-%04d" % (ROOT, self.tag, i)

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            p = self.path(i)
            i += 1
            try:
                self.sent.append(p)
                err = self.client.create(p, b"must never exist")
            except (zkload.ConnectionLoss, zkload.SessionExpired):
                self.lost += 1
                self.stop_ev.wait(0.05)
                continue
            (self.acked if err == 0 else self.errors).append((p, err))
            self.stop_ev.wait(0.02)

    def finish(self):
        self.stop_ev.set()
        self.join(30)
        self.client.conn and self.client.conn.close()


def writers_for(ens, members, tag):
    ws = []
    for k, first in enumerate(members):
        ports = [first.port] + [m.port for m in members if m is not first]
        ws.append(zkload.SeqWriter(ports, ROOT, "%s-w%d" % (tag, k), ephemeral=False))
    for w in ws:
        w.start()
    return ws


def wait_progress(writers, since, n, what):
    def ok():
        for w in writers:
            if w.error or w.expired:
                raise AssertionError("writer %s: %s" % (w.wname, w.error or w.expired))
        return all(w.acks_sent_after(since) >= n for w in writers)
    wait_until(ok, 30, what=what)


def stops_serving(members, t_cut, problems, label):
    """Waits until every member in members has stopped serving: srvr answers without a
    Mode line (ZooKeeper: "not currently serving requests") and no session is granted
    (a session request that merely hangs does not count as refused until srvr agrees).
    Records how long it took."""
    try:
        wait_until(lambda: all(m.mode(0.5) is None and not m.serving(0.5) for m in members),
                   STOP_SERVING_S, interval=0.1, what="%s to stop serving" % label)
    except TimeoutError:
        problems.append("%s still serving %.0f s after the cut (modes %s)" % (
            label, STOP_SERVING_S, {m.sid: m.mode() for m in members}))
        return
    took = time.monotonic() - t_cut
    modes = {m.sid: m.mode() for m in members}
    log("%s stopped serving %.1f s after the cut (srvr modes now %s)" % (label, took, modes))
    if any(modes.values()):
        problems.append("%s: srvr still reports a mode after it stopped serving: %s" % (label, modes))


def one_round(ens, tag, minority, problems, all_acked, never):
    majority = [m for m in ens.members if m not in minority]
    maj_voters = [m for m in majority if m.role == "participant"]
    probes = [MinorityProbe(m, "%s-m%d" % (tag, m.sid)) for m in minority]
    # a working session on each minority member before the cut
    for p in probes:
        err = p.client.create(p.path(9999), b"before the cut")
        assert err == 0, "create before the cut on member %d -> %d" % (minority[probes.index(p)].sid, err)
        all_acked.append((p.path(9999), b"before the cut"))
    writers = writers_for(ens, majority, tag)
    wait_progress(writers, 0, 10, "writes before the cut")

    t_cut = time.monotonic()
    for a in minority:
        for b in majority:
            ens.cut(a, b, "blackhole")
    for p in probes:
        p.start()
    log("round %s: cut members %s from %s" % (tag, [m.sid for m in minority],
                                               [m.sid for m in majority]))
    stops_serving(minority, t_cut, problems, "the minority %s" % [m.sid for m in minority])
    try:
        new = wait_until(lambda: next((m for m in maj_voters if m.mode() == "leader"), None),
                         NEW_LEADER_S, interval=0.05, what="a leader on the majority side")
        wait_progress(writers, t_cut, 20, "writes on the majority side after the cut")
        log("round %s: majority leader member %d; writes go on (first ack sent after the cut "
            "%.2f s after it)" % (tag, new.sid, min(
                w.first_ack_sent_after(t_cut) for w in writers) - t_cut))
    except TimeoutError as e:
        problems.append("round %s: majority side: %s (modes %s)" % (tag, e, ens.modes()))
    # the minority keeps being asked for a little longer, then stays unreachable
    time.sleep(1.0)
    for m in minority:
        if m.serving(0.5):
            problems.append("round %s: member %d serves again while still cut off" % (tag, m.sid))
    for p in probes:
        p.finish()
        log("round %s: probe on %s: %d creates tried, %d acknowledged, %d error replies, "
            "%d lost/refused" % (tag, p.tag, len(p.sent), len(p.acked), len(p.errors), p.lost))
        if p.acked:
            problems.append("round %s: the cut-off member acknowledged writes: %s" % (
                tag, [x for x, _ in p.acked[:5]]))
        never.extend(p.sent)

    t_heal = time.monotonic()
    ens.heal()
    ens.wait_ready(timeout=60)
    log("round %s: healed; all members ready again in %.1f s, modes %s" % (
        tag, time.monotonic() - t_heal, ens.modes()))
    wait_progress(writers, time.monotonic(), 5, "writes after healing")
    for w in writers:
        w.finish()
        if w.error or w.expired or w.refused or w.client.zxid_backwards:
            problems.append("writer %s: %s %s %s %s" % (w.wname, w.error, w.expired,
                                                        w.refused[:3], w.client.zxid_backwards[:3]))
        all_acked.extend((w.path(i), w.data(i)) for i in sorted(w.acked_set))
        w.client.close()

    trees, pr = zkload.verify_members(ens.members, ROOT, all_acked)
    problems += ["round %s: %s" % (tag, x) for x in pr]
    for label, t in trees.items():
        back = [p for p in never if p in t]
        if back:
            problems.append("round %s: %s holds writes sent only to the cut-off side: %s" % (
                tag, label, back[:5]))
    log("round %s: %d acknowledged creates on all members, identical subtrees (%d nodes)" % (
        tag, len(all_acked), len(next(iter(trees.values()), {}))))


def main():
    ens = zkensemble.start_ensemble("target", voters=3, observers=1, proxied=True)
    try:
        c = zkload.FailoverClient([ens.leader().port])
        assert c.create(ROOT) in (0, zkload.ZNODEEXISTS)
        c.close()
        problems, acked, never = [], [], []
        one_round(ens, "r1", [ens.leader()], problems, acked, never)
        follower = ens.followers()[0]
        one_round(ens, "r2", [follower, ens.observers[0]], problems, acked, never)
        if problems:
            raise AssertionError("minority partition:\n  " + "\n  ".join(problems))
    finally:
        ens.cleanup()


zkharness.run_test(main)
