#!/usr/bin/python3
"""kharness — start/stop Kafka brokers (gregor-broker or the real Apache Kafka 0.9.0.1) for the
broker integration and fault tests.

Owns: a standalone gregor-coord per cluster (through zkharness.Server, free port, temp dir), a
gregor-broker (free port, temp log dir, test-friendly settings, --override for anything) or the
real Kafka 0.9.0.1 broker (deploy/peers.sh kafka09; JVM heap 256 MiB) against that coordinator;
readiness ("a Metadata request is answered with this broker in it", raw socket, no client
library), topic creation through the coordinator (the way kafka-topics.sh --zookeeper does it)
or auto-creation, waiting for partition leaders, kill -9 / restart / stop of process groups, and
the broker's log tail on failure.

Environment:
  KH_TARGET        which broker the tests run against: "gregor" (default) or "kafka09" (the real
                   Apache Kafka 0.9.0.1: proves a scenario where 0.9 supports it; scenarios that
                   need a newer broker skip).
  GREGOR_BROKER    path of gregor-broker (default $GREGOR_TOP/build/bin/gregor-broker).
  KH_READY_S       seconds a broker gets to answer Metadata with itself (default 20 gregor,
                   60 kafka09).
  KH_KEEP          "1": keep temporary directories (logs) after the run.
  GREGOR_PEERS     cache of deploy/peers.sh.

Use:
    import kharness as kh
    def main():
        c = kh.Cluster(partitions=3)          # coordinator + broker (KH_TARGET), both serving
        c.create_topic("t", 3)                # /brokers/topics/t, then waits for leaders
        ... real clients against c.bootstrap ...
        c.broker.kill9(); c.broker.restart()
    kh.run_test(main)                         # 0 pass / 77 skip / 1 fail (+ broker log tails)

Run everything with /usr/bin/python3 (the Debian python modules: kafka-python, confluent_kafka,
kazoo)."""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness as zkh  # noqa: E402

TOP = zkh.TOP
SKIP = 77
SkipTest = zkh.SkipTest
wait_until = zkh.wait_until
free_port = zkh.free_port
log_ = zkh.log


def log(*a):
    print("[kh]", *a, file=sys.stderr, flush=True)


def target():
    """The broker the tests run against: "gregor" (default) or "kafka09"."""
    t = os.environ.get("KH_TARGET", "gregor").strip().lower()
    if t not in ("gregor", "kafka09"):
        raise SystemExit("KH_TARGET must be gregor or kafka09, not %r" % t)
    return t


def broker_binary():
    return os.environ.get("GREGOR_BROKER") or os.path.join(TOP, "build", "bin", "gregor-broker")


def skip(msg):
    raise SkipTest(msg)


def need_gregor(what):
    """Skips when the target is the real Kafka 0.9 and the scenario needs a newer broker."""
    if target() != "gregor":
        skip("%s: not supported by Apache Kafka 0.9.0.1 (KH_TARGET=%s)" % (what, target()))


