#!/usr/bin/python3
"""confluent-kafka (Python, librdkafka 2.0.2) against a real broker (gregor-broker; with
KH_TARGET=kafka09 only the group consumer runs, on librdkafka's 0.9 fallback path).

  idempotent   enable.idempotence=True (InitProducerId, Produce v3+ with producer id/epoch/
               sequence): 3000 records over 3 partitions, no delivery error, no fatal error;
               read back: every record exactly once, in send order per partition, at the
               offset its delivery report gave
  group        a group consumer (subscribe, enable.auto.commit=False, commit(asynchronous=False)
               after every message batch) reads every record once; committed() equals the high
               watermarks; a new consumer of the same group gets only records produced after
               the commits
Exit 0 pass, 77 skip, 1 fail."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

NPART = 3


def base_conf(c):
    conf = {"bootstrap.servers": c.bootstrap, "socket.timeout.ms": 20000}
    if kh.target() == "kafka09":
        conf.update({"api.version.request": False, "broker.version.fallback": "0.9.0"})
    return conf


def produce(c, topic, n, tag, idempotent):
    from confluent_kafka import Producer
    errors, fatal, reports = [], [], {}

    def on_error(e):
        if e.fatal():
            fatal.append(e)

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            reports[msg.value()] = (msg.partition(), msg.offset())
    conf = dict(base_conf(c), error_cb=on_error, **{"linger.ms": 5})
    if idempotent:
        conf["enable.idempotence"] = True
    else:
        conf["acks"] = 1
    p = Producer(conf)
    vals = []
    for i in range(n):
        v = ("%s-%05d" % (tag, i)).encode()
        while True:
            try:
                p.produce(topic, v, key=b"k%d" % (i % 7), partition=i % NPART, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        vals.append(v)
        p.poll(0)
    left = p.flush(60)
    if left or errors or fatal:
        raise AssertionError("producer: %d undelivered, errors %r, fatal %r" % (left, errors[:3], fatal[:3]))
    if len(reports) != n:
        raise AssertionError("%d delivery reports for %d records" % (len(reports), n))
    return vals, reports


def scenario_idempotent(c):
    kh.need_gregor("idempotent producer (InitProducerId, record batches)")
    from confluent_kafka import Consumer, TopicPartition
    topic = "ck-idem"
    c.create_topic(topic, NPART)
    vals, reports = produce(c, topic, 3000, "idem", True)
    k = Consumer(dict(base_conf(c), **{"group.id": "ck-reader", "enable.auto.commit": False,
                                       "auto.offset.reset": "earliest"}))
    try:
        k.assign([TopicPartition(topic, p, 0) for p in range(NPART)])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < len(vals) and time.monotonic() < deadline:
            for m in k.consume(500, 1.0):
                if m.error():
                    raise AssertionError("consume error %r" % m.error())
                got.append((m.partition(), m.offset(), m.value()))
        extra = [m for m in k.consume(100, 1.0) if not m.error()]
    finally:
        k.close()
    if len(got) != len(vals) or extra:
        raise AssertionError("read %d records (+%d more), want exactly %d" % (len(got), len(extra), len(vals)))
    if len({v for _, _, v in got}) != len(got):
        raise AssertionError("duplicates in the log")
    for p in range(NPART):
        mine = [(o, v) for pp, o, v in got if pp == p]
        if [v for o, v in mine] != [v for i, v in enumerate(vals) if i % NPART == p]:
            raise AssertionError("partition %d out of send order" % p)
        if [o for o, v in mine] != list(range(len(mine))):
            raise AssertionError("partition %d offsets not 0..n-1" % p)
    bad = [(v, reports[v], (p, o)) for p, o, v in got if reports[v] != (p, o)]
    if bad:
        raise AssertionError("delivery reports disagree with the log: %r" % bad[:3])


def group_consumer(c, group):
    from confluent_kafka import Consumer
    errors = []
    k = Consumer(dict(base_conf(c), **{"group.id": group, "enable.auto.commit": False,
                                       "auto.offset.reset": "earliest",
                                       "session.timeout.ms": 10000},
                      error_cb=lambda e: errors.append(e)))
    k.subscribe(["ck-group"])
    return k, errors


def read_group(k, n, timeout=60):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        msgs = k.consume(200, 0.5)
        real = [m for m in msgs if not m.error()]
        for m in msgs:
            if m.error() and m.error().code() != -191:     # _PARTITION_EOF
                raise AssertionError("consume error %r" % m.error())
        got += [(m.partition(), m.offset(), m.value()) for m in real]
        if real:
            k.commit(asynchronous=False)
    # anything more would be a re-delivery
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        got += [(m.partition(), m.offset(), m.value()) for m in k.consume(100, 0.2) if not m.error()]
    return got


def scenario_group(c):
    from confluent_kafka import TopicPartition
    c.create_topic("ck-group", NPART)
    vals, _ = produce(c, "ck-group", 300, "grp", False)
    k, errs = group_consumer(c, "ck-g")
    try:
        got = read_group(k, len(vals))
        if sorted(v for _, _, v in got) != sorted(vals):
            raise AssertionError("group consumer read %d records (%d distinct), want %d" % (
                len(got), len({v for _, _, v in got}), len(vals)))
        com = k.committed([TopicPartition("ck-group", p) for p in range(NPART)], timeout=20)
        hw = [k.get_watermark_offsets(TopicPartition("ck-group", p), timeout=20)[1] for p in range(NPART)]
        if [tp.offset for tp in com] != hw:
            raise AssertionError("committed %r, high watermarks %r" % ([tp.offset for tp in com], hw))
    finally:
        k.close()
    more, _ = produce(c, "ck-group", 60, "grp2", False)
    k, errs = group_consumer(c, "ck-g")
    try:
        got = read_group(k, len(more))
        if sorted(v for _, _, v in got) != sorted(more):
            raise AssertionError("second consumer read %d records %r..., want exactly the %d new ones" % (
                len(got), sorted(v for _, _, v in got)[:3], len(more)))
    finally:
        k.close()


def main():
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        kh.skip("confluent-kafka is not installed for /usr/bin/python3 (python3-confluent-kafka)")
    c = kh.Cluster(partitions=1)
    chk = kh.Check()
    try:
        chk("idempotent producer: no duplicates, ordered", scenario_idempotent, c)
    except kh.SkipTest as e:
        print("  skip idempotent producer: %s" % e, file=sys.stderr)
    chk("group consumer with commits", scenario_group, c)
    if not c.broker.alive():
        raise AssertionError("broker died")
    chk.finish()


if __name__ == "__main__":
    kh.run_test(main)
