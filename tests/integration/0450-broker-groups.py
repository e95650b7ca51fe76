#!/usr/bin/python3
"""Consumer groups against gregor-broker with real clients (the group coordinator driver,
broker/gcoord.c + gc_drv.c, over group.h, offsets in __consumer_offsets).

One coordinator + one broker (tests/lib/kharness.py), topic "gt" with 4 partitions, then:
  1. kafka-python (auto version) — two KafkaConsumers in group g1 split the 4 partitions
     (2 + 2, disjoint), consume all 40 records between them and commit;
  2. a new kafka-python consumer with api_version=(0,10,0) in g1 resumes from the committed
     offsets: it reads exactly the records produced after the commit;
  3. KafkaAdminClient: list_consumer_groups, describe_consumer_groups, list_consumer_group_
     offsets show g1 (protocol type consumer, state Empty, the committed offsets);
  4. the broker is restarted: the offsets are reloaded from __consumer_offsets (admin sees
     them, a new consumer resumes after them);
  5. confluent_kafka Consumer in group g2 reads everything from the beginning, commits, and
     its committed offsets are what it read.
Exit 0 pass, 77 skip (a client or the harness is missing), 1 fail."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
try:
    import kharness as kh
except ImportError:
    print("SKIP: tests/lib/kharness.py is not there", file=sys.stderr)
    sys.exit(77)

TOPIC = "gt"
NPART = 4


def need_clients():
    try:
        import kafka  # noqa: F401
    except ImportError:
        kh.skip("kafka-python is not installed for /usr/bin/python3")


def produce(bootstrap, per_partition, tag):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, acks=1)
    futs = []
    for part in range(NPART):
        for i in range(per_partition):
            futs.append(p.send(TOPIC, value=("%s-%d-%d" % (tag, part, i)).encode(), partition=part))
    for f in futs:
        f.get(timeout=30)
    p.close()


def consumer(bootstrap, group, **kw):
    from kafka import KafkaConsumer
    args = dict(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                enable_auto_commit=False, session_timeout_ms=10000, heartbeat_interval_ms=500,
                consumer_timeout_ms=1000)
    args.update(kw)
    c = KafkaConsumer(**args)
    c.subscribe([TOPIC])
    return c


def poll_into(c, seen, ms=200):
    for tp, recs in c.poll(timeout_ms=ms).items():
        for r in recs:
            seen.add((tp.partition, r.offset, r.value))


def committed_map(c):
    from kafka import TopicPartition
    return {p: c.committed(TopicPartition(TOPIC, p)) for p in range(NPART)}


def read_new(bootstrap, group, expect, **kw):
    """A new consumer in `group` reads until it has `expect` records (or 30 s); returns them."""
    c = consumer(bootstrap, group, **kw)
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < expect and time.monotonic() < deadline:
        poll_into(c, seen)
    # a little more, to see anything it should not have read
    for _ in range(3):
        poll_into(c, seen, 100)
    c.commit()
    got = committed_map(c)
    c.close()
    return seen, got


def main():
    need_clients()
    c = kh.Cluster(partitions=NPART)
    c.create_topic(TOPIC, NPART)
    bs = c.bootstrap
    produce(bs, 10, "a")

    # 1. two consumers split the partitions
    c1 = consumer(bs, "g1")
    c2 = consumer(bs, "g1")
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        poll_into(c1, seen)
        poll_into(c2, seen)
        a1 = {tp.partition for tp in c1.assignment()}
        a2 = {tp.partition for tp in c2.assignment()}
        if len(a1) == 2 and len(a2) == 2 and not (a1 & a2) and len({(p, o) for p, o, _ in seen}) >= 40:
            break
    a1 = {tp.partition for tp in c1.assignment()}
    a2 = {tp.partition for tp in c2.assignment()}
    assert len(a1) == 2 and len(a2) == 2 and a1 | a2 == set(range(NPART)), \
        "assignments %r and %r do not split %d partitions" % (a1, a2, NPART)
    offs = {(p, o) for p, o, _ in seen}
    assert offs == {(p, o) for p in range(NPART) for o in range(10)}, \
        "read %d records, not the 40 produced: %r" % (len(offs), sorted(offs))
    c1.commit()
    c2.commit()
    got = committed_map(c1)
    assert got == {p: 10 for p in range(NPART)}, "committed offsets %r" % got
    c1.close()
    c2.close()
    kh.log("1. two consumers split %r / %r and committed" % (sorted(a1), sorted(a2)))

    # 2. a new consumer (api_version 0.10.0) resumes from the committed offsets
    produce(bs, 2, "b")
    seen, got = read_new(bs, "g1", 8, api_version=(0, 10, 0))
    offs = sorted((p, o) for p, o, _ in seen)
    assert offs == sorted((p, o) for p in range(NPART) for o in (10, 11)), \
        "resumed consumer read %r, expected offsets 10 and 11 of each partition" % offs
    assert got == {p: 12 for p in range(NPART)}, "committed offsets %r" % got
    kh.log("2. a new (0,10,0) consumer resumed at offset 10")

    # 3. the admin client's view
    from kafka import KafkaAdminClient, TopicPartition
    adm = KafkaAdminClient(bootstrap_servers=bs)
    groups = adm.list_consumer_groups()
    assert ("g1", "consumer") in groups, "list_consumer_groups: %r" % groups
    desc = adm.describe_consumer_groups(["g1"])
    assert len(desc) == 1 and desc[0].group == "g1" and desc[0].state == "Empty" and \
        desc[0].protocol_type == "consumer" and not desc[0].members, "describe_consumer_groups: %r" % desc
    offsets = adm.list_consumer_group_offsets("g1")
    want = {TopicPartition(TOPIC, p): 12 for p in range(NPART)}
    assert {tp: om.offset for tp, om in offsets.items()} == want, "list_consumer_group_offsets: %r" % offsets
    adm.close()
    kh.log("3. admin: list/describe/offsets of g1")

    # 4. restart: offsets come back from __consumer_offsets
    c.broker.restart()
    c.wait_leaders(TOPIC, NPART)
    adm = None
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        try:
            adm = adm or KafkaAdminClient(bootstrap_servers=bs)
            last = {tp: om.offset for tp, om in adm.list_consumer_group_offsets("g1").items()}
            if last == want:
                break
        except Exception as e:  # the coordinator may still be loading
            last = repr(e)
        time.sleep(0.2)
    assert last == want, "after restart, list_consumer_group_offsets: %r" % last
    adm.close()
    produce(bs, 1, "c")
    seen, got = read_new(bs, "g1", 4)
    offs = sorted((p, o) for p, o, _ in seen)
    assert offs == [(p, 12) for p in range(NPART)], "after restart the group read %r" % offs
    assert got == {p: 13 for p in range(NPART)}, "committed offsets %r" % got
    kh.log("4. offsets survived a broker restart")

    # 5. confluent_kafka in a group
    try:
        import confluent_kafka
    except ImportError:
        kh.log("5. skipped: confluent_kafka is not installed")
        return
    ck = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": "g2", "auto.offset.reset": "earliest",
                                   "enable.auto.commit": False, "session.timeout.ms": 10000})
    ck.subscribe([TOPIC])
    seen = set()
    deadline = time.monotonic() + 60
    while len(seen) < 4 * 13 and time.monotonic() < deadline:
        m = ck.poll(0.5)
        if m is None or m.error():
            continue
        seen.add((m.partition(), m.offset()))
    assert seen == {(p, o) for p in range(NPART) for o in range(13)}, "confluent_kafka read %d records" % len(seen)
    ck.commit(asynchronous=False)
    com = ck.committed([confluent_kafka.TopicPartition(TOPIC, p) for p in range(NPART)], timeout=10)
    assert {tp.partition: tp.offset for tp in com} == {p: 13 for p in range(NPART)}, "committed: %r" % com
    ck.close()
    kh.log("5. confluent_kafka group consumer read and committed")


if __name__ == "__main__":
    kh.run_test(main)
