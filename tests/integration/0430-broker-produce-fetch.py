#!/usr/bin/python3
"""gregor-broker's data path with real clients: Produce, Fetch, ListOffsets, Metadata.

Starts gregor-coord and one gregor-broker (broker.id 0). Topics are created by writing
/brokers/topics/T with kazoo as `kafka-topics.sh --zookeeper` does; if no controller acts on
that within a few seconds (the controller is another module), this script plays the
controller itself and sends UpdateMetadata v4 and LeaderAndIsr v1 over the Kafka protocol.

Checks:
  - kcat -L lists the broker and the topics with leaders;
  - kcat -P / -C round trip with every codec (none, gzip, snappy, lz4, zstd);
  - kafka-python KafkaProducer / KafkaConsumer (no group) in auto mode and with
    api_version=(0,10,0) (magic 1, Fetch v2 down-conversion);
  - confluent_kafka Producer with enable.idempotence=True (needs InitProducerId, from the admin
    module: skipped with a note while the broker does not advertise it) and a raw idempotent
    retry: a duplicate batch gets the original offset and is not appended again; a gap gets
    OUT_OF_ORDER_SEQUENCE_NUMBER;
  - raw: acks=2 -> INVALID_REQUIRED_ACKS, unknown topic -> UNKNOWN_TOPIC_OR_PARTITION,
    acks=0 gets no response, long-poll Fetch returns when data arrives, ListOffsets v0/v1,
    OFFSET_OUT_OF_RANGE.
Exit 0 pass, 77 skip, 1 fail."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import zkharness  # noqa: E402

BROKER = os.environ.get("GREGOR_BROKER") or os.path.join(TOP, "build", "bin", "gregor-broker")
PROCS = []


def fail(msg):
    print("FAIL: " + msg)
    for p in PROCS:
        tail = getattr(p, "logpath", None)
        if tail and os.path.exists(tail):
            print("---- broker log tail ----")
            print("".join(open(tail, errors="replace").readlines()[-40:]))
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# ---- a minimal Kafka wire client -------------------------------------------------------------

def s16(v):
    return struct.pack(">h", v)


def s32(v):
    return struct.pack(">i", v)


def s64(v):
    return struct.pack(">q", v)


def kstr(s):
    if s is None:
        return s16(-1)
    b = s.encode()
    return s16(len(b)) + b


def kbytes(b):
    if b is None:
        return s32(-1)
    return s32(len(b)) + b


def karr(items, enc):
    return s32(len(items)) + b"".join(enc(i) for i in items)


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        v = self.b[self.p:self.p + n]
        if len(v) != n:
            raise ValueError("short response")
        self.p += n
        return v

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def str(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def arr(self, fn):
        n = self.i32()
        return None if n < 0 else [fn(self) for _ in range(n)]


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.corr = 0

    def send(self, key, ver, body):
        self.corr += 1
        hdr = s16(key) + s16(ver) + s32(self.corr) + kstr("gregor-itest")
        frame = hdr + body
        self.s.sendall(s32(len(frame)) + frame)
        return self.corr

    def recv(self):
        n = struct.unpack(">i", self._exact(4))[0]
        data = self._exact(n)
        r = Reader(data)
        corr = r.i32()
        check(corr == self.corr, "correlation id %d, expected %d" % (corr, self.corr))
        return r

    def _exact(self, n):
        out = b""
        while len(out) < n:
            got = self.s.recv(n - len(out))
            if not got:
                raise ConnectionError("closed")
            out += got
        return out

    def call(self, key, ver, body):
        self.send(key, ver, body)
        return self.recv()

    def closed_within(self, secs):
        self.s.settimeout(secs)
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionError:
            return True

    def close(self):
        self.s.close()


def update_metadata_v4(port, ctl_epoch, topics):
    """topics: {name: nparts}; every partition led by broker 0."""
    parts = []
    for t, n in topics.items():
        for p in range(n):
            parts.append(kstr(t) + s32(p) + s32(ctl_epoch) + s32(0) + s32(0) + karr([0], s32) + s32(0) +
                         karr([0], s32) + karr([], s32))
    ep = s32(port) + kstr("127.0.0.1") + kstr("PLAINTEXT") + s16(0)
    broker = s32(0) + s32(1) + ep + kstr(None)
    return s32(0) + s32(ctl_epoch) + s32(len(parts)) + b"".join(parts) + s32(1) + broker


def leader_and_isr_v1(port, ctl_epoch, topics, leader_epoch=0, replicas=(0,)):
    parts = []
    for t, n in topics.items():
        for p in range(n):
            parts.append(kstr(t) + s32(p) + s32(ctl_epoch) + s32(0) + s32(leader_epoch) + karr(list(replicas), s32) +
                         s32(0) + karr(list(replicas), s32) + b"\x01")
    leaders = s32(1) + s32(0) + kstr("127.0.0.1") + s32(port)
    return s32(0) + s32(ctl_epoch) + s32(len(parts)) + b"".join(parts) + leaders


def play_controller(port, topics):
    c = Conn(port)
    r = c.call(4, 1, leader_and_isr_v1(port, 1, topics))
    err = r.i16()
    perrs = r.arr(lambda x: (x.str(), x.i32(), x.i16()))
    check(err == 0 and all(e == 0 for _, _, e in perrs), "LeaderAndIsr answered %d %r" % (err, perrs))
    r = c.call(6, 4, update_metadata_v4(port, 1, topics))
    check(r.i16() == 0, "UpdateMetadata failed")
    # a stale controller epoch is refused
    r = c.call(6, 4, update_metadata_v4(port, 0, topics))
    check(r.i16() == 11, "UpdateMetadata with a stale controller epoch not refused")
    c.close()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def batch_v2(values, pid=-1, epoch=-1, seq=-1, ts=None, gzip_it=False):
    ts = ts if ts is not None else int(time.time() * 1000)
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    if gzip_it:
        import gzip
        recs = gzip.compress(recs, 9)
    after_crc = (s16(1 if gzip_it else 0) + s32(len(values) - 1) + s64(ts) + s64(ts) + s64(pid) + s16(epoch) + s32(seq) +
                 s32(len(values)) + recs)
    crc = crc32c(after_crc)
    rest = s32(-1) + b"\x02" + struct.pack(">I", crc) + after_crc
    return s64(0) + s32(len(rest)) + rest


def produce(c, ver, topic, part, records, acks=1, txn=None, expect_response=True, timeout=5000):
    body = b""
    if ver >= 3:
        body += kstr(txn)
    body += s16(acks) + s32(timeout) + s32(1) + kstr(topic) + s32(1) + s32(part) + kbytes(records)
    if not expect_response:
        c.send(0, ver, body)
        return None
    r = c.call(0, ver, body)
    topics = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i32(), y.i16(), y.i64(),
                                                          y.i64() if ver >= 2 else -1,
                                                          y.i64() if ver >= 5 else -1))))
    return topics[0][1][0]   # (partition, error, base, append_time, log_start)


def fetch(c, ver, topic, part, offset, max_wait=0, min_bytes=0, max_bytes=1 << 20, replica=-1):
    body = s32(replica) + s32(max_wait) + s32(min_bytes)
    if ver >= 3:
        body += s32(max_bytes)
    if ver >= 4:
        body += b"\x00"
    if ver >= 7:
        body += s32(0) + s32(-1)
    body += s32(1) + kstr(topic) + s32(1) + s32(part)
    if ver >= 9:
        body += s32(-1)
    body += s64(offset)
    if ver >= 5:
        body += s64(-1)
    body += s32(max_bytes)
    if ver >= 7:
        body += s32(0)
    if ver >= 11:
        body += kstr("")
    r = c.call(1, ver, body)
    if ver >= 1:
        r.i32()
    if ver >= 7:
        check(r.i16() == 0, "fetch top-level error")
        r.i32()

    def part_(x):
        d = {"p": x.i32(), "err": x.i16(), "hw": x.i64()}
        if ver >= 4:
            d["lso"] = x.i64()
        if ver >= 5:
            d["lstart"] = x.i64()
        if ver >= 4:
            x.arr(lambda y: (y.i64(), y.i64()))
        if ver >= 11:
            x.i32()
        d["records"] = x.bytes()
        return d
    topics = r.arr(lambda x: (x.str(), x.arr(part_)))
    return topics[0][1][0]


def list_offsets(c, ver, topic, part, ts):
    body = s32(-1)
    if ver >= 2:
        body += b"\x00"
    body += s32(1) + kstr(topic) + s32(1) + s32(part)
    if ver >= 4:
        body += s32(-1)
    body += s64(ts)
    if ver == 0:
        body += s32(1)
    r = c.call(2, ver, body)
    if ver >= 2:
        r.i32()
    if ver == 0:
        t = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i32(), y.i16(), y.arr(lambda z: z.i64())))))
        p = t[0][1][0]
        return p[1], (p[2][0] if p[2] else None)
    t = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i32(), y.i16(), y.i64(), y.i64(),
                                                     y.i32() if ver >= 4 else -1))))
    p = t[0][1][0]
    return p[1], p[3]


def record_values(data):
    """Values of the records of v2 batches (uncompressed) or legacy messages."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        size = struct.unpack(">i", data[pos + 8:pos + 12])[0]
        if pos + 12 + size > len(data):
            break
        entry = data[pos:pos + 12 + size]
        magic = entry[16]
        if magic == 2:
            out.append(("v2", struct.unpack(">i", entry[57:61])[0]))
        else:
            check(zlib.crc32(entry[16:]) & 0xffffffff == struct.unpack(">I", entry[12:16])[0],
                  "legacy message CRC wrong")
            out.append(("v%d" % magic, 1))
        pos += 12 + size
    return out


