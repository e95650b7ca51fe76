#!/usr/bin/python3
"""kafka-python 2.0.2 against a real broker (gregor-broker; KH_TARGET=kafka09 for Apache Kafka 0.9.0.1).

Scenarios, each a real client against real processes (one cluster, num.partitions=3):
  auto         auto mode (version probed): JSON value_serializer, explicit partition, keys,
               headers (>= 0.11 brokers), every record read back with a group-less consumer at its
               partition with its key, value and headers, offsets 0..n-1 in send order
  v0.10.0      the same with api_version=(0,10,0) (magic 1 messages, Produce v2, Fetch v2; no headers)
  auto-create  producing to a topic that does not exist creates it (num.partitions)
  seed 000     the scripts of ../shared/seeds/000: the group consumer ('my-topic', 'my-group',
               latest) prints records of the endless raw-bytes producer
  seed 001     seeds/001: the api_version=(0,10,0) JSON producer's sends to partition 0 of
               'first' (as written it ends without flush, and kafka-python's atexit close(0)
               drops what is queued: what arrived must be right; with flush() all 1000), and
               its group consumer of 'test' printing values
  seed 003     seeds/003: KafkaAdminClient.create_topics, then the threaded JSON producer/consumer
               (subscribe without a group) prints received messages
The seed scripts run as written, only host:port adapted (and seed 001's missing colon after
`for i in range(1000)`). Exit 0 pass, 77 skip, 1 fail."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

PY = "/usr/bin/python3"


def read_all(bootstrap, topic, want, api_version=None, timeout=30.0, value_deserializer=None):
    """Reads partitions of `topic` from the beginning with a consumer without a group until
    `want` records arrived; returns them. Fails when they do not arrive in time."""
    from kafka import KafkaConsumer, TopicPartition
    kw = dict(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
              auto_offset_reset="earliest", request_timeout_ms=15000)
    if api_version:
        kw["api_version"] = api_version
    if value_deserializer:
        kw["value_deserializer"] = value_deserializer
    c = KafkaConsumer(**kw)
    try:
        parts = kh.wait_until(lambda: c.partitions_for_topic(topic), 15, 0.1,
                              "partitions of %s" % topic)
        c.assign([TopicPartition(topic, p) for p in sorted(parts)])
        c.seek_to_beginning()
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(recs)
        if len(got) < want:
            raise AssertionError("read %d of %d records of %s" % (len(got), want, topic))
        # nothing beyond what was written
        extra = c.poll(timeout_ms=300)
        if any(extra.values()):
            raise AssertionError("more records than written in %s: %r" % (topic, extra))
        return got
    finally:
        c.close()


def produce_and_check(c, topic, api_version, headers):
    from kafka import KafkaProducer
    c.create_topic(topic, 3)
    kw = dict(bootstrap_servers=c.bootstrap, value_serializer=lambda v: json.dumps(v).encode(),
              acks=1, request_timeout_ms=15000)
    if api_version:
        kw["api_version"] = api_version
    p = KafkaProducer(**kw)
    sent = []
    for i in range(30):
        part = i % 3
        key = ("k%d" % i).encode() if i % 2 else None
        hdrs = [("h", b"v%d" % i), ("n", b"")] if headers else None
        fut = p.send(topic, {"i": i, "s": "x" * (i % 7)}, key=key, partition=part, headers=hdrs)
        sent.append((i, part, key, hdrs, fut))
    p.flush(20)
    offs = {}
    for i, part, key, hdrs, fut in sent:
        md = fut.get(timeout=20)
        if md.partition != part:
            raise AssertionError("record %d acknowledged on partition %d, sent to %d" % (
                i, md.partition, part))
        want = offs.get(part, 0)
        if md.offset != want:
            raise AssertionError("record %d got offset %d on partition %d, want %d" % (
                i, md.offset, part, want))
        offs[part] = want + 1
    p.close(10)
    got = read_all(c.bootstrap, topic, len(sent), api_version=api_version,
                   value_deserializer=lambda b: json.loads(b.decode()))
    byi = {}
    for r in got:
        byi[r.value["i"]] = r
    for i, part, key, hdrs, fut in sent:
        r = byi.get(i)
        if r is None:
            raise AssertionError("record %d not read back" % i)
        md = fut.get()
        if (r.partition, r.offset, r.key) != (part, md.offset, key):
            raise AssertionError("record %d read as partition %d offset %d key %r, want %d %d %r" % (
                i, r.partition, r.offset, r.key, part, md.offset, key))
        if r.value != {"i": i, "s": "x" * (i % 7)}:
            raise AssertionError("record %d value %r" % (i, r.value))
        if headers and list(r.headers) != hdrs:
            raise AssertionError("record %d headers %r, want %r" % (i, r.headers, hdrs))
        if kh.target() == "gregor" and r.timestamp <= 0:    # magic >= 1 carries one
            raise AssertionError("record %d has no timestamp (%r)" % (i, r.timestamp))


def scenario_auto(c):
    headers = kh.target() == "gregor"     # headers need a >= 0.11 broker
    produce_and_check(c, "py-auto", None, headers)


def scenario_v010(c):
    kh.need_gregor("kafka-python api_version=(0,10,0) (magic 1, Produce v2)")
    produce_and_check(c, "py-v010", (0, 10, 0), False)


def scenario_autocreate(c):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=c.bootstrap, acks=1, request_timeout_ms=15000,
                      max_block_ms=20000)
    md = p.send("py-autocreated", b"hello", key=b"k").get(timeout=20)
    p.close(10)
    parts = c.wait_leaders("py-autocreated", 3)
    if len(parts) != 3:
        raise AssertionError("auto-created topic has %d partitions, want num.partitions=3" % len(parts))
    got = read_all(c.bootstrap, "py-autocreated", 1)
    if (got[0].value, got[0].key, got[0].partition, got[0].offset) != (b"hello", b"k", md.partition, 0):
        raise AssertionError("read back %r" % (got[0],))


class Script:
    """A seed script run as a separate /usr/bin/python3 process; stdout lines collected."""

    def __init__(self, d, name, text):
        self.path = os.path.join(d, name)
        with open(self.path, "w") as f:
            f.write(text)
        self.out = open(self.path + ".out", "w+b")
        self.p = subprocess.Popen([PY, "-u", self.path], stdout=self.out, stderr=subprocess.STDOUT,
                                  cwd=d, start_new_session=True)

    def output(self):
        with open(self.path + ".out", "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_lines(self, pred, n, timeout, what):
        def ok():
            lines = [ln for ln in self.output().splitlines() if pred(ln)]
            if len(lines) >= n:
                return lines
            if self.p.poll() is not None:
                raise AssertionError("%s exited (%d) before %s:\n%s" % (
                    os.path.basename(self.path), self.p.returncode, what, self.output()[-3000:]))
            return False
        try:
            return kh.wait_until(ok, timeout, 0.1, what)
        except TimeoutError as e:
            raise AssertionError("%s; output of %s:\n%s" % (e, os.path.basename(self.path),
                                                             self.output()[-3000:]))

    def wait_exit(self, timeout):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not finish in %ds:\n%s" % (
                os.path.basename(self.path), timeout, self.output()[-3000:]))
        if rc != 0:
            raise AssertionError("%s exited %d:\n%s" % (os.path.basename(self.path), rc,
                                                        self.output()[-3000:]))

    def kill(self):
        try:
            os.killpg(self.p.pid, 9)
        except ProcessLookupError:
            pass
        self.p.wait()
        self.out.close()


def adapt(text, bootstrap):
    return (text.replace("localhost:9092", bootstrap)
            .replace("10.1.192.118:9061", bootstrap))


SEED000_CONSUMER = '''# 消费者
from kafka import KafkaConsumer
# To consume latest messages and auto-commit offsets
consumer = KafkaConsumer('my-topic',
                         group_id='my-group',
                         bootstrap_servers=['localhost:9092'])
for message in consumer:
    # message value and key are raw bytes -- decode if necessary!
    # e.g., for unicode: `message.value.decode('utf-8')`
    print("%s:%d:%d: key=%s value=%s" % (message.topic, message.partition,
                                         message.offset, message.key,
                                         message.value))
'''

SEED000_PRODUCER = '''# 生产者
import time
from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=['localhost:9092'])

# Asynchronous by default
while True:
    future = producer.send('my-topic', b'raw_bytes')
    time.sleep(1)
'''

SEED001_PRODUCER = '''import json
from kafka import KafkaProducer

#data传入的数据
data = {"a": 1, "b": 2}
producer = KafkaProducer(bootstrap_servers=["localhost:9092"],
                         api_version=(0, 10, 0),
                         value_serializer=lambda v: json.dumps(v).encode('utf-8'))
for i in range(1000):
    producer.send("first", data, partition=0)
'''

SEED001_CONSUMER = '''from kafka import KafkaConsumer


consumer = KafkaConsumer('test',
                         group_id="group2",
                         bootstrap_servers=["localhost:9092"])

for msg in consumer:
    print(msg.value)
'''

SEED003_ADMIN = '''from kafka import KafkaAdminClient
from kafka.admin import NewTopic
admin = KafkaAdminClient(bootstrap_servers='10.1.192.118:9061')
topic = NewTopic(name='test', num_partitions=1,replication_factor=1)
admin.create_topics([topic])
'''

SEED003_THREADS = '''import threading, time
import json
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

is_exit = False
class Producer(threading.Thread):
    def run(self):
        producer = KafkaProducer(bootstrap_servers='10.1.192.118:9061',
            value_serializer=lambda v: json.dumps(v).encode('utf-8'))
        while not is_exit:
            producer.send('q_test1', {"date":time.localtime()})
            time.sleep(2)
        producer.close()

class Consumer(threading.Thread):
    def run(self):
        consumer = KafkaConsumer(bootstrap_servers='10.1.192.118:9061',
                                 value_deserializer= lambda m: json.loads(m.decode('utf-8')))
        consumer.subscribe(['q_test1'])
        while not is_exit:
            print('重新拉消息队列')
            for message in consumer:
                print("获得一个消息",message.value)
                if is_exit:
                    break
        consumer.close()

def main():
    tasks = [ Producer(), Consumer()]
    [t.start() for t in tasks ] # 启动线程
    time.sleep(600)    # 执行 600秒
    is_exit = True
    [t.join() for t in tasks]  # 等待安全退出

if __name__ == "__main__":
    main()
'''


def scenario_seed000(c, d):
    cons = Script(d, "seed000_consumer.py", adapt(SEED000_CONSUMER, "localhost:%d" % c.port))
    prod = None
    try:
        # the consumer starts at the latest offset once it owns the partition; the producer
        # sends forever, so records sent after that are printed
        prod = Script(d, "seed000_producer.py", adapt(SEED000_PRODUCER, "localhost:%d" % c.port))
        lines = cons.wait_lines(lambda ln: ln.startswith("my-topic:"), 2, 60,
                                "2 records printed by the seed 000 consumer")
        for ln in lines:
            if not ln.endswith("key=None value=b'raw_bytes'"):
                raise AssertionError("seed 000 consumer printed %r" % ln)
    finally:
        cons.kill()
        if prod:
            prod.kill()


def scenario_seed001_producer(c, d):
    """As written the script ends without flush(); kafka-python 2.0.2's atexit handler calls
    close(timeout=0), which drops what is still queued (with any broker, timing-dependent). So:
    as written, whatever arrived (0..1000 records) is right (dense offsets from 0, the JSON
    value, partition 0);
    with the producer.flush() a user adds, exactly the 1000 records arrive."""
    kh.need_gregor("seeds/001 producer uses api_version=(0,10,0)")
    c.create_topic("first", 1)
    prod = Script(d, "seed001_producer.py", adapt(SEED001_PRODUCER, "localhost:%d" % c.port))
    prod.wait_exit(90)
    n1 = check_first(c, None)      # anything from 0 to 1000, all of it right
    print("    seeds/001 as written: %d of 1000 records arrived" % n1, file=sys.stderr)
    prod = Script(d, "seed001_producer_flush.py",
                  adapt(SEED001_PRODUCER, "localhost:%d" % c.port) + "producer.flush()\n")
    prod.wait_exit(90)
    check_first(c, n1 + 1000)


def check_first(c, want):
    from kafka import KafkaConsumer, TopicPartition
    k = KafkaConsumer(bootstrap_servers=c.bootstrap, group_id=None)
    try:
        end = k.end_offsets([TopicPartition("first", 0)])[TopicPartition("first", 0)]
    finally:
        k.close()
    if want is not None and end != want:
        raise AssertionError("seed 001: 'first' holds %d records, want %d" % (end, want))
    got = read_all(c.bootstrap, "first", end, timeout=60)
    bad = [r for r in got if r.value != b'{"a": 1, "b": 2}' or r.partition != 0]
    if bad:
        raise AssertionError("seed 001: unexpected records %r" % bad[:3])
    if sorted(r.offset for r in got) != list(range(end)):
        raise AssertionError("seed 001: offsets are not 0..%d" % (end - 1))
    return end


def scenario_seed001_consumer(c, d):
    cons = Script(d, "seed001_consumer.py", adapt(SEED001_CONSUMER, "localhost:%d" % c.port))
    try:
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=c.bootstrap, acks=1)
        # the consumer starts at "latest" once it has joined: send until it prints
        payload = b'{"a": 1, "b": 2, "c": 3}'

        def printed():
            p.send("test", payload)
            p.flush(10)
            return [ln for ln in cons.output().splitlines() if ln == repr(payload)]
        try:
            kh.wait_until(printed, 60, 0.5, "the seed 001 consumer to print a value")
        except TimeoutError as e:
            raise AssertionError("%s:\n%s" % (e, cons.output()[-3000:]))
        p.close(5)
    finally:
        cons.kill()


def scenario_seed003(c, d):
    if kh.target() == "gregor":
        adm = Script(d, "seed003_admin.py", adapt(SEED003_ADMIN, "127.0.0.1:%d" % c.port))
        adm.wait_exit(60)
    else:   # no CreateTopics before 0.10.1: the way of kafka-topics.sh --zookeeper
        c.create_topic("test", 1)
    parts = c.wait_leaders("test", 1)
    if len(parts) != 1:
        raise AssertionError("topic 'test' has %d partitions, want 1" % len(parts))
    th = Script(d, "seed003_threads.py", adapt(SEED003_THREADS, "127.0.0.1:%d" % c.port))
    try:
        lines = th.wait_lines(lambda ln: ln.startswith("获得一个消息"), 2, 60,
                              "2 messages printed by the seed 003 consumer thread")
        for ln in lines:
            v = json.loads(ln.split(" ", 1)[1].replace("'", '"'))
            if not (isinstance(v, dict) and len(v.get("date", [])) == 9):
                raise AssertionError("seed 003 printed %r" % ln)
    finally:
        th.kill()


def main():
    try:
        import kafka  # noqa: F401
    except ImportError:
        kh.skip("kafka-python is not installed for /usr/bin/python3 (apt-get install python3-kafka)")
    c = kh.Cluster(partitions=3)
    d = tempfile.mkdtemp(prefix="seeds-", dir=c.dir)
    chk = kh.Check()
    chk("auto mode: JSON, partition, keys, headers", scenario_auto, c)
    for name, fn, args in (("api_version=(0,10,0)", scenario_v010, (c,)),
                           ("seeds/001 producer script", scenario_seed001_producer, (c, d)),
                           # seed 003 creates 'test' with the admin client, seed 001 reads it
                           ("seeds/003 scripts", scenario_seed003, (c, d)),
                           ("seeds/001 consumer script", scenario_seed001_consumer, (c, d))):
        try:
            chk(name, fn, *args)
        except kh.SkipTest as e:
            print("  skip %s: %s" % (name, e), file=sys.stderr)
    chk("auto-creation on produce", scenario_autocreate, c)
    chk("seeds/000 scripts", scenario_seed000, c, d)
    if not c.broker.alive():
        raise AssertionError("broker died")
    chk.finish()


if __name__ == "__main__":
    kh.run_test(main)
