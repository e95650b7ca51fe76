#!/usr/bin/python3
"""Differential test through ensemble members: the client sessions of 0010 (zkCli.sh
scripts), 0020 (the kazoo scenario) and 0030 (cli_mt scripts) run against a standalone
Apache ZooKeeper 3.8 (the reference) and, at the same time, against ONE member of a
3-voter + 1-observer ensemble of the target kind (GREGOR_ITEST_TARGET: gregor by default,
apache proves the test). The normalized transcripts must match, member after member:
a follower, the observer, the leader, the other follower (ZKH_ENS_MEMBERS=follower,observer
picks fewer; each name once, "follower" twice for both followers).

Per member ("pass"):
  * every session's transcript equals the reference's (zknorm: zxids by rank, session ids
    by first appearance, times masked). One output differs by design between a standalone
    server and an ensemble: `get -s /zookeeper/config` (standalone: empty, version 0;
    ensemble: the server list, version -1). Its data, dataVersion and dataLength are
    masked in the transcripts and checked separately, against Apache's format, on every
    member:  "server.N=127.0.0.1:<quorum>:<election>:participant|observer" lines joined
    by "\\n", then "\\nversion=0"; czxid = mzxid = pzxid = 0, ctime 0, version -1,
    aversion -1, cversion 0, no owner, no children;
  * afterwards the reference's tree equals the member's (paths, data, versions, child
    counts, ephemeral or not), and all four members hold identical trees (full Stat);
  * before the passes, the four-letter words of every member show its role and the quorum
    figures as Apache 3.8 does (srvr Mode, mntr zk_server_state / zk_peer_state /
    zk_quorum_size, the leader's zk_learners / zk_synced_followers / zk_pending_syncs ...,
    conf serverId / quorumPort / electionPort / peerType / membership);
  * then both sides are wiped the same way (every node but /zookeeper, /zookeeper/config
    and /zookeeper/quota, deepest first), so the next pass starts from equal states.
ZKH_OUT=DIR keeps raw and normalized transcripts."""
import glob
import importlib.util
import logging
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import zkclients  # noqa: E402
import zkensemble  # noqa: E402
import zkharness  # noqa: E402
import zkload  # noqa: E402
import zknorm  # noqa: E402
import zkraw  # noqa: E402
from zkharness import log  # noqa: E402

AUTHS = [("digest", b"alice:secret"), ("digest", b"bob:pw")]   # identities the scenarios use
KEEP = {"/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"}
CONFIG = "/zookeeper/config"


