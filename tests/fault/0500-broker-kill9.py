#!/usr/bin/python3
"""kill -9 of the broker under acks=1 load: every acknowledged record survives, and a restart AT
ONCE (while the coordinator still holds the dead process's /brokers/ids/0) comes up.

Three rounds on one cluster (topic of 3 partitions, kafka-python producer, acks=1, retries):
records with unique values are sent continuously from a thread; once enough of this round's
records are acknowledged the broker gets SIGKILL in the middle of the load and is started again
immediately (same port, same log dirs). The producer then drains (its retries reach the
restarted broker). Afterwards every partition is read from the beginning: each acknowledged
record must be at the offset it was acknowledged with, with its value (Jepsen's lost-write /
inconsistent-offsets); offsets are dense. Records whose send failed may or may not be there
(indeterminate), duplicates of retried sends are allowed (no idempotence).
With KH_TARGET=kafka09 the real 0.9.0.1 broker is restarted only after its stale registration
expired (it cannot do better), which proves the durability half of the test.
Exit 0 pass, 77 skip, 1 fail."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

TOPIC = "kill9"
NPART = 3
ROUNDS = int(os.environ.get("KILL9_ROUNDS", "3"))
PER_ROUND = int(os.environ.get("KILL9_ACKED", "1500"))


class Load:
    def __init__(self, c, rnd):
        from kafka import KafkaProducer
        self.p = KafkaProducer(bootstrap_servers=c.bootstrap, acks=1, retries=20,
                               retry_backoff_ms=200, linger_ms=2, request_timeout_ms=10000,
                               max_block_ms=60000, reconnect_backoff_ms=50,
                               reconnect_backoff_max_ms=500)
        self.rnd = rnd
        self.acked = {}          # value -> (partition, offset)
        self.failed = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.error = None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        i = 0
        try:
            while not self.stopping:
                v = ("r%d-%d" % (self.rnd, i)).encode()
                f = self.p.send(TOPIC, v, partition=i % NPART)
                f.add_callback(self._ok, v)
                f.add_errback(self._err)
                self.sent += 1
                i += 1
                if i % 200 == 0:        # keep a bounded number in flight
                    f.get(timeout=60) if not self.stopping else None
        except Exception as e:
            if not self.stopping:
                self.error = e

    def _ok(self, v, md):
        with self.lock:
            self.acked[v] = (md.partition, md.offset)

    def _err(self, e):
        with self.lock:
            self.failed += 1

    def count(self):
        with self.lock:
            return len(self.acked)

    def finish(self):
        self.stopping = True
        self.t.join(60)
        self.p.flush(60)
        self.p.close(30)


def read_all(c):
    from kafka import KafkaConsumer, TopicPartition
    k = KafkaConsumer(bootstrap_servers=c.bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20)
    try:
        tps = [TopicPartition(TOPIC, p) for p in range(NPART)]
        ends = k.end_offsets(tps)
        k.assign(tps)
        k.seek_to_beginning()
        log = {}
        deadline = time.monotonic() + 120
        while any(k.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise AssertionError("could not read up to the log end %r (positions %r)" % (
                    ends, {tp.partition: k.position(tp) for tp in tps}))
            for tp, recs in k.poll(timeout_ms=500).items():
                for r in recs:
                    if (r.partition, r.offset) in log:
                        raise AssertionError("offset %d of partition %d read twice" % (r.offset, r.partition))
                    log[(r.partition, r.offset)] = r.value
        for tp in tps:
            offs = sorted(o for (p, o) in log if p == tp.partition)
            if offs != list(range(ends[tp])):
                raise AssertionError("partition %d: offsets not dense 0..%d (%d read)" % (
                    tp.partition, ends[tp] - 1, len(offs)))
        return log
    finally:
        k.close()


def main():
    try:
        import kafka  # noqa: F401
    except ImportError:
        kh.skip("kafka-python is not installed for /usr/bin/python3")
    c = kh.Cluster(partitions=1)
    c.create_topic(TOPIC, NPART)
    all_acked = {}
    z = c.zk()
    for rnd in range(ROUNDS):
        load = Load(c, rnd)
        try:
            kh.wait_until(lambda: load.count() >= PER_ROUND or load.error, 120, 0.01,
                          "%d acknowledged records" % PER_ROUND)
        except TimeoutError as e:
            raise AssertionError("%s (acked %d, failed %d)" % (e, load.count(), load.failed))
        if load.error:
            raise AssertionError("producer failed before the kill: %r" % load.error)
        c.broker.kill9()
        at_kill = load.count()
        t0 = time.monotonic()
        stale = z.exists("/brokers/ids/%d" % c.broker.id)
        if not stale:
            raise AssertionError("round %d: /brokers/ids/%d vanished at once after kill -9 "
                                 "(the test needs the stale registration)" % (rnd, c.broker.id))
        c.broker.restart()       # at once: /brokers/ids/0 of the dead session is still there
        up = time.monotonic() - t0
        load.finish()
        print("round %d: %d sent, %d acknowledged (%d at the kill), %d failed; broker serving "
              "again %.1fs after the kill" % (rnd, load.sent, load.count(), at_kill, load.failed, up),
              file=sys.stderr, flush=True)
        all_acked.update(load.acked)
        log = read_all(c)
        lost = [(v, po) for v, po in all_acked.items() if po not in log]
        wrong = [(v, po, log[po]) for v, po in all_acked.items() if po in log and log[po] != v]
        if lost or wrong:
            raise AssertionError("round %d: %d acknowledged records lost (e.g. %r), %d at their "
                                 "offset with another value (e.g. %r)" % (
                                     rnd, len(lost), lost[:3], len(wrong), wrong[:3]))
        data, st = z.get("/brokers/ids/%d" % c.broker.id)
        if st.ephemeralOwner == 0 or st.ephemeralOwner == stale.ephemeralOwner:
            raise AssertionError("/brokers/ids/0 after the restart: owner %#x (the dead session's "
                                 "was %#x)" % (st.ephemeralOwner, stale.ephemeralOwner))
    z.stop()
    z.close()
    if not c.broker.alive():
        raise AssertionError("broker died")


if __name__ == "__main__":
    kh.run_test(main)
