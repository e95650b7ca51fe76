#!/usr/bin/python3
"""The broker and its coordinator session (reliability-anchors F8, F12).

  coordinator outage   kill -9 of gregor-coord: the broker keeps serving acks=1 produce and
                       fetch of the partitions it leads meanwhile; gregor-coord restarted (same
                       dataDir and port): the broker's session continues, /brokers/ids/0 is there,
                       the controller works (a topic created through the coordinator gets a
                       leader)
  session expiry       the broker is frozen (SIGSTOP) longer than its session timeout (6 s):
                       the coordinator expires the session and deletes /brokers/ids/0 and
                       /controller; after SIGCONT the broker notices, registers again with a new
                       session, becomes controller again, new topics get leaders, and every
                       record acknowledged before is still readable
Works against KH_TARGET=kafka09 too (Kafka 0.9 re-registers after an expiry).
Exit 0 pass, 77 skip, 1 fail."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

TOPIC = "cf"


def produce(c, tag, n, timeout=30):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=c.bootstrap, acks=1, request_timeout_ms=10000,
                      max_block_ms=20000)
    try:
        futs = [(("%s-%d" % (tag, i)).encode(), p.send(TOPIC, ("%s-%d" % (tag, i)).encode(), partition=i % 2))
                for i in range(n)]
        p.flush(timeout)
        return {v: (f.get(timeout=1).partition, f.get(timeout=1).offset) for v, f in futs}
    finally:
        p.close(5)


def read_all(c):
    from kafka import KafkaConsumer, TopicPartition
    k = KafkaConsumer(bootstrap_servers=c.bootstrap, group_id=None, auto_offset_reset="earliest")
    try:
        tps = [TopicPartition(TOPIC, p) for p in range(2)]
        ends = k.end_offsets(tps)
        k.assign(tps)
        k.seek_to_beginning()
        got = {}
        deadline = time.monotonic() + 30
        while any(k.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for recs in k.poll(timeout_ms=300).values():
                got.update(((r.partition, r.offset), r.value) for r in recs)
        return got
    finally:
        k.close()


def check_acked(c, acked):
    log = read_all(c)
    lost = [(v, po) for v, po in acked.items() if log.get(po) != v]
    if lost:
        raise AssertionError("%d acknowledged records missing or changed (e.g. %r)" % (len(lost), lost[:3]))


def owner(c):
    z = c.zk()
    try:
        st = z.exists("/brokers/ids/%d" % c.broker.id)
        return st.ephemeralOwner if st else None
    finally:
        z.stop()
        z.close()


def new_topic_works(c, name):
    c.create_topic(name, 1, timeout=60)
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=c.bootstrap, acks=1)
    try:
        md = p.send(name, b"x").get(timeout=20)
    finally:
        p.close(5)
    if md.offset != 0:
        raise AssertionError("first record of %s at offset %d" % (name, md.offset))


def main():
    try:
        import kafka  # noqa: F401
    except ImportError:
        kh.skip("kafka-python is not installed for /usr/bin/python3")
    c = kh.Cluster(partitions=1)
    c.create_topic(TOPIC, 2)
    acked = produce(c, "before", 100)
    chk = kh.Check()

    def outage():
        sess = owner(c)
        c.coord.kill9()
        try:
            during = produce(c, "outage", 50)
            acked.update(during)
            check_acked(c, during)
        finally:
            c.coord.restart()
        # the broker's session goes on (reconnect within the session timeout)
        kh.wait_until(lambda: owner(c) is not None, 30, 0.1, "/brokers/ids/0 after the restart")
        if owner(c) != sess:
            print("    note: the broker registered with a new session after the outage",
                  file=sys.stderr)
        if not c.broker.alive():
            raise AssertionError("broker died during the coordinator outage:\n" + c.broker.tail())
        new_topic_works(c, "cf-after-outage")
        check_acked(c, acked)

    def expiry():
        sess = owner(c)
        z = c.zk()
        try:
            c.broker.sigstop()
            try:
                kh.wait_until(lambda: not z.exists("/brokers/ids/%d" % c.broker.id), 30, 0.1,
                              "the frozen broker's session to expire")
            finally:
                c.broker.sigcont()
            kh.wait_until(lambda: z.exists("/brokers/ids/%d" % c.broker.id), 60, 0.1,
                          "the broker to register again after its session expired")
            st = z.exists("/brokers/ids/%d" % c.broker.id)
            if st.ephemeralOwner == sess:
                raise AssertionError("re-registered with the expired session?")
            kh.wait_until(lambda: z.exists("/controller"), 60, 0.1, "a controller again")
        finally:
            z.stop()
            z.close()
        if not c.broker.alive():
            raise AssertionError("broker died after its session expired:\n" + c.broker.tail())
        c.wait_leaders(TOPIC, 2, timeout=60)
        new_topic_works(c, "cf-after-expiry")
        more = produce(c, "after-expiry", 50)
        acked.update(more)
        check_acked(c, acked)

    chk("coordinator kill -9 and restart", outage)
    chk("broker frozen past its session timeout", expiry)
    chk.finish()


if __name__ == "__main__":
    kh.run_test(main)
