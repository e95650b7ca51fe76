#!/usr/bin/python3
"""Compare `gregor zk` with the real zkCli.sh 3.8, command for command.

For every scenario (a script of shell commands fed on stdin, or a series of
one-shot invocations) both shells run against a freshly started server of the
kind under test, so zxids, versions and sequence numbers line up. Their stdout,
stderr and exit status must match after normalizing what legitimately differs:
times, ports, and zxids / session ids (renumbered in order of appearance).

Servers under test: ZK_SERVER_UNDER_TEST=apache|gregor|both. Default: Apache
ZooKeeper, plus gregor-coord when it starts and answers `ruok`. When both run,
the real zkCli's transcripts against the two servers must match too
(ZK_SHELL_CROSS=0 turns that off). ZK_SHELL_SCENARIOS=a,b selects scenarios.
Loopback only; every server gets a free port and its own directory, and is
stopped at the end. Exit 77 = skipped (no Java ZooKeeper installed)."""

import difflib
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
GREGOR = os.path.join(TOP, "build", "bin", "gregor")
GREGOR_COORD = os.environ.get("GREGOR_COORD") or os.path.join(TOP, "build", "bin", "gregor-coord")
ZKCLI = os.environ.get("ZKCLI") or "/usr/share/zookeeper/bin/zkCli.sh"
ZK_CP = "/usr/share/java/*:/usr/share/zookeeper/*:/etc/zookeeper/conf"


