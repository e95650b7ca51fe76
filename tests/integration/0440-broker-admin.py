#!/usr/bin/python3
"""gregor-broker's topic administration, checked in the coordinator with kazoo (exact JSON).

gregor-coord + one gregor-broker (id 0):
  0. While another broker is the controller, CreateTopics / DeleteTopics / CreatePartitions
     answer NOT_CONTROLLER; then /controller is deleted and our broker is elected.
  1. Kafka protocol, one request at a time (kafka-python's BrokerConnection, no metadata
     needed): CreateTopics (configs, validate_only, an existing topic -> TOPIC_ALREADY_EXISTS,
     a topic marked for deletion, replication factor above the live brokers with Kafka's
     message, bad names, unknown configs and bad values, '.'/'_' collisions, explicit
     assignments), CreatePartitions, AlterConfigs (+ the /config/changes notification),
     DescribeConfigs (topic and broker), DeleteTopics (/admin/delete_topics/T), and
     InitProducerId (ids from /latest_producer_id_block, a transactional id refused). The
     znodes written are compared byte for byte with what Kafka 2.4 writes.
  2. The config change listener: a version-1 notification as an old kafka-configs.sh writes
     it is picked up (broker log).
  3. Real admin clients, once the broker answers Metadata (helpers "rep"/"ctl"):
     confluent_kafka.admin.AdminClient (create_topics with configs and validate_only,
     duplicate -> TOPIC_ALREADY_EXISTS, create_partitions, describe_configs, alter_configs,
     delete_topics), kafka-python's KafkaAdminClient, and kafkajs 2.2.4's admin
     (0440-broker-admin.js; skipped with a note without node or the kafkajs cache). Skipped
     (with a note) while Metadata is not served.
GREGOR_BROKER selects the broker binary (e.g. build-asan/bin/gregor-broker); a sanitizer report
fails the test. Exit 0 pass, 77 skip, 1 fail."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import zkharness  # noqa: E402

BROKER = os.environ.get("GREGOR_BROKER") or os.path.join(TOP, "build", "bin", "gregor-broker")
PROPS = os.path.join(TOP, "deploy", "server.properties.example")

# Kafka error codes
NONE, UNKNOWN_TOPIC, REQUEST_TIMED_OUT, COORD_NOT_AVAILABLE = 0, 3, 7, 15
INVALID_TOPIC, TOPIC_EXISTS, INVALID_PARTITIONS, INVALID_RF = 17, 36, 37, 38
INVALID_ASSIGNMENT, INVALID_CONFIG, NOT_CONTROLLER, INVALID_REQUEST = 39, 40, 41, 42


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Broker:
    def __init__(self, zk, logdir, port):
        self.port = port
        args = [BROKER, PROPS, "--override", "zookeeper.connect=" + zk,
                "--override", "log.dirs=" + logdir, "--override", "broker.id=0",
                "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % port,
                "--override", "delete.topic.enable=true", "--override", "num.partitions=2",
                "--override", "log.retention.hours=24"]
        self.out = tempfile.NamedTemporaryFile(prefix="broker-", suffix=".log", delete=False)
        self.p = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self):
        with open(self.out.name, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.log())
            if m or self.p.poll() is not None:
                return m
            time.sleep(0.05)
        return None

    def stop(self):
        """Stops the broker; a broker built with sanitizers (GREGOR_BROKER=build-asan/...) must
        have reported nothing. Returns the log."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        out = self.log()
        os.unlink(self.out.name)
        return out


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return None


class Conn:
    """One connection; requests answered in order."""

    def __init__(self, port):
        from kafka.conn import BrokerConnection
        self.c = BrokerConnection("127.0.0.1", port, socket.AF_INET, api_version=(2, 4, 0),
                                  request_timeout_ms=30000)
        self.c.connect_blocking(timeout=10)
        check(self.c.connected(), "cannot connect to the broker")

    def call(self, req, timeout=30):
        f = self.c.send(req)
        deadline = time.time() + timeout
        while not f.is_done and time.time() < deadline:
            for resp, fut in self.c.recv():
                fut.success(resp)
            time.sleep(0.005)
        check(f.is_done, "no answer to %s" % type(req).__name__)
        if f.failed():
            fail("%s failed: %r" % (type(req).__name__, f.exception))
        return f.value


