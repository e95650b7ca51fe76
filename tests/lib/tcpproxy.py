#!/usr/bin/python3
"""tcpproxy — a controllable TCP forwarder for the links between ensemble members.

Owns: listening sockets on loopback, each forwarding every accepted connection to one
target port (a "link"), run by ONE background thread (selectors, non-blocking sockets),
and the per-link state a test switches synchronously:

  open        bytes flow both ways (the normal state)
  drop        existing connections are closed at once; new ones are accepted and closed
              (the peer sees an immediate EOF: "connection refused"-like failures)
  blackhole   existing connections stay open but every byte in either direction is
              discarded, and so is anything buffered in the proxy; new connections are
              accepted and never connected onward (a silent partition: peers notice only
              through their own timeouts, e.g. ZooKeeper's syncLimit)

set_state() returns only after the proxy thread has applied the change, so once it
returns no further byte crosses a cut link. Going back to "open" closes the connections
that were blackholed (their streams lost data, so they are dead); peers reconnect.

Per-link counters (accepted connections, live connections, bytes forwarded in each
direction) let a test wait for traffic, e.g. "a resync from the leader is under way".

No root needed: an ensemble member is isolated by writing the proxies' ports instead of
the real quorum/election ports into the other members' server.N lines
(tests/lib/zkensemble.py does that).

Module use:
    hub = ProxyHub()
    port = hub.add("1>2:q", target_port=qp2)      # listen port chosen by the hub
    hub.set_state(["1>2:q", "2>1:q"], "blackhole")
    hub.stats("1>2:q") -> {"accepted", "live", "up", "down", "state"}
    hub.close()

Shell use (manual experiments):
    tcpproxy.py LISTEN:TARGET [LISTEN:TARGET ...]    (LISTEN 0 = pick a port)
    prints "name listen target" per link, then reads commands from stdin:
    open|drop|blackhole NAME...|all ; stats ; quit
"""

import errno
import selectors
import socket
import sys
import threading
import time

STATES = ("open", "drop", "blackhole")
BUF_LIMIT = 4 << 20         # stop reading a side while this much waits for the other side
READ_CHUNK = 256 << 10
CONNECT_RETRY_S = 3.0       # keep retrying a refused onward connect this long
CONNECT_RETRY_EVERY = 0.05


class _Pair:
    """One proxied connection: the accepted socket (a) and the onward socket (b)."""

    __slots__ = ("link", "a", "b", "to_a", "to_b", "connected", "closing", "dead", "hello",
                 "t_accept", "retry_at")

    def __init__(self, link, a, b):
        self.link = link
        self.t_accept = time.monotonic()
        self.retry_at = None        # when to try the onward connect again
        self.hello = bytearray() if link.rewrite_hello else None   # first bytes, held back
        self.a, self.b = a, b
        self.to_a = bytearray()     # bytes waiting to be written to a (from b)
        self.to_b = bytearray()     # bytes waiting to be written to b (from a)
        self.connected = False      # b's connect finished
        self.closing = None         # "a" or "b" hit EOF: flush toward the other, then close
        self.dead = False


class _Link:
    def __init__(self, name, lsock, target_port):
        self.name = name
        self.lsock = lsock
        self.listen_port = lsock.getsockname()[1]
        self.target_port = target_port
        self.state = "open"
        self.rewrite_hello = None
        self.pairs = set()
        self.accepted = 0
        self.up = 0                 # bytes forwarded client -> target
        self.down = 0               # bytes forwarded target -> client
        self.down_limit = None      # forward target -> client only while down < this
        self.up_limit = None        # forward client -> target only while up < this


