#!/usr/bin/python3
"""Two gregor-brokers: controller failover and leader moves, the multi-broker path.

gregor-coord + brokers 1 and 2 (broker 1 starts first and becomes controller). A topic with
replicas [1,2] and [2,1] created in the coordinator gets states with the preferred leaders
and ISR of both. Broker 1 stops: broker 2 wins the election (epoch 2), and partition 0's
leader moves to 2 with ISR [2] (as Kafka 2.4's failover: the dead replica goes offline, which
takes it out of the ISR, then the offline partition elects 2), written under the new epoch. Broker 1
comes back: it is not the controller; broker 2 sees it live again. ControlledShutdown is
answered by the controller and refused (NOT_CONTROLLER) by the other broker.
Exit 0 pass, 77 skip, 1 fail."""
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
    def __init__(self, zk, logdir, port, bid):
        self.args = [BROKER, PROPS, "--override", "zookeeper.connect=" + zk,
                     "--override", "log.dirs=" + logdir, "--override", "broker.id=%d" % bid,
                     "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % port,
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

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        if os.path.exists(self.out.name):
            self.check_sanitizers()
        os.unlink(self.out.name)


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def state(zk, topic, p):
    path = "/brokers/topics/%s/partitions/%d/state" % (topic, p)
    if not zk.exists(path):
        return None
    return json.loads(zk.get(path)[0])


def controlled_shutdown(port, broker_id, version=1):
    """Sends ControlledShutdown (key 7) and returns (error, [(topic, partition)])."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    cid = b"t0421"
    body = struct.pack(">hhih", 7, version, 99, len(cid)) + cid + struct.pack(">i", broker_id)
    if version >= 2:
        body += struct.pack(">q", -1)
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    resp = s.recv(size, socket.MSG_WAITALL)
    s.close()
    corr, err, n = struct.unpack(">ihi", resp[:10])
    if corr != 99:
        fail("ControlledShutdown correlation id %d" % corr)
    off, parts = 10, []
    for _ in range(n):
        ln = struct.unpack(">h", resp[off:off + 2])[0]
        t = resp[off + 2:off + 2 + ln].decode()
        p = struct.unpack(">i", resp[off + 2 + ln:off + 6 + ln])[0]
        parts.append((t, p))
        off += 6 + ln
    return err, parts


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
    tmp = tempfile.mkdtemp(prefix="t0421-")
    zk = KazooClient(hosts=coord.address)
    zk.start(timeout=10)
    ports = {1: free_port(), 2: free_port()}
    brokers = {}
    try:
        brokers[1] = Broker(coord.address, os.path.join(tmp, "l1"), ports[1], 1)
        if not brokers[1].wait_log(r"1 successfully elected as the controller\. Epoch incremented to 1", 10):
            fail("broker 1 not controller:\n" + brokers[1].log()[-3000:])
        brokers[2] = Broker(coord.address, os.path.join(tmp, "l2"), ports[2], 2)
        if not brokers[2].wait_log(r"Registered broker 2", 10):
            fail("broker 2 did not register:\n" + brokers[2].log()[-3000:])
        if not brokers[1].wait_log(r"live brokers: \[1,2\]", 5):
            fail("controller did not see broker 2:\n" + brokers[1].log()[-3000:])
        if not brokers[2].wait_log(r"broker 1 is the controller", 5):
            fail("broker 2 did not learn the controller:\n" + brokers[2].log()[-3000:])
        print("ok: broker 1 controller, broker 2 live")

        zk.create("/brokers/topics/r2", b'{"version":1,"partitions":{"0":[1,2],"1":[2,1]}}')
        s0 = wait_for(lambda: state(zk, "r2", 0), 5)
        s1 = wait_for(lambda: state(zk, "r2", 1), 5)
        if not s0 or s0["leader"] != 1 or sorted(s0["isr"]) != [1, 2]:
            fail("r2-0 state %r" % s0)
        if not s1 or s1["leader"] != 2 or sorted(s1["isr"]) != [1, 2]:
            fail("r2-1 state %r" % s1)
        if not brokers[1].wait_log(r"Sending LeaderAndIsr request with 2 partition\(s\) to broker 2", 5):
            fail("no LeaderAndIsr to broker 2:\n" + brokers[1].log()[-3000:])
        print("ok: r2 states with preferred leaders, LeaderAndIsr to both brokers")

        brokers[1].stop()
        del brokers[1]
        if not brokers[2].wait_log(r"2 successfully elected as the controller\. Epoch incremented to 2", 10):
            fail("broker 2 did not take over:\n" + brokers[2].log()[-3000:])
        s0 = wait_for(lambda: (lambda s: s if s and s["leader"] == 2 else None)(state(zk, "r2", 0)), 5)
        if not s0 or s0["isr"] != [2] or s0["leader_epoch"] < 1 or s0["controller_epoch"] != 2:
            fail("r2-0 after broker 1 stopped: %r\n%s" % (state(zk, "r2", 0), brokers[2].log()[-3000:]))
        s1 = state(zk, "r2", 1)
        if s1["leader"] != 2 or s1["isr"] != [2]:
            fail("r2-1 after broker 1 stopped: %r" % s1)
        print("ok: broker 2 took over (epoch 2); r2-0 leader 2, isr [2], leader epoch %d" % s0["leader_epoch"])

        brokers[1] = Broker(coord.address, os.path.join(tmp, "l1"), ports[1], 1)
        if not brokers[2].wait_log(r"live brokers: \[1,2\]", 10):
            fail("controller 2 did not see broker 1 back:\n" + brokers[2].log()[-3000:])
        if brokers[1].wait_log(r"successfully elected", 1):
            fail("broker 1 became controller although broker 2 is")
        if json.loads(zk.get("/controller")[0])["brokerid"] != 2:
            fail("/controller moved away from broker 2")
        print("ok: broker 1 back as a live broker, broker 2 stays controller")

        # ControlledShutdown: the controller answers (broker 1 leads nothing: no partitions
        # remain); a broker that is not the controller answers NOT_CONTROLLER (41)
        err, parts = controlled_shutdown(ports[2], 1)
        if err != 0 or parts != []:
            fail("ControlledShutdown of broker 1 at the controller: error %d, remaining %r" % (err, parts))
        if not brokers[2].wait_log(r"Shutting down broker 1", 5):
            fail("controller did not log the controlled shutdown:\n" + brokers[2].log()[-3000:])
        err, parts = controlled_shutdown(ports[1], 1)
        if err != 41:
            fail("ControlledShutdown at a broker that is not the controller: error %d, want 41" % err)
        s0 = state(zk, "r2", 0)
        if s0["leader"] != 2:
            fail("r2-0 leader moved after broker 1's controlled shutdown: %r" % s0)
        # the controller's own shutdown: it leads both partitions with ISR [2] alone, so
        # leadership cannot move and both remain
        err, parts = controlled_shutdown(ports[2], 2, version=2)
        if err != 0 or sorted(parts) != [("r2", 0), ("r2", 1)]:
            fail("ControlledShutdown of broker 2: error %d, remaining %r" % (err, parts))
        print("ok: ControlledShutdown answered by the controller (remaining partitions listed), "
              "NOT_CONTROLLER elsewhere")
    finally:
        for b in brokers.values():
            b.stop()
        zk.stop()
        zk.close()
        coord.stop()
        coord.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
