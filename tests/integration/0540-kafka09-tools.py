#!/usr/bin/python3
"""Apache Kafka 0.9.0.1's own command-line tools against a real broker (gregor-broker;
KH_TARGET=kafka09 runs them against the real 0.9.0.1 broker, which proves the test).

Scenarios:
  kafka-topics.sh --zookeeper   --create (3 partitions), --list, --describe showing Leader: 0 and
                                Isr: 0 for every partition, --delete (the topic disappears from
                                the coordinator, from Metadata and from --list)
  console producer              kafka-console-producer.sh --broker-list (the Java 0.9 producer:
                                Metadata v0, Produce v1) with keys (parse.key)
  old console consumer          kafka-console-consumer.sh --zookeeper (the ZooKeeper-based Scala
                                consumer: reads /brokers itself, Fetch v0, registers in
                                /consumers/<group>/ids and commits to /consumers/<group>/offsets)
  new console consumer          kafka-console-consumer.sh --new-consumer --bootstrap-server (Java
                                0.9 group consumer: GroupCoordinator, JoinGroup v0, Fetch v1,
                                OffsetCommit v2)
  consumer groups tool          kafka-consumer-groups.sh --zookeeper --list/--describe (the old
                                consumer's offsets, lag 0) and --new-consumer --list (ListGroups)
  chroot                        a broker with zookeeper.connect=HOST:PORT/kafka (seeds/002) and
                                kafka-topics.sh --zookeeper HOST:PORT/kafka create/describe
Exit 0 pass, 77 skip, 1 fail."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402


class Tools:
    def __init__(self, c):
        self.c = c
        self.home = kh.kafka09_home()
        self.env = kh.kafka09_env(os.path.join(c.dir, "toollogs"))
        self.env["KAFKA_HEAP_OPTS"] = "-Xmx128m"

    def run(self, tool, args, input=None, timeout=90, check=True):
        return kh.run_cmd([os.path.join(self.home, "bin", tool)] + args,
                          input=input.encode() if input is not None else None,
                          timeout=timeout, env=self.env, check=check)

    def topics(self, *args, zk=None):
        rc, out, err = self.run("kafka-topics.sh", ["--zookeeper", zk or self.c.zk_connect] +
                                list(args))
        return out + err


def describe_ok(out, topic, n):
    for p in range(n):
        rx = r"Topic: %s\s+Partition: %d\s+Leader: 0\s+Replicas: 0\s+Isr: 0" % (re.escape(topic), p)
        if not re.search(rx, out):
            raise AssertionError("--describe does not show partition %d of %s led by 0:\n%s" % (
                p, topic, out))
    if not re.search(r"Topic:%s\s+PartitionCount:%d\s+ReplicationFactor:1" % (re.escape(topic), n), out):
        raise AssertionError("--describe summary line of %s:\n%s" % (topic, out))


def scenario_topics(t):
    c = t.c
    out = t.topics("--create", "--topic", "tools-a", "--partitions", "3", "--replication-factor", "1")
    if 'Created topic "tools-a".' not in out:
        raise AssertionError("--create said:\n%s" % out)
    c.wait_leaders("tools-a", 3)
    out = t.topics("--list")
    if "tools-a" not in out.split():
        raise AssertionError("--list:\n%s" % out)
    describe_ok(t.topics("--describe", "--topic", "tools-a"), "tools-a", 3)
    # a second topic, to delete
    t.topics("--create", "--topic", "tools-del", "--partitions", "2", "--replication-factor", "1")
    c.wait_leaders("tools-del", 2)
    out = t.topics("--delete", "--topic", "tools-del")
    if "Topic tools-del is marked for deletion." not in out:
        raise AssertionError("--delete said:\n%s" % out)
    z = c.zk()
    try:
        def gone():
            return (not z.exists("/brokers/topics/tools-del") and
                    not z.exists("/admin/delete_topics/tools-del"))
        try:
            kh.wait_until(gone, 30, 0.1, "/brokers/topics/tools-del and /admin/delete_topics/tools-del to go")
        except TimeoutError as e:
            raise AssertionError("%s: /brokers/topics/tools-del %s, /admin/delete_topics %s" % (
                e, z.exists("/brokers/topics/tools-del"), z.get_children("/admin/delete_topics")
                if z.exists("/admin/delete_topics") else None))
    finally:
        z.stop()
        z.close()
    kh.wait_until(lambda: "tools-del" not in kh.metadata_v0(c.port)["topics"], 30, 0.1,
                  "tools-del to leave Metadata")
    out = t.topics("--list")
    if "tools-del" in out.split() or "tools-a" not in out.split():
        raise AssertionError("--list after delete:\n%s" % out)


def produce_console(t, topic, lines):
    t.run("kafka-console-producer.sh", ["--broker-list", t.c.bootstrap, "--topic", topic,
                                        "--property", "parse.key=true",
                                        "--property", "key.separator=:",
                                        "--request-required-acks", "1", "--sync"],
          input="".join(ln + "\n" for ln in lines))


def read_back(c, topic, want):
    """Reads every record of `topic` with kcat's 0.9 path (Fetch v0, magic 0), as key:value."""
    rc, out, err = kh.run_cmd(["kcat", "-b", c.bootstrap, "-X", "api.version.request=false",
                               "-X", "broker.version.fallback=0.9.0", "-C", "-t", topic, "-e",
                               "-o", "beginning", "-f", "%k:%s\\n"], timeout=60)
    got = sorted(ln for ln in out.splitlines() if ln)
    if got != sorted(want):
        raise AssertionError("records of %s: %r, want %r" % (topic, got[:10], sorted(want)[:10]))