# ---- processes ------------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Broker:
    def __init__(self, zk_port, work):
        self.port = free_port()
        self.logdir = os.path.join(work, "kafka-logs")
        self.logpath = os.path.join(work, "broker.log")
        self.zk_port = zk_port
        self.p = None

    def start(self):
        wrap = os.environ.get("GREGOR_BROKER_WRAP", "").split()   # e.g. "valgrind --error-exitcode=9"
        args = wrap + [BROKER, os.path.join(TOP, "deploy", "server.properties.example"),
                "--override", "zookeeper.connect=127.0.0.1:%d" % self.zk_port,
                "--override", "log.dirs=" + self.logdir,
                "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
                "--override", "broker.id=0",
                "--override", "auto.create.topics.enable=true",
                "--override", "replica.lag.time.max.ms=2000"]
        self.logf = open(self.logpath, "ab")
        self.p = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + (60 if wrap else 20)
        while time.time() < deadline:
            if self.p.poll() is not None:
                fail("broker exited with %d" % self.p.returncode)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        fail("broker does not listen")

    def kill9(self):
        os.killpg(self.p.pid, 9)
        self.p.wait()
        self.p = None

    def stop(self):
        rc = None
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                rc = self.p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, 9)
                self.p.wait()
        self.p = None
        return rc


