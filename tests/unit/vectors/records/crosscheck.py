#!/usr/bin/python3
"""Checks that other implementations read the record data Gregor writes as Gregor does.

The unit test writes, when KREC_CROSSCHECK_DIR is set, batches it built (v2, every codec,
CreateTime and LogAppendTime), their down-conversions to magic 0 and 1, and every real
capture as the log stores it after append, each as NAME.bin plus NAME.expect (what Gregor's
reader finds). This script reads every .bin with kafka-python 2.0.2's record reader and, for
magic-0 data, with Apache Kafka 0.9.0.1's Java client classes (Reader09.java), and compares.

Usage (from the top of the tree, after make):
    KREC_CROSSCHECK_DIR=/tmp/x build/tests/test_kafka_records
    /usr/bin/python3 tests/unit/vectors/records/crosscheck.py /tmp/x
Environment: KAFKA09_HOME = an unpacked Kafka 0.9.0.1 (optional; skipped without it).
"""
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture  # noqa: E402  (expect_lines: kafka-python's reading in the .expect format)


def ours(path):
    with open(path[:-4] + '.expect') as f:
        return [l.rstrip('\n') for l in f if not l.startswith('#')]


def main():
    d = sys.argv[1]
    bins = sorted(glob.glob(os.path.join(d, '*.bin')))
    if not bins:
        print('no .bin files in', d)
        return 1
    bad = 0
    for b in bins:
        with open(b, 'rb') as f:
            data = f.read()
        theirs = capture.expect_lines(data)
        if theirs != ours(b):
            bad += 1
            print('kafka-python differs on', os.path.basename(b))
            for a, c in zip(theirs, ours(b)):
                if a != c:
                    print('  kafka-python:', a[:160])
                    print('  gregor:      ', c[:160])
                    break
    print('kafka-python: %d files, %d differ' % (len(bins), bad))
    home = os.environ.get('KAFKA09_HOME')
    v0 = [b for b in bins if os.path.basename(b).startswith('down-v0-')]
    if home and v0:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(['java', '-cp', os.path.join(home, 'libs', '*'), os.path.join(here, 'Reader09.java')] + v0,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        if out.returncode != 0:
            print('Kafka 0.9 reader failed:', out.stderr.decode()[-2000:])
            return 1
        got, cur = {}, None
        for line in out.stdout.decode().splitlines():
            if line.startswith('# '):
                cur = line[2:]
                got[cur] = []
            else:
                got[cur].append(line)
        jbad = 0
        for b in v0:
            if got.get(b) != ours(b):
                jbad += 1
                print('Kafka 0.9 differs on', os.path.basename(b))
        print('Kafka 0.9.0.1 Java: %d magic-0 files, %d differ' % (len(v0), jbad))
        bad += jbad
    else:
        print('Kafka 0.9 check skipped (KAFKA09_HOME not set)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