def scenario_producer(t):
    t.topics("--create", "--topic", "tools-p", "--partitions", "2", "--replication-factor", "1")
    t.c.wait_leaders("tools-p", 2)
    lines = ["key%d:value %d" % (i, i) for i in range(50)]
    produce_console(t, "tools-p", lines)
    read_back(t.c, "tools-p", lines)


def scenario_old_consumer(t):
    lines = ["ok%d:old consumer %d" % (i, i) for i in range(20)]
    t.topics("--create", "--topic", "tools-old", "--partitions", "2", "--replication-factor", "1")
    t.c.wait_leaders("tools-old", 2)
    produce_console(t, "tools-old", lines)
    # a group of our own: with a generated one the tool deletes /consumers/<group> on exit
    cfg = os.path.join(t.c.dir, "old-consumer.properties")
    with open(cfg, "w") as f:
        f.write("group.id=tools-old-group\n")
    rc, out, err = t.run("kafka-console-consumer.sh",
                         ["--zookeeper", t.c.zk_connect, "--topic", "tools-old", "--from-beginning",
                          "--consumer.config", cfg,
                          "--max-messages", "20", "--timeout-ms", "30000",
                          "--property", "print.key=true", "--property", "key.separator=:"],
                         timeout=90)
    got = sorted(ln for ln in out.splitlines() if ln and ":" in ln)
    if got != sorted(lines):
        raise AssertionError("old consumer printed %r, want %r\nstderr: %s" % (
            got[:5], sorted(lines)[:5], err[-2000:]))
    # it kept its group in the coordinator: /consumers/<group>/{ids,owners,offsets}
    z = t.c.zk()
    try:
        g = "tools-old-group"
        if not z.exists("/consumers/" + g):
            raise AssertionError("no /consumers/%s: /consumers has %r" % (
                g, z.get_children("/consumers") if z.exists("/consumers") else None))
        kids = set(z.get_children("/consumers/" + g))
        if not {"ids", "owners", "offsets"} <= kids:
            raise AssertionError("/consumers/%s has %r" % (g, kids))
        offs = {}
        for p in z.get_children("/consumers/%s/offsets/tools-old" % g):
            offs[int(p)] = int(z.get("/consumers/%s/offsets/tools-old/%s" % (g, p))[0])
        if sum(offs.values()) != 20:
            raise AssertionError("committed offsets %r do not add up to 20" % offs)
    finally:
        z.stop()
        z.close()