class ProxyHub:
    """Many links, one thread. Methods are thread-safe; the caller owns the hub and
    must close() it (closes every socket and joins the thread)."""

    def __init__(self, pick_port=None):
        """pick_port: optional function returning a free port number to listen on (the
        ensemble harness keeps proxy ports out of the ephemeral range); default = any."""
        self._pick_port = pick_port
        self._sel = selectors.DefaultSelector()
        self._links = {}
        self._lock = threading.Lock()
        self._cmds = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._stop = False
        self._retrying = set()      # pairs waiting to retry their onward connect
        self._thread = threading.Thread(target=self._loop, name="tcpproxy", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ public API

    def add(self, name, target_port, listen_port=None, rewrite_hello=None):
        """Creates link `name` forwarding to 127.0.0.1:target_port. Returns its listen
        port (listen_port, or one chosen by pick_port / the kernel).

        rewrite_hello: optional function for the first bytes a client sends on each
        connection. It is called (on the proxy thread) with everything received so far
        from the client, until it returns non-None: the bytes to forward in place of
        those (after which data passes unchanged). Returning None means "need more"."""
        for attempt in range(20):
            port = listen_port if listen_port is not None else (
                self._pick_port() if self._pick_port else 0)
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                ls.bind(("127.0.0.1", port))
            except OSError:
                ls.close()
                if listen_port is not None or attempt == 19:
                    raise
                continue
            break
        ls.listen(64)
        ls.setblocking(False)
        link = _Link(name, ls, target_port)
        link.rewrite_hello = rewrite_hello
        self._call(lambda: self._add_link(link))
        return link.listen_port

    def set_state(self, names, state):
        """Switches the links in `names` (a name, a list of names, or "all") to state;
        returns after the proxy thread applied it."""
        if state not in STATES:
            raise ValueError("state must be one of %s" % (STATES,))
        if names == "all":
            names = list(self._links)
        elif isinstance(names, str):
            names = [names]
        for n in names:
            if n not in self._links:
                raise KeyError("no link %r" % n)
        self._call(lambda: [self._apply(self._links[n], state) for n in names])

    def set_down_limit(self, name, limit):
        """Forwards target -> client bytes on link `name` only until its `down` counter
        reaches `limit` (None: no limit). The rest waits in the proxy (reading from the
        target stops once a few MiB wait), so e.g. a resync can be held half-way and the
        receiver killed while it is provably incomplete. Returns after it is applied."""
        self._set_limit(name, "down_limit", limit)

    def set_up_limit(self, name, limit):
        """The same for client -> target bytes and the `up` counter."""
        self._set_limit(name, "up_limit", limit)

    def _set_limit(self, name, attr, limit):
        def apply():
            link = self._links[name]
            with self._lock:
                setattr(link, attr, limit)
            for p in list(link.pairs):
                self._interest(p)
                self._io(p, p.a, 0)          # flush what may go now
        self._call(apply)

    def stats(self, name):
        """Counters of one link: accepted, live (connections now), up/down (bytes
        forwarded toward the target / back), state."""
        with self._lock:
            ln = self._links[name]
            return {"accepted": ln.accepted, "live": len(ln.pairs), "up": ln.up,
                    "down": ln.down, "state": ln.state}

    def links(self):
        """{name: (listen_port, target_port)}"""
        with self._lock:
            return {n: (ln.listen_port, ln.target_port) for n, ln in self._links.items()}

    def close(self):
        """Stops the thread and closes every socket. Idempotent."""
        if self._thread is None:
            return
        self._stop = True
        self._wake()
        self._thread.join(10)
        self._thread = None
        for ln in list(self._links.values()):
            for p in list(ln.pairs):
                self._close_pair(p)
            self._unregister(ln.lsock)
            ln.lsock.close()
        self._links.clear()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ------------------------------------------------------- thread plumbing

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass

    def _call(self, fn):
        """Runs fn on the proxy thread and waits for it (exceptions are re-raised)."""
        if threading.current_thread() is self._thread:
            return fn()
        done = threading.Event()
        box = {}

        def run():
            try:
                box["r"] = fn()
            except BaseException as e:      # handed to the caller
                box["e"] = e
            done.set()
        with self._lock:
            self._cmds.append(run)
        self._wake()
        if not done.wait(10):
            raise RuntimeError("tcpproxy thread did not answer")
        if "e" in box:
            raise box["e"]
        return box.get("r")

    def _add_link(self, link):
        with self._lock:
            if link.name in self._links:
                link.lsock.close()
                raise KeyError("link %r exists" % link.name)
            self._links[link.name] = link
        self._sel.register(link.lsock, selectors.EVENT_READ, ("listen", link))

    def _loop(self):
        while not self._stop:
            now = time.monotonic()
            timeout = 0.5
            for p in self._retrying:
                timeout = min(timeout, max(0.0, p.retry_at - now))
            events = self._sel.select(timeout=timeout)
            if self._retrying:
                now = time.monotonic()
                due = [p for p in self._retrying if p.retry_at <= now]
                for p in due:
                    self._retrying.discard(p)
                    p.retry_at = None
                    if not p.dead and p.link.state == "open":
                        self._connect_onward(p)
            for key, ev in events:
                kind, obj = key.data
                try:
                    if kind == "wake":
                        self._drain_wake()
                    elif kind == "listen":
                        self._accept(obj)
                    else:
                        self._io(obj, key.fileobj, ev)
                except Exception as e:      # one broken connection must not stop the hub
                    print("tcpproxy: %s: %r" % (kind, e), file=sys.stderr)
                    if kind == "pair":
                        self._close_pair(obj)

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            cmds, self._cmds = self._cmds, []
        for c in cmds:
            c()

    # ------------------------------------------------------------ forwarding

    def _unregister(self, s):
        try:
            self._sel.unregister(s)
        except (KeyError, ValueError):
            pass

    def _interest(self, p):
        """(Re)registers both sockets of p with the events they need now."""
        if p.dead:
            return
        for s, out, inbuf in ((p.a, p.to_a, p.to_b), (p.b, p.to_b, p.to_a)):
            if s is None:
                continue
            ev = 0
            if not p.closing and len(inbuf) < BUF_LIMIT and (s is p.a or p.connected):
                ev |= selectors.EVENT_READ
            if s is p.a and p.link.down_limit is not None and p.link.down >= p.link.down_limit:
                out = b""               # held back: nothing may go to the client now
            if s is p.b and p.link.up_limit is not None and p.link.up >= p.link.up_limit:
                out = b""
            if out or (s is p.b and not p.connected):
                ev |= selectors.EVENT_WRITE
            if p.link.state == "blackhole":
                ev = selectors.EVENT_READ
            try:
                key = self._sel.get_key(s)
                if ev == 0:
                    self._sel.unregister(s)
                elif key.events != ev:
                    self._sel.modify(s, ev, ("pair", p))
            except KeyError:
                if ev:
                    self._sel.register(s, ev, ("pair", p))

    def _accept(self, link):
        while True:
            try:
                a, _ = link.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            a.setblocking(False)
            a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                link.accepted += 1
            if link.state == "drop":
                a.close()
                continue
            p = _Pair(link, a, None)
            with self._lock:
                link.pairs.add(p)
            if link.state == "open":
                self._connect_onward(p)
            else:
                self._interest(p)

    def _connect_onward(self, p):
        """Starts the connection to the target. A refused connect is retried for
        CONNECT_RETRY_S (the client already sees an established connection, so refusing
        it would turn "not listening yet" into an EOF after connect, which servers treat
        differently); after that the client side is closed."""
        if p.b is not None:
            self._unregister(p.b)
            p.b.close()
            p.b = None
        b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        b.setblocking(False)
        b.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = b.connect_ex(("127.0.0.1", p.link.target_port))
        if rc not in (0, errno.EINPROGRESS):
            b.close()
            self._onward_failed(p)
            return
        p.b = b
        self._interest(p)

    def _onward_failed(self, p):
        if p.b is not None:
            self._unregister(p.b)
            p.b.close()
            p.b = None
        if time.monotonic() - p.t_accept < CONNECT_RETRY_S and p.link.state == "open":
            p.retry_at = time.monotonic() + CONNECT_RETRY_EVERY
            self._retrying.add(p)
            self._interest(p)
        else:
            self._close_pair(p)

    def _io(self, p, s, ev):
        if p.dead:
            return
        link = p.link
        if link.state == "blackhole":
            try:
                data = s.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._close_pair(p)
            return
        if s is p.b and not p.connected and ev & selectors.EVENT_WRITE:
            err = p.b.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._onward_failed(p)
                return
            p.connected = True
        if ev & selectors.EVENT_READ:
            try:
                data = s.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                p.closing = "a" if s is p.a else "b"
            elif data and s is p.a and p.hello is not None:
                p.hello.extend(data)
                out = link.rewrite_hello(bytes(p.hello))
                if out is not None:
                    p.hello = None
                    p.to_b.extend(out)
            elif data:
                (p.to_b if s is p.a else p.to_a).extend(data)
        for dst, buf, up in ((p.a, p.to_a, False), (p.b, p.to_b, True)):
            if buf and (dst is p.a or p.connected):
                allow = len(buf)
                limit, done = (link.up_limit, link.up) if up else (link.down_limit, link.down)
                if limit is not None:
                    allow = max(0, min(allow, limit - done))
                    if allow == 0:
                        continue
                try:
                    n = dst.send(buf[:allow] if allow < len(buf) else buf)
                except (BlockingIOError, InterruptedError):
                    n = 0
                except OSError:
                    self._close_pair(p)
                    return
                del buf[:n]
                with self._lock:
                    if up:
                        link.up += n
                    else:
                        link.down += n
        if (p.closing == "a" and not (p.to_b and p.connected)) or (p.closing == "b" and not p.to_a):
            self._close_pair(p)
            return
        self._interest(p)

    def _close_pair(self, p):
        if p.dead:
            return
        p.dead = True
        self._retrying.discard(p)
        for s in (p.a, p.b):
            if s is not None:
                self._unregister(s)
                s.close()
        with self._lock:
            p.link.pairs.discard(p)

    def _apply(self, link, state):
        old = link.state
        if old == state:
            return
        with self._lock:
            link.state = state
        if state == "drop" or (old == "blackhole" and state == "open"):
            for p in list(link.pairs):
                self._close_pair(p)
        elif state == "blackhole":
            for p in list(link.pairs):
                p.to_a.clear()
                p.to_b.clear()
                self._interest(p)


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    hub = ProxyHub()
    try:
        for i, spec in enumerate(argv):
            lp, tp = spec.split(":")
            port = hub.add(str(i), int(tp), listen_port=int(lp) or None)
            print("%d %d %s" % (i, port, tp), flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            if words[0] == "stats":
                for n in hub.links():
                    print(n, hub.stats(n), flush=True)
            elif words[0] in STATES and len(words) > 1:
                try:
                    hub.set_state("all" if words[1] == "all" else words[1:], words[0])
                    print("ok", flush=True)
                except (KeyError, ValueError) as e:
                    print("error: %s" % e, flush=True)
            else:
                print("error: open|drop|blackhole NAME...|all ; stats ; quit", flush=True)
    finally:
        hub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
