#!/usr/bin/python3
"""Differential test: zkCli.sh 3.8 scripts (0010-zkcli.d/*.zk, one zkCli session each)
against Apache ZooKeeper 3.8 and the target server (GREGOR_ITEST_TARGET, default gregor);
normalized transcripts must match. ZKH_OUT=DIR keeps the transcripts."""
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zkclients  # noqa: E402
import zkharness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    scripts = sorted(glob.glob(os.path.join(HERE, "0010-zkcli.d", "*.zk")))
    assert scripts, "no zkCli scripts found"
    sessions = []
    for path in scripts:
        cmds = zkclients.load_script(path)
        name = os.path.basename(path)
        sessions.append((name, lambda port, cmds=cmds: zkclients.run_zkcli(port, cmds)))
    zkharness.differential(sessions, out_dir=os.environ.get("ZKH_OUT"))


zkharness.run_test(main)
