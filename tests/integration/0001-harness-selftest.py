#!/usr/bin/python3
"""Self-test of the differential harness itself (no ZooKeeper server needed, a few seconds):
  * normalization keeps what matters: transcripts that differ only in zxid values, session
    ids, times and ports compare equal, while a change in zxid ORDER or EQUALITY, in a
    version, a session identity, data or an error code makes them differ;
  * zkCli output splitting (markers, lifted watch events, text without newline) and cli_mt
    children sorting;
  * the skip/fail policy for a non-functional gregor-coord (exit 77, or failure with
    GREGOR_REQUIRE_COORD=1), in the library and in the shell CLI, and that a hung
    server process is killed."""
import os
import subprocess
import sys
import tempfile

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
sys.path.insert(0, LIB)
os.environ["ZKH_GREGOR_READY_S"] = "1.5"
import zkclients  # noqa: E402
import zkharness  # noqa: E402
import zknorm  # noqa: E402

STAT_A = """$ get -s /a
hello
cZxid = 0x{c}
ctime = Fri Nov 20 23:50:15 UTC 2026
mZxid = 0x{m}
mtime = Sat Nov 21 01:02:03 UTC 2026
pZxid = 0x{p}
cversion = 0
dataVersion = {ver}
aclVersion = 0
ephemeralOwner = 0x{owner}
dataLength = 5
numChildren = 0
$ get -s /b
cZxid = 0x{c2}
ephemeralOwner = 0x{owner2}
Connecting to 127.0.0.1:{port}
"""


def stat_text(**kw):
    d = dict(c="2", m="5", p="2", ver="1", owner="100000559a70002", c2="7",
             owner2="100000559a70002", port="2181")
    d.update(kw)
    return STAT_A.format(**d)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_equal(a, b, why):
    ok, rep = zknorm.compare("case", a, b)
    check(ok, "expected equal (%s):\n%s" % (why, rep))


def expect_differ(a, b, why):
    ok, rep = zknorm.compare("case", a, b)
    check(not ok, "expected a difference (%s) but normalization hid it:\n%s\n%s" % (
        why, zknorm.normalize(a), zknorm.normalize(b)))


def test_normalizer():
    base = stat_text()
    expect_equal(base, stat_text(c="1000000a2", m="1000000f0", p="1000000a2", c2="100000100",
                                 owner="7200001234560000", owner2="7200001234560000",
                                 port="40123"),
                 "other absolute zxids/session/port, same relations")
    expect_equal(base, base.replace("Fri Nov 20 23:50:15 UTC 2026", "Mon Jan  5 00:00:00 CET 2027"),
                 "other time")
    expect_differ(base, stat_text(m="1"), "mzxid now before czxid")
    expect_differ(base, stat_text(p="5"), "pzxid equal to mzxid instead of czxid")
    expect_differ(base, stat_text(c2="3"), "second node's czxid moves before mzxid of first")
    expect_differ(base, stat_text(ver="2"), "dataVersion")
    expect_differ(base, stat_text(owner2="100000559a70003"), "different session owns /b")
    expect_differ(base, stat_text(owner="0"), "not ephemeral")
    expect_differ(base, base.replace("hello", "hellO"), "data")
    expect_differ("[/x]: rc = -110\n", "[/x]: rc = -101\n", "error code")
    # cli_mt and kazoo-printer field forms
    expect_equal("\tczxid=1a\n\tmzxid=1f\n\tephemeralOwner = 100000559a70004\n",
                 "\tczxid=3\n\tmzxid=40\n\tephemeralOwner = 7200001234560000\n", "cli_mt form")
    expect_differ("\tczxid=1a\n\tmzxid=1f\n", "\tczxid=1f\n\tmzxid=1a\n", "cli_mt order")
    expect_equal("x czxid#=17 owner#=72057594037927936 ctime#=1700000000000\n",
                 "x czxid#=4294967297 owner#=5 ctime#=1\n", "kazoo form")
    expect_differ("czxid#=3 mzxid#=3\n", "czxid#=3 mzxid#=4\n", "kazoo equality")
    expect_differ("session#=5 owner#=5\n", "session#=5 owner#=6\n", "kazoo session identity")
    check(zknorm.normalize("cZxid = 0x0\n") == "cZxid = 0\n", "zxid 0 stays 0")
    check("time = " not in zknorm.normalize("time = 5 msec\nx\n"), "timing noise dropped")