def raw(port, key, ver, body):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    m = struct.pack(">hhih", key, ver, 99, 4) + b"test" + body
    s.sendall(struct.pack(">i", len(m)) + m)
    n = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    r = s.recv(n, socket.MSG_WAITALL)
    s.close()
    return r[4:]


def api_versions(port):
    r = raw(port, 18, 0, b"")
    err, n = struct.unpack(">hi", r[:6])
    keys = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", r[6 + 6 * i:12 + 6 * i])
        keys[k] = (lo, hi)
    return keys


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(x):
    if x is None:
        return b"\x00"
    x = x.encode()
    return uvarint(len(x) + 1) + x


class Rd:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, n):
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def fmt(self, f):
        n = struct.calcsize(f)
        return struct.unpack(f, self.take(n))[0]

    def uv(self):
        n = shift = 0
        while True:
            c = self.b[self.i]
            self.i += 1
            n |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return n

    def cstr(self):
        n = self.uv()
        return None if n == 0 else self.take(n - 1).decode()

    def tags(self):
        for _ in range(self.uv()):
            self.uv()
            self.take(self.uv())


def create_topics_v5(port, name, nparts, configs, validate_only):
    """CreateTopics v5 (flexible): returns (error, message, num_partitions, rf, {name: (value, source)})."""
    body = uvarint(2) + cstr(name) + struct.pack(">ih", nparts, -1) + uvarint(1)
    body += uvarint(len(configs) + 1) + b"".join(cstr(k) + cstr(v) + b"\x00" for k, v in configs)
    body += b"\x00" + struct.pack(">i?", 5000, validate_only) + b"\x00"
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    m = struct.pack(">hhih", 19, 5, 42, 4) + b"test" + b"\x00" + body
    s.sendall(struct.pack(">i", len(m)) + m)
    n = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    r = Rd(s.recv(n, socket.MSG_WAITALL))
    s.close()
    check(r.fmt(">i") == 42, "v5 correlation id")
    r.tags()
    r.fmt(">i")
    check(r.uv() == 2, "v5: one topic")
    check(r.cstr() == name, "v5 topic name")
    err = r.fmt(">h")
    msg = r.cstr()
    np_, rf = r.fmt(">i"), r.fmt(">h")
    cfgs = {}
    n = r.uv()
    for _ in range(max(n - 1, 0)):
        k, v = r.cstr(), r.cstr()
        ro, src, sens = r.fmt(">?"), r.fmt(">b"), r.fmt(">?")
        r.tags()
        cfgs[k] = (v, src)
    r.tags()
    r.tags()
    return err, msg, np_, rf, cfgs


def errs(resp):
    return {t[0]: t[1] for t in resp.topic_errors}


def not_controller_part(port):
    """CreateTopics, DeleteTopics and CreatePartitions are the controller's (Kafka's
    controller.isActive check): another broker being the controller, every topic gets
    NOT_CONTROLLER."""
    from kafka.protocol.admin import CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest
    conn = Conn(port)
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("nc1", 1, 1, [], []), ("nc2", 1, 1, [], [])],
                                         timeout=1000, validate_only=False))
    check([t[1] for t in r.topic_errors] == [NOT_CONTROLLER, NOT_CONTROLLER], "CreateTopics: %r" % (r.topic_errors,))
    r = conn.call(DeleteTopicsRequest[1](topics=["nc1"], timeout=1000))
    check(r.topic_error_codes == [("nc1", NOT_CONTROLLER)], "DeleteTopics: %r" % (r.topic_error_codes,))
    r = conn.call(CreatePartitionsRequest[1](topic_partitions=[("nc1", (3, None))], timeout=0, validate_only=False))
    check(r.topic_errors[0][1] == NOT_CONTROLLER, "CreatePartitions: %r" % (r.topic_errors,))
    print("ok: NOT_CONTROLLER while another broker is the controller")


