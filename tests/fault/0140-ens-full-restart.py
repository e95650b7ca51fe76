#!/usr/bin/python3
"""Whole-ensemble restarts of a 3-voter + 1-observer ensemble lose nothing (and the torn
txn-log tail of F14 is repaired):

  A. clean: writes through a follower and the observer, then every member is stopped
     (SIGTERM) and the ensemble started again;
  B. crash: every member gets SIGKILL at the same moment while two sessions keep 32
     creates each in flight; then the last record of the observer's newest txn log is torn
     (its second half, end marker included, zeroed: a write cut short), and the ensemble is
     started again. The observer must repair the tail and resync (no crash loop).
After each restart: a leader, every member serves, every acknowledged create is on every
member (read directly, after sync) and the four subtrees are identical (data and Stat).
snapCount=1000, so the restarts load snapshots plus logs. The observer is the one torn
because its log is not part of any quorum: tearing a voter's acknowledged record could
legitimately lose that write.
Runs against GREGOR_ITEST_TARGET (gregor by default; apache proves the test)."""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
import zkload  # noqa: E402
from zkharness import log, wait_until  # noqa: E402

ROOT = "/frs"
ACK_TARGET = 3000


def log_records(path):
    """Offsets (start, end) of the intact records of one txn log file, for both on-disk
    formats: Apache ZooKeeper ("ZKLG": header 16 bytes; record = crc:8 len:4 body EOR 'B')
    and gregor-coord ("GZLG": header 28 bytes; record = crc:4 len:4 zxid:8 body EOR 'B').
    Returns [] for an unknown format."""
    with open(path, "rb") as f:
        b = f.read()
    out = []
    if b[:4] == b"ZKLG":
        off, hdr, lenoff = 16, 12, 8
    elif b[:4] == b"GZLG":
        off, hdr, lenoff = 28, 16, 4
    else:
        return []
    while off + hdr <= len(b):
        n = int.from_bytes(b[off + lenoff:off + lenoff + 4], "big", signed=True)
        end = off + hdr + n + 1
        if n <= 0 or end > len(b) or b[end - 1:end] != b"B":
            break
        out.append((off, end))
        off = end
    return out


def tear_newest_record(data_dir):
    """Zeroes the second half (end marker included) of the last record of the newest txn
    log under data_dir that has records. Returns a description, or None."""
    files = glob.glob(os.path.join(data_dir, "version-2", "log.*"))
    files.sort(key=lambda p: int(p.rsplit(".", 1)[1], 16), reverse=True)
    for path in files:
        recs = log_records(path)
        if not recs:
            continue
        start, end = recs[-1]
        cut = start + (end - start) // 2
        with open(path, "r+b") as f:
            f.seek(cut)
            f.write(b"\0" * (end - cut))
            f.flush()
            os.fsync(f.fileno())
        return "%s: record %d of %d (bytes %d..%d) zeroed from %d" % (
            os.path.basename(path), len(recs), len(recs), start, end, cut)
    return None


def check(ens, acked, label):
    trees, problems = zkload.verify_members(ens.members, ROOT, acked)
    log("%s: %d acknowledged creates checked on all %d members (%d nodes each)" % (
        label, len(acked), len(ens.members), len(next(iter(trees.values()), {}))))
    if problems:
        raise AssertionError("%s:\n  %s" % (label, "\n  ".join(problems)))


def main():
    ens = zkensemble.start_ensemble("target", voters=3, observers=1,
                                    extra_cfg={"snapCount": "1000"})
    try:
        follower, observer = ens.followers()[0], ens.observers[0]
        c = zkload.FailoverClient([follower.port])
        assert c.create(ROOT) in (0, zkload.ZNODEEXISTS)
        c.close()
        acked = []

        # A. clean stop of everything, start again
        ws = [zkload.PipelinedWriter(m.port, ROOT, "a-m%d" % m.sid, window=16, count=1500)
              for m in (follower, observer)]
        for w in ws:
            w.start()
        for w in ws:
            w.join(120)
            assert w.ended == "done" and not w.refused, "writer %s: %s %s" % (
                w.wname, w.ended, w.refused[:3])
            acked += [(w.path(i), w.data(i)) for i in w.acked]
        t0 = time.monotonic()
        ens.stop_all()
        leader = ens.start()
        log("A: all members stopped (SIGTERM) and started again; ready in %.1f s, leader %d" % (
            time.monotonic() - t0, leader.sid))
        check(ens, acked, "A (clean restart)")

        # B. kill -9 everything under load, tear the observer's log tail, start again
        follower, observer = ens.followers()[0], ens.observers[0]
        ws = [zkload.PipelinedWriter(m.port, ROOT, "b-m%d" % m.sid, window=32)
              for m in (follower, observer)]
        for w in ws:
            w.start()
        wait_until(lambda: sum(len(w.acked) for w in ws) >= ACK_TARGET or
                   any(w.ended for w in ws), 60, what="%d acknowledged creates" % ACK_TARGET)
        assert not any(w.ended for w in ws), "a writer ended early: %s" % [w.ended for w in ws]
        ens.kill9_all()
        for w in ws:
            w.join(30)
            assert not w.refused, "writer %s: refused %s" % (w.wname, w.refused[:3])
            acked += [(w.path(i), w.data(i)) for i in w.acked]
        log("B: SIGKILL to all members with %d creates acknowledged and %d sent" % (
            sum(len(w.acked) for w in ws), sum(w.sent for w in ws)))
        torn = tear_newest_record(observer.data_dir)
        log("B: observer member %d: %s" % (observer.sid, torn or
                                            "no txn log with records found; nothing torn"))
        t0 = time.monotonic()
        leader = ens.start()
        log("B: ensemble ready again in %.1f s, leader %d, modes %s" % (
            time.monotonic() - t0, leader.sid, ens.modes()))
        check(ens, acked, "B (kill -9 of all members, torn observer log)")
    finally:
        ens.cleanup()


zkharness.run_test(main)
