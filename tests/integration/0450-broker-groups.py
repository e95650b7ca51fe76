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
  5. raw JoinGroup v0: a second member's join parks in the rebalance, its connection closes,
     the first member rejoins: the rebalance completes with both, the late answer to the
     closed connection is dropped, the broker keeps serving;
  6. (new cluster) __consumer_offsets already exists with 8 partitions: groups are mapped
     over those 8 (Kafka's hashCode rule), not offsets.topic.num.partitions; the group is
     deleted (DeleteGroups) and stays deleted after a restart;
  7. (new cluster) 1500 commits roll small segments of __consumer_offsets, the cleaner
     compacts them, and after a restart the last committed offsets are loaded;
  8. (new cluster) confluent_kafka Consumer in group g2 reads everything from the beginning,
     commits, and its committed offsets are what it read.
Exit 0 pass, 77 skip (a client or the harness is missing), 1 fail."""
import os
import socket
import struct
import sys
import threading
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


class Member(threading.Thread):
    """A kafka-python group member polling in its own thread until stop(); on stop it
    commits what it read and records the committed offsets of its partitions."""

    def __init__(self, bootstrap, group, **kw):
        super().__init__(daemon=True)
        self.c = consumer(bootstrap, group, **kw)
        self.seen = set()
        self.assigned = set()
        self.committed = None
        self.error = None
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def offsets(self):
        with self.lock:
            return {(p, o) for p, o, _ in self.seen}

    def run(self):
        from kafka import TopicPartition
        try:
            while not self.halt.is_set():
                got = set()
                poll_into(self.c, got, 100)
                with self.lock:
                    self.seen |= got
                self.assigned = {tp.partition for tp in self.c.assignment()}
            self.c.commit()
            self.committed = {p: self.c.committed(TopicPartition(TOPIC, p)) for p in self.assigned}
        except Exception as e:  # reported by the main thread
            self.error = e
        finally:
            self.c.close()

    def stop(self):
        self.halt.set()
        self.join(60)


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


def join_v0(sock, group, member, corr):
    """JoinGroup v0 (one "range" protocol subscribing to TOPIC) on sock; returns (error,
    generation, leader, member_id, [member ids])."""
    meta = struct.pack(">hi", 0, 1) + kh.kstr(TOPIC) + struct.pack(">i", -1)
    body = (kh.kstr(group) + struct.pack(">i", 10000) + kh.kstr(member) + kh.kstr("consumer") +
            struct.pack(">i", 1) + kh.kstr("range") + struct.pack(">i", len(meta)) + meta)
    resp = kh.roundtrip(None, 11, 0, body, corr=corr, timeout=30, sock=sock)
    assert resp is not None, "JoinGroup v0: connection closed"
    r = kh._Rd(resp)
    err, gen = r.take(">h"), r.take(">i")
    r.str()
    leader, mid = r.str(), r.str()
    ids = []
    for _ in range(r.take(">i")):
        ids.append(r.str())
        r.i += 4 + r.take(">i")
    return err, gen, leader, mid, ids


def parked_join_of_closed_connection(port):
    deadline = time.monotonic() + 30
    while True:   # the group's partition may still be loading
        resp = kh.roundtrip(port, 10, 0, kh.kstr("g3"), corr=1)
        if resp is not None and struct.unpack(">h", resp[:2])[0] == 0:
            break
        assert time.monotonic() < deadline, "FindCoordinator for g3 never succeeded"
    a = socket.create_connection(("127.0.0.1", port), timeout=30)
    err, gen, leader, ma, ids = join_v0(a, "g3", "", 2)
    assert err == 0 and gen == 1 and leader == ma and ids == [ma], "first join: %r" % ((err, gen, leader, ma, ids),)
    b = socket.create_connection(("127.0.0.1", port), timeout=30)
    meta = struct.pack(">hi", 0, 1) + kh.kstr(TOPIC) + struct.pack(">i", -1)
    body = (kh.kstr("g3") + struct.pack(">i", 10000) + kh.kstr("") + kh.kstr("consumer") +
            struct.pack(">i", 1) + kh.kstr("range") + struct.pack(">i", len(meta)) + meta)
    b.sendall(kh.request(11, 0, 3, body))
    b.settimeout(0.5)
    try:
        early = b.recv(4)
    except socket.timeout:
        early = None
    assert early is None, "the second member's JoinGroup was answered before the rebalance completed"
    b.close()
    # A rejoins: the rebalance completes with both members; B's answer goes nowhere
    err, gen, leader, ma2, ids = join_v0(a, "g3", ma, 4)
    assert err == 0 and gen == 2 and ma2 == ma and len(ids) == 2, "rejoin: %r" % ((err, gen, leader, ma2, ids),)
    a.close()
    md = kh.metadata_v0(port)
    assert md is not None and md["brokers"], "broker not serving after the parked join"


def main():
    need_clients()
    c = kh.Cluster(partitions=NPART)
    c.create_topic(TOPIC, NPART)
    bs = c.bootstrap
    produce(bs, 10, "a")

    # 1. two consumers split the partitions (each in its own thread: kafka-python's poll
    #    blocks in JoinGroup until the whole group has joined)
    members = [Member(bs, "g1"), Member(bs, "g1")]
    for m in members:
        m.start()

    def split():
        a = [m.assigned for m in members]
        read = set().union(*(m.offsets() for m in members))
        return len(a[0]) == 2 and len(a[1]) == 2 and not (a[0] & a[1]) and len(read) >= 40
    try:
        kh.wait_until(split, 60, interval=0.1, what="two consumers to split 4 partitions and read 40 records")
    finally:
        for m in members:
            m.stop()
    a1, a2 = members[0].assigned, members[1].assigned
    assert a1 | a2 == set(range(NPART)), "assignments %r and %r" % (a1, a2)
    offs = set().union(*(m.offsets() for m in members))
    assert offs == {(p, o) for p in range(NPART) for o in range(10)}, \
        "read %d records, not the 40 produced: %r" % (len(offs), sorted(offs))
    for m in members:
        assert m.error is None, "consumer thread failed: %r" % m.error
        assert m.committed == {p: 10 for p in m.assigned}, "committed offsets %r" % m.committed
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

    # 5. a JoinGroup parked in the coordinator whose connection closes: its late response is
    #    dropped and nothing else is disturbed
    parked_join_of_closed_connection(c.port)
    kh.log("5. a parked JoinGroup of a closed connection")

    c.cleanup()
    existing_offsets_topic()
    compacted_offsets_survive()
    kh.log("7. compacted __consumer_offsets: the last commits survive a restart")

    # 8. confluent_kafka in a group
    try:
        import confluent_kafka
    except ImportError:
        kh.log("8. skipped: confluent_kafka is not installed")
        return
    c = kh.Cluster(partitions=NPART)
    c.create_topic(TOPIC, NPART)
    bs = c.bootstrap
    produce(bs, 13, "e")
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
    kh.log("8. confluent_kafka group consumer read and committed")


def java_partition(group, n):
    """Kafka's Utils.abs(group.hashCode) % n."""
    h = 0
    for u in group.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(u, 16)) & 0xFFFFFFFF
    if h >= 1 << 31:
        h -= 1 << 32
    return (0 if h == -(1 << 31) else abs(h)) % n