def metadata_topics(port, topics):
    c = Conn(port)
    r = c.call(3, 1, karr(topics, kstr))
    brokers = r.arr(lambda x: (x.i32(), x.str(), x.i32(), x.str()))
    ctl = r.i32()
    ts = r.arr(lambda x: (x.i16(), x.str(), x.i8(), x.arr(lambda y: (y.i16(), y.i32(), y.i32(),
                                                                      y.arr(lambda z: z.i32()),
                                                                      y.arr(lambda z: z.i32())))))
    c.close()
    return brokers, ctl, ts


def led_here(port, topic):
    """True once Metadata says broker 0 leads every partition of topic."""
    try:
        _, _, ts = metadata_topics(port, [topic])
    except (OSError, ValueError):
        return False
    return ts[0][0] == 0 and bool(ts[0][3]) and all(p[0] == 0 and p[2] == 0 for p in ts[0][3])


def create_topics(zk_port, port, topics, configs={}):
    """Writes /config/topics/T and /brokers/topics/T; waits for a controller, else plays it.
    Returns True if a real controller did the work."""
    from kazoo.client import KazooClient
    zk = KazooClient(hosts="127.0.0.1:%d" % zk_port)
    zk.start(timeout=10)
    for t, cfg in configs.items():
        body = ",".join('"%s":"%s"' % kv for kv in cfg.items())
        zk.create("/config/topics/" + t, ('{"version":1,"config":{%s}}' % body).encode(), makepath=True)
    for t, n in topics.items():
        parts = ",".join('"%d":[0]' % p for p in range(n))
        zk.create("/brokers/topics/" + t, ('{"version":1,"partitions":{%s}}' % parts).encode(), makepath=True)
    zk.stop()
    zk.close()
    deadline = time.time() + 4
    while time.time() < deadline:
        _, _, ts = metadata_topics(port, list(topics))
        if all(e == 0 and len(ps) == topics[name] and all(p[0] == 0 for p in ps) for e, name, _, ps in ts):
            return True
        time.sleep(0.2)
    play_controller(port, topics)
    return False


# ---- the test ---------------------------------------------------------------------------------

