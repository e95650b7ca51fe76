#!/usr/bin/python3
"""The broker-side tools end to end: bin/kafka-console-producer.sh -> bin/kafka-console-consumer.sh
round trips (keys, codecs, --sync, --partition/--offset, --timeout-ms, --max-messages), consumer
groups (--list, --describe lag table, --reset-offsets --dry-run/--execute proven by re-consuming,
--delete), and the --bootstrap-server modes of kafka-topics.sh and kafka-configs.sh.

Broker under test: gregor-broker on a gregor-coord (default). If gregor-broker does not serve
Metadata yet, the test skips (77). GREGOR_TOOLS_BROKER=kafka09 runs the same against Apache Kafka
0.9.0.1 (deploy/peers.sh kafka09) to prove the test itself; 0.9 has no admin APIs and no "Empty"
groups, so those steps are left out there. Exit 0 pass, 77 skip, 1 fail."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkharness  # noqa: E402

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, "bin")
KIND = os.environ.get("GREGOR_TOOLS_BROKER", "gregor")
PROCS = []


def tool(name, *args, stdin=None, ok=True, timeout=90):
    cmd = [os.path.join(BIN, name), *args]
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    print("$ %s %s\n%s%s[rc %d]" % (name, " ".join(args), r.stdout, r.stderr, r.returncode), flush=True)
    if ok is True:
        assert r.returncode == 0, "exit %d" % r.returncode
    elif ok is False:
        assert r.returncode != 0, "expected failure"
    return r


def start(cmd, log, env=None):
    f = open(log, "w")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    PROCS.append(p)
    return p


def stop_all():
    for p in PROCS:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in PROCS:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def metadata_ok(bootstrap, old):
    """True when the broker answers Metadata (confluent_kafka, 5 s)."""
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        raise zkharness.SkipTest("confluent_kafka is not installed")
    conf = {"bootstrap.servers": bootstrap}
    if old:
        conf.update({"api.version.request": False, "broker.version.fallback": "0.9.0"})
    try:
        md = AdminClient(conf).list_topics(timeout=5)
        return len(md.brokers) > 0
    except Exception as e:   # noqa: BLE001
        print("metadata: %s" % e)
        return False


def main():
    tmp = tempfile.mkdtemp(prefix="gregor-0461-")
    srv = zkharness.start_server("gregor")
    try:
        body(srv, tmp)
    finally:
        stop_all()
        srv.cleanup()
        if os.environ.get("ZKH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


def body(srv, tmp):
    kport = zkharness.free_port()
    B = "127.0.0.1:%d" % kport
    old = KIND == "kafka09"
    if old:
        r = subprocess.run([os.path.join(TOP, "deploy", "peers.sh"), "kafka09"], capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise zkharness.SkipTest("Kafka 0.9.0.1 is not available: " + r.stderr.strip())
        props = os.path.join(tmp, "server.properties")
        with open(props, "w") as f:
            f.write("broker.id=0\nlisteners=PLAINTEXT://%s\nlog.dirs=%s/logs\nzookeeper.connect=%s\n"
                    "delete.topic.enable=true\noffsets.topic.replication.factor=1\noffsets.topic.num.partitions=2\n"
                    % (B, tmp, srv.address))
        start([os.path.join(r.stdout.strip(), "bin", "kafka-server-start.sh"), props], os.path.join(tmp, "broker.log"),
              env=dict(os.environ, KAFKA_HEAP_OPTS="-Xmx256M"))
        deadline = 60
    else:
        broker = os.path.join(TOP, "build", "bin", "gregor-broker")
        if not os.path.exists(broker):
            raise zkharness.SkipTest("build/bin/gregor-broker is not built")
        start([os.path.join(BIN, "kafka-server-start.sh"), os.path.join(TOP, "deploy", "server.properties.example"),
               "--override", "zookeeper.connect=" + srv.address, "--override", "log.dirs=" + tmp + "/logs",
               "--override", "listeners=PLAINTEXT://" + B, "--override", "offsets.topic.num.partitions=2",
               "--override", "delete.topic.enable=true"], os.path.join(tmp, "broker.log"))
        deadline = 20
    t0 = time.time()
    while not metadata_ok(B, old):
        if PROCS[-1].poll() is not None or time.time() - t0 > deadline:
            with open(os.path.join(tmp, "broker.log")) as f:
                tail = f.read()[-2000:]
            raise zkharness.SkipTest("%s does not serve Metadata yet (log tail: %s)" % (KIND, tail.strip()))
        time.sleep(0.5)

    cc = []      # client settings for 0.9
    pp, cp = [], []
    if old:
        cfgfile = os.path.join(tmp, "old.properties")
        with open(cfgfile, "w") as f:
            f.write("api.version.request=false\nbroker.version.fallback=0.9.0\n")
        cc = ["--command-config", cfgfile]
        pp = ["--producer.config", cfgfile]
        cp = ["--consumer.config", cfgfile]

    # --- topic ---
    if old:
        tool("kafka-topics.sh", "--zookeeper", srv.address, "--create", "--topic", "rt", "--partitions", "2",
             "--replication-factor", "1")
    else:
        r = tool("kafka-topics.sh", "--bootstrap-server", B, "--create", "--topic", "rt", "--partitions", "2",
                 "--replication-factor", "1")
        assert r.stdout == "Created topic rt.\n", r.stdout
        r = tool("kafka-topics.sh", "--bootstrap-server", B, "--create", "--topic", "rt", "--partitions", "2",
                 "--replication-factor", "1", ok=False)
        assert "TopicExistsException" in r.stdout and "already exists" in r.stdout, r.stdout
    t0 = time.time()
    while True:   # wait for the controller to elect leaders
        r = tool("kafka-topics.sh", "--zookeeper", srv.address, "--describe", "--topic", "rt")
        if r.stdout.count("Leader: 0") == 2:
            break
        assert time.time() - t0 < 30, "no leaders for rt"
        time.sleep(0.5)

    # --- produce: keys, then codecs ---
    keyed = "k1\tv1\nk2\tv2\nk3\tv3\nk1\tv4\n"
    r = tool("kafka-console-producer.sh", "--broker-list", B, "--topic", "rt", "--property", "parse.key=true", *pp,
             stdin=keyed)
    assert r.stdout == "" and "ERROR" not in r.stderr, r.stderr
    expect = ["k1\tv1", "k2\tv2", "k3\tv3", "k1\tv4"]
    codecs = ["gzip", "snappy"] + ([] if old else ["lz4", "zstd"])
    for c in codecs:
        tool("kafka-console-producer.sh", "--bootstrap-server", B, "--topic", "rt", "--compression-codec", c,
             "--sync", *pp, stdin="%s-a\n%s-b\n" % (c, c))
        expect += ["null\t%s-a" % c, "null\t%s-b" % c]
    r = tool("kafka-console-producer.sh", "--broker-list", B, "--topic", "rt", "--compression-codec",
             "--request-required-acks", "all", *pp, stdin="bare-codec\n")
    expect.append("null\tbare-codec")
    r = tool("kafka-console-producer.sh", "--broker-list", B, "--topic", "rt", "--property", "parse.key=true", *pp,
             stdin="nokey\n", ok=False)
    assert "No key found on line 1: nokey" in r.stderr, r.stderr
    n = len(expect)

    # --- consume everything in a group ---
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--from-beginning",
             "--max-messages", str(n), "--property", "print.key=true", "--group", "grp", *cp)
    got = r.stdout.splitlines()
    assert sorted(got) == sorted(expect), (got, expect)
    assert got.index("k1\tv1") < got.index("k1\tv4"), got   # same key, same partition, in order
    assert "Processed a total of %d messages" % n in r.stderr, r.stderr

    # print.partition / print.timestamp, one partition from an offset
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--from-beginning",
             "--max-messages", str(n), "--property", "print.partition=true", "--property", "print.key=true", *cp)
    part_of = {}
    for line in r.stdout.splitlines():
        m = re.match(r"Partition:(\d)\t(\S+)\t(\S+)$", line)
        assert m, line
        part_of[m.group(3)] = int(m.group(1))
    p1 = part_of["v1"]
    assert part_of["v4"] == p1
    in_p1 = [v for v, p in part_of.items() if p == p1]
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--partition", str(p1),
             "--offset", "earliest", "--timeout-ms", "3000", "--property", "print.timestamp=true", *cp)
    lines = r.stdout.splitlines()
    assert len(lines) == len(in_p1), (lines, in_p1)
    for line in lines:
        assert re.match(r"(CreateTime:\d+|NO_TIMESTAMP)\t", line), line
    assert "Processed a total of %d messages" % len(in_p1) in r.stderr, r.stderr
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--partition", str(p1),
             "--offset", "1", "--max-messages", "1", *cp)
    assert len(r.stdout.splitlines()) == 1
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--timeout-ms", "2000", *cp)
    assert r.stdout == "" and "Processed a total of 0 messages" in r.stderr, r.stderr
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--offset", "3", ok=False)
    assert "The partition is required when offset is specified." in r.stderr

    # --- consumer groups ---
    if not old:   # 0.9 forgets a group without members (no "Empty" state)
        r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--list")
        assert "grp" in r.stdout.splitlines(), r.stdout
        r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--describe", "--group", "grp")
        assert "Consumer group 'grp' has no active members." in r.stderr, r.stderr
        rows = [l.split() for l in r.stdout.splitlines() if l.startswith("grp ")]
        assert len(rows) == 2, r.stdout
        for row in rows:   # GROUP TOPIC PARTITION CURRENT LEO LAG - - -
            assert row[1] == "rt" and row[3] == row[4] and row[5] == "0" and row[6:] == ["-", "-", "-"], row
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, *cc, "--reset-offsets", "--group", "grp",
             "--topic", "rt:%d" % p1, "--to-offset", "1", "--dry-run")
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith("grp ")]
    assert rows == [["grp", "rt", str(p1), "1"]], r.stdout
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, *cc, "--reset-offsets", "--group", "grp",
             "--topic", "rt", "--to-earliest", "--execute")
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith("grp ")]
    assert sorted(rows) == [["grp", "rt", "0", "0"], ["grp", "rt", "1", "0"]], r.stdout
    if not old:
        r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--describe", "--group", "grp")
        rows = [l.split() for l in r.stdout.splitlines() if l.startswith("grp ")]
        assert sum(int(row[5]) for row in rows) == n, r.stdout   # LAG = everything again
    # the group resumes from the reset offsets: everything again, without --from-beginning
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--group", "grp",
             "--max-messages", str(n), "--timeout-ms", "15000", "--property", "print.key=true", *cp)
    assert sorted(r.stdout.splitlines()) == sorted(expect), r.stdout
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, *cc, "--reset-offsets", "--group", "grp",
             "--all-topics", "--to-latest", "--execute")
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "rt", "--group", "grp",
             "--timeout-ms", "3000", *cp)
    assert "Processed a total of 0 messages" in r.stderr, r.stderr
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, *cc, "--describe", "--group", "nosuchgroup")
    assert "Error: Consumer group 'nosuchgroup' does not exist." in r.stdout, r.stdout

    if old:
        return
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--reset-offsets", "--group", "grp",
             "--topic", "rt", "--to-datetime", "2000-01-01T00:00:00.000", "--dry-run")
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith("grp ")]
    assert sorted(rows) == [["grp", "rt", "0", "0"], ["grp", "rt", "1", "0"]], r.stdout
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--reset-offsets", "--group", "grp",
             "--topic", "rt", "--by-duration", "P1D", "--dry-run")
    assert sorted(l.split() for l in r.stdout.splitlines() if l.startswith("grp ")) == rows, r.stdout
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--delete", "--group", "grp")
    assert r.stdout == "Deletion of requested consumer groups ('grp') was successful.\n", r.stdout
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", B, "--list")
    assert "grp" not in r.stdout.splitlines(), r.stdout

    # --- topics / configs over the Kafka protocol ---
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--list")
    assert "rt" in r.stdout.splitlines(), r.stdout
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--describe", "--topic", "rt")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Topic: rt\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: "), lines
    assert lines[1] == "\tTopic: rt\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0", lines
    r = tool("kafka-configs.sh", "--bootstrap-server", B, "--entity-type", "topics", "--entity-name", "rt",
             "--alter", "--add-config", "retention.ms=123456")
    assert r.stdout == "Completed updating config for topic rt.\n", r.stdout
    r = tool("kafka-configs.sh", "--bootstrap-server", B, "--entity-type", "topics", "--entity-name", "rt",
             "--describe")
    assert "  retention.ms=123456 sensitive=false" in r.stdout, r.stdout
    r = tool("kafka-configs.sh", "--zookeeper", srv.address, "--entity-type", "topics", "--entity-name", "rt",
             "--describe")
    assert r.stdout == "Configs for topic 'rt' are retention.ms=123456\n", r.stdout
    r = tool("kafka-configs.sh", "--bootstrap-server", B, "--entity-type", "topics", "--entity-name", "rt",
             "--describe", "--all")
    assert r.stdout.startswith("All configs for topic rt are:\n") and "  retention.ms=123456 " in r.stdout, r.stdout
    assert "  cleanup.policy=delete sensitive=false synonyms={DEFAULT_CONFIG:log.cleanup.policy=delete}" in r.stdout
    r = tool("kafka-configs.sh", "--bootstrap-server", B, "--entity-type", "brokers", "--entity-name", "0",
             "--describe", "--all")
    assert r.stdout.startswith("All configs for broker 0 are:\n") and " sensitive=false synonyms={" in r.stdout
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--alter", "--topic", "rt", "--partitions", "3")
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--describe", "--topic", "rt")
    assert "PartitionCount: 3" in r.stdout, r.stdout
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--create", "--topic", "gone", "--partitions", "1",
             "--replication-factor", "1")
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--delete", "--topic", "gone")
    t0 = time.time()
    while "gone" in tool("kafka-topics.sh", "--bootstrap-server", B, "--list").stdout.splitlines():
        assert time.time() - t0 < 30, "topic 'gone' not deleted"
        time.sleep(0.5)
    r = tool("kafka-topics.sh", "--bootstrap-server", B, "--describe", "--topic", "nope", ok=False)
    assert r.stdout == "Error while executing topic command : Topic 'nope' does not exist as expected\n", r.stdout

    # --- a consumer of a topic that does not exist yet has it auto-created (Java consumer default) ---
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "fresh", "--timeout-ms", "3000")
    assert "Processed a total of 0 messages" in r.stderr, r.stderr
    assert "fresh" in tool("kafka-topics.sh", "--bootstrap-server", B, "--list").stdout.splitlines()

    # --- --zookeeper writes, the broker's controller reacts ---
    tool("kafka-topics.sh", "--zookeeper", srv.address, "--create", "--topic", "zt", "--partitions", "2",
         "--replication-factor", "1", "--config", "retention.ms=99999")
    t0 = time.time()
    while tool("kafka-topics.sh", "--bootstrap-server", B, "--describe", "--topic", "zt",
               ok=None).stdout.count("Leader: 0") != 2:
        assert time.time() - t0 < 30, "the controller did not create zt's partitions"
        time.sleep(0.5)
    r = tool("kafka-console-producer.sh", "--broker-list", B, "--topic", "zt", "--sync", stdin="z1\nz2\n")
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", B, "--topic", "zt", "--from-beginning",
             "--max-messages", "2", "--timeout-ms", "15000")
    assert sorted(r.stdout.splitlines()) == ["z1", "z2"], r.stdout
    tool("kafka-topics.sh", "--zookeeper", srv.address, "--alter", "--topic", "zt", "--partitions", "3")
    t0 = time.time()
    while "PartitionCount: 3" not in tool("kafka-topics.sh", "--bootstrap-server", B, "--describe", "--topic", "zt",
                                          ok=None).stdout:
        assert time.time() - t0 < 30, "the controller did not add zt's partition"
        time.sleep(0.5)
    tool("kafka-topics.sh", "--zookeeper", srv.address, "--delete", "--topic", "zt")
    t0 = time.time()
    while "zt" in tool("kafka-topics.sh", "--zookeeper", srv.address, "--list").stdout.split():
        assert time.time() - t0 < 30, "the controller did not delete zt"
        time.sleep(0.5)


if __name__ == "__main__":
    zkharness.run_test(main)
