#!/usr/bin/python3
"""gregor-broker's registration in the coordinator, as Kafka 2.x registers in ZooKeeper.

Starts gregor-coord and gregor-broker on free loopback ports and checks with kazoo:
  - /brokers/ids/N is ephemeral and holds Kafka 2.4's JSON (version 4, endpoints, host, port,
    jmx_port -1, timestamp string, listener_security_protocol_map); its version is 1 (created
    with null data and set in one multi, as Kafka 2.x);
  - /cluster/id holds {"version":"1","id":<22 chars base64url>}; every persistent path exists;
  - kill -9 and an immediate restart on the same ports: the broker comes up within a few
    seconds (its stale registration is recognised and replaced) instead of dying;
  - a second broker with the same id on other ports fails with a clear message;
  - broker.id=-1 gets a generated id >= 1001; a chroot in zookeeper.connect is created.
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

PERSISTENT = ["/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
              "/config/topics", "/config/clients", "/config/users", "/config/brokers",
              "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
              "/log_dir_event_notification", "/cluster"]


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
    def __init__(self, zk, logdir, port, *overrides):
        self.args = [BROKER, PROPS, "--override", "zookeeper.connect=" + zk,
                     "--override", "log.dirs=" + logdir,
                     "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % port,
                     "--override", "zookeeper.session.timeout.ms=6000"]
        for o in overrides:
            self.args += ["--override", o]
        self.port = port
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
            if m:
                return m
            if self.p.poll() is not None:
                return re.search(pattern, self.log())
            time.sleep(0.05)
        return None

    def kill9(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.check_sanitizers()
        os.unlink(self.out.name)


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
    tmp = tempfile.mkdtemp(prefix="t0410-")
    brokers = []
    zk = KazooClient(hosts=coord.address)
    zk.start(timeout=10)
    try:
        port = free_port()
        b = Broker(coord.address, os.path.join(tmp, "logs0"), port, "broker.id=0")
        brokers.append(b)
        if not b.wait_log(r"Registered broker 0 at path /brokers/ids/0", 15):
            fail("broker 0 did not register:\n" + b.log()[-3000:])
        data, st = zk.get("/brokers/ids/0")
        reg = json.loads(data)
        if st.ephemeralOwner == 0:
            fail("/brokers/ids/0 is not ephemeral")
        if st.version != 1:
            fail("/brokers/ids/0 version %d, Kafka 2.x leaves 1" % st.version)
        want = {"version": 4, "host": "127.0.0.1", "port": port, "jmx_port": -1,
                "endpoints": ["PLAINTEXT://127.0.0.1:%d" % port],
                "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"}}
        for k, v in want.items():
            if reg.get(k) != v:
                fail("/brokers/ids/0 %s = %r, want %r (%s)" % (k, reg.get(k), v, data))
        if not isinstance(reg.get("timestamp"), str) or abs(int(reg["timestamp"]) / 1000 - time.time()) > 60:
            fail("/brokers/ids/0 timestamp %r is not a current ms string" % reg.get("timestamp"))
        cid = json.loads(zk.get("/cluster/id")[0])
        if cid.get("version") != "1" or not re.fullmatch(r"[A-Za-z0-9_-]{22}", cid.get("id", "")):
            fail("/cluster/id = %r" % cid)
        for p in PERSISTENT:
            if not zk.exists(p):
                fail("persistent path %s missing" % p)
        with open(os.path.join(tmp, "logs0", "meta.properties")) as f:
            meta = f.read()
        if "broker.id=0" not in meta or "cluster.id=" + cid["id"] not in meta:
            fail("meta.properties does not hold broker.id/cluster.id:\n" + meta)
        print("ok: /brokers/ids/0 JSON, /cluster/id %s, persistent paths, meta.properties" % cid["id"])

        # kill -9 and restart at once: the stale registration must not stop it
        old_owner = st.ephemeralOwner
        b.kill9()
        brokers.remove(b)
        t0 = time.time()
        b = Broker(coord.address, os.path.join(tmp, "logs0"), port, "broker.id=0")
        brokers.append(b)
        if not b.wait_log(r"Registered broker 0 at path /brokers/ids/0", 5):
            fail("restarted broker 0 did not register within 5 s:\n" + b.log()[-3000:])
        dt = time.time() - t0
        _, st2 = zk.get("/brokers/ids/0")
        if st2.ephemeralOwner == old_owner:
            fail("/brokers/ids/0 still owned by the killed broker's session")
        if "stale registration" not in b.log():
            fail("restart did not log the stale registration it replaced:\n" + b.log()[-2000:])
        print("ok: restart after kill -9 registered in %.1f s (stale registration replaced)" % dt)

        # a second broker with the same id on another port: clear failure
        b2 = Broker(coord.address, os.path.join(tmp, "logs0b"), free_port(), "broker.id=0")
        brokers.append(b2)
        try:
            b2.p.wait(timeout=25)
        except subprocess.TimeoutExpired:
            fail("second broker with broker.id=0 did not exit:\n" + b2.log()[-2000:])
        if b2.p.returncode == 0 or "node already exists" not in b2.log() or "broker.id=0" not in b2.log():
            fail("second broker with the same id: rc %d, log:\n%s" % (b2.p.returncode, b2.log()[-2000:]))
        if zk.get("/brokers/ids/0")[1].ephemeralOwner != st2.ephemeralOwner:
            fail("the second broker took over /brokers/ids/0")
        print("ok: a second broker.id=0 fails clearly")

        # generated id, in a chroot that does not exist yet
        b3 = Broker(coord.address + "/kafka/c1", os.path.join(tmp, "logs3"), free_port(), "broker.id=-1")
        brokers.append(b3)
        m = b3.wait_log(r"Registered broker (\d+) at path /brokers/ids/(\d+)", 15)
        if not m:
            fail("broker with broker.id=-1 did not register:\n" + b3.log()[-3000:])
        gid = int(m.group(1))
        if gid < 1001:
            fail("generated broker id %d < 1001" % gid)
        if not zk.exists("/kafka/c1/brokers/ids/%d" % gid) or not zk.exists("/kafka/c1/cluster/id"):
            fail("chroot /kafka/c1 not populated")
        print("ok: broker.id=-1 generated %d inside the new chroot /kafka/c1" % gid)
    finally:
        for b in brokers:
            b.stop()
        zk.stop()
        zk.close()
        coord.stop()
        coord.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
