#!/usr/bin/python3
"""Apache Kafka 0.9.0.1's own kafka-topics.sh --zookeeper against gregor-coord, with the
gregor-broker controller reacting as Kafka's does.

  --create --partitions 3 --replication-factor 1   -> within a few seconds --describe shows
                                                      "Leader: 0" and "Isr: 0" for every partition
  --alter --partitions 5                            -> the two new partitions get a leader too
  --delete                                          -> --list shows "marked for deletion"; the
                                                      controller sends StopReplica(delete=true)
                                                      and the topic is gone from --list
Kafka 0.9 comes from deploy/peers.sh (npm); skipped (77) when it or Java is missing.
Exit 0 pass, 77 skip, 1 fail."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import zkharness  # noqa: E402

BROKER = os.environ.get("GREGOR_BROKER") or os.path.join(TOP, "build", "bin", "gregor-broker")
PROPS = os.path.join(TOP, "deploy", "server.properties.example")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def kafka_home():
    if not shutil.which("java"):
        return None
    r = subprocess.run(["sh", os.path.join(TOP, "deploy", "peers.sh"), "kafka09"], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    home = r.stdout.strip()
    return home if os.path.exists(os.path.join(home, "bin", "kafka-topics.sh")) else None


def topics(home, zk, *args):
    env = dict(os.environ)
    env["LOG_DIR"] = tempfile.gettempdir()
    r = subprocess.run([os.path.join(home, "bin", "kafka-topics.sh"), "--zookeeper", zk, *args],
                       capture_output=True, text=True, timeout=120, env=env)
    return r.returncode, r.stdout + r.stderr


def describe_leaders(home, zk, topic):
    """{partition: (leader, isr)} from --describe."""
    _, out = topics(home, zk, "--describe", "--topic", topic)
    res = {}
    for m in re.finditer(r"Partition: (\d+)\s+Leader: (-?\d+|none)\s+Replicas: [\d,]+\s+Isr: ([\d,]*)", out):
        res[int(m.group(1))] = (m.group(2), m.group(3))
    return res, out


class Broker:
    def __init__(self, zk, logdir, port):
        self.args = [BROKER, PROPS, "--override", "zookeeper.connect=" + zk,
                     "--override", "log.dirs=" + logdir, "--override", "broker.id=0",
                     "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % port,
                     "--override", "delete.topic.enable=true"]
        self.out = tempfile.NamedTemporaryFile(prefix="broker-", suffix=".log", delete=False)
        self.p = subprocess.Popen(self.args, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

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
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        out = self.log()
        if "Sanitizer" in out or "runtime error:" in out:
            fail("sanitizer report:\n" + out[-5000:])
        os.unlink(self.out.name)


def main():
    if not os.access(BROKER, os.X_OK):
        print("SKIP: %s not built" % BROKER)
        sys.exit(77)
    home = kafka_home()
    if not home:
        print("SKIP: Apache Kafka 0.9.0.1 (deploy/peers.sh kafka09) or java not available")
        sys.exit(77)
    coord = zkharness.Server("gregor")
    try:
        coord.start()
    except zkharness.NotFunctional as e:
        if zkharness.require_coord():
            fail("gregor-coord not functional: %s" % e)
        print("SKIP: gregor-coord not functional: %s" % e)
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="t0423-")
    b = None
    try:
        port = free_port()
        b = Broker(coord.address, os.path.join(tmp, "logs"), port)
        if not b.wait_log(r"Registered broker 0", 10) or not b.wait_log(r"Epoch incremented to 1", 10):
            fail("broker did not start as controller:\n" + b.log()[-3000:])
        rc, out = topics(home, coord.address, "--create", "--topic", "k9", "--partitions", "3",
                         "--replication-factor", "1")
        if rc != 0 or 'Created topic "k9"' not in out:
            fail("kafka-topics --create: rc %d\n%s" % (rc, out))
        deadline = time.time() + 10
        while True:
            leaders, out = describe_leaders(home, coord.address, "k9")
            if leaders == {0: ("0", "0"), 1: ("0", "0"), 2: ("0", "0")}:
                break
            if time.time() > deadline:
                fail("--describe after create:\n%s\nbroker log:\n%s" % (out, b.log()[-3000:]))
            time.sleep(0.2)
        print("ok: 0.9 kafka-topics --create; --describe shows Leader: 0, Isr: 0 for 3 partitions")

        rc, out = topics(home, coord.address, "--alter", "--topic", "k9", "--partitions", "5")
        if rc != 0:
            fail("kafka-topics --alter: rc %d\n%s" % (rc, out))
        deadline = time.time() + 10
        while True:
            leaders, out = describe_leaders(home, coord.address, "k9")
            if len(leaders) == 5 and all(v == ("0", "0") for v in leaders.values()):
                break
            if time.time() > deadline:
                fail("--describe after alter:\n%s\nbroker log:\n%s" % (out, b.log()[-3000:]))
            time.sleep(0.2)
        print("ok: --alter --partitions 5: the new partitions have leader 0")

        rc, out = topics(home, coord.address, "--delete", "--topic", "k9")
        if rc != 0 or "marked for deletion" not in out:
            fail("kafka-topics --delete: rc %d\n%s" % (rc, out))
        if not b.wait_log(r"Sending StopReplica request \(delete=true\) for 5 partition\(s\) to broker 0", 10):
            fail("no StopReplica(delete=true) after --delete:\n" + b.log()[-3000:])
        deadline = time.time() + 10
        while True:
            rc, out = topics(home, coord.address, "--list")
            if rc == 0 and "k9" not in out:
                break
            if time.time() > deadline:
                fail("k9 still listed after --delete:\n%s\n%s" % (out, b.log()[-3000:]))
            time.sleep(0.5)
        print("ok: --delete: StopReplica(delete=true) sent; k9 gone from --list")
    finally:
        if b:
            b.stop()
        coord.stop()
        coord.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
