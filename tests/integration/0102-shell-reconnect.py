#!/usr/bin/python3
"""Session survival and expiry, end to end, with `gregor zk` against a real
server (Apache ZooKeeper by default; ZK_SERVER_UNDER_TEST=gregor for
gregor-coord).

1. Reconnect: the server is killed (-9) and restarted on the same data and
   port. The shell must report Disconnected, reconnect with the same session
   (its ephemeral node survives), re-register its watch with SetWatches, and
   report the change another client made meanwhile (NodeDataChanged).
2. Expiry: the shell is frozen (SIGSTOP) until the server has expired its
   session (its ephemeral node is gone); once thawed it must report Expired
   and then refuse commands with "Not connected".
No fixed sleeps: every step waits for an observable condition."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GREGOR = os.path.join(TOP, "build", "bin", "gregor")
GREGOR_COORD = os.environ.get("GREGOR_COORD") or os.path.join(TOP, "build", "bin", "gregor-coord")
ZK_CP = "/usr/share/java/*:/usr/share/zookeeper/*:/etc/zookeeper/conf"


def log(*a):
    print(*a, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def four_letter(port, word):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(word.encode())
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            return data.decode(errors="replace")
    except OSError:
        return ""


def wait_for(cond, what, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Server:
    def __init__(self, kind, root):
        self.kind, self.port, self.proc = kind, free_port(), None
        self.dir = tempfile.mkdtemp(prefix="zk-", dir=root)
        os.makedirs(os.path.join(self.dir, "data"))
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                    "4lw.commands.whitelist=*\nadmin.enableServer=false\n" % (self.dir, self.port))

    def start(self):
        out = open(os.path.join(self.dir, "server.out"), "a")
        if self.kind == "apache":
            cmd = ["java", "-cp", ZK_CP, "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg]
        else:
            cmd = [GREGOR_COORD, self.cfg]
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, ZOO_LOG_DIR=self.dir), start_new_session=True)
        wait_for(lambda: self.proc.poll() is None and "Mode: " in four_letter(self.port, "srvr"),
                 "%s server on port %d" % (self.kind, self.port))

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)
        self.proc = None


class Shell:
    """`gregor zk` reading commands from a pipe; its stdout is collected."""

    def __init__(self, server, timeout_ms):
        self.proc = subprocess.Popen([GREGOR, "zk", "-server", "127.0.0.1:%d" % server.port,
                                      "-timeout", str(timeout_ms)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.out += line.decode(errors="replace")

    def text(self):
        with self.lock:
            return self.out

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def count(self, s):
        return self.text().count(s)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def oneshot(server, *words):
    p = subprocess.run([GREGOR, "zk", "-server", "127.0.0.1:%d" % server.port] + list(words),
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


CONNECTED = "WatchedEvent state:SyncConnected type:None path:null"


def test_reconnect(kind, root):
    srv = Server(kind, root)
    srv.start()
    # the longest timeout tickTime=2000 allows: a restart on a busy machine must not expire it
    sh = Shell(srv, 40000)
    try:
        sh.send("create /r v1")
        sh.send("create -e /eph x")
        sh.send("get -w /r")
        sh.send("ls /")
        wait_for(lambda: "[eph, r, zookeeper]" in sh.text(), "the shell's first commands")
        srv.kill()
        wait_for(lambda: "WatchedEvent state:Disconnected type:None path:null" in sh.text(), "Disconnected")
        srv.start()
        rc, out, err = oneshot(srv, "set", "/r", "v2")
        assert rc == 0, (rc, out, err)
        wait_for(lambda: sh.count(CONNECTED) >= 2, "the shell to reconnect")
        wait_for(lambda: "WatchedEvent state:SyncConnected type:NodeDataChanged path:/r" in sh.text(),
                 "the watch to fire after SetWatches")
        # same session: its ephemeral node is still there and still its own
        sh.send("getEphemerals")
        sh.send("get /r")
        wait_for(lambda: "[/eph]" in sh.text() and "\nv2\n" in sh.text(), "getEphemerals and get after reconnect")
        rc, out, err = oneshot(srv, "stat", "/eph")
        assert rc == 0, (rc, out, err)
        sh.send("quit")
        sh.proc.wait(30)
        assert sh.proc.returncode == 0, sh.proc.returncode
        assert "WatchedEvent state:Closed type:None path:null" in sh.text()
        # closing the session removed the ephemeral node at once
        rc, out, err = oneshot(srv, "stat", "/eph")
        assert rc == 1 and "Node does not exist: /eph" in err, (rc, out, err)
        log("  ok    reconnect with the same session, watch re-registered (%s)" % kind)
    except Exception:
        log(sh.text())
        raise
    finally:
        sh.close()
        srv.kill(signal.SIGTERM)


def test_expiry(kind, root):
    srv = Server(kind, root)
    srv.start()
    sh = Shell(srv, 4000)   # the server's minimum (2 x tickTime)
    try:
        sh.send("create -e /gone x")
        sh.send("ls /")
        wait_for(lambda: "[gone, zookeeper]" in sh.text(), "the ephemeral node")
        os.kill(sh.proc.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: oneshot(srv, "stat", "/gone")[0] == 1, "the server to expire the session")
        finally:
            os.kill(sh.proc.pid, signal.SIGCONT)
        wait_for(lambda: "WatchedEvent state:Expired type:None path:null" in sh.text(), "Expired")
        sh.send("ls /")
        wait_for(lambda: "Not connected" in sh.text(), "Not connected after expiry")
        sh.send("quit")
        sh.proc.wait(30)
        log("  ok    expired session reported and refused (%s)" % kind)
    except Exception:
        log(sh.text())
        raise
    finally:
        sh.close()
        srv.kill(signal.SIGTERM)


def main():
    if not os.access(GREGOR, os.X_OK):
        log("gregor binary missing: build first (make)")
        return 1
    kind = os.environ.get("ZK_SERVER_UNDER_TEST", "apache").strip().lower() or "apache"
    if kind == "both":
        kinds = ["apache", "gregor"]
    else:
        kinds = [kind]
    if "apache" in kinds and not shutil.which("java"):
        log("skipped: Java ZooKeeper is not installed")
        return 77
    root = tempfile.mkdtemp(prefix="gregor-shell-reconnect-")
    try:
        for k in kinds:
            test_reconnect(k, root)
            test_expiry(k, root)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