def scenario_new_consumer(t):
    lines = ["nk%d:new consumer %d" % (i, i) for i in range(20)]
    t.topics("--create", "--topic", "tools-new", "--partitions", "3", "--replication-factor", "1")
    t.c.wait_leaders("tools-new", 3)
    produce_console(t, "tools-new", lines)
    cfg = os.path.join(t.c.dir, "new-consumer.properties")
    with open(cfg, "w") as f:
        f.write("group.id=tools-new-group\n")
    rc, out, err = t.run("kafka-console-consumer.sh",
                         ["--new-consumer", "--bootstrap-server", t.c.bootstrap, "--topic",
                          "tools-new", "--from-beginning", "--max-messages", "20",
                          "--consumer.config", cfg,
                          "--timeout-ms", "30000",
                          "--property", "print.key=true", "--property", "key.separator=:"],
                         timeout=90)
    got = sorted(ln for ln in out.splitlines() if ln and ":" in ln)
    if got != sorted(lines):
        raise AssertionError("--new-consumer printed %r, want %r\nstderr: %s" % (
            got[:5], sorted(lines)[:5], err[-2000:]))


def scenario_groups_tool(t):
    """kafka-consumer-groups.sh: --zookeeper lists and describes the old consumer's group from
    /consumers (offsets = log end, lag 0); --new-consumer --bootstrap-server (ListGroups v0)
    lists the new consumer's group."""
    rc, out, err = t.run("kafka-consumer-groups.sh", ["--zookeeper", t.c.zk_connect, "--list"])
    if "tools-old-group" not in out.split():
        raise AssertionError("--zookeeper --list:\n%s\n%s" % (out, err[-1000:]))
    rc, out, err = t.run("kafka-consumer-groups.sh", ["--zookeeper", t.c.zk_connect, "--describe",
                                                      "--group", "tools-old-group"])
    rows = [ln.replace(" ", "").split(",") for ln in out.splitlines() if ln.startswith("tools-old-group,")]
    if sorted(r[2] for r in rows) != ["0", "1"] or any(r[5] != "0" or r[3] != r[4] for r in rows):
        raise AssertionError("--zookeeper --describe (want both partitions, lag 0):\n%s\n%s" % (
            out, err[-1000:]))
    if kh.target() == "kafka09":
        # 0.9 drops a group once its last member is gone (Dead); 2.4 keeps it (Empty) with its
        # offsets, so the finished console consumer's group is listed only by the latter
        return
    rc, out, err = t.run("kafka-consumer-groups.sh", ["--new-consumer", "--bootstrap-server",
                                                      t.c.bootstrap, "--list"])
    if "tools-new-group" not in out.split():
        raise AssertionError("--new-consumer --list:\n%s\n%s" % (out, err[-1000:]))


def scenario_chroot(t):
    c2 = kh.Cluster(partitions=1, chroot="/kafka")
    try:
        t2 = Tools(c2)
        out = t2.topics("--create", "--topic", "chrooted", "--partitions", "2",
                        "--replication-factor", "1")
        if 'Created topic "chrooted".' not in out:
            raise AssertionError("--create under /kafka said:\n%s" % out)
        c2.wait_leaders("chrooted", 2)
        describe_ok(t2.topics("--describe", "--topic", "chrooted"), "chrooted", 2)
        z = c2.zk()     # chroot applied
        try:
            if not z.exists("/brokers/ids/0"):
                raise AssertionError("no /kafka/brokers/ids/0")
        finally:
            z.stop()
            z.close()
        produce_console(t2, "chrooted", ["a:1", "b:2"])
        read_back(c2, "chrooted", ["a:1", "b:2"])
    finally:
        c2.cleanup()


def main():
    if not os.path.exists("/usr/bin/kcat"):
        kh.skip("kcat is not installed (reads back what the tools wrote)")
    c = kh.Cluster(partitions=1)
    t = Tools(c)
    chk = kh.Check()
    chk("kafka-topics.sh --zookeeper create/list/describe/delete", scenario_topics, t)
    chk("kafka-console-producer.sh", scenario_producer, t)
    chk("kafka-console-consumer.sh --zookeeper (old consumer)", scenario_old_consumer, t)
    chk("kafka-console-consumer.sh --new-consumer", scenario_new_consumer, t)
    chk("kafka-consumer-groups.sh --zookeeper / --new-consumer", scenario_groups_tool, t)
    chk("zookeeper.connect with a chroot (/kafka)", scenario_chroot, t)
    if not c.broker.alive():
        raise AssertionError("broker died")
    chk.finish()


if __name__ == "__main__":
    kh.run_test(main)
