#!/usr/bin/python3
"""kafkajs 2.2.4 (node) against gregor-broker: runs 0530-kafkajs.js (admin createTopics /
listTopics / fetchTopicMetadata / deleteTopics, a gzip producer with keys and headers, a group
consumer with eachMessage and its committed offsets, two consumers of one group splitting 4
partitions). kafkajs needs ApiVersions, so the real Kafka 0.9 cannot run it (skip with
KH_TARGET=kafka09). Exit 0 pass, 77 skip, 1 fail."""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import kharness as kh  # noqa: E402


def main():
    kh.need_gregor("kafkajs (needs ApiVersions, CreateTopics)")
    if not shutil.which("node"):
        kh.skip("node is not installed")
    r = subprocess.run(["sh", os.path.join(kh.TOP, "deploy", "peers.sh"), "kafkajs"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        kh.skip("kafkajs unavailable: %s" % r.stderr.strip())
    mods = os.path.join(r.stdout.strip().splitlines()[-1], "node_modules")
    c = kh.Cluster(partitions=1)
    env = dict(os.environ, NODE_PATH=mods, KAFKAJS_NO_PARTITIONER_WARNING="1")
    p = subprocess.Popen(["node", os.path.join(HERE, "0530-kafkajs.js"), c.bootstrap],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, _ = p.communicate()
        raise AssertionError("node did not finish:\n" + out[-4000:])
    sys.stderr.write(out[-6000:])
    if p.returncode != 0:
        raise AssertionError("kafkajs scenarios failed (exit %d)" % p.returncode)
    if out.count("\nok ") + out.startswith("ok ") < 4:
        raise AssertionError("not every scenario reported ok")
    if not c.broker.alive():
        raise AssertionError("broker died")


if __name__ == "__main__":
    kh.run_test(main)