def kafka09_home():
    """KAFKA_HOME of Apache Kafka 0.9.0.1 from deploy/peers.sh (SkipTest when unavailable)."""
    r = subprocess.run(["sh", os.path.join(TOP, "deploy", "peers.sh"), "kafka09"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("Apache Kafka 0.9.0.1 unavailable: %s" % (r.stderr.strip() or "peers.sh failed"))
    home = r.stdout.strip().splitlines()[-1]
    if not os.path.exists(os.path.join(home, "bin", "kafka-run-class.sh")):
        skip("Apache Kafka 0.9.0.1 unavailable at %s" % home)
    if not shutil.which("java"):
        skip("java is not installed (Apache Kafka 0.9.0.1 tools)")
    return home


def kafka09_env(log_dir):
    """Environment for Kafka 0.9's bin/*.sh: small heap, no GC log, logs under log_dir."""
    os.makedirs(log_dir, exist_ok=True)
    env = dict(os.environ)
    env.update(KAFKA_HEAP_OPTS="-Xmx256m", KAFKA_GC_LOG_OPTS=" ", LOG_DIR=log_dir,
               KAFKA_JVM_PERFORMANCE_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true")
    return env


# ------------------------------------------------------------------ raw Kafka protocol

def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            return None
        buf += b
    return buf


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def request(api, ver, corr, body, client_id="kh"):
    """A framed request with header v1."""
    hdr = struct.pack(">hhi", api, ver, corr) + kstr(client_id)
    return struct.pack(">i", len(hdr) + len(body)) + hdr + body


def roundtrip(port, api, ver, body, corr=1, timeout=5.0, sock=None):
    """Sends one request, returns the response body after the correlation id (bytes), or None
    when the connection was closed without an answer. Checks the correlation id."""
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(request(api, ver, corr, body))
        hdr = _recv_exact(s, 4)
        if hdr is None:
            return None
        n = struct.unpack(">i", hdr)[0]
        resp = _recv_exact(s, n)
        if resp is None or len(resp) < 4:
            return None
        c = struct.unpack(">i", resp[:4])[0]
        if c != corr:
            raise AssertionError("correlation id %d, want %d" % (c, corr))
        return resp[4:]
    finally:
        if sock is None:
            s.close()


class _Rd:
    def __init__(self, b):
        self.b, self.i = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.i)
        self.i += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def str(self):
        n = self.take(">h")
        if n < 0:
            return None
        v = self.b[self.i:self.i + n].decode("utf-8", "replace")
        self.i += n
        return v


def metadata_v0(port, topics=(), timeout=5.0):
    """Metadata v0 (every broker since 0.8 answers it). topics=() asks for all topics (and
    auto-creates nothing). Returns {"brokers": {id: (host, port)}, "topics": {name: (err,
    {partition: (err, leader, replicas, isr)})}} or None if the connection closed."""
    body = struct.pack(">i", len(topics)) + b"".join(kstr(t) for t in topics)
    resp = roundtrip(port, 3, 0, body, corr=7, timeout=timeout)
    if resp is None:
        return None
    r = _Rd(resp)
    brokers = {}
    for _ in range(r.take(">i")):
        nid = r.take(">i")
        host = r.str()
        brokers[nid] = (host, r.take(">i"))
    out = {}
    for _ in range(r.take(">i")):
        terr = r.take(">h")
        name = r.str()
        parts = {}
        for _ in range(r.take(">i")):
            perr, pid, leader = r.take(">hii")
            reps = [r.take(">i") for _ in range(r.take(">i"))]
            isr = [r.take(">i") for _ in range(r.take(">i"))]
            parts[pid] = (perr, leader, reps, isr)
        out[name] = (terr, parts)
    return {"brokers": brokers, "topics": out}


def api_versions(port, timeout=5.0):
    """ApiVersions v0: {api_key: (min, max)}; None when closed or answered with an error."""
    resp = roundtrip(port, 18, 0, b"", corr=3, timeout=timeout)
    if resp is None:
        return None
    r = _Rd(resp)
    if r.take(">h") != 0:
        return None
    out = {}
    for _ in range(r.take(">i")):
        k, lo, hi = r.take(">hhh")
        out[k] = (lo, hi)
    return out


# ------------------------------------------------------------------ processes

_live = []
_clusters = []


def _cleanup_all():
    for p in list(_live):
        try:
            p.stop()
        except Exception as e:
            log("cleanup of %r failed: %s" % (p, e))


def _on_signal(signum, frame):
    _cleanup_all()
    for c in list(_clusters):
        try:
            c.cleanup()
        except Exception:
            pass
    zkh._cleanup_all()
    os._exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    try:
        signal.signal(_s, _on_signal)
    except (ValueError, OSError):
        pass


class Proc:
    """A process started in its own process group (output to a file), killed with its group."""

    def __init__(self, argv, log_path, env=None, cwd=None, stdin=subprocess.DEVNULL):
        self.argv = argv
        self.log_path = log_path
        self.logf = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=self.logf, stderr=subprocess.STDOUT,
                                  env=env, cwd=cwd, start_new_session=True)
        self.pid = self.p.pid
        _live.append(self)

    def __repr__(self):
        return "<proc %d %s>" % (self.pid, os.path.basename(self.argv[0]))

    def alive(self):
        return self.p.poll() is None

    def _sig(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def _exited(self):
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def kill9(self):
        self._sig(signal.SIGKILL)
        self.p.wait()
        self._done()

    def stop(self, grace=10.0):
        """SIGTERM to the group, SIGKILL after `grace` s and to stragglers; returns the exit code
        of the leader (negative = signal)."""
        if self.p.returncode is None:
            self._sig(signal.SIGTERM)
            self._sig(signal.SIGCONT)
            try:
                wait_until(self._exited, grace, interval=0.02, what="exit")
            except TimeoutError:
                log("%r did not exit within %.0fs of SIGTERM: SIGKILL" % (self, grace))
        self._sig(signal.SIGKILL)
        rc = self.p.wait()
        self._done()
        return rc

    def _done(self):
        if self.logf:
            self.logf.close()
            self.logf = None
        if self in _live:
            _live.remove(self)

    def tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


class Broker:
    """One Kafka broker process (kind "gregor" or "kafka09") with its own directory (config,
    log dirs, broker.log). restart() keeps the port and the log dirs."""

    def __init__(self, kind, zk_connect, base_dir, broker_id=0, partitions=1, overrides=None,
                 port=None):
        self.kind = kind
        self.zk_connect = zk_connect
        self.dir = base_dir
        self.id = broker_id
        self.port = port or free_port()
        self.partitions = partitions
        self.overrides = dict(overrides or {})
        self.data_dir = os.path.join(self.dir, "kafka-logs")
        self.proc = None
        self.starts = 0
        self.killed = False
        os.makedirs(self.data_dir, exist_ok=True)

    def __repr__(self):
        return "<%s broker %d on %d>" % (self.kind, self.id, self.port)

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def log_path(self):
        return os.path.join(self.dir, "broker.log")

    def settings(self):
        s = {
            "broker.id": str(self.id),
            "zookeeper.connect": self.zk_connect,
            "log.dirs": self.data_dir,
            "num.partitions": str(self.partitions),
            "offsets.topic.replication.factor": "1",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            "zookeeper.session.timeout.ms": "6000",
            "zookeeper.connection.timeout.ms": "6000",
        }
        if self.kind == "gregor":
            s.update({
                "listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
                "group.initial.rebalance.delay.ms": "0",
                "transaction.state.log.replication.factor": "1",
                "transaction.state.log.min.isr": "1",
            })
        else:  # Kafka 0.9 keys
            s.update({
                "port": str(self.port),
                "host.name": "127.0.0.1",
                "advertised.host.name": "127.0.0.1",
                "advertised.port": str(self.port),
                "offsets.topic.num.partitions": "8",
                "log.cleaner.dedupe.buffer.size": "4194304",
                "controlled.shutdown.enable": "true",
            })
        # "{port}" in an override stands for this broker's (first) listener port
        s.update({k: str(v).replace("{port}", str(self.port)) for k, v in self.overrides.items()})
        return s

    def _write_config(self):
        path = os.path.join(self.dir, "server.properties")
        s = self.settings()
        with open(path, "w") as f:
            for k, v in s.items():
                f.write("%s=%s\n" % (k, v))
        return path

    def launch(self):
        """Starts the process (does not wait)."""
        cfg = self._write_config()
        self.starts += 1
        with open(self.log_path, "ab") as f:
            f.write(("==== start %d: %s\n" % (self.starts, time.strftime("%H:%M:%S"))).encode())
        if self.kind == "gregor":
            exe = broker_binary()
            if not os.path.exists(exe):
                skip("%s not built (make)" % exe)
            # every setting as --override too, so precedence over the file never matters
            argv = [exe, cfg]
            self.proc = Proc(argv, self.log_path, cwd=self.dir)
        else:
            home = kafka09_home()
            env = kafka09_env(os.path.join(self.dir, "applogs"))
            self.proc = Proc([os.path.join(home, "bin", "kafka-server-start.sh"), cfg],
                             self.log_path, env=env, cwd=self.dir)
        return self

    def start(self, timeout=None):
        self.launch()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=None):
        """Waits until the broker answers Metadata v0 listing itself (broker id and port)."""
        if timeout is None:
            timeout = float(os.environ.get("KH_READY_S", "20" if self.kind == "gregor" else "60"))

        def ready():
            if not self.proc.alive():
                raise AssertionError("%r exited with status %s during start-up:\n%s" % (
                    self, self.proc.p.returncode, self.proc.tail()))
            try:
                md = metadata_v0(self.port, timeout=2.0)
            except (OSError, AssertionError, struct.error):
                return False
            return md is not None and md["brokers"].get(self.id, (None, None))[1] == self.port
        try:
            wait_until(ready, timeout, interval=0.1, what="%r to answer Metadata with itself" % self)
        except TimeoutError as e:
            raise AssertionError("%s\n--- %s tail ---\n%s" % (e, self.log_path, self.proc.tail()))

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def kill9(self):
        if self.proc:
            self.proc.kill9()
            self.killed = True

    def sigstop(self):
        """Freezes the broker's process group (sockets stay open; its coordinator session
        expires once the session timeout passes). sigcont() resumes it."""
        self.proc._sig(signal.SIGSTOP)

    def sigcont(self):
        self.proc._sig(signal.SIGCONT)

    def stop(self):
        """Clean stop (SIGTERM); returns the exit status."""
        if self.proc is None:
            return None
        rc = self.proc.stop(grace=20.0 if self.kind == "kafka09" else 10.0)
        return rc

    def restart(self, timeout=None):
        """Starts again on the same port and log dirs (after kill9() or stop())."""
        if self.alive():
            self.stop()
        if self.killed and self.kind == "kafka09":
            # Kafka 0.9 dies with "A broker is already registered on the path /brokers/ids/N"
            # when restarted before its old session expired: wait for that (Gregor must not)
            self._wait_unregistered()
        self.killed = False
        return self.start(timeout)

    def _wait_unregistered(self):
        from kazoo.client import KazooClient
        z = KazooClient(hosts=self.zk_connect, timeout=10)
        z.start(timeout=10)
        try:
            wait_until(lambda: not z.exists("/brokers/ids/%d" % self.id), 60, 0.1,
                       "the stale /brokers/ids/%d to expire" % self.id)
        finally:
            z.stop()
            z.close()

    def tail(self, n=40):
        return self.proc.tail(n) if self.proc else "(not started)"

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Cluster:
    """A coordinator (gregor-coord, standalone) and one broker of kind `kind` (default
    target()). Both serve when the constructor returns. cleanup() stops everything and removes
    the directory (unless KH_KEEP=1); run_test() does that for every cluster."""

    def __init__(self, kind=None, partitions=1, overrides=None, chroot="", start=True):
        self.kind = kind or target()
        self.dir = tempfile.mkdtemp(prefix="kh-%s-" % self.kind)
        _clusters.append(self)
        self.coord = zkh.start_server("gregor", base_dir=os.path.join(self.dir, "coord"))
        self.chroot = chroot
        if chroot:
            self._zk_mkpath(chroot)
        self.zk_connect = self.coord.address + chroot
        self.broker = Broker(self.kind, self.zk_connect, os.path.join(self.dir, "broker"),
                             partitions=partitions, overrides=overrides)
        log("coord on %d, %s broker on %d (%s)" % (self.coord.port, self.kind, self.broker.port,
                                                   self.dir))
        if start:
            self.broker.start()

    @property
    def bootstrap(self):
        return self.broker.bootstrap

    @property
    def port(self):
        return self.broker.port

    # --- coordinator access (kazoo)
    def zk(self):
        """A connected kazoo client on the coordinator (chroot applied); caller stops it."""
        from kazoo.client import KazooClient
        z = KazooClient(hosts=self.coord.address + self.chroot, timeout=10)
        z.start(timeout=10)
        return z

    def _zk_mkpath(self, path):
        from kazoo.client import KazooClient
        z = KazooClient(hosts=self.coord.address, timeout=10)
        z.start(timeout=10)
        try:
            z.ensure_path(path)
        finally:
            z.stop()
            z.close()

    def create_topic(self, name, partitions=1, wait=True, timeout=30.0):
        """Creates a topic the way kafka-topics.sh --zookeeper does (a /brokers/topics/<name>
        znode with the replica assignment, all on this broker), then waits for every partition
        to have a leader (Metadata v0)."""
        z = self.zk()
        try:
            z.ensure_path("/brokers/topics")
            z.ensure_path("/config/topics")
            if not z.exists("/config/topics/" + name):
                z.create("/config/topics/" + name,
                         json.dumps({"version": 1, "config": {}}).encode())
            assign = {str(p): [self.broker.id] for p in range(partitions)}
            z.create("/brokers/topics/" + name,
                     json.dumps({"version": 1, "partitions": assign}).encode())
        finally:
            z.stop()
            z.close()
        if wait:
            self.wait_leaders(name, partitions, timeout)

    def wait_leaders(self, name, partitions=None, timeout=30.0, auto_create=False):
        """Waits until Metadata v0 shows topic `name` with error 0 and a leader for each of its
        partitions (at least `partitions` of them). auto_create: ask for the topic by name
        (which auto-creates it); otherwise ask for all topics. Returns the partition map."""
        last = [None]

        def ok():
            try:
                md = metadata_v0(self.port, [name] if auto_create else [], timeout=3.0)
            except (OSError, AssertionError, struct.error) as e:
                last[0] = repr(e)
                return False
            if md is None:
                last[0] = "connection closed"
                return False
            t = md["topics"].get(name)
            last[0] = t
            if t is None or t[0] != 0 or not t[1]:
                return False
            if partitions is not None and len(t[1]) < partitions:
                return False
            if all(p[0] == 0 and p[1] >= 0 for p in t[1].values()):
                return t[1]
            return False
        try:
            return wait_until(ok, timeout, interval=0.1, what="leaders of topic %s" % name)
        except TimeoutError as e:
            raise AssertionError("%s (last Metadata answer: %r)\n--- broker tail ---\n%s" % (
                e, last[0], self.broker.tail()))

    def cleanup(self):
        try:
            self.broker.stop()
        finally:
            self.coord.cleanup()
            if os.environ.get("KH_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)
            else:
                log("kept %s" % self.dir)
        if self in _clusters:
            _clusters.remove(self)


def run_test(main):
    """Runs main() with run-dir.sh's exit codes (0 pass, 77 skip, 1 fail). On failure the
    tails of every broker log of live clusters are printed. Everything started is stopped."""
    import traceback
    code = 0
    try:
        main()
        print("PASS", file=sys.stderr, flush=True)
    except SkipTest as e:
        print("SKIP: %s" % e, file=sys.stderr, flush=True)
        code = SKIP
    except zkh.CoordRequired as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        code = 1
    except BaseException as e:
        if isinstance(e, SystemExit) and e.code in (0, None):
            code = 0
        elif isinstance(e, SystemExit):
            code = e.code if isinstance(e.code, int) else 1
        else:
            traceback.print_exc()
            code = 1
        if code not in (0, SKIP):
            name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
            for i, c in enumerate(list(_clusters)):
                print("--- %s: last lines of %s ---\n%s" % (c.broker, c.broker.log_path,
                                                           c.broker.tail(60)), file=sys.stderr)
                # whole logs kept where run-dir.sh keeps the test's output
                for what, src in (("broker", c.broker.log_path), ("coord", c.coord.log_path)):
                    dst = "/tmp/gregor-failed-%s.%d.%s.log" % (name, i, what)
                    try:
                        shutil.copyfile(src, dst)
                        print("    (full %s log: %s)" % (what, dst), file=sys.stderr)
                    except OSError:
                        pass
            print("FAIL", file=sys.stderr, flush=True)
    finally:
        _cleanup_all()
        for c in list(_clusters):
            try:
                c.cleanup()
            except Exception as e:
                log("cleanup failed: %s" % e)
        zkh._cleanup_all()
    sys.stdout.flush()
    os._exit(code)


class Check:
    """Collects assertion failures so one test can report every failing scenario (each with
    its reason) instead of stopping at the first; finish() raises if any failed."""

    def __init__(self):
        self.failures = []
        self.passed = 0

    def __call__(self, name, fn, *a, **kw):
        t0 = time.monotonic()
        try:
            fn(*a, **kw)
        except SkipTest:
            raise
        except Exception as e:
            import traceback
            tb = traceback.format_exc(limit=4)
            self.failures.append("%s: %s" % (name, e))
            print("  FAIL %s (%.1fs): %s\n%s" % (name, time.monotonic() - t0, e, tb),
                  file=sys.stderr, flush=True)
            return False
        self.passed += 1
        print("  ok   %s (%.1fs)" % (name, time.monotonic() - t0), file=sys.stderr, flush=True)
        return True

    def finish(self):
        if self.failures:
            raise AssertionError("%d scenario(s) failed, %d passed:\n  %s" % (
                len(self.failures), self.passed, "\n  ".join(self.failures)))


def run_cmd(argv, timeout=60, input=None, env=None, check=True):
    """Runs a client command in its own process group; returns (rc, stdout, stderr).
    On timeout the whole group is killed and AssertionError raised; check: nonzero rc raises."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        raise AssertionError("%s did not finish within %ds\nstdout: %s\nstderr: %s" % (
            " ".join(argv), timeout, out.decode("utf-8", "replace")[-2000:],
            err.decode("utf-8", "replace")[-3000:]))
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv), p.returncode, out[-2000:], err[-3000:]))
    return p.returncode, out, err


def main_cli(argv):
    """kharness.py up [partitions]: starts a cluster (KH_TARGET) in the foreground, prints the
    bootstrap address and waits for Ctrl-C (for trying clients by hand)."""
    if argv[:1] == ["up"]:
        def go():
            c = Cluster(partitions=int(argv[1]) if len(argv) > 1 else 1)
            print("bootstrap %s  zookeeper %s  dir %s" % (c.bootstrap, c.zk_connect, c.dir),
                  flush=True)
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
        run_test(go)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main_cli(sys.argv[1:]))