def protocol_part(broker, zk):
    from kafka.protocol.admin import (AlterConfigsRequest, CreatePartitionsRequest, CreateTopicsRequest,
                                      DeleteTopicsRequest, DescribeConfigsRequest)
    port = broker.port
    conn = Conn(port)
    keys = api_versions(port)
    for k, want in ((19, 5), (20, 4), (22, 2), (32, 2), (33, 1), (37, 1)):
        check(keys.get(k, (0, -1))[1] == want, "ApiVersions: key %d advertised %r, want max %d" % (k, keys.get(k), want))
    metadata_served = 3 in keys
    # with a controller and a metadata cache, created topics get leaders: answer 0; without, 7
    created = NONE if metadata_served else REQUEST_TIMED_OUT

    # --- CreateTopics ---
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[
        ("t1", 3, 1, [], [("retention.ms", "1000"), ("cleanup.policy", "compact")]),
        ("bad/name", 1, 1, [], []), ("rf3", 1, 3, [], []), ("badval", 1, 1, [], [("retention.ms", "x")]),
        ("badkey", 1, 1, [], [("nope", "x")]), ("dflt", -1, -1, [], []),
        ("both", 2, -1, [(0, [0]), (1, [0])], []), ("expl", -1, -1, [(1, [0]), (0, [0])], []),
        ("dup", 1, 1, [], []), ("dup", 1, 1, [], []),
    ], timeout=3000, validate_only=False))
    e = {t[0]: (t[1], t[2]) for t in r.topic_errors}
    check(e["t1"][0] == created, "create t1: %r" % (e["t1"],))
    check(e["bad/name"][0] == INVALID_TOPIC, "bad name: %r" % (e["bad/name"],))
    check(e["rf3"] == (INVALID_RF, "Replication factor: 3 larger than available brokers: 1."), "rf3: %r" % (e["rf3"],))
    check(e["badval"] == (INVALID_CONFIG, "Invalid value x for configuration retention.ms: Not a number of type LONG"),
          "badval: %r" % (e["badval"],))
    check(e["badkey"] == (INVALID_CONFIG, "Unknown topic config name: nope"), "badkey: %r" % (e["badkey"],))
    check(e["both"][0] == INVALID_REQUEST, "partitions and assignment together: %r" % (e["both"],))
    check(e["dup"][0] == INVALID_REQUEST, "duplicate entry: %r" % (e["dup"],))
    check(zk.get("/config/topics/t1")[0] == b'{"version":1,"config":{"retention.ms":"1000","cleanup.policy":"compact"}}',
          "/config/topics/t1 = %r" % zk.get("/config/topics/t1")[0])
    check(zk.get("/brokers/topics/t1")[0] ==
          b'{"version":2,"partitions":{"2":[0],"1":[0],"0":[0]},"adding_replicas":{},"removing_replicas":{}}',
          "/brokers/topics/t1 = %r" % zk.get("/brokers/topics/t1")[0])
    check(zk.get("/config/topics/dflt")[0] == b'{"version":1,"config":{}}', "/config/topics/dflt")
    check(json.loads(zk.get("/brokers/topics/dflt")[0])["partitions"] == {"0": [0], "1": [0]},
          "num.partitions=2 default: %r" % zk.get("/brokers/topics/dflt")[0])
    check(json.loads(zk.get("/brokers/topics/expl")[0])["partitions"] == {"0": [0], "1": [0]}, "explicit assignment")
    for t in ("bad", "rf3", "badval", "badkey", "both", "dup"):
        check(not zk.exists("/brokers/topics/" + t) and not zk.exists("/config/topics/" + t), "%s was written" % t)
    print("ok: CreateTopics errors and znodes")

    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("t1", 3, 1, [], [])], timeout=0, validate_only=False))
    check(r.topic_errors[0][1:] == (TOPIC_EXISTS, "Topic 't1' already exists."), "duplicate: %r" % (r.topic_errors,))
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("vo", 4, 1, [], [("segment.bytes", "100000")])],
                                         timeout=5000, validate_only=True))
    check(r.topic_errors[0][1] == NONE, "validate_only: %r" % (r.topic_errors,))
    check(not zk.exists("/brokers/topics/vo") and not zk.exists("/config/topics/vo"), "validate_only wrote znodes")
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("vo2", 1, 1, [], [("segment.bytes", "1")])],
                                         timeout=0, validate_only=True))
    check(r.topic_errors[0][1] == INVALID_CONFIG, "validate_only with a bad value: %r" % (r.topic_errors,))
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("to", 1, 1, [], [])], timeout=0, validate_only=False))
    check(r.topic_errors[0][1] == REQUEST_TIMED_OUT, "timeout 0 answers REQUEST_TIMED_OUT: %r" % (r.topic_errors,))
    check(zk.exists("/brokers/topics/to"), "timeout 0 still creates")
    # '.' and '_' collide
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("a.b", 1, 1, [], []), ("a_b", 1, 1, [], [])],
                                         timeout=0, validate_only=False))
    e = {t[0]: (t[1], t[2]) for t in r.topic_errors}
    check(e["a_b"] == (INVALID_TOPIC, "Topic 'a_b' collides with existing topics: a.b"), "collision: %r" % (e,))
    # a topic marked for deletion
    zk.create("/brokers/topics/gone", b'{"version":1,"partitions":{"0":[0]}}')
    zk.create("/admin/delete_topics/gone", makepath=True)
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("gone", 1, 1, [], [])], timeout=0, validate_only=False))
    if zk.exists("/admin/delete_topics/gone"):
        check(r.topic_errors[0][1:] == (TOPIC_EXISTS, "Topic 'gone' is marked for deletion."),
              "marked for deletion: %r" % (r.topic_errors,))
    print("ok: CreateTopics duplicate, validate_only, timeout 0, collisions, marked for deletion")
    err, msg, np_, rf, cfgs = create_topics_v5(port, "v5t", 3, [("retention.ms", "777")], True)
    check((err, msg, np_, rf) == (NONE, None, 3, 1), "v5 validate_only: %r" % ((err, msg, np_, rf),))
    check(len(cfgs) == 26 and cfgs["retention.ms"] == ("777", 1) and cfgs["segment.bytes"] == ("1073741824", 5),
          "v5 configs: %r" % ({k: cfgs[k] for k in ("retention.ms", "segment.bytes") if k in cfgs},))
    check(not zk.exists("/brokers/topics/v5t"), "v5 validate_only wrote the topic")
    err, msg, np_, rf, cfgs = create_topics_v5(port, "t1", 1, [], False)
    check((err, msg, np_, rf, cfgs) == (TOPIC_EXISTS, "Topic 't1' already exists.", -1, -1, {}),
          "v5 existing: %r" % ((err, msg, np_, rf),))
    print("ok: CreateTopics v5 (flexible) with the topic's configs")

    # --- CreatePartitions ---
    r = conn.call(CreatePartitionsRequest[1](topic_partitions=[("t1", (5, None)), ("nope", (2, None)),
                                                                 ("dflt", (1, None)), ("expl", (3, [[0], [0]]))],
                                               timeout=0, validate_only=False))
    e = {t[0]: (t[1], t[2]) for t in r.topic_errors}
    check(e["t1"][0] == REQUEST_TIMED_OUT, "add partitions: %r" % (e["t1"],))
    check(e["nope"] == (UNKNOWN_TOPIC, "The topic 'nope' does not exist."), "unknown: %r" % (e["nope"],))
    check(e["dflt"] == (INVALID_PARTITIONS, "Topic currently has 2 partitions, which is higher than the requested 1."),
          "decrease: %r" % (e["dflt"],))
    check(e["expl"] == (INVALID_ASSIGNMENT, "Increasing the number of partitions by 1 but 2 assignments provided."),
          "assignment count: %r" % (e["expl"],))
    data, stat = zk.get("/brokers/topics/t1")
    check(data == b'{"version":2,"partitions":{"2":[0],"1":[0],"4":[0],"0":[0],"3":[0]},'
                  b'"adding_replicas":{},"removing_replicas":{}}', "/brokers/topics/t1 after adding: %r" % data)
    check(stat.version == 1, "setData with version check: version %d" % stat.version)
    r = conn.call(CreatePartitionsRequest[1](topic_partitions=[("dflt", (4, None))], timeout=0, validate_only=True))
    check(r.topic_errors[0][1] == NONE and len(json.loads(zk.get("/brokers/topics/dflt")[0])["partitions"]) == 2,
          "validate_only CreatePartitions: %r" % (r.topic_errors,))
    print("ok: CreatePartitions")

    # --- AlterConfigs / DescribeConfigs ---
    zk.ensure_path("/config/changes")   # bzk ensures it at start-up (helper "ctl")
    before = set(zk.get_children("/config/changes"))
    r = conn.call(AlterConfigsRequest[1](resources=[(2, "t1", [("retention.ms", "2000")]), (2, "nope", []),
                                                    (4, "0", [("num.partitions", "3")]),
                                                    (2, "dflt", [("retention.ms", "bad")]),
                                                    (2, "expl", [("retention.ms", "7")])], validate_only=False))
    e = {x[3]: (x[0], x[1]) for x in r.resources}
    check(e["t1"][0] == NONE, "alter t1: %r" % (e["t1"],))
    check(e["nope"][0] == UNKNOWN_TOPIC, "alter unknown: %r" % (e["nope"],))
    check(e["0"][0] == INVALID_REQUEST, "alter broker: %r" % (e["0"],))
    check(e["dflt"] == (INVALID_REQUEST, "Invalid config value for resource ConfigResource(type=TOPIC, name='dflt'): "
                                         "Invalid value bad for configuration retention.ms: Not a number of type LONG"),
          "alter bad value: %r" % (e["dflt"],))
    check(zk.get("/config/topics/t1")[0] == b'{"version":1,"config":{"retention.ms":"2000"}}',
          "alter replaces the set: %r" % zk.get("/config/topics/t1")[0])
    new = sorted(set(zk.get_children("/config/changes")) - before)
    check(len(new) == 2 and all(re.match(r"config_change_\d{10}$", c) for c in new), "notifications: %r" % new)
    bodies = sorted(zk.get("/config/changes/" + c)[0] for c in new)
    check(bodies == [b'{"version":2,"entity_path":"topics/expl"}', b'{"version":2,"entity_path":"topics/t1"}'],
          "notification bodies: %r" % bodies)
    r = conn.call(AlterConfigsRequest[1](resources=[(2, "dflt", [("retention.ms", "9")])], validate_only=True))
    check(r.resources[0][0] == NONE and zk.get("/config/topics/dflt")[0] == b'{"version":1,"config":{}}',
          "validate_only AlterConfigs")
    check(broker.wait_log(r"config change /config/changes/%s: topic t1" % [c for c in new if
                          zk.get("/config/changes/" + c)[0].endswith(b't1"}')][0], 5),
          "the config change listener did not see the notification")

    r = conn.call(DescribeConfigsRequest[1](resources=[(2, "t1", None), (4, "0", ["log.retention.hours",
                                                                                  "num.partitions"]),
                                                       (2, "zz", None), (4, "7", None)], include_synonyms=True))
    res = {x[3]: x for x in r.resources}
    check(res["t1"][0] == NONE, "describe t1: %r" % (res["t1"][:3],))
    cfg = {c[0]: c for c in res["t1"][4]}
    check(len(cfg) == 26, "describe t1: %d entries" % len(cfg))
    # (kafka-python reads v1's config_source as a bool: the synonyms say where values come from)
    # log.retention.hours is set, log.retention.ms is not: Kafka 2.4 lists no broker synonym
    check(cfg["retention.ms"][1] == "2000" and cfg["retention.ms"][5] == [("retention.ms", "2000", 1)],
          "retention.ms: %r" % (cfg["retention.ms"],))
    check(cfg["segment.bytes"][1] == "1073741824" and cfg["segment.bytes"][5] == [("log.segment.bytes", "1073741824", 5)],
          "segment.bytes: %r" % (cfg["segment.bytes"],))
    check(cfg["cleanup.policy"][1] == "delete", "cleanup.policy back to the default: %r" % (cfg["cleanup.policy"],))
    check(res["zz"][0] == UNKNOWN_TOPIC, "describe unknown: %r" % (res["zz"][:3],))
    check(res["7"][0] == INVALID_REQUEST, "describe another broker: %r" % (res["7"][:3],))
    b = {c[0]: c for c in res["0"][4]}
    check(set(b) == {"log.retention.hours", "num.partitions"}, "broker filter: %r" % list(b))
    check(b["log.retention.hours"][1] == "24" and b["log.retention.hours"][5][0] == ("log.retention.hours", "24", 4),
          "log.retention.hours (set by --override): %r" % (b["log.retention.hours"],))
    check(b["num.partitions"][1] == "2", "num.partitions: %r" % (b["num.partitions"],))
    r = conn.call(DescribeConfigsRequest[0](resources=[(2, "t1", ["retention.ms"])]))
    check(r.resources[0][4][0][:5] == ("retention.ms", "2000", False, False, False), "v0: %r" % (r.resources,))
    print("ok: AlterConfigs, DescribeConfigs, config change notifications")

    # --- DeleteTopics ---
    r = conn.call(DeleteTopicsRequest[1](topics=["dflt", "nope"], timeout=0))
    e = dict(r.topic_error_codes)
    check(e["nope"] == UNKNOWN_TOPIC and e["dflt"] == REQUEST_TIMED_OUT, "delete: %r" % (e,))
    check(zk.exists("/admin/delete_topics/dflt") or not zk.exists("/brokers/topics/dflt"), "delete marker")
    print("ok: DeleteTopics")

    # --- InitProducerId ---
    ids = []
    for i in range(3):
        tt, err, pid, epoch = struct.unpack(">ihqh", raw(port, 22, 1, struct.pack(">hi", -1, 60000)))
        check(err == 0 and epoch == 0, "InitProducerId: err %d epoch %d" % (err, epoch))
        ids.append(pid)
    check(ids == [ids[0], ids[0] + 1, ids[0] + 2], "producer ids: %r" % ids)
    blk = json.loads(zk.get("/latest_producer_id_block")[0])
    check(blk["version"] == 1 and blk["broker"] == 0 and int(blk["block_start"]) <= ids[0] <= int(blk["block_end"])
          and int(blk["block_end"]) - int(blk["block_start"]) == 999, "block %r, ids %r" % (blk, ids))
    check(re.fullmatch(rb'\{"version":1,"broker":0,"block_start":"\d+","block_end":"\d+"\}',
                       zk.get("/latest_producer_id_block")[0]), "block JSON")
    tt, err, pid, epoch = struct.unpack(">ihqh", raw(port, 22, 0, struct.pack(">h", 3) + b"txn" +
                                                     struct.pack(">i", 60000)))
    check((err, pid, epoch) == (COORD_NOT_AVAILABLE, -1, -1), "transactional id: %r" % ((err, pid, epoch),))
    # another broker claims a block meanwhile: ours comes after it (version-checked setData)
    zk.set("/latest_producer_id_block", b'{"version":1,"broker":5,"block_start":"49000","block_end":"49999"}')
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    n_req = 1000
    one = struct.pack(">hhih", 22, 1, 7, 4) + b"test" + struct.pack(">hi", -1, 60000)
    s.sendall((struct.pack(">i", len(one)) + one) * n_req)
    got = []
    for i in range(n_req):
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        body = s.recv(size, socket.MSG_WAITALL)
        got.append(struct.unpack(">ihqh", body[4:]))
    s.close()
    check(all(g[1] == 0 for g in got), "pipelined InitProducerId errors")
    pids = [g[2] for g in got]
    check(len(set(pids)) == n_req and pids == sorted(pids), "pipelined ids not unique/increasing")
    check(pids[-1] >= 50000 and 50000 in pids, "no id from the block after 49999: last %d" % pids[-1])
    check(zk.get("/latest_producer_id_block")[0] ==
          b'{"version":1,"broker":0,"block_start":"50000","block_end":"50999"}',
          "block after the other broker's: %r" % zk.get("/latest_producer_id_block")[0])
    print("ok: InitProducerId")

    # --- an old kafka-configs.sh notification (version 1) ---
    p = zk.create("/config/changes/config_change_", b'{"version":1,"entity_type":"topics","entity_name":"expl"}',
                  sequence=True)
    check(broker.wait_log(r"config change %s: topic expl" % re.escape(p), 5), "version-1 notification not seen")
    print("ok: version-1 config change notification")

    # --- more brokers: assignment over /brokers/ids, racks as Kafka treats them ---
    def reg(bid, rack=None):
        d = {"version": 4, "host": "127.0.0.1", "port": 1, "jmx_port": -1, "timestamp": "1",
             "endpoints": ["PLAINTEXT://127.0.0.1:1"], "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"}}
        if rack:
            d["rack"] = rack
        zk.create("/brokers/ids/%d" % bid, json.dumps(d).encode(), ephemeral=True)
    reg(1, "r1")
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("rk", 2, 1, [], [])], timeout=0, validate_only=False))
    check(r.topic_errors[0][1] == -1 and "rack" in (r.topic_errors[0][2] or ""), "mixed racks: %r" % (r.topic_errors,))
    zk.delete("/brokers/ids/1")
    reg(1)
    reg(2)
    r = conn.call(CreateTopicsRequest[3](create_topic_requests=[("three", 6, 3, [], [])], timeout=0,
                                         validate_only=False))
    check(r.topic_errors[0][1] == REQUEST_TIMED_OUT, "rf 3 over 3 brokers: %r" % (r.topic_errors,))
    parts = json.loads(zk.get("/brokers/topics/three")[0])["partitions"]
    check(sorted(parts) == [str(i) for i in range(6)] and all(sorted(v) == [0, 1, 2] for v in parts.values()),
          "assignment over 3 brokers: %r" % parts)
    leaders = [parts[str(i)][0] for i in range(6)]
    check(sorted(leaders) == [0, 0, 1, 1, 2, 2], "preferred leaders spread: %r" % leaders)
    r = conn.call(CreatePartitionsRequest[1](topic_partitions=[("three", (8, [[0, 1, 2], [5, 1, 0]]))], timeout=0,
                                             validate_only=False))
    check(r.topic_errors[0][1:] == (INVALID_ASSIGNMENT, "Unknown broker(s) in replica assignment: 5."),
          "unknown broker: %r" % (r.topic_errors,))
    r = conn.call(CreatePartitionsRequest[1](topic_partitions=[("three", (8, [[0, 1, 2], [2, 1, 0]]))], timeout=0,
                                             validate_only=False))
    parts = json.loads(zk.get("/brokers/topics/three")[0])["partitions"]
    check(parts.get("6") == [0, 1, 2] and parts.get("7") == [2, 1, 0], "explicit new partitions: %r" % parts)
    zk.delete("/brokers/ids/1")
    zk.delete("/brokers/ids/2")
    print("ok: assignment over several brokers and racks")
    return metadata_served