def load_kazoo_scenario():
    """The scenario() of 0020-kazoo-diff.py, imported without running that test."""
    saved = zkharness.run_test
    zkharness.run_test = lambda main: None
    try:
        spec = importlib.util.spec_from_file_location("kazoo_diff_0020",
                                                      os.path.join(HERE, "0020-kazoo-diff.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        zkharness.run_test = saved
    return mod.scenario


def sessions():
    out = []
    for path in sorted(glob.glob(os.path.join(HERE, "0010-zkcli.d", "*.zk"))):
        cmds = zkclients.load_script(path)
        out.append((os.path.basename(path), lambda port, cmds=cmds: zkclients.run_zkcli(port, cmds)))
    out.append(("kazoo-scenario", load_kazoo_scenario()))
    for path in sorted(glob.glob(os.path.join(HERE, "0030-cli-mt.d", "*.cmds"))):
        cmds = zkclients.load_script(path)
        out.append((os.path.basename(path), lambda port, cmds=cmds: zkclients.run_cli_mt(port, cmds)))
    assert len(out) >= 4, "session scripts not found"
    return out


def mask_config(raw):
    """Masks the data, dataVersion and dataLength printed by `get -s /zookeeper/config`
    (zkCli): they differ between a standalone server and an ensemble by design."""
    lines = raw.split("\n")
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i] == "$ get -s " + CONFIG:
            i += 1
            while i < len(lines) and not lines[i].startswith("cZxid = ") and not lines[i].startswith("$ "):
                i += 1
            out.append("<" + CONFIG + " data: checked separately>")
            while i < len(lines) and not lines[i].startswith("$ "):
                out.append(re.sub(r"^(dataVersion|dataLength) = .*", r"\1 = <masked>", lines[i]))
                i += 1
            continue
        i += 1
    return "\n".join(out)


def expected_config(ens):
    return "\n".join("server.%d=127.0.0.1:%d:%d:%s" % (m.sid, m.quorum_port, m.election_port,
                                                       m.role) for m in ens.members) + "\nversion=0"


def check_config_node(ens, problems):
    want = expected_config(ens).encode()
    for m in ens.members:
        with zkraw.connect(m.port) as c:
            err, rb = c.call(zkraw.OP_GETDATA, zkraw.path_watch_body(CONFIG))
        if err != 0:
            problems.append("member %d: getData %s -> %d" % (m.sid, CONFIG, err))
            continue
        data, off = zkraw.parse_buffer(rb)
        st, _ = zkraw.parse_stat(rb, off)
        if data != want:
            problems.append("member %d: %s holds %r, expected %r" % (m.sid, CONFIG, data, want))
        fixed = {"czxid": 0, "mzxid": 0, "pzxid": 0, "ctime": 0, "version": -1, "cversion": 0,
                 "aversion": -1, "ephemeralOwner": 0, "numChildren": 0, "dataLength": len(want)}
        bad = {k: st[k] for k, v in fixed.items() if st[k] != v}
        if bad:
            problems.append("member %d: %s Stat fields %s, expected %s" % (
                m.sid, CONFIG, bad, {k: fixed[k] for k in bad}))


def kv(text, sep):
    out = {}
    for ln in text.splitlines():
        if sep in ln:
            k, v = ln.split(sep, 1)
            out[k.strip()] = v.strip()
    return out


def check_4lw(ens, problems):
    """Roles and quorum figures as Apache ZooKeeper 3.8 reports them (observed live):
    srvr Mode; mntr zk_server_state, zk_peer_state ("<leading|following|observing> -
    broadcast"), zk_quorum_size (voters); on the leader only zk_learners,
    zk_synced_followers, zk_synced_non_voting_followers, zk_synced_observers,
    zk_pending_syncs; on the observer zk_observer_master_id; conf serverId, initLimit,
    syncLimit, electionAlg, quorumPort, electionPort, peerType and the membership lines.
    (3.8 has no zk_followers: it became zk_learners.)"""
    leader = ens.leader()
    voters, observers = len(ens.voters), len(ens.observers)
    lead_keys = {"zk_learners": str(voters - 1 + observers),
                 "zk_synced_followers": str(voters - 1),
                 "zk_synced_non_voting_followers": "0",
                 "zk_synced_observers": str(observers), "zk_pending_syncs": "0"}
    peer_state = {"leader": "leading - broadcast", "follower": "following - broadcast",
                  "observer": "observing - broadcast"}
    members_cfg = expected_config(ens).split("\n")
    for m in ens.members:
        role = "leader" if m is leader else ("observer" if m.role == "observer" else "follower")
        bad = []

        def settled():
            mn = kv(zkharness.four_letter(m.port, "mntr"), "\t")
            want = dict(lead_keys) if m is leader else {}
            return all(mn.get(k) == v for k, v in want.items()), mn
        try:
            mn = zkharness.wait_until(lambda: (lambda ok, mn: mn if ok else None)(*settled()),
                                      10, what="leader's mntr figures")
        except TimeoutError:
            mn = settled()[1]
        srvr = kv(zkharness.four_letter(m.port, "srvr"), ": ")
        conf = zkharness.four_letter(m.port, "conf")
        ck = kv(conf, "=")
        if srvr.get("Mode") != role:
            bad.append("srvr Mode %r" % srvr.get("Mode"))
        want = {"zk_server_state": role, "zk_peer_state": peer_state[role],
                "zk_quorum_size": str(voters)}
        want.update(lead_keys if m is leader else {})
        if role == "observer":
            want["zk_observer_master_id"] = str(leader.sid)
        bad += ["mntr %s=%r (want %r)" % (k, mn.get(k), v) for k, v in want.items() if mn.get(k) != v]
        if m is not leader:
            bad += ["mntr has leader-only %s" % k for k in lead_keys if k in mn]
        want = {"serverId": str(m.sid), "initLimit": str(ens.init_limit),
                "syncLimit": str(ens.sync_limit), "electionAlg": "3",
                "quorumPort": str(m.quorum_port), "electionPort": str(m.election_port),
                "peerType": "1" if m.role == "observer" else "0"}
        bad += ["conf %s=%r (want %r)" % (k, ck.get(k), v) for k, v in want.items() if ck.get(k) != v]
        lines = conf.splitlines()
        if "membership: " not in lines or lines[lines.index("membership: ") + 1:] != members_cfg:
            bad.append("conf membership section %r (want %r)" % (
                lines[lines.index("membership: "):] if "membership: " in lines else None,
                ["membership: "] + members_cfg))
        if bad:
            problems.append("4lw on member %d (%s): %s" % (m.sid, role, "; ".join(bad)))
    log("4lw: srvr/mntr/conf roles and quorum figures checked on all %d members" % len(ens.members))


def comparable(tree):
    """A tree as two different servers must agree on it: per path (data, version,
    cversion, aversion, dataLength, numChildren, ephemeral?); zxids, times and session ids
    are server-specific. /zookeeper/config is left out (checked separately)."""
    k = zkload.STAT_KEYS
    return {p: (d, st[k.index("version")], st[k.index("cversion")], st[k.index("aversion")],
                st[k.index("dataLength")], st[k.index("numChildren")],
                st[k.index("ephemeralOwner")] != 0)
            for p, (d, st) in tree.items() if p != CONFIG}


def wipe(port):
    """Deletes every node but KEEP, deepest first (with the scenarios' identities).
    Returns the list of (path, err) for deletes that failed."""
    tree = zkload.read_tree(port, "/", auths=AUTHS)
    failed = []
    with zkraw.connect(port) as c:
        for scheme, cred in AUTHS:
            zkload.add_auth(c, scheme, cred)
        for p in sorted((p for p in tree if p not in KEEP), key=lambda p: (-p.count("/"), p)):
            err, _ = c.call(zkraw.OP_DELETE, zkraw.delete_body(p))
            if err not in (0, zkload.ZNONODE):
                failed.append((p, err))
    return failed


def pick_members(ens):
    leader = ens.leader()
    followers = [m for m in ens.members if m.role == "participant" and m is not leader]
    pool = {"leader": [leader], "observer": list(ens.observers), "follower": followers}
    names = [n.strip() for n in os.environ.get(
        "ZKH_ENS_MEMBERS", "follower,observer,leader,follower").split(",") if n.strip()]
    out = []
    for n in names:
        if n not in pool:
            raise SystemExit("ZKH_ENS_MEMBERS: unknown role %r (leader, follower, observer)" % n)
        if not pool[n]:
            raise SystemExit("ZKH_ENS_MEMBERS: no %s left" % n)
        out.append((n, pool[n].pop(0)))
    return out


def one_pass(ref, ens, role, member, sess, out_dir, failures):
    label = "%s (member %d)" % (role, member.sid)
    for name, fn in sess:
        t0 = time.monotonic()
        raw_a, raw_b = zkharness._both(fn, ref.port, member.port)
        raw_a, raw_b = mask_config(raw_a), mask_config(raw_b)
        ok, report = zknorm.compare(name, raw_a, raw_b, "apache-standalone",
                                    "%s-%s" % (ens.kind, role))
        log("%s via %s (%.1fs)" % (report.splitlines()[0], label, time.monotonic() - t0))
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            for side, raw in (("apache-standalone", raw_a), ("%s-%s%d" % (ens.kind, role, member.sid), raw_b)):
                base = os.path.join(out_dir, "%s.%s" % (name, side))
                with open(base + ".raw", "w") as f:
                    f.write(raw)
                with open(base + ".norm", "w") as f:
                    f.write(zknorm.normalize(raw))
        if not ok:
            failures.append("through the %s: %s" % (label, report))
        dead = [m for m in ens.members if not m.alive()] + ([ref] if not ref.alive() else [])
        if dead:
            failures.append("server(s) died during %s via %s: %s\n%s" % (
                name, label, dead, "\n".join(m.log_tail() for m in dead)))
            return False
    # state after the pass: the reference vs the member, and the members among themselves
    t_ref = zkload.read_tree(ref.port, "/", auths=AUTHS)
    t_mem = zkload.read_tree(member.port, "/", auths=AUTHS)
    a, b = comparable(t_ref), comparable(t_mem)
    if a != b:
        diff = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
        failures.append("through the %s: trees differ after the pass at %d paths: %s" % (
            label, len(diff), ["%s: %s / %s" % (p, a.get(p), b.get(p)) for p in diff[:5]]))
    trees = {}
    for m in ens.members:
        t = zkload.read_tree(m.port, "/", auths=AUTHS)
        t.pop(CONFIG, None)        # its mtime is each member's own start time
        trees["member %d" % m.sid] = t
    failures.extend("through the %s: replicas differ: %s" % (label, p)
                    for p in zkload.compare_trees(trees))
    f_ref, f_mem = wipe(ref.port), wipe(member.port)
    if f_ref != f_mem:
        failures.append("wiping after the %s pass: reference failed %s, member %s" % (
            label, f_ref, f_mem))
    a = comparable(zkload.read_tree(ref.port, "/", auths=AUTHS))
    b = comparable(zkload.read_tree(member.port, "/", auths=AUTHS))
    if a != b:
        failures.append("after wiping (%s pass): reference %s, member %s" % (label, a, b))
    return True


def main():
    logging.getLogger("kazoo").setLevel(logging.ERROR)
    sess = sessions()
    # the ensemble first: a gregor ensemble that does not work skips before any JVM starts
    ens = zkensemble.start_ensemble("target", voters=3, observers=1, tick_ms=zkharness.TICK_MS)
    try:
        ref = zkharness.start_server("apache")
    except BaseException:
        ens.cleanup()
        raise
    failures = []
    try:
        check_config_node(ens, failures)
        check_4lw(ens, failures)
        for role, member in pick_members(ens):
            if not one_pass(ref, ens, role, member, sess, os.environ.get("ZKH_OUT"), failures):
                break
    finally:
        ens.cleanup()
        ref.cleanup()
    if failures:
        raise AssertionError("\n\n".join(failures))


zkharness.run_test(main)
