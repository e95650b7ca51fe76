#!/usr/bin/python3
"""zkensemble — replicated ZooKeeper-protocol ensembles (N voters + M observers) on loopback,
of either kind (Apache ZooKeeper 3.8 or gregor-coord), for the fault tests, the ensemble
differential test and the ensemble benchmark.

Owns: the members' directories and zoo.cfg files (server.N lines, myid, peerType=observer,
tickTime/initLimit/syncLimit), ports (kept out of the kernel's ephemeral range, so an
outgoing connection never takes a member's port while it is down), per-member control
(start, stop, kill -9, SIGSTOP/SIGCONT, restart: each member is a zkharness.Server in its
own process group, stopped at exit even when a test fails), "ensemble ready", roles from
the `srvr` Mode line, optional TCP proxies on every peer link (tcpproxy.ProxyHub) so a
member can be cut off without root, and the skip/fail policy for gregor ensembles.

Both kinds get the same configuration, as users write it:

    tickTime=500  initLimit=10  syncLimit=5  dataDir=<m>/data  clientPort=<p>
    clientPortAddress=127.0.0.1  4lw.commands.whitelist=*  admin.enableServer=false ...
    server.1=127.0.0.1:<quorum>:<election>
    server.4=127.0.0.1:<quorum>:<election>:observer
    peerType=observer                              (on the observer only)
    <m>/data/myid = "<N>"

With proxied=True member i's server.j line (j != i) names the ports of proxies i>j:q and
i>j:e, which forward to j's real quorum / election ports; a member's own line always has
its real ports (it binds them). A connection i opened to j therefore crosses link i>j, in
both directions; cutting i from j = cutting i>j and j>i. Apache ZooKeeper connects back to
the election address a peer advertises in its first message; the proxy rewrites it to the
proxy of the opposite link (see _hello_rewriter), so no connection bypasses the proxies.

API (caller owns what it starts; everything is stopped at exit anyway):
  start_ensemble(kind, voters=3, observers=0, tick_ms=500, proxied=False, extra_cfg=...)
      -> Ensemble, ready (SkipTest / EnsembleRequired for a non-functional gregor)
  Ensemble: members, voters, observers, member(sid), leader(), followers(), modes(),
      live(), connect_string(), launch(), start(), wait_ready(timeout, members),
      stop_all(), kill9_all(), cleanup(); with proxies: cut(a, b), isolate(m), heal(m),
      hold_traffic(src, dst, nbytes) / release_traffic(src, dst), link_stats(a, b)
  Member (a zkharness.Server): sid, role, port, quorum_port, election_port, launch(),
      start(), stop(), kill9(), sigstop(), sigcont(), restart(), alive(), srvr(), mode(),
      zxid(), serving(), log_tail()

"Ready" = exactly one live member says Mode: leader, every member asked about says a mode
that fits its role (observer / leader or follower), and each of them grants a session
(raw ConnectRequest + closeSession; on an ensemble that is a global session, which needs
the quorum).

Environment:
  GREGOR_ITEST_TARGET      kind of the ensemble under test: gregor (default) or apache
  GREGOR_REQUIRE_ENSEMBLE  "1": a gregor ensemble that does not become ready is a test
                           failure; otherwise the test is skipped (exit 77) with the reason
  ZKH_GREGOR_ENS_READY_S   seconds a gregor ensemble gets to become ready (default 20)
  ZKH_KEEP, ZKH_JVM_FLAGS, GREGOR_COORD: as in zkharness

Shell use (the ensemble outlives the command; state in DIR/ensemble.json):
  zkensemble.py start apache|gregor|target DIR [--voters N] [--observers M] [--tick MS]
                [--init-limit T] [--sync-limit T] [key=value ...]
                    -> waits until ready, prints one line per member: "sid role port pid";
                       exit 77 / 1 as start_ensemble (skip / GREGOR_REQUIRE_ENSEMBLE=1)
  zkensemble.py status DIR          -> "sid role port pid mode" per member (mode "-" = down
                                       or not serving)
  zkensemble.py leader DIR          -> "sid port pid" of the leader (exit 1: none)
  zkensemble.py kill9|stop|sigstop|sigcont DIR SID|all
  zkensemble.py restart DIR SID     -> starts it again, waits until it serves
  zkensemble.py wait-ready DIR [SECS]
  zkensemble.py destroy DIR         -> stops every member and removes DIR
"""

