#!/usr/bin/python3
"""bin/kafka-topics.sh and bin/kafka-configs.sh in --zookeeper mode against gregor-coord.

No broker is needed: the tools work on the coordinator directly, as Kafka's TopicCommand /
ConfigCommand --zookeeper do. Brokers are simulated by registration znodes written with kazoo,
partition state znodes likewise. Checks the exact output lines of Kafka 2.4 and the exact JSON
written (/brokers/topics/T version 2, /config/topics/T, /config/changes/config_change_N version 2,
/admin/delete_topics/T), error messages and exit codes, chroots, and — when Apache Kafka 0.9.0.1
is available (deploy/peers.sh kafka09) — that Kafka's own kafka-topics.sh reads what we wrote and
that we read what it writes. The coordinator is the harness target: gregor-coord, or Apache
ZooKeeper 3.8 with GREGOR_ITEST_TARGET=apache (the tools work against either).
Exit 0 pass, 77 skip, 1 fail."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkharness  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOPICS = os.path.join(TOP, "bin", "kafka-topics.sh")
CONFIGS = os.path.join(TOP, "bin", "kafka-configs.sh")


def run(cmd, *args, ok=True):
    r = subprocess.run([cmd, *args], capture_output=True, text=True, timeout=60)
    print("$ %s %s\n%s%s[rc %d]" % (os.path.basename(cmd), " ".join(args), r.stdout, r.stderr, r.returncode))
    if ok is True:
        assert r.returncode == 0, "exit %d: %s %s" % (r.returncode, r.stdout, r.stderr)
    elif ok is False:
        assert r.returncode != 0, "expected failure"
    return r


def broker_json(i, port):
    return json.dumps({"listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
                       "endpoints": ["PLAINTEXT://127.0.0.1:%d" % port], "jmx_port": -1,
                       "host": "127.0.0.1", "timestamp": "1", "port": port, "version": 4}).encode()


def state_json(leader, isr, epoch=0):
    return json.dumps({"controller_epoch": 1, "leader": leader, "version": 1, "leader_epoch": epoch,
                       "isr": isr}).encode()


def get_json(zk, path):
    data, _ = zk.get(path)
    return json.loads(data.decode())


def main():
    srv = zkharness.start_server("target")
    zk = KazooClient(hosts=srv.address)
    zk.start()
    try:
        body(srv, zk)
        kafka09(srv, zk)
    finally:
        zk.stop()
        zk.close()
        srv.cleanup()


def body(srv, zk):
    Z = srv.address
    for i in (0, 1, 2):
        zk.create("/brokers/ids/%d" % i, broker_json(i, 9090 + i), makepath=True)

    # --- create ---
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "t1", "--partitions", "3", "--replication-factor", "2")
    assert r.stdout == "Created topic t1.\n", r.stdout
    a = get_json(zk, "/brokers/topics/t1")
    assert a["version"] == 2 and a["adding_replicas"] == {} and a["removing_replicas"] == {}, a
    assert sorted(a["partitions"]) == ["0", "1", "2"], a
    for p, reps in a["partitions"].items():
        assert len(reps) == 2 and len(set(reps)) == 2 and set(reps) <= {0, 1, 2}, a
    # Kafka's round robin: the leaders of consecutive partitions are consecutive brokers
    leaders = [a["partitions"][str(p)][0] for p in range(3)]
    assert sorted(leaders) == [0, 1, 2], leaders
    data, _ = zk.get("/config/topics/t1")
    assert data == b'{"version":1,"config":{}}', data

    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "t1", "--partitions", "1", "--replication-factor", "1",
            ok=False)
    assert r.stdout == "Error while executing topic command : Topic 't1' already exists.\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "t1", "--partitions", "1", "--replication-factor", "1",
            "--if-not-exists")
    assert r.stdout == "", r.stdout

    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "cfg", "--partitions", "1", "--replication-factor", "1",
            "--config", "retention.ms=1000", "--config", "cleanup.policy=compact")
    assert get_json(zk, "/config/topics/cfg") == {"version": 1, "config": {"retention.ms": "1000",
                                                                          "cleanup.policy": "compact"}}
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "bad", "--partitions", "1", "--replication-factor", "1",
            "--config", "foo=1", ok=False)
    assert r.stdout == "Error while executing topic command : Unknown topic config name: foo\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "bad", "--partitions", "1", "--replication-factor", "1",
            "--config", "retention.ms=abc", ok=False)
    assert "Invalid value abc for configuration retention.ms" in r.stdout, r.stdout
    assert not zk.exists("/brokers/topics/bad") and not zk.exists("/config/topics/bad")

    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "big", "--partitions", "1", "--replication-factor", "4",
            ok=False)
    assert r.stdout == ("Error while executing topic command : Replication factor: 4 larger than available "
                        "brokers: 3.\n"), r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "bad name", "--partitions", "1",
            "--replication-factor", "1", ok=False)
    assert "is illegal, it contains a character other than ASCII alphanumerics" in r.stdout, r.stdout

    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "man", "--replica-assignment", "2:1,0:2")
    assert get_json(zk, "/brokers/topics/man")["partitions"] == {"0": [2, 1], "1": [0, 2]}
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "man2", "--replica-assignment", "2:1,0",
            ok=False)
    assert "Partition 1 has different replication factor" in r.stdout, r.stdout
    # what tutorials type (seeds/001): no --partitions; Kafka's default of 1 is taken, with a note
    r = run(TOPICS, "--create", "--zookeeper", Z, "--replication-factor", "1", "--topic", "first")
    assert r.stdout == "Created topic first.\n" and "--partitions not given; using 1" in r.stderr, r.stderr
    assert len(get_json(zk, "/brokers/topics/first")["partitions"]) == 1
    zk.delete("/brokers/topics/first")
    zk.delete("/config/topics/first")
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "x", "--partitions", "1", "--replica-assignment", "0",
            ok=False)
    assert 'Option "[replica-assignment]" can\'t be used with option "[partitions]"' in r.stderr, r.stderr

    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "a.b", "--partitions", "1", "--replication-factor", "1")
    assert r.stdout.startswith("WARNING: Due to limitations in metric names"), r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--create", "--topic", "a_b", "--partitions", "1", "--replication-factor", "1",
            ok=False)
    assert "Topic 'a_b' collides with existing topics: a.b" in r.stdout, r.stdout

    # --- list ---
    r = run(TOPICS, "--zookeeper", Z, "--list")
    assert r.stdout == "a.b\ncfg\nman\nt1\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--list", "--topic", "t.*,man")
    assert r.stdout == "man\nt1\n", r.stdout

    # --- describe (partition states as a controller writes them) ---
    a = get_json(zk, "/brokers/topics/t1")["partitions"]
    zk.create("/brokers/topics/t1/partitions/0/state", state_json(a["0"][0], a["0"]), makepath=True)
    zk.create("/brokers/topics/t1/partitions/1/state", state_json(a["1"][0], a["1"][:1]), makepath=True)
    zk.create("/brokers/topics/t1/partitions/2/state", state_json(-1, []), makepath=True)
    rep = {p: ",".join(map(str, a[p])) for p in a}
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--topic", "t1")
    want = ("Topic: t1\tPartitionCount: 3\tReplicationFactor: 2\tConfigs: \n"
            "\tTopic: t1\tPartition: 0\tLeader: %d\tReplicas: %s\tIsr: %s\n"
            "\tTopic: t1\tPartition: 1\tLeader: %d\tReplicas: %s\tIsr: %d\n"
            "\tTopic: t1\tPartition: 2\tLeader: -1\tReplicas: %s\tIsr: \n") % (
        a["0"][0], rep["0"], rep["0"], a["1"][0], rep["1"], a["1"][0], rep["2"])
    assert r.stdout == want, (r.stdout, want)
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--topic", "cfg")
    assert r.stdout.startswith("Topic: cfg\tPartitionCount: 1\tReplicationFactor: 1\t"
                               "Configs: retention.ms=1000,cleanup.policy=compact\n"), r.stdout
    assert "\tLeader: none\t" in r.stdout, r.stdout   # no state znode yet
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--under-replicated-partitions", "--topic", "t1")
    assert [l.split("\t")[2] for l in r.stdout.splitlines()] == ["Partition: 1", "Partition: 2"], r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--unavailable-partitions", "--topic", "t1")
    assert [l.split("\t")[2] for l in r.stdout.splitlines()] == ["Partition: 2"], r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--topics-with-overrides")
    assert r.stdout == ("Topic: cfg\tPartitionCount: 1\tReplicationFactor: 1\t"
                        "Configs: retention.ms=1000,cleanup.policy=compact\n"), r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--topic", "nope", ok=False)
    assert r.stdout == "Error while executing topic command : Topic 'nope' does not exist as expected\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--describe", "--topic", "nope", "--if-exists")
    assert r.stdout == ""

    # --- alter ---
    before = get_json(zk, "/brokers/topics/t1")["partitions"]
    r = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "t1", "--partitions", "5")
    assert r.stdout.endswith("Adding partitions succeeded!\n"), r.stdout
    after = get_json(zk, "/brokers/topics/t1")
    assert after["version"] == 2 and sorted(after["partitions"]) == ["0", "1", "2", "3", "4"], after
    for p in before:
        assert after["partitions"][p] == before[p], (before, after)
    for p in ("3", "4"):
        assert len(set(after["partitions"][p])) == 2, after
    r = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "t1", "--partitions", "2", ok=False)
    assert ("The number of partitions for a topic can only be increased. Topic t1 currently has 5 partitions, "
            "2 would not be an increase.") in r.stdout, r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "man", "--partitions", "3",
            "--replica-assignment", "2:1,0:2,1:0")
    assert get_json(zk, "/brokers/topics/man")["partitions"] == {"0": [2, 1], "1": [0, 2], "2": [1, 0]}
    r = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "nope", "--partitions", "3", ok=False)
    assert r.stdout == "Error while executing topic command : Topic 'nope' does not exist as expected\n", r.stdout

    nchanges = len(zk.get_children("/config/changes")) if zk.exists("/config/changes") else 0
    r = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "cfg", "--config", "retention.ms=2000",
            "--delete-config", "cleanup.policy")
    assert "Updated config for topic cfg.\n" in r.stdout, r.stdout
    assert get_json(zk, "/config/topics/cfg") == {"version": 1, "config": {"retention.ms": "2000"}}
    ch = sorted(zk.get_children("/config/changes"))
    assert len(ch) == nchanges + 1 and ch[-1].startswith("config_change_"), ch
    assert get_json(zk, "/config/changes/" + ch[-1]) == {"version": 2, "entity_path": "topics/cfg"}

    # --- kafka-configs.sh ---
    r = run(CONFIGS, "--zookeeper", Z, "--entity-type", "topics", "--entity-name", "t1", "--alter",
            "--add-config", "retention.ms=5,cleanup.policy=[compact,delete]")
    assert r.stdout == "Completed Updating config for entity: topic 't1'.\n", r.stdout
    assert get_json(zk, "/config/topics/t1")["config"] == {"retention.ms": "5", "cleanup.policy": "compact,delete"}
    ch = sorted(zk.get_children("/config/changes"))
    assert get_json(zk, "/config/changes/" + ch[-1]) == {"version": 2, "entity_path": "topics/t1"}
    r = run(CONFIGS, "--zookeeper", Z, "--entity-type", "topics", "--entity-name", "t1", "--describe")
    assert r.stdout == "Configs for topic 't1' are retention.ms=5,cleanup.policy=compact,delete\n", r.stdout
    r = run(CONFIGS, "--zookeeper", Z, "--entity-type", "topics", "--entity-name", "t1", "--alter",
            "--delete-config", "retention.ms,nope", ok=False)
    assert r.stderr == "Invalid config(s): nope\n", r.stderr
    r = run(CONFIGS, "--zookeeper", Z, "--entity-type", "topics", "--entity-name", "t1", "--alter",
            "--delete-config", "retention.ms")
    r = run(CONFIGS, "--zookeeper", Z, "--entity-type", "topics", "--entity-name", "t1", "--alter",
            "--add-config", "foo=1", ok=False)
    assert r.stderr == "Unknown topic config name: foo\n", r.stderr
    r = run(CONFIGS, "--zookeeper", Z, "--entity-type", "topics", "--describe")
    assert "Configs for topic 't1' are cleanup.policy=compact,delete\n" in r.stdout, r.stdout
    assert "Configs for topic 'cfg' are retention.ms=2000\n" in r.stdout, r.stdout

    # --- delete ---
    r = run(TOPICS, "--zookeeper", Z, "--delete", "--topic", "man")
    assert r.stdout == ("Topic man is marked for deletion.\n"
                        "Note: This will have no impact if delete.topic.enable is not set to true.\n"), r.stdout
    data, _ = zk.get("/admin/delete_topics/man")
    assert not data, data   # Kafka 2.x writes null data
    r = run(TOPICS, "--zookeeper", Z, "--delete", "--topic", "man")
    assert r.stdout == "Topic man is already marked for deletion.\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--list")
    assert r.stdout == "a.b\ncfg\nman - marked for deletion\nt1\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--delete", "--topic", "nope", ok=False)
    assert r.stdout == "Error while executing topic command : Topic 'nope' does not exist as expected\n", r.stdout
    r = run(TOPICS, "--zookeeper", Z, "--delete", "--topic", "nope", "--if-exists")

    # --- hand-written junk in the znodes names the znode and does not stop the others ---
    zk.create("/brokers/topics/junk", b"not json")
    zk.create("/config/topics/junk2", b"[1,2]", makepath=True)
    zk.create("/brokers/topics/junk2", b'{"version":1,"partitions":{"0":[0]}}')
    r = run(TOPICS, "--zookeeper", Z, "--describe", ok=False)
    assert "Error while executing topic command : /brokers/topics/junk does not hold a Kafka partition" in r.stdout
    assert "Topic: t1\tPartitionCount: 5" in r.stdout and "Topic: junk2\tPartitionCount: 1" in r.stdout, r.stdout
    assert "WARN /config/topics/junk2 does not hold a Kafka config" in r.stderr, r.stderr
    r = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "junk", "--partitions", "3", ok=False)
    assert "/brokers/topics/junk does not hold a Kafka partition assignment" in r.stdout, r.stdout
    zk.delete("/brokers/topics/junk")
    zk.delete("/brokers/topics/junk2")
    zk.delete("/config/topics/junk2")

    # --- usage errors ---
    r = run(TOPICS, "--zookeeper", Z, "--list", "--describe", ok=False)
    assert r.stderr.startswith("Command must include exactly one action"), r.stderr
    r = run(TOPICS, "--list", ok=False)
    assert "Only one of --bootstrap-server or --zookeeper must be specified" in r.stderr, r.stderr
    r = run(TOPICS, "--zookeeper", Z, "--list", "--bogus", ok=False)
    assert "bogus is not a recognized option" in r.stderr, r.stderr

    # --- chroot ---
    zk.create("/kafka/brokers/ids/7", broker_json(7, 9097), makepath=True)
    r = run(TOPICS, "--zookeeper", Z + "/kafka", "--create", "--topic", "ch", "--partitions", "2",
            "--replication-factor", "1")
    assert get_json(zk, "/kafka/brokers/topics/ch")["partitions"] == {"0": [7], "1": [7]}
    assert zk.exists("/kafka/config/topics/ch") and not zk.exists("/brokers/topics/ch")
    r = run(TOPICS, "--zookeeper", Z + "/kafka", "--list")
    assert r.stdout == "ch\n", r.stdout

    # --- a coordinator that is not there ---
    port = zkharness.free_port()
    r = subprocess.run([TOPICS, "--zookeeper", "127.0.0.1:%d" % port, "--list"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, GREGOR_ZK_CONNECT_TIMEOUT_MS="4000"))
    # (waits the connection timeout, 30 s like Kafka's tool unless the variable says less,
    # then says what to check)
    assert r.returncode == 1 and "Timed out waiting for connection" in r.stderr, r.stderr
    assert "Waiting for the coordinator at 127.0.0.1:%d to answer (up to 1 s more)..." % port in r.stderr, r.stderr


def kafka09(srv, zk):
    """Apache Kafka 0.9.0.1's kafka-topics.sh reads our znodes and we read its."""
    r = subprocess.run([os.path.join(TOP, "deploy", "peers.sh"), "kafka09"], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0 or not os.path.exists("/usr/bin/java"):
        print("(Kafka 0.9.0.1 not available: %s; skipping the cross-check)" % r.stderr.strip())
        return
    kt = os.path.join(r.stdout.strip(), "bin", "kafka-topics.sh")
    env = dict(os.environ, KAFKA_HEAP_OPTS="-Xmx128M")
    Z = srv.address

    def k09(*args):
        res = subprocess.run([kt, "--zookeeper", Z, *args], capture_output=True, text=True, timeout=120, env=env)
        print("$ kafka09 kafka-topics.sh %s\n%s%s" % (" ".join(args), res.stdout, res.stderr))
        return res

    res = k09("--list")
    assert res.stdout.splitlines() == ["a.b", "cfg", "man - marked for deletion", "t1"], res.stdout
    res = k09("--describe", "--topic", "cfg")
    assert res.stdout.startswith("Topic:cfg\tPartitionCount:1\tReplicationFactor:1\tConfigs:retention.ms=2000"), \
        res.stdout
    res = k09("--create", "--topic", "old", "--partitions", "2", "--replication-factor", "1")
    assert "Created topic \"old\"" in res.stdout, res.stdout
    assert get_json(zk, "/brokers/topics/old")["version"] == 1
    out = run(TOPICS, "--zookeeper", Z, "--describe", "--topic", "old").stdout
    assert out.startswith("Topic: old\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: \n"), out
    out = run(TOPICS, "--zookeeper", Z, "--alter", "--topic", "old", "--partitions", "3").stdout
    assert len(get_json(zk, "/brokers/topics/old")["partitions"]) == 3
    res = k09("--describe", "--topic", "old")
    assert "PartitionCount:3" in res.stdout, res.stdout


if __name__ == "__main__":
    zkharness.run_test(main)