def clients_part(port, zk):
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
    from confluent_kafka import KafkaException
    ac = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % port})
    fs = ac.create_topics([NewTopic("ck1", 2, 1, config={"retention.ms": "12345"})], operation_timeout=10)
    fs["ck1"].result(timeout=30)
    check(zk.get("/config/topics/ck1")[0] == b'{"version":1,"config":{"retention.ms":"12345"}}', "ck1 config")
    fs = ac.create_topics([NewTopic("ckv", 1, 1)], validate_only=True)
    fs["ckv"].result(timeout=30)
    check(not zk.exists("/brokers/topics/ckv"), "confluent validate_only wrote the topic")
    try:
        ac.create_topics([NewTopic("ck1", 2, 1)])["ck1"].result(timeout=30)
        fail("duplicate create succeeded")
    except KafkaException as ex:
        check(ex.args[0].code() == TOPIC_EXISTS, "duplicate: %r" % ex)
    ac.create_partitions([NewPartitions("ck1", 4)], operation_timeout=10)["ck1"].result(timeout=30)
    check(len(json.loads(zk.get("/brokers/topics/ck1")[0])["partitions"]) == 4, "create_partitions")
    res = ConfigResource("topic", "ck1")
    cfg = ac.describe_configs([res])[res].result(timeout=30)
    check(cfg["retention.ms"].value == "12345", "describe_configs: %r" % cfg["retention.ms"])
    ac.alter_configs([ConfigResource("topic", "ck1", set_config={"retention.ms": "999"})])[res].result(timeout=30)
    check(zk.get("/config/topics/ck1")[0] == b'{"version":1,"config":{"retention.ms":"999"}}', "alter_configs")
    ac.delete_topics(["ck1"], operation_timeout=30)["ck1"].result(timeout=60)
    print("ok: confluent_kafka AdminClient")

    from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic
    ka = KafkaAdminClient(bootstrap_servers="127.0.0.1:%d" % port, request_timeout_ms=30000)
    r = ka.create_topics([KNewTopic("kp1", 1, 1, topic_configs={"cleanup.policy": "compact"})], timeout_ms=10000)
    check(all(t[1] == 0 for t in r.topic_errors), "kafka-python create: %r" % (r.topic_errors,))
    check(zk.get("/config/topics/kp1")[0] == b'{"version":1,"config":{"cleanup.policy":"compact"}}', "kp1 config")
    r = ka.delete_topics(["kp1"], timeout_ms=30000)
    check(all(t[1] == 0 for t in r.topic_error_codes), "kafka-python delete: %r" % (r.topic_error_codes,))
    ka.close()
    print("ok: kafka-python KafkaAdminClient")

    if not shutil.which("node"):
        print("note: node is not installed; kafkajs part skipped")
        return
    r = subprocess.run(["sh", os.path.join(TOP, "deploy", "peers.sh"), "kafkajs"], capture_output=True, text=True)
    if r.returncode != 0:
        print("note: kafkajs unavailable (%s); kafkajs part skipped" % r.stderr.strip())
        return
    mods = os.path.join(r.stdout.strip().splitlines()[-1], "node_modules")
    env = dict(os.environ, NODE_PATH=mods, KAFKAJS_NO_PARTITIONER_WARNING="1")
    js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "0440-broker-admin.js")
    p = subprocess.run(["node", js, "127.0.0.1:%d" % port], capture_output=True, text=True, env=env, timeout=180)
    out = p.stdout + p.stderr
    check(p.returncode == 0 and out.count("ok ") >= 4, "kafkajs admin:\n" + out[-3000:])
    print("ok: kafkajs admin (createTopics, createPartitions, describeConfigs, alterConfigs, deleteTopics)")


