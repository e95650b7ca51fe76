"""zkclients — run scripted sessions of real ZooKeeper clients and capture raw transcripts.

Owns: driving zkCli.sh 3.8 and the C client shell cli_mt with a file of commands in ONE
session each, splitting their output per command, and small kazoo helpers (a transcript
recorder that prints Stat fields in the tagged form zknorm understands, and a deterministic
"wait until every queued watch callback has run").

How the command-line clients are driven (both read commands from piped stdin):
  * Between script commands the runner sends a marker command on a path that does not
    exist (`stat /zkh-mark-N` for zkCli, `get /zkh-mark-N` for cli_mt). Replies come back
    in request order on one session, so the marker's "does not exist" output separates the
    output of one command from the next with no sleeps and no prompts. zkCli runs each
    command synchronously, so the whole script is piped at once; cli_mt completes commands
    on another thread, so it is fed one command at a time (see run_cli_mt).
  * zkCli prints watch events from its event thread, so their position relative to command
    output is a race; the runner lifts every `WatchedEvent` line out of the stream and lists
    them (in delivery order) after the commands. Connection-state events (type:None) are
    dropped. cli_mt runs watchers and completions on one thread in arrival order, so its
    events stay in place (this also checks "notification before the write's reply").
  * cli_mt prints children in server order; the runner sorts each children block (the
    order of getChildren is unspecified and differs between servers).
A raw transcript still contains zxids, session ids and times: pass it to zknorm.compare().
"""

import os
import re
import subprocess
import threading

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"
MARK = "/zkh-mark-"


def load_script(path):
    """Reads a command script: one command per line; blank lines and lines starting with
    '#' are ignored. Returns the list of commands."""
    cmds = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cmds.append(line)
    return cmds


