#!/usr/bin/python3
"""kill -9 under a write load: after restart every acknowledged write is there.

The server (GREGOR_ITEST_TARGET: gregor by default, or apache to prove the test) runs with
a small snapCount so snapshots are taken during the load. Four writer sessions (raw sockets,
up to 32 requests in flight each) create znodes /dur/r<round>-w<k>-<i> and setData a counter
on /dur/ctr-w<k>. Every reply with err 0 is recorded as acknowledged. When enough writes were
acknowledged the server gets SIGKILL (mid-load, with writes in flight), is restarted on the
same dataDir and checked:
  * every acknowledged create exists with its data;
  * per writer, the surviving creates are a gap-free prefix (no later write survived while
    an earlier one was lost) -- unacknowledged writes may or may not have survived;
  * every counter holds a value >= its last acknowledged one and <= the last one sent, and
    its data version equals that value (each setData is +1).
Three rounds of load, kill, restart, verify. Bounded: each load
phase stops after ACK_TARGET acknowledged writes or LOAD_MAX_S seconds."""
import os
import socket
import struct
import sys
import threading
import time
from collections import deque

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkharness  # noqa: E402
import zkraw  # noqa: E402
from zkraw import frame, i32  # noqa: E402

WRITERS = 4
WINDOW = 32
ACK_TARGET = 8000          # acknowledged writes per round before the kill
LOAD_MAX_S = 20.0
ROUNDS = 3


class Writer(threading.Thread):
    """One session writing creates and counter updates, alternating, with a window of
    requests in flight. Records what was acknowledged and what was sent."""

    def __init__(self, port, rnd, k, counter_start):
        super().__init__(daemon=True)
        self.port, self.rnd, self.k = port, rnd, k
        self.acked_creates = []          # indexes i, in ack order
        self.sent_creates = 0
        self.counter = counter_start     # last counter value sent
        self.acked_counter = counter_start
        self.errors = []
        self.stop_ev = threading.Event()
        self.ended = None

    def cpath(self, i):
        return "/dur/r%d-w%d-%06d" % (self.rnd, self.k, i)

    def cdata(self, i):
        return b"data r%d w%d i%d" % (self.rnd, self.k, i)

    def run(self):
        try:
            c = zkraw.connect(self.port, timeout=10.0, timeout_ms=30000)
        except Exception as e:
            self.errors.append("connect: %r" % e)
            return
        inflight = deque()
        xid = 0
        try:
            while not (self.stop_ev.is_set() and not inflight):
                batch = []
                while not self.stop_ev.is_set() and len(inflight) < WINDOW:
                    xid += 1
                    if xid % 2:
                        i = self.sent_creates
                        self.sent_creates += 1
                        batch.append(frame(i32(xid) + i32(zkraw.OP_CREATE) +
                                           zkraw.create_body(self.cpath(i), self.cdata(i))))
                        inflight.append((xid, "create", i))
                    else:
                        self.counter += 1
                        v = self.counter
                        batch.append(frame(i32(xid) + i32(zkraw.OP_SETDATA) +
                                           zkraw.setdata_body("/dur/ctr-w%d" % self.k,
                                                              b"%d" % v)))
                        inflight.append((xid, "set", v))
                if batch:
                    c.send(b"".join(batch))
                rxid, _z, err, _b = c.read_reply(timeout=10.0)
                exp = inflight.popleft()
                if rxid != exp[0]:
                    self.errors.append("reply xid %d, expected %d" % (rxid, exp[0]))
                    return
                if err != 0:
                    self.errors.append("%s %s -> err %d" % (exp[1], exp[2], err))
                    return
                if exp[1] == "create":
                    self.acked_creates.append(exp[2])
                else:
                    self.acked_counter = exp[2]
            self.ended = "stopped"
        except (zkraw.Closed, OSError, socket.timeout) as e:
            self.ended = "connection ended: %s" % type(e).__name__
        finally:
            c.close()

    @property
    def acks(self):
        return len(self.acked_creates) + (self.acked_counter - self._start)

    def start(self):
        self._start = self.counter
        super().start()


def prepare(port):
    with zkraw.connect(port) as c:
        err, _ = c.call(zkraw.OP_CREATE, zkraw.create_body("/dur"))
        assert err in (0, -110), "create /dur -> %d" % err
        for k in range(WRITERS):
            err, _ = c.call(zkraw.OP_CREATE, zkraw.create_body("/dur/ctr-w%d" % k, b"0"))
            assert err in (0, -110), "create counter -> %d" % err


