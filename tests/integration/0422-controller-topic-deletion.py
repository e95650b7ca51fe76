#!/usr/bin/python3
"""Topic deletion carried through to the end, with a stand-in broker on the Kafka protocol.

gregor-coord + gregor-broker 0 (the controller) + a stand-in for broker 5: a small Kafka
protocol server in this script, registered as /brokers/ids/5 (ephemeral, Kafka 2.4 JSON),
that records the inter-broker requests it gets and answers them with no error. A topic
assigned to broker 5 gets leader 5; the stand-in receives LeaderAndIsr v4 and
UpdateMetadata v6 (the highest versions Gregor serves). /admin/delete_topics/T leads to
StopReplica v2 (delete=false, then delete=true) at broker 5, and once that is answered the
controller removes /brokers/topics/T, /config/topics/T and the marker (Kafka's
TopicDeletionManager). Broker 5's registration disappearing makes the controller see it dead;
its partitions whose ISR held only broker 5 get an unclean leader only where the topic's
config (/config/topics/T unclean.leader.election.enable=true) allows it.
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
import threading
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


class StandIn:
    """A Kafka-protocol server answering LeaderAndIsr v4, UpdateMetadata v6 and StopReplica v2
    (flexible versions: response header v1) with ErrorCode 0 and no per-partition errors."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.requests = []      # (api_key, version, detail)
        self.lock = threading.Lock()
        self.stop = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            while True:
                hdr = c.recv(4, socket.MSG_WAITALL)
                if len(hdr) < 4:
                    return
                size = struct.unpack(">i", hdr)[0]
                frame = c.recv(size, socket.MSG_WAITALL)
                key, ver, corr, cl = struct.unpack(">hhih", frame[:10])
                off = 10 + max(cl, 0)
                off += 1   # empty tagged fields of request header v2
                detail = None
                if key == 5:   # StopReplica v2: ControllerId, ControllerEpoch, BrokerEpoch, DeletePartitions
                    detail = frame[off + 16] == 1
                with self.lock:
                    self.requests.append((key, ver, detail))
                if key in (4, 5):
                    body = struct.pack(">h", 0) + b"\x01\x00"   # ErrorCode, empty compact array, tags
                else:
                    body = struct.pack(">h", 0) + b"\x00"
                resp = struct.pack(">i", corr) + b"\x00" + body
                c.sendall(struct.pack(">i", len(resp)) + resp)
        except OSError:
            return
        finally:
            c.close()

    def seen(self, key, version=None, detail=None):
        with self.lock:
            return [r for r in self.requests if r[0] == key and (version is None or r[1] == version)
                    and (detail is None or r[2] == detail)]

    def close(self):
        self.stop = True
        self.ls.close()


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


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


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
    tmp = tempfile.mkdtemp(prefix="t0422-")
    zk = KazooClient(hosts=coord.address)
    zk.start(timeout=10)
    standin = StandIn()
    b = None
    try:
        b = Broker(coord.address, os.path.join(tmp, "logs"), free_port())
        if not b.wait_log(r"Epoch incremented to 1", 10) or not b.wait_log(r"Registered broker 0", 10):
            fail("broker 0 did not start as controller:\n" + b.log()[-3000:])
        reg = {"version": 4, "host": "127.0.0.1", "port": standin.port, "jmx_port": -1,
               "timestamp": str(int(time.time() * 1000)),
               "endpoints": ["PLAINTEXT://127.0.0.1:%d" % standin.port],
               "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"}}
        zk.create("/brokers/ids/5", json.dumps(reg).encode(), ephemeral=True)
        if not b.wait_log(r"live brokers: \[0,5\]", 5):
            fail("controller did not see broker 5:\n" + b.log()[-3000:])
        if not wait_for(lambda: standin.seen(6, 6), 5):
            fail("broker 5 got no UpdateMetadata v6: %r\n%s" % (standin.requests, b.log()[-3000:]))
        print("ok: stand-in broker 5 registered; UpdateMetadata v6 received")

        zk.create("/config/topics/d1", b'{"version":1,"config":{}}')
        zk.create("/brokers/topics/d1", b'{"version":1,"partitions":{"0":[5],"1":[5]}}')
        st = wait_for(lambda: zk.exists("/brokers/topics/d1/partitions/1/state") and
                      json.loads(zk.get("/brokers/topics/d1/partitions/1/state")[0]), 5)
        if not st or st["leader"] != 5 or st["isr"] != [5]:
            fail("d1-1 state %r" % st)
        if not wait_for(lambda: standin.seen(4, 4), 5):
            fail("broker 5 got no LeaderAndIsr v4: %r" % standin.requests)
        print("ok: d1 led by broker 5; LeaderAndIsr v4 received")

        zk.create("/admin/delete_topics/d1", b"")
        gone = wait_for(lambda: not zk.exists("/brokers/topics/d1") and not zk.exists("/admin/delete_topics/d1")
                        and not zk.exists("/config/topics/d1"), 5)
        if not gone:
            fail("d1 not deleted: topics %r, marker %r, requests %r\n%s" % (
                zk.exists("/brokers/topics/d1"), zk.exists("/admin/delete_topics/d1"), standin.requests,
                b.log()[-3000:]))
        stops = standin.seen(5, 2)
        if not standin.seen(5, 2, True):
            fail("no StopReplica v2 delete=true at broker 5: %r" % stops)
        first_del = [r[2] for r in stops].index(True)
        if False in [r[2] for r in stops] and [r[2] for r in stops].index(False) > first_del:
            fail("StopReplica delete=false came after delete=true: %r" % stops)
        if not b.wait_log(r"Deletion of topic d1 successfully completed", 5):
            fail("deletion completion not logged:\n" + b.log()[-3000:])
        print("ok: deletion: StopReplica v2 %r, d1's znodes and the marker removed" % [r[2] for r in stops])

        # unclean leader election per topic: u1 allows it (/config/topics/u1), u2 does not.
        # Both are led by 5 with replicas [5,0]; broker 5 (as leader) shrinks the ISR to [5]
        # and tells the controller through /isr_change_notification; then broker 5 dies.
        zk.create("/config/topics/u1", b'{"version":1,"config":{"unclean.leader.election.enable":"true"}}')
        for t in ("u1", "u2"):
            zk.create("/brokers/topics/" + t, b'{"version":1,"partitions":{"0":[5,0]}}')
        for t in ("u1", "u2"):
            path = "/brokers/topics/%s/partitions/0/state" % t
            if not wait_for(lambda: zk.exists(path), 5):
                fail("no state for %s-0" % t)
            data, st = zk.get(path)
            s0 = json.loads(data)
            if s0["leader"] != 5 or sorted(s0["isr"]) != [0, 5]:
                fail("%s-0 state %r" % (t, s0))
            s0["isr"] = [5]
            zk.set(path, json.dumps(s0).encode(), version=st.version)
        zk.create("/isr_change_notification/isr_change_",
                  b'{"version":1,"partitions":[{"topic":"u1","partition":0},{"topic":"u2","partition":0}]}',
                  sequence=True)
        if not wait_for(lambda: not zk.get_children("/isr_change_notification"), 5):
            fail("ISR change notification not consumed")

        zk.delete("/brokers/ids/5")
        if not b.wait_log(r"live brokers: \[0\]", 5):
            fail("controller did not see broker 5 go:\n" + b.log()[-3000:])
        print("ok: broker 5 gone from the live set")

        def leader(t):
            return json.loads(zk.get("/brokers/topics/%s/partitions/0/state" % t)[0])
        u1 = wait_for(lambda: (lambda x: x if x["leader"] == 0 else None)(leader("u1")), 5)
        if not u1 or u1["isr"] != [0]:
            fail("u1-0 (unclean allowed) after broker 5 died: %r\n%s" % (leader("u1"), b.log()[-3000:]))
        u2 = wait_for(lambda: (lambda x: x if x["leader"] == -1 else None)(leader("u2")), 5) or leader("u2")
        if u2["leader"] != -1 or u2["isr"] != [5]:
            fail("u2-0 (unclean not allowed) after broker 5 died: %r" % u2)
        print("ok: unclean election per topic config: u1 led by 0, u2 leaderless (isr [5])")
    finally:
        if b:
            b.stop()
        standin.close()
        zk.stop()
        zk.close()
        coord.stop()
        coord.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