def log(*a):
    print(*a, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def four_letter(port, word, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
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


class Server:
    """A throw-away standalone server (Apache ZooKeeper or gregor-coord)."""

    def __init__(self, kind, root):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="zk-%s-" % kind, dir=root)
        os.makedirs(os.path.join(self.dir, "data"))
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        with open(self.cfg, "w") as f:
            f.write("tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
                    "4lw.commands.whitelist=*\nadmin.enableServer=false\nextendedTypesEnabled=true\n"
                    % (self.dir, self.port))
        self.proc = None

    def start(self, wait=30.0):
        out = open(os.path.join(self.dir, "server.out"), "w")
        if self.kind == "apache":
            cmd = ["java", "-cp", ZK_CP, "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.cfg]
            env = dict(os.environ, ZOO_LOG_DIR=self.dir)
        else:
            cmd = [GREGOR_COORD, self.cfg]
            env = dict(os.environ)
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        deadline = time.time() + wait
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            # ruok answers before the server serves sessions; srvr tells
            # ("not currently serving requests" until then)
            if four_letter(self.port, "ruok", 0.5).startswith("imok") and \
                    "Mode: " in four_letter(self.port, "srvr", 0.5):
                return True
            time.sleep(0.05)
        return False

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


# ---- scenarios ----
# Each is (name, kind, body): kind "stdin" feeds body (lines, "{server}"
# replaced) to one shell process; kind "oneshot" runs each line as a separate
# `shell -server S <words>` invocation. Scripts start with a command that
# talks to the server, so the connection event is printed at a deterministic
# place (zkCli prints it from another thread).

SCENARIOS = [
    ("basics", "stdin", """
ls /
ls -s /
create /t
create /t/x one
create -s /t/s- seq
create -e /t/e eph
create -e -s /t/es- e2
create -c /t/c
create -t 5000 /t/ttl
create -t 5000 -s /t/ttls-
ls /t
ls -s /t
get /t/x
get -s /t/x
set /t/x two
set -s /t/x three
set -v 7 /t/x four
set -v 2 /t/x five
delete -v 9 /t/x
delete /t
getEphemerals
getEphemerals /t
getEphemerals /nope
stat /t/x
stat /t/e
stat /nope
get /t
get /t/c
create /t/x dup
create /nope/x
ls /nope
ls -R /t
ls -R /
getAllChildrenNumber /t
getAllChildrenNumber /
sync /t
whoami
create /t/e/child
deleteall /t
ls /
ls /zookeeper
stat /zookeeper
"""),
    ("watches", "stdin", """
create /w
create /w/a
get -w /w/a
set /w/a x
ls -w /w
create /w/b
stat -w /w/nx
create /w/nx
ls -s -w /w
delete /w/nx
addWatch /w
create /w/a/b
set /w/a y
delete /w/a/b
addWatch -m persistent /w/b
set /w/b z
removewatches /w/b
removewatches /nothing
printwatches
sync /w
printwatches off
set /w/a q
printwatches
sync /w
printwatches on
get -w /w/a
removewatches /w/a -d
stat -w /w/b
removewatches /w/b -c
removewatches /w/b -d
ls -R -w /w
create /w/zz
ls /w
"""),
    ("acl", "stdin", """
ls /
addauth digest alice:secret
whoami
create /acl d auth:alice:secret:cdrwa
getAcl /acl
getAcl -s /acl
setAcl /acl world:anyone:r
getAcl /acl
set /acl z
setAcl /acl world:anyone:cdrwa
get /acl
create /acl2 x world:anyone:rx
getAcl /acl2
create /acl3 x foo:bar
create /acl4 x auth::cdrwa
getAcl /acl4
setAcl -s /acl4 digest:bob:xyz=:r,world:anyone:cdrwa
getAcl /acl4
create /acl4/c1 x
create /acl4/c2 x
setAcl -R /acl4 world:anyone:cdra
getAcl /acl4/c2
setAcl -R /zookeeper world:anyone:cdrwa
create /ro x world:anyone:r
create /ro/kid y
delete /ro
getAcl /ro
setAcl /nope world:anyone:r
setAcl /acl2 nonsense
ls /
"""),
    ("parsing-and-errors", "stdin", """
ls /zookeeper
ls -x /
set /a -1
set -v -s /a x
get
ls
create
delete
ls /a/
ls a
ls /a//b
create /q 'hello world'
get /q
create /q2 "a b"
get /q2
get "/q"
create /u \u00fcn\u00ef
get /u
create /e ""
get -s /e
sync
addauth
addWatch
addWatch -m bogus /
addWatch / /x
removewatches /q -x
delete /q2 extra
get /q extra
ls / extra
stat /u extra
get -s -w
set -s /q
set -sv 0 /q y
set -v3 /q y
set -v=2 /q z
ls -- -s
ls --x /
foo
help
create -e -c /x
create -t abc /x
create -t 0 /x
create -t -5 /x
create -e -t 100 /x
create -s /q/
ls -? /zookeeper
deleteall /nope
deleteall /u -b 1
ls -R /nope
getAcl /nope
getAllChildrenNumber
getAllChildrenNumber /nope
getEphemerals /zookeeper
stat -w
printwatches
history
redo 8
redo 99
redo 0
history
ls /
"""),
    ("session", "stdin", """
create /s x
create -e /s/e1
getEphemerals
close
ls /
history
get /s
close
connect {server}
ls /s
get /s
create -e /e2
getEphemerals
"""),
    ("chroot-prep", "oneshot", """
create /chr
create /chr/k v
"""),
    ("uncaught-exception", "stdin", """
create /f
set -v abc /f x
ls /
"""),
    ("oneshot", "oneshot", """
create /o data
get -s /o
ls -s /
stat /nope
set -s /o d2
getAcl /o
ls -R /zookeeper
delete -v 5 /o
delete /o
get /o
getAllChildrenNumber /
whoami
"""),
]

# Run with `-server {server}/chr` after "chroot-prep" against the same server.
CHROOT = ("chroot", "stdin", """
ls /
create /n1 x
create -e /e1
getEphemerals
get -w /n1
set /n1 y
sync /
ls -R /
stat /
get /k
create -s /q-
deleteall /n1
ls /
""")

DATE_RE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                     r"\d\d \d\d:\d\d:\d\d \S+ \d{4}\b")
HEX_RE = re.compile(r"0x([0-9a-f]+)\b")


def normalize(text, port, oneshot=False):
    """Times, the server port, and zxids/session ids renumbered by first appearance.
    oneshot: a one-command run, where zkCli's exit races its event thread's printing of the
    connection event, so that event is left out."""
    seen = {}

    def hexsub(m):
        v = m.group(1)
        if v == "0":
            return "0x0"
        if v not in seen:
            seen[v] = "<H%d>" % (len(seen) + 1)
        return "0x" + seen[v]

    out = []
    for line in text.splitlines():
        if line.startswith("SLF4J:") or line.startswith("\tat ") or line.startswith("\t... "):
            continue
        if DATE_RE.search(line) and "Jan 01 00:00:00" not in line:
            line = DATE_RE.sub("<DATE>", line)
        line = line.replace(":%d" % port, ":<PORT>")
        line = HEX_RE.sub(hexsub, line)
        out.append(line)
    # zkCli's event thread prints each notification as two separate writes,
    # "\nWATCHER::" and "\n" + event, so the main thread's output can land before,
    # between or after them. Take both units out wherever they are and compare the
    # events as a sorted list after the transcript.
    events = []
    i = 0
    while i + 1 < len(out):
        if out[i] == "" and out[i + 1] == "WATCHER::":
            del out[i:i + 2]
        elif out[i] == "" and out[i + 1].startswith("WatchedEvent "):
            events.append(out[i + 1])
            del out[i:i + 2]
        else:
            i += 1
    if oneshot:
        events = [e for e in events if e != "WatchedEvent state:SyncConnected type:None path:null"]
    if events:
        out.append("--- watch notifications (sorted) ---")
        out.extend(sorted(events))
    return "\n".join(out) + "\n"


def shell_cmd(tool):
    if tool == "zkcli":
        return [ZKCLI]
    return [GREGOR, "zk"]


def run_shell(tool, server, scenario, chroot=""):
    """Runs one scenario with one shell; returns [(stdout, stderr, rc)]."""
    name, kind, body = scenario
    lines = [l for l in body.strip("\n").split("\n")]
    target = server.address + chroot
    env = dict(os.environ)
    env.setdefault("TZ", "UTC")
    env["ZOO_LOG_DIR"] = server.dir
    results = []
    if kind == "stdin":
        text = "\n".join(l.replace("{server}", server.address) for l in lines) + "\n"
        p = subprocess.run(shell_cmd(tool) + ["-server", target], input=text.encode(), capture_output=True,
                           env=env, timeout=120)
        results.append((p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), p.returncode))
    else:
        for l in lines:
            words = l.split()
            p = subprocess.run(shell_cmd(tool) + ["-server", target] + words, capture_output=True, env=env,
                               stdin=subprocess.DEVNULL, timeout=120)
            results.append((p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), p.returncode))
    one = kind == "oneshot"
    return [(normalize(o, server.port, one), normalize(e, server.port, one), rc) for o, e, rc in results]