def main():
    for tool in ("kcat",):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            print("SKIP: %s not installed" % tool)
            sys.exit(77)
    try:
        zk = zkharness.Server("gregor")
        zk.start()
    except (zkharness.SkipTest, zkharness.NotFunctional) as e:
        print("SKIP: %s" % e)
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="b0430-")
    b = Broker(zk.port, work)
    PROCS.append(b)
    try:
        b.start()
        run(zk, b)
        rc = b.stop()
        check(rc == 0, "broker exit status %r on SIGTERM" % rc)
    finally:
        b.stop()
        zk.cleanup()
    if os.environ.get("ZKH_KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
    print("PASS")


def run(zk, b):
    port = b.port
    topics = {"t1": 1, "t3": 3, "codecs": 1, "kp": 1, "kp010": 1, "idem": 1, "ck": 1, "lat": 1, "small": 1}
    configs = {"lat": {"message.timestamp.type": "LogAppendTime"}, "small": {"max.message.bytes": "200"}}
    real_ctl = create_topics(zk.port, port, topics, configs)
    print("topics created (%s)" % ("controller" if real_ctl else "controller played by the test"))

    brokers, ctl, ts = metadata_topics(port, ["t3", "no.such.topic", "bad/name"])
    check([x[0] for x in brokers] == [0] and brokers[0][2] == port, "Metadata brokers %r" % brokers)
    by = {name: (e, ps) for e, name, _, ps in ts}
    check(by["t3"][0] == 0 and sorted(p[1] for p in by["t3"][1]) == [0, 1, 2], "Metadata t3 %r" % (by["t3"],))
    check(by["bad/name"][0] == 17, "invalid topic name: %r" % (by["bad/name"],))
    check(by["no.such.topic"][0] in (3, 5), "unknown topic: %r" % (by["no.such.topic"],))

    # kcat -L
    out = subprocess.run(["kcat", "-L", "-b", "127.0.0.1:%d" % port], capture_output=True, text=True, timeout=30)
    check(out.returncode == 0 and 'topic "t3" with 3 partitions' in out.stdout and "leader 0" in out.stdout,
          "kcat -L: " + out.stdout + out.stderr)

    # raw protocol checks
    c = Conn(port)
    p, err, base, _, _ = produce(c, 3, "t1", 0, batch_v2([b"a", b"b"]))
    check(err == 0 and base == 0, "produce v3 err %d base %d" % (err, base))
    p, err, base, _, _ = produce(c, 7, "t1", 0, batch_v2([b"c"]), acks=-1)
    check(err == 0 and base == 2, "produce v7 acks=-1 err %d base %d" % (err, base))
    _, err, _, _, _ = produce(c, 7, "t1", 0, batch_v2([b"x"]), acks=2)
    check(err == 21, "acks=2 gave %d" % err)
    _, err, _, _, _ = produce(c, 7, "nope", 0, batch_v2([b"x"]))
    check(err == 3, "unknown topic gave %d" % err)
    _, err, _, _, _ = produce(c, 7, "t1", 5, batch_v2([b"x"]))
    check(err == 3, "unknown partition gave %d" % err)
    bad = bytearray(batch_v2([b"x"]))
    bad[-1] ^= 0xff
    _, err, _, _, _ = produce(c, 7, "t1", 0, bytes(bad))
    check(err == 2, "bad CRC gave %d" % err)
    _, err, _, _, _ = produce(c, 7, "t1", 0, batch_v2([b"x"], pid=5, epoch=0, seq=0), txn="tx")
    check(err == 53, "transactional id gave %d" % err)
    d = fetch(c, 11, "t1", 0, 0)
    check(d["err"] == 0 and d["hw"] == 3 and record_values(d["records"]) == [("v2", 2), ("v2", 1)],
          "fetch v11 %r" % d)
    d = fetch(c, 11, "t1", 0, 99)
    check(d["err"] == 1, "fetch out of range gave %r" % d["err"])
    d = fetch(c, 1, "t1", 0, 0)
    check(d["err"] == 0 and record_values(d["records"]) == [("v0", 1)] * 3, "fetch v1 down-conversion %r" % d)
    d = fetch(c, 2, "t1", 0, 2)
    check(d["err"] == 0 and record_values(d["records"]) == [("v1", 1)], "fetch v2 down-conversion %r" % d)
    check(list_offsets(c, 0, "t1", 0, -1) == (0, 3), "ListOffsets v0 latest")
    check(list_offsets(c, 0, "t1", 0, -2) == (0, 0), "ListOffsets v0 earliest")
    check(list_offsets(c, 1, "t1", 0, -1) == (0, 3), "ListOffsets v1 latest")
    check(list_offsets(c, 5, "t1", 0, 0) == (0, 0), "ListOffsets v5 by time")
    check(list_offsets(c, 5, "t1", 0, int(time.time() * 1000) + 3600000) == (0, -1), "ListOffsets future")

    # hostile data: garbage, a truncated batch, a gzip bomb, odd fetch sizes; the broker goes on
    _, err, _, _, _ = produce(c, 7, "t1", 0, b"\x01" * 100)
    check(err in (2, 87), "garbage records gave %d" % err)
    _, err, _, _, _ = produce(c, 7, "t1", 0, batch_v2([b"x" * 50])[:-10])
    check(err in (2, 87), "truncated batch gave %d" % err)
    bomb = batch_v2([b"\0" * (80 << 20)], gzip_it=True)
    check(len(bomb) < 1000000, "bomb too big to send")
    _, err, _, _, _ = produce(c, 7, "t1", 0, bomb)
    check(err in (2, 10), "gzip bomb gave %d" % err)
    d = fetch(c, 11, "t1", 0, 0, max_bytes=-5)   # KIP-74: the first batch comes anyway
    check(d["err"] == 0 and len(record_values(d["records"])) == 1, "negative max bytes (v11) %r" % d)
    d = fetch(c, 2, "t1", 0, 0, max_bytes=-5)
    check(d["err"] == 0 and not d["records"], "negative max bytes (v2) %r" % d)
    d = fetch(c, 4, "t1", 0, -7)
    check(d["err"] == 1, "negative fetch offset gave %d" % d["err"])
    check(list_offsets(c, 1, "t1", 0, -1) == (0, 3), "hostile produces appended something")

    # Produce v0 with a magic-0 message set (Kafka 0.9's clients), read back by Fetch v0
    msg = b"\x00\x00" + s32(-1) + kbytes(b"old")
    entry = struct.pack(">I", zlib.crc32(msg) & 0xffffffff) + msg
    _, err, base, _, _ = produce(c, 0, "t3", 2, s64(0) + s32(len(entry)) + entry)
    check(err == 0 and base == 0, "produce v0 magic 0: %d %d" % (err, base))
    d = fetch(c, 0, "t3", 2, 0)
    check(d["err"] == 0 and record_values(d["records"]) == [("v0", 1)] and d["records"].endswith(b"old"),
          "fetch v0 of a magic-0 message %r" % d)

    # DeleteRecords and OffsetForLeaderEpoch
    _, err, _, _, _ = produce(c, 7, "t3", 1, batch_v2([b"1", b"2", b"3"]))
    check(err == 0, "produce t3-1")
    r = c.call(21, 1, s32(1) + kstr("t3") + s32(1) + s32(1) + s64(2) + s32(1000))
    r.i32()
    t = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i32(), y.i64(), y.i16()))))
    check(t[0][1][0] == (1, 2, 0), "DeleteRecords %r" % t)
    check(list_offsets(c, 1, "t3", 1, -2) == (0, 2), "log start after DeleteRecords")
    check(fetch(c, 11, "t3", 1, 0)["err"] == 1, "fetch below the log start offset")
    r = c.call(21, 1, s32(1) + kstr("t3") + s32(1) + s32(1) + s64(7) + s32(1000))
    r.i32()
    t = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i32(), y.i64(), y.i16()))))
    check(t[0][1][0][2] == 1, "DeleteRecords beyond the HW %r" % t)

    def ofle(cur, epoch):
        r = c.call(23, 2, s32(1) + kstr("t3") + s32(1) + s32(1) + s32(cur) + s32(epoch))
        r.i32()
        t = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i16(), y.i32(), y.i32(), y.i64()))))
        return t[0][1][0]
    check(ofle(0, 0) == (0, 1, 0, 3), "OffsetForLeaderEpoch %r" % (ofle(0, 0),))
    check(ofle(5, 0)[0] == 75, "OffsetForLeaderEpoch with a future current epoch")

    # topic configs from /config/topics/T
    t0 = int(time.time() * 1000)
    _, err, base, lat, _ = produce(c, 7, "lat", 0, batch_v2([b"x"], ts=1000))
    check(err == 0 and lat >= t0 - 1000, "LogAppendTime topic: err %d append time %d" % (err, lat))
    d = fetch(c, 11, "lat", 0, 0)
    rec = d["records"]
    check(struct.unpack(">h", rec[21:23])[0] & 8 and struct.unpack(">q", rec[35:43])[0] == lat,
          "stored batch lacks LogAppendTime")
    _, err, _, _, _ = produce(c, 7, "small", 0, batch_v2([b"y" * 300]))
    check(err == 10, "max.message.bytes=200 gave %d" % err)
    _, err, _, _, _ = produce(c, 7, "small", 0, batch_v2([b"y"]))
    check(err == 0, "small batch to the small topic gave %d" % err)

    # long poll: a fetch at the end waits, and returns when another connection produces
    c2 = Conn(port)
    t0 = time.time()
    d = fetch(c, 4, "t1", 0, 3, max_wait=300, min_bytes=1)
    check(d["records"] in (b"", None) and time.time() - t0 >= 0.25, "long poll did not wait")
    c.send(1, 4, s32(-1) + s32(5000) + s32(1) + s32(1 << 20) + b"\x00" + s32(1) + kstr("t1") + s32(1) +
           s32(0) + s64(3) + s32(1 << 20))
    time.sleep(0.1)
    _, err, base, _, _ = produce(c2, 7, "t1", 0, batch_v2([b"wake"]))
    check(err == 0 and base == 3, "produce during long poll")
    t0 = time.time()
    r = c.recv()
    check(time.time() - t0 < 2, "long poll not woken by the append")

    # acks=0: no response; an error closes the connection
    produce(c2, 7, "t1", 0, batch_v2([b"q"]), acks=0, expect_response=False)
    check(list_offsets(c2, 1, "t1", 0, -1) == (0, 5), "acks=0 produce not appended (or answered)")
    produce(c2, 7, "nope", 0, batch_v2([b"q"]), acks=0, expect_response=False)
    check(c2.closed_within(5), "acks=0 produce to an unknown topic did not close the connection")
    c.close()

    # idempotence, raw: duplicate and out-of-order
    c = Conn(port)
    _, err, base, _, _ = produce(c, 7, "idem", 0, batch_v2([b"i0", b"i1"], pid=1000, epoch=0, seq=0))
    check(err == 0 and base == 0, "idempotent first batch %d %d" % (err, base))
    _, err, base, _, _ = produce(c, 7, "idem", 0, batch_v2([b"i0", b"i1"], pid=1000, epoch=0, seq=0))
    check(err == 0 and base == 0, "duplicate batch answered %d %d" % (err, base))
    _, err, _, _, _ = produce(c, 7, "idem", 0, batch_v2([b"i5"], pid=1000, epoch=0, seq=5))
    check(err == 45, "sequence gap gave %d" % err)
    _, err, _, _, _ = produce(c, 7, "idem", 0, batch_v2([b"u"], pid=2000, epoch=0, seq=3))
    check(err == 59, "unknown producer with seq 3 gave %d" % err)
    _, err, base, _, _ = produce(c, 7, "idem", 0, batch_v2([b"i2"], pid=1000, epoch=0, seq=2))
    check(err == 0 and base == 2, "next batch %d %d" % (err, base))
    check(list_offsets(c, 1, "idem", 0, -1)[1] == 3, "idem end offset")
    c.close()

    def zk_client():
        from kazoo.client import KazooClient
        z = KazooClient(hosts="127.0.0.1:%d" % zk.port)
        z.start(timeout=10)
        return z

    # acks=-1 with a two-replica ISR: answered once the follower's fetch moves the HW, or
    # REQUEST_TIMED_OUT; consumers only see data below the HW
    # (with a real controller: LeaderAndIsr at its epoch for a topic it does not know)
    if True:
        z = zk_client()
        ctl_epoch = int(z.get("/controller_epoch")[0]) if real_ctl else 1
        lai_topics = {"r2": 1}
        if not real_ctl:
            lai_topics["r3"] = 1
            z.ensure_path("/isr_change_notification")   # a broker's persistent path (registration module)
            for t in ("r2", "r3"):
                z.create("/brokers/topics/%s/partitions/0/state" % t,
                         b'{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0,1]}',
                         makepath=True)
        z.stop()
        c = Conn(port)
        r = c.call(4, 1, leader_and_isr_v1(port, ctl_epoch, lai_topics, replicas=(0, 1)))
        check(r.i16() == 0 and r.arr(lambda x: (x.str(), x.i32(), x.i16()))[0][2] == 0, "LeaderAndIsr r2")
        _, err, _, _, _ = produce(c, 7, "r2", 0, batch_v2([b"a"]), acks=-1, timeout=300)
        check(err == 7, "acks=-1 without the follower gave %d" % err)
        d = fetch(c, 11, "r2", 0, 0)
        check(d["hw"] == 0 and not d["records"], "consumer sees data above the HW: %r" % d)
        f = fetch(c, 11, "r2", 0, 0, replica=1)
        check(f["err"] == 0 and len(record_values(f["records"])) == 1, "follower fetch %r" % f)
        c2 = Conn(port)
        c2.send(0, 7, kstr(None) + s16(-1) + s32(5000) + s32(1) + kstr("r2") + s32(1) + s32(0) +
                kbytes(batch_v2([b"b"])))
        time.sleep(0.2)
        f = fetch(c, 11, "r2", 0, 1, replica=1)   # the follower has offset 0: HW 1
        check(f["hw"] == 1, "HW after the follower caught up to 1: %r" % f)
        f = fetch(c, 11, "r2", 0, 2, replica=1)   # and now offset 1: HW 2, the produce completes
        r = c2.recv()
        t = r.arr(lambda x: (x.str(), x.arr(lambda y: (y.i32(), y.i16(), y.i64()))))
        check(t[0][1][0][1:] == (0, 1), "acks=-1 produce after the follower fetch: %r" % t)
        check(list_offsets(c, 1, "r2", 0, -1) == (0, 2), "ListOffsets latest = HW")
        c.close()
        c2.close()

    if not real_ctl:
        # r3: follower 1 never fetches: after replica.lag.time.max.ms the leader shrinks the ISR
        # in the state znode and announces it under /isr_change_notification; a fetch at the
        # LEO brings it back
        import json
        z = zk_client()

        def isr_of(t):
            return json.loads(z.get("/brokers/topics/%s/partitions/0/state" % t)[0])["isr"]
        zkharness.wait_until(lambda: isr_of("r3") == [0], 10, what="ISR shrink of r3")
        zkharness.wait_until(lambda: z.exists("/isr_change_notification") and
                             z.get_children("/isr_change_notification"), 15, what="isr_change_notification")
        kids = z.get_children("/isr_change_notification")
        note = json.loads(z.get("/isr_change_notification/" + sorted(kids)[0])[0])
        check({"topic": "r3", "partition": 0} in note["partitions"], "isr change notification %r" % note)
        c = Conn(port)
        fetch(c, 11, "r3", 0, 0, replica=1)
        zkharness.wait_until(lambda: sorted(isr_of("r3")) == [0, 1], 10, what="ISR expansion of r3")
        c.close()
        z.stop()
        print("ISR shrink, notification and expansion ok")
    else:
        # r3 with the real controller: assignment [0, 1] with broker 1 not live, so the ISR
        # starts as [0]; a fetch by follower 1 at the LEO makes the leader add it (state znode
        # written with the controller's zkVersion), and when it stops fetching the leader
        # removes it again after replica.lag.time.max.ms
        import json
        z = zk_client()
        z.create("/brokers/topics/r3", b'{"version":1,"partitions":{"0":[0,1]}}')
        zkharness.wait_until(lambda: led_here(port, "r3"), 20, what="r3 leader")

        def isr_of(t):
            return sorted(json.loads(z.get("/brokers/topics/%s/partitions/0/state" % t)[0])["isr"])
        c = Conn(port)
        print("r3: ISR %r from the controller" % isr_of("r3"))
        if isr_of("r3") == [0]:
            fetch(c, 11, "r3", 0, 0, replica=1)
            zkharness.wait_until(lambda: isr_of("r3") == [0, 1], 10, what="ISR expansion of r3")
        zkharness.wait_until(lambda: isr_of("r3") == [0], 10, what="ISR shrink of r3")
        c.close()
        z.stop()
        print("ISR expansion and shrink with the controller ok")

    # kcat with every codec
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        msgs = "".join("%s-%d\n" % (codec, i) for i in range(20))
        pr = subprocess.run(["kcat", "-P", "-b", "127.0.0.1:%d" % port, "-t", "codecs", "-p", "0", "-z", codec],
                            input=msgs, capture_output=True, text=True, timeout=30)
        check(pr.returncode == 0, "kcat -P -z %s: %s" % (codec, pr.stderr))
    cr = subprocess.run(["kcat", "-C", "-b", "127.0.0.1:%d" % port, "-t", "codecs", "-p", "0", "-o", "beginning",
                         "-e"], capture_output=True, text=True, timeout=30)
    got = cr.stdout.split()
    want = ["%s-%d" % (codec, i) for codec in ("none", "gzip", "snappy", "lz4", "zstd") for i in range(20)]
    check(got == want, "kcat -C read %d of %d records: %s" % (len(got), len(want), cr.stderr[-500:]))

    # kafka-python, auto and (0,10,0)
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    for topic, ver in (("kp", None), ("kp010", (0, 10, 0))):
        kw = {"bootstrap_servers": "127.0.0.1:%d" % port}
        if ver:
            kw["api_version"] = ver
        prod = KafkaProducer(acks="all", compression_type="gzip", **kw)
        futs = [prod.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0) for i in range(50)]
        prod.flush(10)
        offs = [f.get(10).offset for f in futs]
        check(offs == list(range(50)), "kafka-python %s offsets %r" % (ver, offs[:5]))
        prod.close(5)
        cons = KafkaConsumer(consumer_timeout_ms=3000, enable_auto_commit=False, group_id=None, **kw)
        cons.assign([TopicPartition(topic, 0)])
        cons.seek_to_beginning()
        vals = [m.value for m in cons]
        cons.close()
        check(vals == [b"v%d" % i for i in range(50)], "kafka-python %s consumed %d" % (ver, len(vals)))
        print("kafka-python %s ok" % (ver,))

    # restart: data and idempotent-producer state come back from the log
    rc = b.stop()
    check(rc == 0, "broker exit status %r on SIGTERM" % rc)
    b.start()
    if real_ctl:
        zkharness.wait_until(lambda: led_here(port, "idem"), 20, what="idem leader after the restart")
    else:
        play_controller(port, topics)
    c = Conn(port)
    check(list_offsets(c, 1, "idem", 0, -1) == (0, 3), "idem end offset after restart")
    _, err, base, _, _ = produce(c, 7, "idem", 0, batch_v2([b"i2"], pid=1000, epoch=0, seq=2))
    check(err == 0 and base == 2, "duplicate after restart answered %d %d" % (err, base))
    _, err, _, _, _ = produce(c, 7, "idem", 0, batch_v2([b"i9"], pid=1000, epoch=0, seq=9))
    check(err == 45, "gap after restart gave %d" % err)
    check(list_offsets(c, 1, "idem", 0, -1) == (0, 3), "duplicate appended after restart")
    d = fetch(c, 11, "codecs", 0, 0)
    check(d["err"] == 0 and d["hw"] == 100, "codecs after restart %r" % {k: d[k] for k in ("err", "hw")})
    c.close()

    # kill -9 after acknowledged acks=1 writes: all readable after the restart
    c = Conn(port)
    for i in range(20):
        _, err, base, _, _ = produce(c, 7, "t3", 0, batch_v2([b"k9-%d" % i]))
        check(err == 0, "produce before kill -9")
    end = base + 1
    c.close()
    b.kill9()
    b.start()
    if real_ctl:
        zkharness.wait_until(lambda: led_here(port, "t3"), 20, what="t3 leader after kill -9")
    else:
        play_controller(port, topics)
    c = Conn(port)
    deadline = time.time() + 20
    while list_offsets(c, 1, "t3", 0, -1) != (0, end) and time.time() < deadline:
        time.sleep(0.2)   # the controller may still be electing
    check(list_offsets(c, 1, "t3", 0, -1) == (0, end), "t3-0 end offset after kill -9: %r" %
          (list_offsets(c, 1, "t3", 0, -1),))
    d = fetch(c, 11, "t3", 0, 0)
    check(d["err"] == 0 and len(record_values(d["records"])) == end, "records after kill -9")
    c.close()

    # confluent_kafka idempotent producer
    import confluent_kafka
    av = api_versions(port)
    if 22 not in av:
        print("note: InitProducerId not advertised yet (admin module): confluent idempotent producer skipped")
    else:
        p = confluent_kafka.Producer({"bootstrap.servers": "127.0.0.1:%d" % port, "enable.idempotence": True})
        res = []
        for i in range(100):
            p.produce("ck", value=b"c%d" % i, partition=0, on_delivery=lambda e, m: res.append((e, m.offset())))
        p.flush(15)
        check(len(res) == 100 and all(e is None for e, _ in res), "confluent idempotent: %r" % res[:3])
        check(sorted(o for _, o in res) == list(range(100)), "confluent idempotent offsets")
        print("confluent idempotent producer ok")


def api_versions(port):
    c = Conn(port)
    r = c.call(18, 0, b"")
    check(r.i16() == 0, "ApiVersions error")
    keys = r.arr(lambda x: (x.i16(), x.i16(), x.i16()))
    c.close()
    return {k: (lo, hi) for k, lo, hi in keys}


if __name__ == "__main__":
    main()