def offsets_log_sizes(c):
    """{partition dir: (segments, bytes)} of the non-empty __consumer_offsets partitions."""
    d = c.broker.data_dir
    out = {}
    for name in os.listdir(d):
        if not name.startswith("__consumer_offsets-"):
            continue
        logs = [f for f in os.listdir(os.path.join(d, name)) if f.endswith(".log")]
        size = sum(os.path.getsize(os.path.join(d, name, f)) for f in logs)
        if size:
            out[name] = (len(logs), size)
    return out


def compacted_offsets_survive():
    """7. 1500 commits of the same two partitions roll 16 KiB segments of __consumer_offsets;
    the cleaner compacts them; after a restart the group's offsets are the last committed."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    c = kh.Cluster(partitions=2, overrides={"offsets.topic.segment.bytes": "16384", "log.cleaner.backoff.ms": "200",
                                            "offsets.topic.num.partitions": "4"})
    c.create_topic(TOPIC, 2)
    tp0, tp1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    cons = KafkaConsumer(bootstrap_servers=c.bootstrap, group_id="compacted", enable_auto_commit=False)
    cons.assign([tp0, tp1])
    for i in range(1500):
        cons.commit(offsets={tp0: OffsetAndMetadata(i, ""), tp1: OffsetAndMetadata(2 * i, "m%d" % i)})
    cons.close()

    # written: 1500 batches of ~85 bytes (127 KB); the cleaner keeps the last of each key
    def cleaned():
        now = offsets_log_sizes(c)
        return len(now) == 1 and list(now.values())[0][1] < 60000
    kh.wait_until(cleaned, 30, interval=0.2, what="the cleaner to compact __consumer_offsets")
    c.broker.restart()
    c.wait_leaders(TOPIC, 2)
    cons = KafkaConsumer(bootstrap_servers=c.bootstrap, group_id="compacted", enable_auto_commit=False)

    def committed():
        try:
            return (cons.committed(tp0), cons.committed(tp1)) == (1499, 2998)
        except Exception:  # the coordinator may still be loading
            return False
    try:
        kh.wait_until(committed, 30, interval=0.2, what="the last committed offsets after the restart")
    finally:
        cons.close()
    c.cleanup()


def existing_offsets_topic():
    """6. __consumer_offsets already exists with 8 partitions (as Kafka 0.9 tools or an older
    cluster made it) while offsets.topic.num.partitions is 50: groups are mapped over the 8,
    as Kafka does, and a group's commits land in partition abs(hashCode) % 8."""
    c = kh.Cluster(partitions=NPART, start=False)
    c.create_topic("__consumer_offsets", 8, wait=False)
    c.create_topic(TOPIC, NPART, wait=False)
    c.broker.start()
    c.wait_leaders("__consumer_offsets", 8)
    c.wait_leaders(TOPIC, NPART)
    produce(c.bootstrap, 3, "d")
    group = "group-on-eight"
    seen, got = read_new(c.bootstrap, group, 12)
    assert len({(p, o) for p, o, _ in seen}) == 12, "read %d records" % len(seen)
    assert got == {p: 3 for p in range(NPART)}, "committed offsets %r" % got
    part = java_partition(group, 8)
    d = os.path.join(c.broker.data_dir, "__consumer_offsets-%d" % part)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))
    assert size > 0, "nothing written to %s (the group's partition over 8)" % d
    # DeleteGroups: gone at once, and still gone after a restart (the tombstone is loaded)
    from kafka import KafkaAdminClient
    adm = KafkaAdminClient(bootstrap_servers=c.bootstrap)
    res = adm.delete_consumer_groups([group])
    assert [(g, e.errno) for g, e in res] == [(group, 0)], "delete_consumer_groups: %r" % res
    left = adm.list_consumer_group_offsets(group)
    assert not left, "offsets after deletion: %r" % left
    adm.close()
    c.broker.restart()
    c.wait_leaders("__consumer_offsets", 8)
    deadline = time.monotonic() + 30
    while True:
        try:
            adm = KafkaAdminClient(bootstrap_servers=c.bootstrap)
            groups = adm.list_consumer_groups()
            left = adm.list_consumer_group_offsets(group)
            adm.close()
            break
        except Exception:  # the coordinator may still be loading
            assert time.monotonic() < deadline, "admin client never got an answer after the restart"
            time.sleep(0.2)
    assert group not in [g for g, _ in groups] and not left, "deleted group back after restart: %r %r" % (groups, left)
    c.cleanup()
    kh.log("6. an existing 8-partition __consumer_offsets: commits in partition %d" % part)


if __name__ == "__main__":
    kh.run_test(main)