import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from zkharness import NotFunctional, SkipTest, CoordRequired, log, wait_until  # noqa: E402,F401

DEFAULT_TICK_MS = 500
DEFAULT_INIT_LIMIT = 10
DEFAULT_SYNC_LIMIT = 5
APACHE_ENS_READY_S = 90.0     # several JVMs starting at once on a 2-core machine
GREGOR_ENS_READY_S = float(os.environ.get("ZKH_GREGOR_ENS_READY_S", "20"))


class EnsembleRequired(CoordRequired):
    """A gregor ensemble is not functional although GREGOR_REQUIRE_ENSEMBLE=1."""


def require_ensemble():
    return os.environ.get("GREGOR_REQUIRE_ENSEMBLE", "") == "1"


# ------------------------------------------------------------------ ports

_handed_out = set()
_port_lock = threading.Lock()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_port():
    """A loopback port below the ephemeral range that is free now and was not handed out
    by this process before. Outgoing connections take ephemeral ports, so a member that is
    down for a while (kill -9, restart) finds its ports still free."""
    low = _ephemeral_low()
    lo, hi = (10000, low) if low > 12000 else (1024, 10000)
    rnd = random.SystemRandom()
    with _port_lock:
        for _ in range(500):
            p = rnd.randrange(lo, hi)
            if p not in _handed_out and _bindable(p):
                _handed_out.add(p)
                return p
    return zkharness.free_port()


# --------------------------------------------------------------- members

class Member(zkharness.Server):
    """One server of an Ensemble. Its zoo.cfg is written by the ensemble at every
    (re)start; the data directory (and myid) stays across restarts."""

    def __init__(self, ens, sid, role, base_dir, client_port, quorum_port, election_port):
        super().__init__(ens.kind, base_dir=base_dir, port=client_port, tick_ms=ens.tick_ms)
        self.ens = ens
        self.sid = sid
        self.role = role
        self.quorum_port = quorum_port
        self.election_port = election_port

    def __repr__(self):
        return "<member %d (%s, %s) port %d pid %s>" % (
            self.sid, self.role, self.kind, self.port, self.proc.pid if self.proc else "-")

    @property
    def name(self):
        return "server.%d" % self.sid

    def write_config(self):
        self.extra_cfg = self.ens.member_cfg(self)
        os.makedirs(self.data_dir, exist_ok=True)
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % self.sid)
        return super().write_config()

    def srvr(self, timeout=1.0):
        """The `srvr` reply as {key: value} ({} when it answered without a Mode line, e.g.
        "not currently serving requests"); None when it is not reachable."""
        try:
            txt = zkharness.four_letter(self.port, "srvr", timeout=timeout)
        except OSError:
            return None
        out = {}
        for ln in txt.splitlines():
            if ": " in ln:
                k, v = ln.split(": ", 1)
                out[k.strip()] = v.strip()
        return out

    def mode(self, timeout=1.0):
        """leader / follower / observer / standalone from srvr, or None."""
        s = self.srvr(timeout)
        return s.get("Mode") if s else None

    def zxid(self):
        """Last zxid from srvr (int), or None."""
        s = self.srvr()
        try:
            return int(s["Zxid"], 16) if s and "Zxid" in s else None
        except ValueError:
            return None

    def serving(self, timeout=1.0):
        """True when it grants a session (and closes it again)."""
        try:
            return zkharness.zk_session_roundtrip(self.port, timeout=timeout)
        except OSError:
            return False

    def restart(self, timeout=None):
        """Starts the member again on its ports and data directory and waits until it
        answers ruok and grants a session, i.e. it has rejoined the quorum."""
        if timeout is None:
            timeout = self.ens.ready_timeout
        return self.start(timeout=timeout)


