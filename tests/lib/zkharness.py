#!/usr/bin/python3
"""zkharness — start/stop ZooKeeper-protocol servers for the integration and fault tests.

Owns: throw-away Apache ZooKeeper 3.8 standalone servers and gregor-coord servers on free
loopback ports, readiness polling (`ruok`, then one session opened and closed), cleanup
(process groups are killed even when a test fails), the "which server is the second side"
switch, and the skip/fail policy when gregor-coord is not functional yet.

Environment:
  GREGOR_ITEST_TARGET   server compared against Apache ZooKeeper: "gregor" (default) or "apache"
                        (Apache-vs-Apache proves the harness and its normalization).
  GREGOR_REQUIRE_COORD  "1": a non-functional gregor-coord is a test failure instead of a skip (77).
  GREGOR_COORD          path of the gregor-coord binary (default $GREGOR_TOP/build/bin/gregor-coord).
  GREGOR_TOP            repository root (set by tests/lib/run-dir.sh; derived from this file otherwise).
  ZKH_KEEP              "1": keep the temporary directories (logs) after the run.
  ZKH_GREGOR_READY_S    seconds gregor-coord gets to answer ruok (default 5).
  ZKH_JVM_FLAGS         JVM options for Apache servers (default -Xmx256m -XX:+UseSerialGC
                        -XX:TieredStopAtLevel=1).

Ensembles (several servers with server.N lines) are built on Server by tests/lib/zkensemble.py.

Shell use (for .sh tests):
  zkharness.py start apache|gregor|target DIR [key=value...]
                                                -> prints the port; server runs detached;
                                                   key=value lines are added to zoo.cfg
  zkharness.py stop DIR                         -> kills the server's process group
  zkharness.py kill9 DIR                        -> SIGKILL, leaves DIR (dataDir) in place
  zkharness.py restart DIR                      -> starts again on the same port and dataDir
  zkharness.py 4lw PORT CMD                     -> prints the reply
`start` exits 77 (after printing why) when gregor-coord is not functional, unless
GREGOR_REQUIRE_COORD=1 (then 1).

Only this module and the test scripts import kazoo; run everything with /usr/bin/python3.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Debian's own server classpath plus a log4j binding, so server.log has the server's log
# (the catch-all /usr/share/java/* picks slf4j's NOP binding and logs nothing)
ZK_CLASSPATH = ("/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:"
                "/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar")
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"
APACHE_READY_S = 30.0      # JVM start on a busy 2-core box
# "answers ruok within a few seconds" or it is not functional
GREGOR_READY_S = float(os.environ.get("ZKH_GREGOR_READY_S", "5"))
TICK_MS = 2000


class NotFunctional(Exception):
    """gregor-coord is missing, exits at once, or does not answer ruok in time."""


class SkipTest(Exception):
    """Raised to make a test exit 77 (see run_test)."""


class CoordRequired(Exception):
    """gregor-coord is not functional although GREGOR_REQUIRE_COORD=1 (a test failure)."""


def log(*a):
    print("[zkh]", *a, file=sys.stderr, flush=True)


def target_kind():
    """The server kind compared against Apache ZooKeeper ("gregor" or "apache")."""
    k = os.environ.get("GREGOR_ITEST_TARGET", "gregor").strip().lower()
    if k not in ("gregor", "apache"):
        raise SystemExit("GREGOR_ITEST_TARGET must be gregor or apache, not %r" % k)
    return k


def jvm_flags():
    """JVM options of Apache servers: small heap, serial GC, C1 only (light on a 2-core
    machine); ZKH_JVM_FLAGS (space-separated) replaces them."""
    env = os.environ.get("ZKH_JVM_FLAGS")
    if env:
        return env.split()
    return ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


def require_coord():
    return os.environ.get("GREGOR_REQUIRE_COORD", "") == "1"


def coord_binary():
    return os.environ.get("GREGOR_COORD") or os.path.join(TOP, "build", "bin", "gregor-coord")


def free_port():
    """A loopback port that was free a moment ago (bind to port 0, read it, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def four_letter(port, cmd, timeout=2.0):
    """Sends a four-letter word on a fresh connection; returns the whole reply as str.
    Raises OSError when the server is not reachable."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(cmd.encode() if isinstance(cmd, str) else cmd)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode("utf-8", "replace")


def zk_session_roundtrip(port, timeout=2.0):
    """Opens a ZooKeeper session with a raw ConnectRequest, then closes it (closeSession).
    Returns True when the server granted a session (timeOut > 0) and answered the close.
    Raises OSError on connection errors."""
    import struct
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        body = struct.pack(">iqiq", 0, 0, 10000, 0) + struct.pack(">i", 16) + b"\0" * 16 + b"\0"
        s.sendall(struct.pack(">i", len(body)) + body)
        resp = _recv_frame(s)
        if resp is None or len(resp) < 16:
            return False
        _proto, negotiated, _sid = struct.unpack(">iiq", resp[:16])
        if negotiated <= 0:
            return False
        s.sendall(struct.pack(">iii", 8, 1, -11))
        reply = _recv_frame(s)
        return reply is not None and len(reply) >= 16


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            return None
        buf += b
    return buf


def _recv_frame(s):
    hdr = _recv_exact(s, 4)
    if hdr is None:
        return None
    n = int.from_bytes(hdr, "big", signed=True)
    if n < 0 or n > 0xfffff:
        return None
    return _recv_exact(s, n)


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a truthy value (returned) or timeout (raises TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


_live = []          # servers started by this process, stopped at exit


def _cleanup_all():
    for srv in list(_live):
        try:
            srv.stop()
        except Exception as e:      # cleanup must go on for the others
            log("cleanup of %s failed: %s" % (srv, e))


atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    _cleanup_all()
    os._exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    try:
        signal.signal(_sig, _on_signal)
    except (ValueError, OSError):   # not the main thread
        pass


class Server:
    """One ZooKeeper-protocol server (kind "apache" or "gregor") in its own directory.

    The directory holds zoo.cfg, data/ and server.log. The process runs in its own process
    group so stop()/kill9() reach the JVM and anything it forks. The object owns the directory
    when it created it (base_dir None) and removes it in cleanup() unless ZKH_KEEP=1."""

    def __init__(self, kind, base_dir=None, port=None, tick_ms=TICK_MS, extra_cfg=None):
        if kind not in ("apache", "gregor"):
            raise ValueError("kind must be apache or gregor")
        self.kind = kind
        self.owns_dir = base_dir is None
        self.dir = base_dir or tempfile.mkdtemp(prefix="zkh-%s-" % kind)
        os.makedirs(self.dir, exist_ok=True)
        self.data_dir = os.path.join(self.dir, "data")
        self.port = port or free_port()
        self.tick_ms = tick_ms
        self.extra_cfg = dict(extra_cfg or {})
        self.proc = None
        self.logf = None

    def __repr__(self):
        return "<%s server port %d pid %s>" % (self.kind, self.port,
                                                self.proc.pid if self.proc else "-")

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def log_path(self):
        return os.path.join(self.dir, "server.log")

    def write_config(self):
        os.makedirs(self.data_dir, exist_ok=True)
        cfg = {
            "tickTime": str(self.tick_ms),
            "dataDir": self.data_dir,
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "extendedTypesEnabled": "true",
            "maxClientCnxns": "0",
        }
        cfg.update(self.extra_cfg)
        path = os.path.join(self.dir, "zoo.cfg")
        with open(path, "w") as f:
            for k, v in cfg.items():
                f.write("%s=%s\n" % (k, v))
        return path

    def _command(self, cfg_path):
        if self.kind == "apache":
            return ["java"] + jvm_flags() + [
                    "-Dzookeeper.log.dir=" + self.dir,
                    "-Dzookeeper.root.logger=INFO,CONSOLE",
                    "-cp", ZK_CLASSPATH,
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg_path]
        binary = coord_binary()
        if not os.access(binary, os.X_OK):
            raise NotFunctional("gregor-coord binary %s not found (run make)" % binary)
        return [binary, cfg_path]

    def start(self, timeout=None):
        """Starts the server and waits until it answers ruok with imok and grants a session.
        If the process exits because another process took its port in the meantime (the
        port was free when picked, or before a restart), it moves to a fresh port and tries
        again (at most 3 times; clients must use self.port after start()).
        Raises NotFunctional for gregor (exited / not ready in time), RuntimeError for apache."""
        for attempt in range(3):
            try:
                return self._start_once(timeout)
            except (NotFunctional, RuntimeError):
                if attempt == 2 or not self._port_taken():
                    raise
                old = self.port
                self.port = free_port()
                log("%s: port %d was taken by another process; moving to %d" % (
                    self.kind, old, self.port))

    def _port_taken(self):
        """True if someone else listens on / holds self.port (our server is not running)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", self.port))
            return False
        except OSError:
            return True
        finally:
            s.close()

    def launch(self):
        """Writes zoo.cfg and starts the process in its own process group without waiting
        for it to serve (an ensemble member cannot serve before a quorum exists). The
        server is stopped at exit like any other. Raises NotFunctional when the gregor
        binary is missing."""
        cfg = self.write_config()
        cmd = self._command(cfg)
        env = dict(os.environ, ZOO_LOG_DIR=self.dir)
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.dir,
                                     start_new_session=True)
        _live.append(self)
        return self

    def _start_once(self, timeout):
        self.launch()
        if timeout is None:
            timeout = APACHE_READY_S if self.kind == "apache" else GREGOR_READY_S
        try:
            self.wait_ready(timeout)
        except Exception as e:
            tail = self.log_tail()
            self.stop()
            msg = "%s server on port %d not ready: %s\n--- server.log tail ---\n%s" % (
                self.kind, self.port, e, tail)
            if self.kind == "gregor":
                raise NotFunctional(msg)
            raise RuntimeError(msg)
        return self

    def wait_ready(self, timeout):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("process exited with status %s" % self.proc.returncode)
            # imok first; then a real session round trip, because a JVM server can answer
            # ruok a moment before it accepts sessions
            try:
                return (four_letter(self.port, "ruok", timeout=1.0).strip() == "imok" and
                        zk_session_roundtrip(self.port, timeout=1.0))
            except OSError:
                return False
        wait_until(ready, timeout, interval=0.05, what="imok from port %d" % self.port)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def _signal_group(self, sig):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def sigstop(self):
        """SIGSTOP to the process group (a stalled server: no reads, no writes, sockets
        stay open). sigcont() resumes it; stop()/kill9() work on a stopped server."""
        self._signal_group(signal.SIGSTOP)

    def sigcont(self):
        self._signal_group(signal.SIGCONT)

    def kill9(self):
        """SIGKILL to the whole process group; the data directory stays for restart()."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait()
        self._close_log()
        if self in _live:
            _live.remove(self)
        self.proc = None

    def _exited_unreaped(self):
        """True once the leader has exited; it stays a zombie (not reaped), so its pid --
        the process group id -- cannot be reused while we still signal the group."""
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def stop(self):
        """SIGTERM to the process group, SIGKILL after 5 s; then SIGKILL to stragglers left in
        the group, and reap. Idempotent. (cleanup() also removes an owned directory.)"""
        if self.proc is not None:
            self._signal_group(signal.SIGTERM)
            self._signal_group(signal.SIGCONT)     # a SIGSTOPped server must see the TERM
            try:
                wait_until(self._exited_unreaped, 5.0, interval=0.02, what="server exit")
            except TimeoutError:
                pass
            self._signal_group(signal.SIGKILL)
            self.proc.wait()
            self.proc = None
        self._close_log()
        if self in _live:
            _live.remove(self)

    def restart(self, timeout=None):
        """Starts again on the same port and dataDir (after kill9() or stop())."""
        return self.start(timeout=timeout)

    def cleanup(self):
        self.stop()
        if self.owns_dir and os.environ.get("ZKH_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def _close_log(self):
        if self.logf is not None:
            self.logf.close()
            self.logf = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def start_server(kind, **kw):
    """Starts a server of `kind` ("apache", "gregor" or "target" = target_kind()).
    A non-functional gregor-coord raises SkipTest (or RuntimeError when
    GREGOR_REQUIRE_COORD=1). Caller owns the returned Server (cleanup())."""
    if kind == "target":
        kind = target_kind()
    srv = Server(kind, **kw)
    try:
        return srv.start()
    except NotFunctional as e:
        srv.cleanup()
        msg = "gregor-coord is not functional (needs imok and a session within %.0fs): %s" % (
            GREGOR_READY_S, str(e).splitlines()[0])
        if require_coord():
            raise CoordRequired("GREGOR_REQUIRE_COORD=1 and " + msg + "\n" +
                                "\n".join(str(e).splitlines()[1:]))
        raise SkipTest(msg)
    except Exception:
        srv.cleanup()
        raise


def run_test(main):
    """Runs main() with the exit-code convention of tests/lib/run-dir.sh:
    0 pass, 77 skip (SkipTest), 1 fail (AssertionError or any other exception)."""
    import traceback
    try:
        main()
    except SkipTest as e:
        _cleanup_all()
        print("SKIP: %s" % e, file=sys.stderr, flush=True)
        sys.exit(SKIP)
    except CoordRequired as e:
        _cleanup_all()
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        sys.exit(1)
    except SystemExit:
        _cleanup_all()
        raise
    except BaseException:
        traceback.print_exc()
        _cleanup_all()
        print("FAIL", file=sys.stderr, flush=True)
        sys.exit(1)
    _cleanup_all()
    print("PASS", file=sys.stderr, flush=True)
    sys.exit(0)


def start_pair():
    """Starts the reference Apache server and the target server (target_kind()) in parallel.
    Returns (apache, target). Raises SkipTest / RuntimeError as start_server does; whatever
    was started is stopped on failure."""
    import threading
    res = {}

    def go(role, kind):
        try:
            res[role] = start_server(kind)
        except BaseException as e:   # re-raised below in the caller's thread
            res[role] = e
    ts = [threading.Thread(target=go, args=("ref", "apache")),
          threading.Thread(target=go, args=("tgt", "target"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    errs = [v for v in res.values() if isinstance(v, BaseException)]
    if errs:
        for v in res.values():
            if isinstance(v, Server):
                v.cleanup()
        skip = [e for e in errs if isinstance(e, SkipTest)]
        raise (skip[0] if skip and len(errs) == len(skip) else
               next(e for e in errs if not isinstance(e, SkipTest)))
    return res["ref"], res["tgt"]


def _both(fn, port_a, port_b):
    """fn(port_a) and fn(port_b) on two threads (the servers are independent); returns both
    results or re-raises the first exception."""
    import threading
    res = [None, None]

    def go(i, port):
        try:
            res[i] = (True, fn(port))
        except BaseException as e:
            res[i] = (False, e)
    ts = [threading.Thread(target=go, args=(0, port_a)),
          threading.Thread(target=go, args=(1, port_b))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for ok, v in res:
        if not ok:
            raise v
    return res[0][1], res[1][1]


def differential(sessions, out_dir=None):
    """Runs every session against a fresh Apache ZooKeeper 3.8 and a fresh target server and
    compares the normalized transcripts.

    sessions: list of (name, fn) where fn(port) returns a raw transcript (str); sessions run
    in order on the same pair of servers, so later sessions see earlier sessions' nodes; each
    session runs against both servers at the same time (two threads).
    out_dir: if given, raw and normalized transcripts are written there.
    Raises AssertionError listing a unified diff per mismatching session."""
    import zknorm
    ref, tgt = start_pair()
    failures = []
    try:
        tname = "%s(%s)" % (tgt.kind, "second server" if tgt.kind == "apache" else "target")
        log("reference apache on %d, %s on %d" % (ref.port, tname, tgt.port))
        for name, fn in sessions:
            t0 = time.monotonic()
            raw_a, raw_b = _both(fn, ref.port, tgt.port)
            ok, report = zknorm.compare(name, raw_a, raw_b, "apache", tgt.kind)
            log("%s (%.1fs)" % (report.splitlines()[0], time.monotonic() - t0))
            if out_dir:
                os.makedirs(out_dir, exist_ok=True)
                for side, raw in (("apache", raw_a), (tgt.kind + "-target", raw_b)):
                    base = os.path.join(out_dir, "%s.%s" % (name, side))
                    with open(base + ".raw", "w") as f:
                        f.write(raw)
                    with open(base + ".norm", "w") as f:
                        f.write(zknorm.normalize(raw))
            if not ok:
                failures.append(report)
            dead = [s for s in (ref, tgt) if not s.alive()]
            for s in dead:
                failures.append("%s server died during %s\n%s" % (s.kind, name, s.log_tail()))
            if dead:
                break
    finally:
        ref.cleanup()
        tgt.cleanup()
    if failures:
        raise AssertionError("\n\n".join(failures))


# ---------------------------------------------------------------- shell CLI

def _pidfile(d):
    return os.path.join(d, "server.pid")


def _cli_start(kind, d, port=None, extra=None):
    os.makedirs(d, exist_ok=True)
    if kind == "target":
        kind = target_kind()
    if extra is None:       # restart: the extra settings of the first start
        try:
            with open(os.path.join(d, "extra.cfg")) as f:
                extra = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln)
        except OSError:
            extra = {}
    else:
        with open(os.path.join(d, "extra.cfg"), "w") as f:
            f.write("".join("%s=%s\n" % kv for kv in extra.items()))
    srv = Server(kind, base_dir=os.path.abspath(d), port=port, extra_cfg=extra)
    try:
        srv.start()
    except NotFunctional as e:
        print(str(e), file=sys.stderr)
        print("%s: gregor-coord is not functional: %s" % (
            "FAIL (GREGOR_REQUIRE_COORD=1)" if require_coord() else "SKIP",
            str(e).splitlines()[0]), file=sys.stderr)
        return 1 if require_coord() else SKIP
    except Exception as e:
        print("start failed: %s" % e, file=sys.stderr)
        return 1
    # the server outlives this process: forget it so atexit does not stop it
    _live.remove(srv)
    srv._close_log()
    with open(_pidfile(d), "w") as f:
        f.write("%d %d %s\n" % (srv.proc.pid, srv.port, kind))
    with open(os.path.join(d, "kind"), "w") as f:
        f.write(kind + "\n")
    print(srv.port)
    return 0


def _read_pidfile(d):
    try:
        with open(_pidfile(d)) as f:
            pid, port, kind = f.read().split()
        return int(pid), int(port), kind
    except (OSError, ValueError):
        return None


def _started_here(pid, d):
    """True if pid is (still) the server started for directory d: its command line names
    d/zoo.cfg. Guards against signalling a reused pid."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return os.path.join(os.path.abspath(d), "zoo.cfg").encode() in args


