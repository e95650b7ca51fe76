#!/usr/bin/python3
"""Differential test: the ZooKeeper C client shell cli_mt (0030-cli-mt.d/*.cmds, one session
each) against Apache ZooKeeper 3.8 and the target server; normalized transcripts must match.
cli_mt runs watcher callbacks and completions on one thread in arrival order, so this also
checks that a notification is delivered before the reply of the write that triggered it."""
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkclients  # noqa: E402
import zkharness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    scripts = sorted(glob.glob(os.path.join(HERE, "0030-cli-mt.d", "*.cmds")))
    assert scripts, "no cli_mt scripts found"
    sessions = []
    for path in scripts:
        cmds = zkclients.load_script(path)
        sessions.append((os.path.basename(path),
                         lambda port, cmds=cmds: zkclients.run_cli_mt(port, cmds)))
    zkharness.differential(sessions, out_dir=os.environ.get("ZKH_OUT"))


zkharness.run_test(main)
