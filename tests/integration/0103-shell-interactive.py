#!/usr/bin/python3
"""`gregor zk` on a terminal (a pseudo-terminal here): the zkCli prompt
"[zk: host:port(STATE) N] ", line editing and history (libedit), tab completion
of commands and znode paths, watch events printed while the user is typing
(with the prompt redrawn), and end of input (Ctrl-D) ending the shell.
Against Apache ZooKeeper, or gregor-coord with ZK_SERVER_UNDER_TEST=gregor."""

import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GREGOR = os.path.join(TOP, "build", "bin", "gregor")
GREGOR_COORD = os.environ.get("GREGOR_COORD") or os.path.join(TOP, "build", "bin", "gregor-coord")
ZK_CP = "/usr/share/java/*:/usr/share/zookeeper/*:/etc/zookeeper/conf"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def srvr(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"srvr")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            return data.decode(errors="replace")
    except OSError:
        return ""


class Term:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.execv(argv[0], argv)
        self.buf = ""

    def pump(self, timeout=0.05):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                d = os.read(self.fd, 65536)
            except OSError:
                d = b""
            self.buf += d.decode(errors="replace")
            return bool(d)
        return True

    def expect(self, pattern, timeout=30.0):
        """Waits until pattern (a regex) matches the output after the mark."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = rx.search(self.buf, self.mark)
            if m:
                self.mark = m.end()
                return m
            if not self.pump():
                break
        raise AssertionError("did not see %r; output so far:\n%r" % (pattern, self.buf))

    mark = 0

    def send(self, s):
        os.write(self.fd, s.encode())

    def wait_exit(self, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self.pump()
        raise AssertionError("shell did not exit")

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def main():
    if not os.access(GREGOR, os.X_OK):
        print("gregor binary missing: build first (make)")
        return 1
    kind = os.environ.get("ZK_SERVER_UNDER_TEST", "apache").strip().lower() or "apache"
    if kind == "both":
        kind = "apache"
    if kind == "apache" and not shutil.which("java"):
        print("skipped: Java ZooKeeper is not installed")
        return 77
    root = tempfile.mkdtemp(prefix="gregor-shell-tty-")
    port = free_port()
    os.makedirs(os.path.join(root, "data"))
    cfg = os.path.join(root, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                "4lw.commands.whitelist=*\nadmin.enableServer=false\n" % (root, port))
    cmd = (["java", "-cp", ZK_CP, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg] if kind == "apache"
           else [GREGOR_COORD, cfg])
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, ZOO_LOG_DIR=root), start_new_session=True)
    term = None
    try:
        deadline = time.time() + 60
        while "Mode: " not in srvr(port):
            assert time.time() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.05)
        host = "127.0.0.1:%d" % port
        hp = re.escape(host)
        term = Term([GREGOR, "zk", "-server", host])
        term.expect(r"Welcome to ZooKeeper!\r\nJLine support is enabled\r\n")
        # the connection event arrives while the prompt is up: printed, then
        # the prompt is drawn again, now saying CONNECTED
        term.expect(r"WatchedEvent state:SyncConnected type:None path:null\r\n")
        term.expect(r"\[zk: %s\(CONNECTED\) 0\] " % hp)
        print("  ok    prompt and connection event")

        term.send("create /inter x\r")
        term.expect(r"Created /inter\r\n")
        term.expect(r"\[zk: %s\(CONNECTED\) 1\] " % hp)
        term.send("ls /int\t")            # znode completion (libedit may reposition the cursor)
        term.expect(r"ls /int[^\n]*er ")
        term.send("\r")
        term.expect(r"\r\n\[\]\r\n")        # /inter has no children
        term.send("whoa\t")               # command completion
        term.expect(r"whoa[^\n]*mi ")
        term.send("\r")
        term.expect(r"Auth scheme: User\r\nip: 127\.0\.0\.1\r\n")
        term.expect(r"\[zk: %s\(CONNECTED\) 3\] " % hp)
        print("  ok    tab completion of znodes and commands")

        term.send("\x1b[A\x1b[A\r")       # history: two lines up = "ls /inter "
        term.expect(r"\r\n\[\]\r\n")
        term.expect(r"\[zk: %s\(CONNECTED\) 4\] " % hp)
        print("  ok    line history")

        term.send("get -w /inter\r")
        term.expect(r"\r\nx\r\n")
        term.expect(r"\[zk: %s\(CONNECTED\) 5\] " % hp)
        term.send("ls /zoo")              # half-typed when the event arrives
        other = subprocess.run([GREGOR, "zk", "-server", host, "set", "/inter", "y"], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=60)
        assert other.returncode == 0, other
        term.expect(r"WatchedEvent state:SyncConnected type:NodeDataChanged path:/inter\r\n")
        term.expect(r"\[zk: %s\(CONNECTED\) 5\] ls /zoo" % hp)   # redrawn with the typed text
        term.send("keeper\r")
        term.expect(r"\[config, quota\]\r\n")
        print("  ok    watch event while typing, prompt and input redrawn")

        term.send("history\r")
        term.expect(r"0 - create /inter x\r\n1 - ls /inter \r\n2 - whoami \r\n3 - ls /inter ?\r\n"
                    r"4 - get -w /inter\r\n5 - ls /zookeeper\r\n6 - history\r\n")
        # Ctrl-D only once the shell reads again: a ^D typed before the line
        # editor is back in raw mode is the terminal's own EOF character
        term.expect(r"\[zk: %s\(CONNECTED\) 7\] " % hp)
        term.send("\x04")                 # Ctrl-D: end of input
        rc = term.wait_exit()
        assert rc == 0, rc
        print("  ok    history, and Ctrl-D exits with status 0")
        return 0
    finally:
        if term:
            term.kill()
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