def verify(port, writers_by_round, counters):
    """Checks the restarted server against everything acknowledged so far. Returns a list
    of problems (empty = fine) and a summary string."""
    problems = []
    with zkraw.connect(port, timeout=30.0) as c:
        err, body = c.call(zkraw.OP_GETCHILDREN, zkraw.path_watch_body("/dur"), timeout=30)
        if err != 0:
            return ["getChildren /dur -> %d" % err], ""
        n = struct.unpack(">i", body[:4])[0]
        off, names = 4, set()
        for _ in range(n):
            ln = struct.unpack(">i", body[off:off + 4])[0]
            names.add(body[off + 4:off + 4 + ln].decode())
            off += 4 + ln
        total_acked = total_present = 0
        for rnd, writers in writers_by_round.items():
            for w in writers:
                present = sorted(int(x.rsplit("-", 1)[1]) for x in names
                                 if x.startswith("r%d-w%d-" % (rnd, w.k)))
                total_present += len(present)
                total_acked += len(w.acked_creates)
                if present != list(range(len(present))):
                    problems.append("round %d writer %d: surviving creates have a gap: %s" % (
                        rnd, w.k, _gaps(present)))
                if w.acked_creates and len(present) <= max(w.acked_creates):
                    lost = [i for i in w.acked_creates if i >= len(present)]
                    problems.append("round %d writer %d: %d acknowledged creates lost "
                                    "(first %s)" % (rnd, w.k, len(lost), lost[:5]))
                if len(present) > w.sent_creates:
                    problems.append("round %d writer %d: %d creates present but only %d sent" % (
                        rnd, w.k, len(present), w.sent_creates))
                # data of every acknowledged create (pipelined reads)
                idx = list(w.acked_creates)
                base = c.xid
                c.send(b"".join(frame(i32(base + j + 1) + i32(zkraw.OP_GETDATA) +
                                      zkraw.path_watch_body(w.cpath(i)))
                                for j, i in enumerate(idx)))
                c.xid = base + len(idx)
                for j, i in enumerate(idx):
                    rxid, _z, err, rb = c.read_reply(timeout=30)
                    if rxid != base + j + 1:
                        problems.append("verify: reply xid %d, expected %d" % (rxid, base + j + 1))
                        return problems, ""
                    data = zkraw.parse_buffer(rb)[0] if err == 0 else None
                    if err != 0 or data != w.cdata(i):
                        problems.append("round %d writer %d: acknowledged %s -> err %d data %r" % (
                            rnd, w.k, w.cpath(i), err, data))
                        if len(problems) > 20:
                            return problems, ""
        for k, (acked, sent) in counters.items():
            err, rb = c.call(zkraw.OP_GETDATA, zkraw.path_watch_body("/dur/ctr-w%d" % k))
            if err != 0:
                problems.append("counter %d: getData -> %d" % (k, err))
                continue
            data, off = zkraw.parse_buffer(rb)
            st, _ = zkraw.parse_stat(rb, off)
            v = int(data)
            if not acked <= v <= sent:
                problems.append("counter %d holds %d; acknowledged %d, sent up to %d" % (
                    k, v, acked, sent))
            if st["version"] != v:
                problems.append("counter %d: value %d but data version %d" % (k, v, st["version"]))
    return problems, "%d acknowledged creates, %d present" % (total_acked, total_present)


def _gaps(present):
    s = set(present)
    missing = [i for i in range(max(present) + 1) if i not in s]
    return "missing %s of 0..%d" % (missing[:10], max(present))


def main():
    srv = zkharness.start_server("target", extra_cfg={"snapCount": "1000"})
    problems = []
    try:
        prepare(srv.port)
        writers_by_round = {}
        counters = {k: (0, 0) for k in range(WRITERS)}
        for rnd in range(1, ROUNDS + 1):
            ws = [Writer(srv.port, rnd, k, counters[k][1]) for k in range(WRITERS)]
            for w in ws:
                w.start()
            t0 = time.monotonic()
            try:
                zkharness.wait_until(lambda: sum(w.acks for w in ws) >= ACK_TARGET or
                                     any(w.errors for w in ws) or
                                     all(not w.is_alive() for w in ws),
                                     LOAD_MAX_S, interval=0.01, what="acknowledged writes")
            except TimeoutError:
                pass        # bounded in time: kill with whatever was acknowledged
            acks_at_kill = sum(w.acks for w in ws)
            srv.kill9()
            for w in ws:
                w.join(30)
            errs = [e for w in ws for e in w.errors]
            if errs:
                raise AssertionError("writers saw errors before the kill: %s" % errs[:5])
            zkharness.log("round %d: SIGKILL after %.1fs with %d writes acknowledged "
                          "(%d sent)" % (rnd, time.monotonic() - t0, acks_at_kill,
                                         sum(w.sent_creates + w.counter - w._start for w in ws)))
            if acks_at_kill < 100:
                raise AssertionError("the load made too little progress (%d acks)" % acks_at_kill)
            writers_by_round[rnd] = ws
            for w in ws:
                counters[w.k] = (w.acked_counter, w.counter)
            t1 = time.monotonic()
            srv.restart()
            zkharness.log("round %d: restarted in %.1fs" % (rnd, time.monotonic() - t1))
            problems, summary = verify(srv.port, writers_by_round, counters)
            zkharness.log("round %d: verified %s" % (rnd, summary))
            if problems:
                break
            # counters continue from what survived (the next setData is value+1)
            with zkraw.connect(srv.port) as c:
                for k in range(WRITERS):
                    err, rb = c.call(zkraw.OP_GETDATA, zkraw.path_watch_body("/dur/ctr-w%d" % k))
                    v = int(zkraw.parse_buffer(rb)[0])
                    counters[k] = (v, v)
    finally:
        srv.cleanup()
    if problems:
        raise AssertionError("after kill -9 and restart:\n  " + "\n  ".join(problems[:30]))


zkharness.run_test(main)
