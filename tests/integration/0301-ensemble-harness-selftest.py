#!/usr/bin/python3
"""Self-test of the ensemble tooling, no ZooKeeper server needed (a few seconds):

tcpproxy.ProxyHub against a local echo server:
  * bytes flow both ways; counters count them;
  * blackhole: the connection stays open, nothing arrives, new connections are accepted
    but never reach the target; back to open: blackholed connections are closed and new
    ones work;
  * drop: existing connections end at once (EOF), new ones are closed;
  * a target that starts listening late is still reached (the onward connect is retried);
  * rewrite_hello replaces the first bytes a client sends, once;
  * a down (up) limit holds the target's (client's) bytes back beyond it and releases
    them when lifted;
zkensemble.Ensemble configuration:
  * server.N lines, myid, initLimit/syncLimit, peerType=observer on the observer only,
    ":observer" on its line everywhere;
  * proxied: each member's line for itself has its real ports, for the others the ports
    of the proxies i>j that forward to j's real ports;
  * the election hello rewrite turns a member's advertised address into the proxy back to
    it (and leaves other protocols alone);
  * ports are unique and outside the ephemeral range;
  * start_ensemble on a binary that exits at once skips (77) with the reason, or fails when
    GREGOR_REQUIRE_ENSEMBLE=1.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tcpproxy  # noqa: E402
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
from zkharness import wait_until  # noqa: E402


class Echo(threading.Thread):
    """Echo server on a loopback port; counts accepted connections."""

    def __init__(self, port=0):
        super().__init__(daemon=True)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.accepted = 0

    def run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def serve(c):
        with c:
            while True:
                try:
                    b = c.recv(65536)
                except OSError:
                    return
                if not b:
                    return
                c.sendall(b)

    def close(self):
        self.ls.close()


def conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.settimeout(2)
    return s


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            raise EOFError("closed after %r" % got)
        got += b
    return got


def roundtrip(s, data):
    s.sendall(data)
    return recv_exact(s, len(data))


def eof_or_reset(s, timeout=2.0):
    s.settimeout(timeout)
    try:
        return s.recv(10) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def nothing_arrives(s, wait=0.3):
    s.settimeout(wait)
    try:
        b = s.recv(10)
        return False if b else "eof"
    except socket.timeout:
        return True


def test_proxy():
    echo = Echo()
    echo.start()
    hub = tcpproxy.ProxyHub()
    try:
        lp = hub.add("x", echo.port)
        s = conn(lp)
        big = os.urandom(300000)
        assert roundtrip(s, big) == big, "data changed crossing the proxy"
        # the counters are updated right after each send: wait for the last one
        wait_until(lambda: hub.stats("x")["down"] == len(big), 5, what="down counter")
        st = hub.stats("x")
        assert st["up"] == len(big) and st["down"] == len(big) and st["live"] == 1, st

        hub.set_state("x", "blackhole")
        s.sendall(b"lost")
        assert nothing_arrives(s) is True, "blackholed connection delivered data or closed"
        n0 = echo.accepted
        s2 = conn(lp)
        s2.sendall(b"hello?")
        assert nothing_arrives(s2) is True, "new connection in blackhole got an answer"
        assert echo.accepted == n0, "blackholed connection reached the target"
        hub.set_state("x", "open")
        assert eof_or_reset(s) and eof_or_reset(s2), "blackholed connections not closed on heal"
        s3 = conn(lp)
        assert roundtrip(s3, b"again") == b"again"

        hub.set_state("x", "drop")
        assert eof_or_reset(s3), "drop did not close the existing connection"
        s4 = conn(lp)
        assert eof_or_reset(s4), "drop did not close a new connection"
        hub.set_state("x", "open")

        # the target starts listening only after the client connected
        late_port = zkharness.free_port()
        lp2 = hub.add("late", late_port)
        s5 = conn(lp2)
        s5.sendall(b"early bytes")
        time.sleep(0.3)
        late = Echo(late_port)
        late.start()
        assert recv_exact(s5, 11) == b"early bytes", "late target not reached"
        late.close()

        # rewrite of the first bytes, once
        lp3 = hub.add("rw", echo.port, rewrite_hello=lambda d: None if len(d) < 4 else b"HELLO" + d[4:])
        s6 = conn(lp3)
        s6.sendall(b"he")
        time.sleep(0.05)
        s6.sendall(b"llo world")
        assert recv_exact(s6, 12) == b"HELLOo world"
        assert roundtrip(s6, b"hell") == b"hell", "rewrite applied twice"
        # down limit: the target's bytes are held back after the limit, then released
        lp4 = hub.add("hold", echo.port)
        s7 = conn(lp4)
        base = hub.stats("hold")["down"]
        hub.set_down_limit("hold", base + 1000)
        s7.sendall(b"y" * 5000)
        assert recv_exact(s7, 1000) == b"y" * 1000
        assert nothing_arrives(s7) is True, "bytes beyond the down limit were forwarded"
        assert hub.stats("hold")["up"] == 5000, "the client's bytes were held too"
        s7.close()          # the client leaves while bytes are held: the pair must go
        wait_until(lambda: hub.stats("hold")["live"] == 0, 5, what="held pair closed")
        s8 = conn(lp4)
        s8.sendall(b"z" * 10)
        assert nothing_arrives(s8) is True, "limit not applied to a new connection"
        hub.set_down_limit("hold", None)
        assert recv_exact(s8, 10) == b"z" * 10, "held bytes not released"
        # up limit: the client's bytes are held back beyond it
        lp5 = hub.add("uphold", echo.port)
        s9 = conn(lp5)
        hub.set_up_limit("uphold", hub.stats("uphold")["up"] + 300)
        s9.sendall(b"u" * 1000)
        assert recv_exact(s9, 300) == b"u" * 300
        assert nothing_arrives(s9) is True, "bytes beyond the up limit were forwarded"
        hub.set_up_limit("uphold", None)
        assert recv_exact(s9, 700) == b"u" * 700, "held bytes not released"
        for x in (s, s2, s3, s4, s5, s6, s8, s9):
            x.close()
    finally:
        hub.close()
        echo.close()
    print("tcpproxy: ok")


def cfg(m):
    with open(os.path.join(m.dir, "zoo.cfg")) as f:
        return dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln)


def test_config():
    low = zkensemble._ephemeral_low()
    ens = zkensemble.Ensemble("apache", voters=3, observers=1, tick_ms=700, init_limit=7,
                              sync_limit=3, proxied=True)
    try:
        ports = [p for m in ens.members for p in (m.port, m.quorum_port, m.election_port)]
        ports += [lp for lp, _ in ens.hub.links().values()]
        assert len(set(ports)) == len(ports), "ports handed out twice"
        assert all(p < low for p in ports), "a port in the ephemeral range (>= %d)" % low
        for m in ens.members:
            m.write_config()
            c = cfg(m)
            with open(os.path.join(m.data_dir, "myid")) as f:
                assert f.read().strip() == str(m.sid)
            assert c["tickTime"] == "700" and c["initLimit"] == "7" and c["syncLimit"] == "3", c
            assert c["clientPort"] == str(m.port) and c["dataDir"] == m.data_dir
            assert ("peerType" in c) == (m.role == "observer"), (m.sid, c.get("peerType"))
            for o in ens.members:
                line = c["server.%d" % o.sid]
                host, qp, ep = line.split(":")[:3]
                assert line.endswith(":observer") == (o.role == "observer"), line
                if o is m:
                    assert (int(qp), int(ep)) == (m.quorum_port, m.election_port), line
                else:
                    links = ens.hub.links()
                    assert links["%d>%d:q" % (m.sid, o.sid)] == (int(qp), o.quorum_port), line
                    assert links["%d>%d:e" % (m.sid, o.sid)] == (int(ep), o.election_port), line
        a, b = ens.member(1), ens.member(3)
        rw = ens._hello_rewriter(a, b)
        addr = b"127.0.0.1:%d" % a.election_port
        hello = struct.pack(">qqi", -65535, 1, len(addr)) + addr + b"tail"
        assert rw(hello[:10]) is None
        out = rw(hello)
        back = ens.hub.links()["3>1:e"][0]
        want = b"127.0.0.1:%d" % back
        assert out == struct.pack(">qqi", -65535, 1, len(want)) + want + b"tail", out
        other = struct.pack(">ii", 40, 1) + b"gregor-ish"
        assert rw(other) == other, "a non-ZooKeeper hello was changed"
    finally:
        ens.cleanup()
    print("ensemble config: ok")


def test_skip_policy():
    fake = os.path.join(zkharness.TOP, "build", "zke-selftest-exit1.sh")
    os.makedirs(os.path.dirname(fake), exist_ok=True)
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'ensembles are not supported' >&2\nexit 3\n")
    os.chmod(fake, 0o755)
    code = ("import sys; sys.path.insert(0, %r); import zkensemble, zkharness\n"
            "zkharness.run_test(lambda: zkensemble.start_ensemble('gregor', voters=3))\n" %
            os.path.join(zkharness.TOP, "tests", "lib"))
    try:
        for req, want in (("", 77), ("1", 1)):
            env = dict(os.environ, GREGOR_COORD=fake, GREGOR_REQUIRE_ENSEMBLE=req)
            t0 = time.monotonic()
            p = subprocess.run(["/usr/bin/python3", "-c", code], env=env, capture_output=True,
                               text=True, timeout=60)
            took = time.monotonic() - t0
            assert p.returncode == want, "GREGOR_REQUIRE_ENSEMBLE=%r: exit %d, want %d\n%s" % (
                req, p.returncode, want, p.stderr)
            assert "not functional" in p.stderr and "exited with status 3" in p.stderr, p.stderr
            assert took < 10, "a member that exits at once took %.1f s to notice" % took
            if req:
                assert "ensembles are not supported" in p.stderr, "log tail missing:\n" + p.stderr
    finally:
        os.unlink(fake)
    print("skip policy: ok")


def main():
    test_proxy()
    test_config()
    test_skip_policy()


zkharness.run_test(main)