class Ensemble:
    """voters + observers servers of one kind. Caller owns it: cleanup() (or `with`)
    stops every member and the proxies and removes the directory (unless ZKH_KEEP=1)."""

    def __init__(self, kind, voters=3, observers=0, base_dir=None, tick_ms=DEFAULT_TICK_MS,
                 init_limit=DEFAULT_INIT_LIMIT, sync_limit=DEFAULT_SYNC_LIMIT, proxied=False,
                 extra_cfg=None):
        if kind == "target":
            kind = zkharness.target_kind()
        if kind not in ("apache", "gregor"):
            raise ValueError("kind must be apache, gregor or target")
        if voters < 1 or observers < 0:
            raise ValueError("need at least one voter")
        self.kind = kind
        self.tick_ms = tick_ms
        self.init_limit = init_limit
        self.sync_limit = sync_limit
        self.extra_cfg = dict(extra_cfg or {})
        self.owns_dir = base_dir is None
        self.dir = base_dir or tempfile.mkdtemp(prefix="zke-%s-" % kind)
        os.makedirs(self.dir, exist_ok=True)
        self.ready_timeout = APACHE_ENS_READY_S if kind == "apache" else GREGOR_ENS_READY_S
        self.members = []
        for i in range(voters + observers):
            sid = i + 1
            role = "participant" if i < voters else "observer"
            self.members.append(Member(self, sid, role, os.path.join(self.dir, "m%d" % sid),
                                       pick_port(), pick_port(), pick_port()))
        self.hub = None
        if proxied:
            import tcpproxy
            self.hub = tcpproxy.ProxyHub(pick_port=pick_port)
            for a in self.members:
                for b in self.members:
                    if a is not b:
                        self.hub.add(self._link(a, b, "q"), b.quorum_port)
                        self.hub.add(self._link(a, b, "e"), b.election_port,
                                     rewrite_hello=self._hello_rewriter(a, b))

    def __repr__(self):
        return "<%s ensemble %s>" % (self.kind, ", ".join(
            "%d:%s:%d" % (m.sid, m.role[0], m.port) for m in self.members))

    # ---------------------------------------------------------- configuration

    @staticmethod
    def _link(a, b, which):
        return "%d>%d:%s" % (a.sid, b.sid, which)

    def _hello_rewriter(self, a, b):
        """Apache ZooKeeper 3.5+ opens an election connection with
        long protocolVersion (-65536 or -65535), long sid, int length, "host:port[|...]"
        (its own election address). A server with the higher sid drops a connection from
        a lower one and connects back to that advertised address, which would bypass the
        proxies. On link a>b this rewrites a's real election address into the proxy of
        link b>a, so the connection back crosses a proxy too. Anything else (older
        versions, other servers' protocols) passes unchanged."""
        def rewrite(data):
            if len(data) < 8:
                return None
            version = int.from_bytes(data[:8], "big", signed=True)
            if version not in (-65536, -65535):
                return data
            if len(data) < 20:
                return None
            n = int.from_bytes(data[16:20], "big", signed=True)
            if n < 0 or n > 4096:
                return data
            if len(data) < 20 + n:
                return None
            back = self.hub.links()[self._link(b, a, "e")][0]
            addrs = []
            for ad in data[20:20 + n].decode("latin-1").split("|"):
                host, _, port = ad.rpartition(":")
                if port == str(a.election_port):
                    ad = "%s:%d" % (host, back)
                addrs.append(ad)
            new = "|".join(addrs).encode("latin-1")
            return data[:16] + len(new).to_bytes(4, "big") + new + data[20 + n:]
        return rewrite

    def member_cfg(self, m):
        """The zoo.cfg settings (beyond zkharness.Server's) of member m, as a dict."""
        cfg = {"initLimit": str(self.init_limit), "syncLimit": str(self.sync_limit)}
        for o in self.members:
            if o is m or self.hub is None:
                qp, ep = o.quorum_port, o.election_port
            else:
                links = self.hub.links()
                qp = links[self._link(m, o, "q")][0]
                ep = links[self._link(m, o, "e")][0]
            cfg["server.%d" % o.sid] = "127.0.0.1:%d:%d%s" % (
                qp, ep, ":observer" if o.role == "observer" else "")
        if m.role == "observer":
            cfg["peerType"] = "observer"
        cfg.update(self.extra_cfg)
        return cfg

    def member(self, sid):
        return next(m for m in self.members if m.sid == sid)

    @property
    def voters(self):
        return [m for m in self.members if m.role == "participant"]

    @property
    def observers(self):
        return [m for m in self.members if m.role == "observer"]

    def live(self):
        return [m for m in self.members if m.alive()]

    def connect_string(self, members=None):
        return ",".join(m.address for m in (members or self.members))

    def ports(self, members=None):
        return [m.port for m in (members or self.members)]

    # ------------------------------------------------------------- lifecycle

    def launch(self, members=None):
        """Starts the processes of members (default: all) without waiting."""
        for m in members or self.members:
            if not m.alive():
                m.launch()

    def start(self, timeout=None):
        """Starts every member and waits until the ensemble is ready. Returns the leader.
        Raises NotFunctional (gregor) / RuntimeError (apache) with the members' log
        tails when it does not become ready in time or a member exits."""
        self.launch()
        return self.wait_ready(timeout)

    def wait_ready(self, timeout=None, members=None):
        """Waits until exactly one live member is the leader and every member in members
        (default: every member that runs) reports a mode fitting its role and grants a
        session. Returns the leader. A member that exits meanwhile ends the wait at once.
        Raises NotFunctional (gregor) / RuntimeError (apache)."""
        if timeout is None:
            timeout = self.ready_timeout
        want = list(members) if members else [m for m in self.members if m.proc is not None]
        state = {"modes": {}}

        def ready():
            for m in want:
                if m.proc is None or m.proc.poll() is not None:
                    raise _MemberExited(m)
            modes = {m.sid: m.mode(timeout=0.5) for m in self.live()}
            state["modes"] = modes
            leaders = [sid for sid, md in modes.items() if md == "leader"]
            if len(leaders) != 1:
                return None
            for m in want:
                md = modes.get(m.sid)
                if md not in (("observer",) if m.role == "observer" else ("leader", "follower")):
                    return None
            for m in want:
                if not m.serving(timeout=2.0):
                    return None
            return self.member(leaders[0])
        try:
            return wait_until(ready, timeout, interval=0.05, what="ensemble ready")
        except (TimeoutError, _MemberExited) as e:
            if isinstance(e, _MemberExited):
                why = "member %d exited with status %s" % (e.member.sid, e.member.proc.returncode)
            else:
                why = "not ready after %.0fs (modes from srvr: %s)" % (timeout, ", ".join(
                    "%d=%s" % kv for kv in sorted(state["modes"].items())) or "none")
            msg = "%s ensemble %s\n%s" % (self.kind, why, self.log_tails())
            if self.kind == "gregor":
                raise NotFunctional(msg)
            raise RuntimeError(msg)

    def log_tails(self, n=12):
        return "\n".join("--- member %d (%s) server.log tail ---\n%s" % (m.sid, m.role, m.log_tail(n))
                         for m in self.members)

    def leader(self):
        """The live member that says Mode: leader (the first one, if several do), or None."""
        for m in self.live():
            if m.mode() == "leader":
                return m
        return None

    def modes(self):
        """{sid: mode or None} of every member (None: down or not serving)."""
        return {m.sid: (m.mode() if m.alive() else None) for m in self.members}

    def followers(self):
        return [m for m in self.live() if m.mode() == "follower"]

    def stop_all(self):
        for m in self.members:
            m.stop()

    def kill9_all(self):
        """SIGKILL to every member at (nearly) the same moment, then reap."""
        for m in self.members:
            m._signal_group(signal.SIGKILL)
        for m in self.members:
            m.kill9()

    def cleanup(self):
        for m in self.members:
            try:
                m.stop()
            except Exception as e:        # keep stopping the others
                log("stopping member %d failed: %s" % (m.sid, e))
        if self.hub is not None:
            self.hub.close()
            self.hub = None
        if self.owns_dir and os.environ.get("ZKH_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        elif os.environ.get("ZKH_KEEP") == "1":
            log("kept %s" % self.dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # ------------------------------------------------------------ partitions

    def _need_hub(self):
        if self.hub is None:
            raise RuntimeError("this ensemble was not built with proxied=True")

    def links_between(self, a, b):
        """Names of every proxy link carrying traffic between members a and b."""
        return [self._link(x, y, w) for x, y in ((a, b), (b, a)) for w in ("q", "e")]

    def cut(self, a, b, state="blackhole"):
        """Cuts the peer links between members a and b (state: blackhole or drop)."""
        self._need_hub()
        self.hub.set_state(self.links_between(a, b), state)

    def isolate(self, m, state="blackhole"):
        """Cuts member m from every other member (its client port stays reachable)."""
        self._need_hub()
        names = [n for o in self.members if o is not m for n in self.links_between(m, o)]
        self.hub.set_state(names, state)

    def heal(self, m=None):
        """Reopens every link (or every link of member m)."""
        self._need_hub()
        if m is None:
            self.hub.set_state("all", "open")
        else:
            self.hub.set_state([n for o in self.members if o is not m
                                for n in self.links_between(m, o)], "open")

    def hold_traffic(self, src, dst, nbytes):
        """Lets at most nbytes more flow from member src to member dst on every proxy
        link between them (whoever opened the connection, quorum or election port), then
        holds the rest in the proxy: e.g. a resync stopped half-way. Returns a function
        that tells how many bytes flowed src -> dst since the call."""
        self._need_hub()
        base = {}
        for w in ("q", "e"):
            down_name, up_name = self._link(dst, src, w), self._link(src, dst, w)
            base[down_name] = self.hub.stats(down_name)["down"]
            base[up_name] = self.hub.stats(up_name)["up"]
            self.hub.set_down_limit(down_name, base[down_name] + nbytes)
            self.hub.set_up_limit(up_name, base[up_name] + nbytes)

        def moved():
            return max(self.hub.stats(n)["down" if n.startswith("%d>" % dst.sid) else "up"] - b
                       for n, b in base.items())
        return moved

    def release_traffic(self, src, dst):
        """Lifts hold_traffic(src, dst)."""
        self._need_hub()
        for w in ("q", "e"):
            self.hub.set_down_limit(self._link(dst, src, w), None)
            self.hub.set_up_limit(self._link(src, dst, w), None)

    def link_stats(self, a, b, which="q"):
        """Counters of the proxy link a>b (which: q = quorum port, e = election port)."""
        self._need_hub()
        return self.hub.stats(self._link(a, b, which))


class _MemberExited(Exception):
    def __init__(self, member):
        super().__init__("member %d exited" % member.sid)
        self.member = member


def start_ensemble(kind="target", **kw):
    """Builds and starts an Ensemble (kwargs as Ensemble()); returns it once ready.
    A gregor ensemble that does not become ready raises SkipTest, or EnsembleRequired
    (a failure in run_test) when GREGOR_REQUIRE_ENSEMBLE=1. Caller owns the result."""
    ens = Ensemble(kind, **kw)
    t0 = time.monotonic()
    try:
        leader = ens.start()
    except NotFunctional as e:
        ens.cleanup()
        first = str(e).splitlines()[0]
        msg = ("gregor-coord ensembles are not functional (%d voters + %d observers must elect "
               "a leader and serve sessions within %.0fs): %s" % (
                   len(ens.voters), len(ens.observers), ens.ready_timeout, first))
        if require_ensemble():
            raise EnsembleRequired("GREGOR_REQUIRE_ENSEMBLE=1 and " + msg + "\n" +
                                   "\n".join(str(e).splitlines()[1:]))
        raise SkipTest(msg + " (GREGOR_REQUIRE_ENSEMBLE=1 makes this a failure)")
    except BaseException:
        ens.cleanup()
        raise
    log("%s ready in %.1fs, leader is member %d" % (ens, time.monotonic() - t0, leader.sid))
    return ens


# ---------------------------------------------------------------- shell CLI

def _state_path(d):
    return os.path.join(d, "ensemble.json")


def _save(ens):
    st = {"kind": ens.kind, "tick_ms": ens.tick_ms, "init_limit": ens.init_limit,
          "sync_limit": ens.sync_limit, "extra_cfg": ens.extra_cfg,
          "members": [{"sid": m.sid, "role": m.role, "port": m.port, "quorum": m.quorum_port,
                       "election": m.election_port,
                       "pid": m.proc.pid if m.proc else 0} for m in ens.members]}
    with open(_state_path(ens.dir) + ".tmp", "w") as f:
        json.dump(st, f, indent=1)
    os.replace(_state_path(ens.dir) + ".tmp", _state_path(ens.dir))


class _Detached:
    """Stand-in for a member's Popen once the CLI process that started it has exited:
    poll()/wait() through /proc, guarded against pid reuse by the command line."""

    def __init__(self, pid, cfg_path):
        self.pid = pid
        self.cfg = cfg_path
        self.returncode = None

    def _mine(self):
        try:
            with open("/proc/%d/cmdline" % self.pid, "rb") as f:
                args = f.read().split(b"\0")
            with open("/proc/%d/stat" % self.pid) as f:
                if f.read().split(") ")[1].startswith("Z"):
                    return False
        except (OSError, IndexError):
            return False
        return self.cfg.encode() in args

    def poll(self):
        if self._mine():
            return None
        self.returncode = -1
        return -1

    def wait(self, timeout=None):
        wait_until(lambda: self.poll() is not None, timeout or 10.0, what="exit of %d" % self.pid)
        return self.returncode


def _load(d):
    with open(_state_path(d)) as f:
        st = json.load(f)
    ens = Ensemble.__new__(Ensemble)
    ens.kind, ens.tick_ms = st["kind"], st["tick_ms"]
    ens.init_limit, ens.sync_limit = st["init_limit"], st["sync_limit"]
    ens.extra_cfg = st["extra_cfg"]
    ens.owns_dir, ens.dir, ens.hub = False, os.path.abspath(d), None
    ens.ready_timeout = APACHE_ENS_READY_S if ens.kind == "apache" else GREGOR_ENS_READY_S
    ens.members = []
    for md in st["members"]:
        m = Member(ens, md["sid"], md["role"], os.path.join(ens.dir, "m%d" % md["sid"]),
                   md["port"], md["quorum"], md["election"])
        if md["pid"]:
            m.proc = _Detached(md["pid"], os.path.join(m.dir, "zoo.cfg"))
            if m.proc.poll() is not None:
                m.proc = None
        ens.members.append(m)
    return ens


def _forget(ens):
    """Detaches the CLI process from the servers it started so they outlive it."""
    for m in ens.members:
        if m in zkharness._live:
            zkharness._live.remove(m)
        m._close_log()


def _pick(ens, what):
    if what == "all":
        return ens.members
    return [ens.member(int(what))]


def main(argv):
    import argparse
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "start":
        ap = argparse.ArgumentParser(prog="zkensemble.py start")
        ap.add_argument("kind", choices=("apache", "gregor", "target"))
        ap.add_argument("dir")
        ap.add_argument("--voters", type=int, default=3)
        ap.add_argument("--observers", type=int, default=0)
        ap.add_argument("--tick", type=int, default=DEFAULT_TICK_MS)
        ap.add_argument("--init-limit", type=int, default=DEFAULT_INIT_LIMIT)
        ap.add_argument("--sync-limit", type=int, default=DEFAULT_SYNC_LIMIT)
        ap.add_argument("--timeout", type=float, default=None)
        ap.add_argument("cfg", nargs="*", help="key=value lines added to every zoo.cfg")
        a = ap.parse_intermixed_args(rest)
        os.makedirs(a.dir, exist_ok=True)
        extra = dict(kv.split("=", 1) for kv in a.cfg)
        ens = Ensemble(a.kind, voters=a.voters, observers=a.observers,
                       base_dir=os.path.abspath(a.dir), tick_ms=a.tick, init_limit=a.init_limit,
                       sync_limit=a.sync_limit, extra_cfg=extra)
        try:
            ens.launch()
            _save(ens)
            ens.wait_ready(a.timeout)
        except NotFunctional as e:
            print(str(e), file=sys.stderr)
            ens.stop_all()
            if os.path.exists(_state_path(ens.dir)):
                os.unlink(_state_path(ens.dir))
            first = str(e).splitlines()[0]
            if require_ensemble():
                print("FAIL (GREGOR_REQUIRE_ENSEMBLE=1): gregor-coord ensembles are not "
                      "functional: %s" % first, file=sys.stderr)
                return 1
            print("SKIP: gregor-coord ensembles are not functional: %s" % first, file=sys.stderr)
            return zkharness.SKIP
        except Exception as e:
            print("start failed: %s" % e, file=sys.stderr)
            ens.stop_all()
            return 1
        _save(ens)
        _forget(ens)
        for m in ens.members:
            print(m.sid, m.role, m.port, m.proc.pid)
        return 0
    if not rest:
        print(__doc__, file=sys.stderr)
        return 2
    d = rest[0]
    try:
        ens = _load(d)
    except (OSError, ValueError, KeyError) as e:
        print("no ensemble in %s: %s" % (d, e), file=sys.stderr)
        return 1
    rc = 0
    if cmd == "status":
        for m in ens.members:
            md = m.mode() if m.proc is not None else None
            print(m.sid, m.role, m.port, m.proc.pid if m.proc else 0, md or "-")
    elif cmd == "leader":
        ld = ens.leader()
        if ld is None:
            print("no leader", file=sys.stderr)
            rc = 1
        else:
            print(ld.sid, ld.port, ld.proc.pid)
    elif cmd in ("kill9", "stop", "sigstop", "sigcont") and len(rest) == 2:
        for m in _pick(ens, rest[1]):
            if m.proc is None:
                continue
            if cmd == "kill9":
                m._signal_group(signal.SIGKILL)
                m.proc.wait()
                m.proc = None
            elif cmd == "stop":
                m._signal_group(signal.SIGTERM)
                m._signal_group(signal.SIGCONT)
                try:
                    m.proc.wait(5.0)
                except TimeoutError:
                    m._signal_group(signal.SIGKILL)
                    m.proc.wait()
                m.proc = None
            elif cmd == "sigstop":
                m.sigstop()
            else:
                m.sigcont()
        _save(ens)
    elif cmd == "restart" and len(rest) == 2:
        m = ens.member(int(rest[1]))
        if m.proc is not None:
            print("member %d is running" % m.sid, file=sys.stderr)
            return 1
        try:
            m.restart()
        except Exception as e:
            print("restart of member %d failed: %s" % (m.sid, e), file=sys.stderr)
            rc = 1
        _save(ens)
        _forget(ens)
    elif cmd == "wait-ready":
        try:
            ld = ens.wait_ready(float(rest[1]) if len(rest) > 1 else None)
            print(ld.sid, ld.port, ld.proc.pid)
        except (NotFunctional, RuntimeError) as e:
            print(str(e), file=sys.stderr)
            rc = 1
    elif cmd == "destroy":
        for m in ens.members:
            if m.proc is not None:
                m._signal_group(signal.SIGKILL)
                try:
                    m.proc.wait(10.0)
                except TimeoutError:
                    rc = 1
                m.proc = None
        if rc == 0:
            shutil.rmtree(ens.dir, ignore_errors=True)
    else:
        print(__doc__, file=sys.stderr)
        rc = 2
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