def _cli_kill(d, sig):
    info = _read_pidfile(d)
    if info is None:
        return 0
    pid = info[0]
    if not _started_here(pid, d):
        os.unlink(_pidfile(d))      # already gone
        return 0
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    if sig == signal.SIGTERM:
        try:
            wait_until(lambda: not _pg_alive(pid), 5.0, what="exit of %d" % pid)
        except TimeoutError:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    else:
        wait_until(lambda: not _pg_alive(pid), 5.0, what="exit of %d" % pid)
    os.unlink(_pidfile(d))
    return 0


def _pg_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # a zombie leader still counts as a group member; reap if it is our child (never here)
    try:
        with open("/proc/%d/stat" % pgid) as f:
            if f.read().split(") ")[1].startswith("Z"):
                return False
    except (OSError, IndexError):
        pass
    return True


def main(argv):
    if len(argv) >= 3 and argv[0] == "start":
        extra = dict(a.split("=", 1) for a in argv[3:] if "=" in a)
        return _cli_start(argv[1], argv[2], extra=extra)
    if len(argv) == 2 and argv[0] == "stop":
        return _cli_kill(argv[1], signal.SIGTERM)
    if len(argv) == 2 and argv[0] == "kill9":
        return _cli_kill(argv[1], signal.SIGKILL)
    if len(argv) == 2 and argv[0] == "restart":
        d = argv[1]
        info = _read_pidfile(d)
        cfg = os.path.join(d, "zoo.cfg")
        if info is None and not os.path.exists(cfg):
            print("nothing to restart in %s" % d, file=sys.stderr)
            return 1
        if info is not None:
            _cli_kill(d, signal.SIGTERM)
            port, kind = info[1], info[2]
        else:
            kv = dict(line.strip().split("=", 1) for line in open(cfg) if "=" in line)
            port = int(kv["clientPort"])
            kind = open(os.path.join(d, "kind")).read().strip() if os.path.exists(
                os.path.join(d, "kind")) else "apache"
        return _cli_start(kind, d, port=port)
    if len(argv) == 3 and argv[0] == "4lw":
        try:
            sys.stdout.write(four_letter(int(argv[1]), argv[2]))
        except OSError as e:
            print("4lw failed: %s" % e, file=sys.stderr)
            return 1
        return 0
    if len(argv) == 1 and argv[0] == "target":
        print(target_kind())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