def transcript(results):
    parts = []
    for i, (o, e, rc) in enumerate(results):
        parts.append("=== run %d: exit %d\n--- stdout\n%s--- stderr\n%s" % (i, rc, o, e))
    return "".join(parts)


def diff(a, b, la, lb):
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), la, lb, n=2))


def run_kind(kind, root, selected):
    """Returns ({scenario: zkcli transcript}, failures)."""
    transcripts, failures = {}, []
    todo = [s for s in SCENARIOS if not selected or s[0] in selected or s[0] == "chroot-prep"]
    for scenario in todo:
        if scenario[0] == "chroot-prep" and selected and "chroot" not in selected:
            continue
        per_tool = {}
        for tool in ("zkcli", "gregor"):
            srv = Server(kind, root)
            if not srv.start():
                srv.stop()
                failures.append("%s/%s: %s server did not start" % (kind, scenario[0], kind))
                break
            try:
                res = run_shell(tool, srv, scenario)
                if scenario[0] == "chroot-prep":
                    res += run_shell(tool, srv, CHROOT, chroot="/chr")
            finally:
                srv.stop()
            per_tool[tool] = transcript(res)
        if len(per_tool) < 2:
            continue
        name = "chroot" if scenario[0] == "chroot-prep" else scenario[0]
        transcripts[name] = per_tool["zkcli"]
        if per_tool["zkcli"] == per_tool["gregor"]:
            log("  ok    %s: %s" % (kind, name))
        else:
            log("  FAIL  %s: %s (zkCli.sh vs gregor zk)" % (kind, name))
            log(diff(per_tool["zkcli"], per_tool["gregor"], "zkCli.sh", "gregor zk"))
            failures.append("%s/%s" % (kind, name))
    return transcripts, failures


def gregor_coord_answers(root):
    if not os.access(GREGOR_COORD, os.X_OK):
        return False
    srv = Server("gregor", root)
    try:
        return srv.start(wait=5.0)
    finally:
        srv.stop()


def main():
    if not os.access(GREGOR, os.X_OK):
        log("gregor binary missing: build first (make)")
        return 1
    if not (os.access(ZKCLI, os.X_OK) and shutil.which("java")):
        log("skipped: the real zkCli.sh / Java ZooKeeper is not installed")
        return 77
    root = tempfile.mkdtemp(prefix="gregor-shell-compat-")
    try:
        want = os.environ.get("ZK_SERVER_UNDER_TEST", "").strip().lower()
        kinds = []
        if want in ("", "default"):
            kinds = ["apache"]
            if gregor_coord_answers(root):
                kinds.append("gregor")
            else:
                log("note: gregor-coord does not answer ruok; testing against Apache ZooKeeper only")
        elif want == "both":
            kinds = ["apache", "gregor"]
        elif want in ("apache", "gregor"):
            kinds = [want]
        else:
            log("ZK_SERVER_UNDER_TEST must be apache, gregor or both")
            return 2
        selected = [s for s in os.environ.get("ZK_SHELL_SCENARIOS", "").split(",") if s]
        all_failures, by_kind = [], {}
        for kind in kinds:
            log("server: %s" % kind)
            by_kind[kind], failures = run_kind(kind, root, selected)
            all_failures += failures
        if len(by_kind) == 2 and os.environ.get("ZK_SHELL_CROSS", "1") != "0":
            a, g = by_kind["apache"], by_kind["gregor"]
            for name in a:
                if name in g and a[name] != g[name]:
                    log("  FAIL  zkCli.sh against apache vs gregor-coord: %s" % name)
                    log(diff(a[name], g[name], "apache", "gregor-coord"))
                    all_failures.append("cross/%s" % name)
                elif name in g:
                    log("  ok    zkCli.sh against apache == against gregor-coord: %s" % name)
        if all_failures:
            log("FAILED: " + ", ".join(all_failures))
            return 1
        log("all scenarios match")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