def main():
    if not os.access(BROKER, os.X_OK):
        print("SKIP: %s not built" % BROKER)
        sys.exit(77)
    try:
        from kazoo.client import KazooClient
        import kafka  # noqa: F401
    except ImportError:
        print("SKIP: kazoo or kafka-python not installed for /usr/bin/python3")
        sys.exit(77)
    coord = zkharness.Server("gregor")
    try:
        coord.start()
    except zkharness.NotFunctional as e:
        print("SKIP: gregor-coord not functional: %s" % e)
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="t0440-")
    zk = KazooClient(hosts=coord.address)
    zk.start()
    broker = None
    try:
        port = free_port()
        # another broker (7) is the controller when ours starts
        zk.create("/controller", b'{"version":1,"brokerid":7,"timestamp":"1"}', ephemeral=True)
        broker = Broker(coord.address, os.path.join(tmp, "logs"), port)
        check(wait_for(lambda: zk.exists("/latest_producer_id_block") and zk.get("/latest_producer_id_block")[0],
                       15), "the broker did not start (no producer id block):\n" + broker.log()[-3000:])
        if not wait_for(lambda: zk.exists("/brokers/ids/0"), 3):
            # registration (helper "ctl") not there yet: stand in for it
            zk.create("/brokers/ids/0", json.dumps({
                "version": 4, "host": "127.0.0.1", "port": port, "jmx_port": -1, "timestamp": "1",
                "endpoints": ["PLAINTEXT://127.0.0.1:%d" % port],
                "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"}}).encode(), ephemeral=True, makepath=True)
        not_controller_part(port)
        zk.delete("/controller")
        if not wait_for(lambda: zk.exists("/controller") and
                        json.loads(zk.get("/controller")[0])["brokerid"] == 0, 5):
            # the controller (helper "ctl") is not there yet: stand in for its election
            zk.create("/controller", b'{"version":1,"brokerid":0,"timestamp":"1"}', ephemeral=True)
        served = protocol_part(broker, zk)
        if served:
            try:
                import confluent_kafka  # noqa: F401
            except ImportError:
                print("note: confluent_kafka not installed; real-client part skipped")
                served = False
        if served:
            clients_part(port, zk)
        else:
            print("note: the broker does not serve Metadata yet; the real admin clients part is skipped")
        check(broker.p.poll() is None, "the broker died:\n" + broker.log()[-3000:])
    except SystemExit:
        if broker:
            print(broker.log()[-4000:])
        raise
    finally:
        out = broker.stop() if broker else ""
        zk.stop()
        coord.stop()
    if "Sanitizer" in out or "runtime error:" in out:
        fail("sanitizer report:\n" + out[-4000:])
    print("PASS")


if __name__ == "__main__":
    main()