def test_zkcli_parsing():
    cmds = ["get -w /a", "set /a x", "getEphemerals", "getAcl /n"]
    out = "\n".join([
        "SLF4J: noise", "Connecting to 127.0.0.1:1", "Welcome to ZooKeeper!",
        "", "WATCHER::", "", "WatchedEvent state:SyncConnected type:None path:null",
        "Node does not exist: /zkh-mark-0", "old",
        "Node does not exist: /zkh-mark-1",
        "", "WATCHER::", "",
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/a",
        "Node does not exist: /zkh-mark-2", "[/b, /a]",
        "Node does not exist: /zkh-mark-3",
        "KeeperErrorCode = NoAuth for /nNode does not exist: /zkh-mark-end",
        "Node does not exist: /zkh-mark-end2", ""])
    tr = zkclients.zkcli_transcript(out, cmds)
    want = ("$ get -w /a\nold\n$ set /a x\n$ getEphemerals\n[/a, /b]\n$ getAcl /n\n"
            "KeeperErrorCode = NoAuth for /n<no newline>\n"
            "-- watch events, in delivery order --\n"
            "event type:NodeDataChanged path:/a\n")
    check(tr == want, "zkCli transcript:\n%r\nwanted\n%r" % (tr, want))
    # session trouble must show in the transcript, never vanish
    tr = zkclients.zkcli_transcript(out.replace("Node does not exist: /zkh-mark-2",
                                                "KeeperErrorCode = ConnectionLoss for "
                                                "/zkh-mark-2"), cmds)
    check("!! separator answered: KeeperErrorCode = ConnectionLoss" in tr,
          "failed separator not reported:\n" + tr)
    tr = zkclients.zkcli_transcript(out.replace("/zkh-mark-2", "/zkh-mark-X"), cmds)
    check("$ getEphemerals\n!! no separator" in tr, "lost separator not reported:\n" + tr)
    tr = zkclients.zkcli_transcript(out.replace(
        "WatchedEvent state:SyncConnected type:NodeDataChanged path:/a",
        "WatchedEvent state:Disconnected type:None path:null"), cmds)
    check("event state:Disconnected" not in tr and "state:Disconnected type:None" in tr,
          "disconnect not reported:\n" + tr)
    try:
        zkclients.zkcli_transcript("Connecting to 127.0.0.1:1\n", cmds)
        raise AssertionError("a session that never worked must be an error")
    except ValueError:
        pass
    seg = ["/p: rc = 0", "\tz", "\ta", "\tctime = x", "\tczxid=1", "[/p/k]: rc = 0",
           "\tname = /p/k"]
    got = zkclients._sort_children(seg)
    check(got == ["/p: rc = 0", "\ta", "\tz", "\tctime = x", "\tczxid=1", "[/p/k]: rc = 0",
                  "\tname = /p/k"], "cli_mt children sort: %r" % got)


def test_coord_policy():
    with tempfile.TemporaryDirectory() as d:
        hang = os.path.join(d, "hang.sh")
        with open(hang, "w") as f:
            f.write("#!/bin/sh\nsleep 300 &\necho $! >> %s/pids\necho $$ >> %s/pids\n"
                    "exec sleep 300\n" % (d, d))
        os.chmod(hang, 0o755)
        for binary, what in (("/bin/false", "exits at once"), (hang, "never answers"),
                             (os.path.join(d, "absent"), "missing")):
            os.environ["GREGOR_COORD"] = binary
            os.environ.pop("GREGOR_REQUIRE_COORD", None)
            try:
                zkharness.start_server("gregor")
                raise AssertionError("a coord that %s must not start" % what)
            except zkharness.SkipTest as e:
                check("not functional" in str(e), "skip message: %s" % e)
            os.environ["GREGOR_REQUIRE_COORD"] = "1"
            try:
                zkharness.start_server("gregor")
                raise AssertionError("a coord that %s must not start" % what)
            except zkharness.SkipTest:
                raise AssertionError("GREGOR_REQUIRE_COORD=1 must turn the skip into a failure")
            except zkharness.CoordRequired:
                pass
        check(not zkharness._live, "servers left running: %r" % zkharness._live)
        with open(os.path.join(d, "pids")) as f:
            pids = [int(x) for x in f.read().split()]
        check(len(pids) == 4, "hang.sh ran %d times, want 2" % (len(pids) // 2))
        alive = [p for p in pids if _alive(p)]
        check(not alive, "the hung coord's process group was not killed: %s" % alive)
        # shell CLI: 77 (skip) / 1 (required)
        env = dict(os.environ, GREGOR_COORD="/bin/false")
        env.pop("GREGOR_REQUIRE_COORD", None)
        cli = [sys.executable, os.path.join(LIB, "zkharness.py"), "start", "gregor",
               os.path.join(d, "srv")]
        r = subprocess.run(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(r.returncode == 77, "CLI start of a dead coord: exit %d, want 77" % r.returncode)
        env["GREGOR_REQUIRE_COORD"] = "1"
        r = subprocess.run(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(r.returncode == 1, "CLI start with GREGOR_REQUIRE_COORD=1: exit %d, want 1" %
              r.returncode)
    os.environ.pop("GREGOR_COORD", None)
    os.environ.pop("GREGOR_REQUIRE_COORD", None)


def _alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def main():
    test_normalizer()
    test_zkcli_parsing()
    test_coord_policy()


zkharness.run_test(main)
