#!/usr/bin/python3
"""gregor-broker's controller, driven by the coordinator as Kafka's is by ZooKeeper.

gregor-coord + one gregor-broker (id 0); with kazoo:
  - /controller holds {"version":1,"brokerid":0,...} (ephemeral) and /controller_epoch is 1;
  - a topic created directly in the coordinator (as `kafka-topics.sh --zookeeper --create`
    writes it) gets /brokers/topics/T/partitions/P/state with leader 0, isr [0] within 5 s,
    and a LeaderAndIsr request is sent to the broker;
  - partitions added to /brokers/topics/T (alter --partitions) get their state too;
  - a restart makes the broker controller again with epoch 2; kill -9 and an immediate
    restart gives epoch 3 at once (its own stale /controller is removed once its registration
    proves no other broker has its id); a session expiry (SIGSTOP) makes it resign,
    re-register and win epoch 4;
  - /admin/delete_topics/T: StopReplica(delete) is sent, the broker's replica manager
    deletes the logs and answers, and the topic's znodes and the marker disappear.
Exit 0 pass, 77 skip, 1 fail."""
import json
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


class Broker:
    def __init__(self, zk, logdir, port):
        self.args = [BROKER, PROPS, "--override", "zookeeper.connect=" + zk,
                     "--override", "log.dirs=" + logdir, "--override", "broker.id=0",
                     "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % port,
                     "--override", "delete.topic.enable=true",
                     "--override", "zookeeper.session.timeout.ms=6000"]
        self.out = tempfile.NamedTemporaryFile(prefix="broker-", suffix=".log", delete=False)
        self.p = subprocess.Popen(self.args, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

    def check_sanitizers(self):
        """A broker built with sanitizers (GREGOR_BROKER=build-asan/...) must report nothing."""
        out = self.log()
        if "Sanitizer" in out or "runtime error:" in out:
            fail("sanitizer report from %s:\n%s" % (" ".join(self.args[:1]), out[-5000:]))

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

    def stop(self, keep_log=False):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        if not keep_log:
            self.check_sanitizers()
        os.unlink(self.out.name)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return None


def state(zk, topic, p):
    path = "/brokers/topics/%s/partitions/%d/state" % (topic, p)
    if not zk.exists(path):
        return None
    return json.loads(zk.get(path)[0])


def main():
    if not os.access(BROKER, os.X_OK):
        print("SKIP: %s not built" % BROKER)
        sys.exit(77)
    try:
        from kazoo.client import KazooClient
    except ImportError:
        print("SKIP: kazoo not installed for /usr/bin/python3")
        sys.exit(77)
    coord = zkharness.Server("gregor")
    try:
        coord.start()
    except zkharness.NotFunctional as e:
        if zkharness.require_coord():
            fail("gregor-coord not functional: %s" % e)
        print("SKIP: gregor-coord not functional: %s" % e)
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="t0420-")
    zk = KazooClient(hosts=coord.address)
    zk.start(timeout=10)
    port = free_port()
    b = None
    try:
        b = Broker(coord.address, os.path.join(tmp, "logs"), port)
        if not b.wait_log(r"0 successfully elected as the controller\. Epoch incremented to 1", 10):
            fail("broker 0 did not become controller with epoch 1:\n" + b.log()[-3000:])
        if not b.wait_log(r"Registered broker 0", 10):
            fail("broker 0 did not register:\n" + b.log()[-3000:])
        data, st = zk.get("/controller")
        ctl = json.loads(data)
        if ctl.get("version") != 1 or ctl.get("brokerid") != 0 or not isinstance(ctl.get("timestamp"), str):
            fail("/controller = %s" % data)
        if st.ephemeralOwner == 0:
            fail("/controller is not ephemeral")
        if zk.get("/controller_epoch")[0] != b"1":
            fail("/controller_epoch = %r, want 1" % zk.get("/controller_epoch")[0])
        print("ok: /controller brokerid 0, /controller_epoch 1")

        # a topic created directly in the coordinator, as kafka-topics.sh --zookeeper does
        zk.create("/config/topics/t1", b'{"version":1,"config":{}}', makepath=True)
        t0 = time.time()
        zk.create("/brokers/topics/t1", b'{"version":1,"partitions":{"0":[0],"1":[0]}}')
        for p in (0, 1):
            s = wait_for(lambda: state(zk, "t1", p), 5, "state")
            if not s:
                fail("no state znode for t1-%d within 5 s:\n%s" % (p, b.log()[-3000:]))
            if s.get("leader") != 0 or s.get("isr") != [0] or s.get("controller_epoch") != 1 \
                    or s.get("leader_epoch") != 0 or s.get("version") != 1:
                fail("t1-%d state %r" % (p, s))
        print("ok: t1 partition states (leader 0, isr [0]) after %.2f s" % (time.time() - t0))
        if not b.wait_log(r"Sending LeaderAndIsr request with 2 partition\(s\) to broker 0", 5):
            fail("no LeaderAndIsr for t1 sent:\n" + b.log()[-3000:])
        print("ok: LeaderAndIsr sent to broker 0")

        # alter --partitions: the new partition gets its state
        zk.set("/brokers/topics/t1", b'{"version":1,"partitions":{"0":[0],"1":[0],"2":[0]}}')
        s = wait_for(lambda: state(zk, "t1", 2), 5, "state")
        if not s or s.get("leader") != 0 or s.get("isr") != [0]:
            fail("added partition t1-2 state %r:\n%s" % (s, b.log()[-3000:]))
        print("ok: added partition t1-2 got its state")

        # restart: controller again, epoch 2, states untouched
        b.stop()
        b = Broker(coord.address, os.path.join(tmp, "logs"), port)
        if not b.wait_log(r"0 successfully elected as the controller\. Epoch incremented to 2", 10):
            fail("restarted broker 0 did not become controller with epoch 2:\n" + b.log()[-3000:])
        if zk.get("/controller_epoch")[0] != b"2":
            fail("/controller_epoch = %r after restart, want 2" % zk.get("/controller_epoch")[0])
        s = state(zk, "t1", 0)
        if not s or s.get("leader") != 0:
            fail("t1-0 state after restart %r" % s)
        print("ok: restart: controller epoch 2")

        # kill -9 and restart at once: its own stale /controller must not block the election
        os.killpg(b.p.pid, signal.SIGKILL)
        b.p.wait()
        b.stop()
        t0 = time.time()
        b = Broker(coord.address, os.path.join(tmp, "logs"), port)
        if not b.wait_log(r"0 successfully elected as the controller\. Epoch incremented to 3", 5):
            fail("broker 0 restarted after kill -9 was not controller (epoch 3) within 5 s:\n" + b.log()[-3000:])
        print("ok: kill -9 + restart: controller epoch 3 after %.1f s" % (time.time() - t0))

        # session expiry: resign, re-register, elect again (epoch 4)
        os.kill(b.p.pid, signal.SIGSTOP)
        if not wait_for(lambda: not zk.exists("/brokers/ids/0"), 15, "expiry"):
            os.kill(b.p.pid, signal.SIGCONT)
            fail("the stopped broker's session did not expire")
        os.kill(b.p.pid, signal.SIGCONT)
        if not b.wait_log(r"Epoch incremented to 4", 15):
            fail("no re-election after the session expired:\n" + b.log()[-3000:])
        if not wait_for(lambda: zk.exists("/brokers/ids/0"), 5, "re-registration"):
            fail("/brokers/ids/0 not re-registered after the session expired")
        # (resigning on the expired session itself, or on the expiry's /controller deletion
        # when that notification arrives first)
        if not re.search(r"Resigning \((coordinator session expired|/controller was deleted)\)", b.log()):
            fail("the controller did not resign on session expiry:\n" + b.log()[-3000:])
        print("ok: session expiry: resigned, re-registered, controller again with epoch 4")

        # admin notifications: preferred election and ISR change are consumed, reassignment is
        # reported as unsupported and left alone
        zk.create("/admin/preferred_replica_election",
                  b'{"version":1,"partitions":[{"topic":"t1","partition":0}]}')
        zk.create("/isr_change_notification/isr_change_", b'{"version":1,"partitions":[{"topic":"t1","partition":1}]}',
                  sequence=True)
        if not wait_for(lambda: not zk.exists("/admin/preferred_replica_election"), 5, "preferred"):
            fail("/admin/preferred_replica_election not removed:\n" + b.log()[-3000:])
        if not wait_for(lambda: not zk.get_children("/isr_change_notification"), 5, "isr"):
            fail("ISR change notification not consumed:\n" + b.log()[-3000:])
        zk.create("/admin/reassign_partitions", b'{"version":1,"partitions":[{"topic":"t1","partition":0,"replicas":[0]}]}')
        if not b.wait_log(r"partition reassignment is not supported", 5):
            fail("reassignment not reported:\n" + b.log()[-3000:])
        zk.delete("/admin/reassign_partitions")
        print("ok: preferred election and ISR notifications consumed, reassignment reported")

        # delete
        zk.create("/admin/delete_topics/t1", b"")
        if not b.wait_log(r"Sending StopReplica request \(delete=true\) for 3 partition\(s\) to broker 0", 5):
            fail("no StopReplica(delete=true) sent for t1:\n" + b.log()[-3000:])
        print("ok: StopReplica(delete=true) sent")
        gone = wait_for(lambda: not zk.exists("/brokers/topics/t1") and not zk.exists("/admin/delete_topics/t1"),
                        5, "deletion")
        if not gone:
            fail("t1 not removed within 5 s:\n" + b.log()[-3000:])
        if zk.exists("/config/topics/t1"):
            fail("/config/topics/t1 left after the deletion")
        if os.path.exists(os.path.join(tmp, "logs", "t1-0")):
            fail("the log directory of t1-0 is still there after the deletion")
        print("ok: t1's znodes and logs removed after StopReplica was answered")
    finally:
        if b:
            b.stop()
        zk.stop()
        zk.close()
        coord.stop()
        coord.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