def _run(argv, stdin_text, timeout, env=None):
    p = subprocess.run(argv, input=stdin_text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def _segments(lines, marker_rx, ok_prefix):
    """Splits output lines at marker lines. Returns (segs, notes): segs[tag] holds the lines
    after the marker with that tag up to the next marker; notes[tag] is set when the marker
    itself did not answer "does not exist" (connection trouble). Lines before the first
    marker (banner, connection chatter) are dropped."""
    segs, notes = {}, {}
    cur = None
    for ln in lines:
        m = marker_rx.search(ln)
        if m:
            # output printed without a newline runs into the marker line
            if m.start() > 0 and cur is not None:
                segs[cur].append(ln[:m.start()] + "<no newline>")
            cur = m.group("tag")
            segs[cur] = []
            if m.group("how") != ok_prefix:
                notes[cur] = "!! separator answered: %s" % ln[m.start():]
            continue
        if cur is not None:
            segs[cur].append(ln)
    return segs, notes


def run_zkcli(port, cmds, timeout=90):
    """Runs `cmds` in one zkCli.sh session against 127.0.0.1:port.
    Returns the raw transcript (str): "$ cmd" followed by its output, for every command,
    then the watch events. Raises RuntimeError if the session never worked at all."""
    stdin = []
    for i, c in enumerate(cmds):
        stdin.append("stat %s%d" % (MARK, i))
        stdin.append(c)
    stdin += ["stat %send" % MARK, "stat %send2" % MARK, "quit", ""]
    env = dict(os.environ, CLIENT_JVMFLAGS="-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
    env.pop("JVMFLAGS", None)
    rc, out = _run([ZKCLI, "-server", "127.0.0.1:%d" % port], "\n".join(stdin), timeout, env)
    try:
        return zkcli_transcript(out, cmds)
    except ValueError as e:
        raise RuntimeError("zkCli session (exit %d) %s; output:\n%s" % (rc, e, out[-3000:]))


def zkcli_transcript(out, cmds):
    """Turns zkCli output (stdout+stderr of a run_zkcli session) into the raw transcript.
    Session trouble (a lost or failed separator, a disconnect) shows up in the transcript as
    "!!" lines and state events, so it appears in the diff. Raises ValueError only when no
    separator at all came back (the session never worked)."""
    lines = out.splitlines()
    # lift watch events out of the stream (each is println("\n" + msg), so the blank
    # line right before it belongs to it); keep connection-state events except the first
    # SyncConnected and the final Closed
    body, events, first_connect = [], [], True
    for ln in lines:
        if ln == "WATCHER::" or ln.startswith("WatchedEvent "):
            if body and body[-1] == "":
                body.pop()
            if ln.startswith("WatchedEvent "):
                if ln == "WatchedEvent state:SyncConnected type:None path:null" and first_connect:
                    first_connect = False
                elif ln != "WatchedEvent state:Closed type:None path:null":
                    events.append(ln.replace("WatchedEvent state:SyncConnected ", "event "))
            continue
        body.append(ln)
    marker_rx = re.compile(r"(?P<how>Node does not exist: |KeeperErrorCode = \w+ for )"
                           r"%s(?P<tag>\d+|end2?)$" % re.escape(MARK))
    segs, notes = _segments(body, marker_rx, "Node does not exist: ")
    if not segs:
        raise ValueError("no command got an answer")
    res = []
    for i, c in enumerate(cmds):
        res.append("$ " + c)
        tag = str(i)
        if tag not in segs:
            res.append("!! no separator before this command (session trouble)")
            continue
        if tag in notes:
            res.append(notes[tag])
        seg = segs[tag]
        if c.split()[:1] == ["getEphemerals"]:
            seg = [_sort_bracket_list(ln) for ln in seg]
        res.extend(seg)
    for tag in ("end", "end2"):
        if tag not in segs or tag in notes:
            res.append("!! final separator %s: %s" % (tag, notes.get(tag, "missing")))
        elif tag == "end" and segs[tag]:
            res.extend(segs[tag])      # output of the last command that came late
    res.append("-- watch events, in delivery order --")
    res.extend(events)
    return "\n".join(res) + "\n"


def _sort_bracket_list(line):
    """"[b, a]" -> "[a, b]" (zkCli prints getEphemerals in the server's set order, which
    is unspecified)."""
    m = re.match(r"^\[(.*)\]$", line)
    if not m or not m.group(1):
        return line
    return "[" + ", ".join(sorted(m.group(1).split(", "))) + "]"


_STAT_LINE = re.compile(r"^\t(?:ctime|czxid|mtime|mzxid|version|ephemeralOwner)\b")


def _sort_children(seg):
    """cli_mt prints children as "\tname" lines right after a "path: rc = 0" line; sort
    each such block (a create's single "\tname = ..." line is a block of one)."""
    out, i = [], 0
    while i < len(seg):
        out.append(seg[i])
        i += 1
        if re.match(r"^\S.*: rc = 0$", out[-1]):
            j = i
            while j < len(seg) and seg[j].startswith("\t") and not _STAT_LINE.match(seg[j]):
                j += 1
            out.extend(sorted(seg[i:j]))
            i = j
    return out


class _LineReader:
    """Reads lines from a pipe with a deadline (select-based, no threads)."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""

    def readline(self, deadline):
        import select
        import time
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no output from client")
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                if self.buf:
                    ln, self.buf = self.buf, b""
                    return ln.decode("utf-8", "replace")
                return None
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.decode("utf-8", "replace")


def run_cli_mt(port, cmds, timeout=60):
    """Runs `cmds` in one cli_mt (ZooKeeper C client shell) session against 127.0.0.1:port.
    Returns the raw transcript (str) as run_zkcli does; watch events stay in place.

    cli_mt answers most commands asynchronously (completions and watchers run on its
    completion thread, in arrival order), so the runner paces it: it writes one command
    followed by `get /zkh-mark-N` (also asynchronous, so its completion is printed after the
    command's completions and after any notification that arrived before them) and waits
    for the marker's completion before writing the next command."""
    import time
    deadline = time.monotonic() + timeout
    p = subprocess.Popen([CLI_MT, "127.0.0.1:%d" % port], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    rd = _LineReader(p.stdout)
    out_all = []

    def until_marker(tag):
        """Collects lines until the marker's completion ("/zkh-mark-T: rc = N" ... "null").
        Returns (lines, N); N is -101 when the session is fine."""
        seg, rc = [], None
        rx = re.compile(r"%s%s: rc = (-?\d+)$" % (re.escape(MARK), re.escape(tag)))
        while True:
            ln = rd.readline(deadline)
            if ln is None:
                raise RuntimeError("cli_mt exited (status %s) before marker %s" % (p.poll(), tag))
            out_all.append(ln)
            m = rx.search(ln) if rc is None else None
            if m:
                rc = int(m.group(1))
                if m.start() > 0:
                    seg.append(ln[:m.start()] + "<no newline>")
                continue
            if rc is not None:
                if ln == "null":
                    return [x for x in seg if not re.match(r"^time = -?\d+ msec$", x)], rc
                continue    # " value_len", "", "Stat:" of the marker
            seg.append(ln)

    def send(line):
        p.stdin.write((line + "\n").encode())
        p.stdin.flush()

    res = []
    try:
        # wait until the session works (the client retries a failed first connect by
        # itself); the preamble (session events, connect errors) is dropped
        for attempt in range(20):
            send("get %sstart%d" % (MARK, attempt))
            if until_marker("start%d" % attempt)[1] == -101:
                break
        else:
            raise RuntimeError("no working session after 20 attempts")
        for i, c in enumerate(cmds):
            send(c)
            send("get %s%d" % (MARK, i))
            res.append("$ " + c)
            seg, rc = until_marker(str(i))
            res.extend(_sort_children(seg))
            if rc != -101:      # shows up in the diff
                res.append("!! separator answered rc %d (session trouble)" % rc)
        send("quit")
        p.stdin.close()
        p.wait(timeout=max(1.0, deadline - time.monotonic()))
    except (TimeoutError, RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError("cli_mt session failed: %s; output so far:\n%s" % (
            e, "\n".join(out_all[-60:])))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    return "\n".join(res) + "\n"


# ---------------------------------------------------------------- kazoo helpers

class Transcript:
    """Collects lines of a kazoo scenario. stat() prints a ZnodeStat with the tagged field
    names zknorm recognizes (czxid#=, owner#=, ctime#= ...). Thread-safe (watch callbacks
    run on kazoo's callback thread)."""

    def __init__(self):
        self.lines = []
        self._lock = threading.Lock()

    def say(self, *parts):
        with self._lock:
            self.lines.append(" ".join(str(p) for p in parts))

    @staticmethod
    def fmt_stat(st):
        if st is None:
            return "stat=None"
        return ("czxid#=%d mzxid#=%d pzxid#=%d ctime#=%d mtime#=%d version=%d cversion=%d "
                "aversion=%d owner#=%d dataLength=%d numChildren=%d" % (
                    st.czxid, st.mzxid, st.pzxid, st.ctime, st.mtime, st.version,
                    st.cversion, st.aversion, st.ephemeralOwner, st.dataLength, st.numChildren))

    def stat(self, label, st):
        self.say(label, self.fmt_stat(st))

    def text(self):
        with self._lock:
            return "\n".join(self.lines) + "\n"


def fmt_exc(e):
    """Kazoo exception as its class name (and code, when it has one)."""
    code = getattr(e, "code", None)
    name = type(e).__name__
    return "%s(%s)" % (name, code) if code is not None else name


def flush_callbacks(client, timeout=10.0):
    """Waits until kazoo has run every watch callback caused by this session's earlier
    requests: a sync() round trip (the server sends notifications before the reply that
    follows them), then a marker callback queued behind them on kazoo's callback queue."""
    from kazoo.protocol.states import Callback
    client.sync("/")
    done = threading.Event()
    client.handler.dispatch_callback(Callback("watch", done.set, ()))
    if not done.wait(timeout):
        raise TimeoutError("kazoo callback queue did not drain in %.0fs" % timeout)


def wait_for(pred, timeout=10.0, what="condition"):
    """Polls pred() every 10 ms until it is true; raises TimeoutError."""
    import time
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(0.01)
