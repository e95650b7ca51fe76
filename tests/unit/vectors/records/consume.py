#!/usr/bin/python3
"""Real consumers read the record data Gregor writes, through Fetch at the matching version.

Serves each NAME.bin written by the unit test (KREC_CROSSCHECK_DIR, see crosscheck.py) as the
only partition of topic "t" from a minimal responder (ApiVersions, Metadata, ListOffsets,
Fetch) and consumes it with real clients at a Fetch version whose readers expect that format:
  magic 2 -> kcat/librdkafka 2.0.2 (Fetch up to v11) and kafka-python api_version=(2,1,0) (Fetch v4)
  magic 1 -> kcat with a broker advertising Fetch <= 3, kafka-python api_version=(0,10,0) (Fetch v2)
  magic 0 -> kcat with broker.version.fallback=0.9.0 (Fetch v0/v1), kafka-python (0,9) (Fetch v1)
Compares offsets, keys, values (and timestamps, headers where the client shows them) with
NAME.expect. Loopback only.

Usage: /usr/bin/python3 tests/unit/vectors/records/consume.py DIR
"""
import glob
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capture import Broker, arr, s16  # noqa: E402


class FetchBroker(Broker):
    def __init__(self):
        super().__init__()
        self.data, self.start, self.hw = b'', 0, 0

    def apis(self):
        return [(0, 0, self.produce_max), (1, 0, self.fetch_max), (2, 0, 2), (3, 0, 5), (8, 0, 3), (9, 0, 3),
                (10, 0, 1), (11, 0, 2), (12, 0, 1), (13, 0, 1), (14, 0, 1), (18, 0, 2)]

    def handle(self, r):
        save = r.p
        key, ver, corr = r.i16(), r.i16(), r.i32()
        r.string()
        if key == 1:
            return struct.pack('>i', corr) + self.fetch(r, ver)
        if key == 2:
            return struct.pack('>i', corr) + self.list_offsets(r, ver)
        r.p = save
        return super().handle(r)

    def list_offsets(self, r, ver):
        r.i32()
        if ver >= 2:
            r.i8()
        topics = []
        for _ in range(r.i32()):
            name = r.string()
            parts = []
            for _ in range(r.i32()):
                p, ts = r.i32(), r.i64()
                if ver == 0:
                    r.i32()
                off = self.start if ts == -2 else self.hw
                if ver == 0:
                    parts.append(struct.pack('>ih', p, 0) + arr([struct.pack('>q', off)]))
                else:
                    parts.append(struct.pack('>ihqq', p, 0, -1, off))
            topics.append(s16(name) + arr(parts))
        return (struct.pack('>i', 0) if ver >= 2 else b'') + arr(topics)

    def fetch(self, r, ver):
        r.i32(); r.i32(); r.i32()
        if ver >= 3:
            r.i32()
        if ver >= 4:
            r.i8()
        if ver >= 7:
            r.i32(); r.i32()
        topics = []
        for _ in range(r.i32()):
            name = r.string()
            parts = []
            for _ in range(r.i32()):
                p = r.i32()
                if ver >= 9:
                    r.i32()
                off = r.i64()
                if ver >= 5:
                    r.i64()
                r.i32()
                recs = self.data if off < self.hw else b''
                pr = struct.pack('>ihq', p, 0, self.hw)
                if ver >= 4:
                    pr += struct.pack('>q', self.hw)
                    if ver >= 5:
                        pr += struct.pack('>q', self.start)
                    pr += struct.pack('>i', 0)   # no aborted transactions
                    if ver >= 11:
                        pr += struct.pack('>i', -1)
                pr += struct.pack('>i', len(recs)) + recs
                parts.append(pr)
            topics.append(s16(name) + arr(parts))
        head = b''
        if ver >= 1:
            head += struct.pack('>i', 0)
        if ver >= 7:
            head += struct.pack('>hi', 0, 0)
        return head + arr(topics)


def expected(path):
    out = []
    with open(path[:-4] + '.expect') as f:
        for line in f:
            if not line.startswith('R '):
                continue
            t = line.split()
            dec = lambda s: None if s == '-' else bytes.fromhex(s[1:])
            hdrs = [(dec(t[7 + 2 * i]), dec(t[8 + 2 * i])) for i in range(int(t[6]))]
            out.append({'offset': int(t[1]), 'ts': int(t[2]), 'key': dec(t[4]), 'value': dec(t[5]), 'headers': hdrs})
    return out


def via_kcat(b, extra):
    p = subprocess.run(['kcat', '-C', '-b', '127.0.0.1:%d' % b.port, '-t', 't', '-p', '0', '-o', 'beginning', '-e',
                        '-J', '-q'] + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode()[-400:])
    got = []
    for line in p.stdout.decode().splitlines():
        m = json.loads(line)
        enc = lambda s: None if s is None else s.encode()
        hdrs = m.get('headers') or []
        got.append({'offset': m['offset'], 'ts': m['ts'] if m.get('tstype', 'none') != 'none' else -1, 'key': enc(m['key']),
                    'value': enc(m['payload']),
                    'headers': [(enc(hdrs[i]), enc(hdrs[i + 1])) for i in range(0, len(hdrs), 2)]})
    return got


KPY = r'''
import sys, json
from kafka import KafkaConsumer, TopicPartition
api = tuple(int(x) for x in sys.argv[2].split('.'))
c = KafkaConsumer(bootstrap_servers=sys.argv[1], api_version=api, enable_auto_commit=False,
                  consumer_timeout_ms=3000, auto_offset_reset='earliest')
tp = TopicPartition('t', 0)
c.assign([tp])
c.seek_to_beginning(tp)
for m in c:
    h = lambda b: None if b is None else b.hex()
    print(json.dumps({'offset': m.offset, 'ts': m.timestamp if m.timestamp is not None else -1, 'key': h(m.key),
                      'value': h(m.value), 'headers': [[k.encode().hex(), h(v)] for k, v in (m.headers or [])]}))
c.close()
'''


def via_kafka_python(b, api):
    p = subprocess.run(['/usr/bin/python3', '-c', KPY, '127.0.0.1:%d' % b.port, api], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode()[-400:])
    got = []
    for line in p.stdout.decode().splitlines():
        m = json.loads(line)
        dec = lambda s: None if s is None else bytes.fromhex(s)
        got.append({'offset': m['offset'], 'ts': m['ts'], 'key': dec(m['key']), 'value': dec(m['value']),
                    'headers': [(dec(k), dec(v)) for k, v in m['headers']]})
    return got


def main():
    d = sys.argv[1]
    b = FetchBroker()
    bad = total = 0
    for path in sorted(glob.glob(os.path.join(d, '*.bin'))):
        with open(path, 'rb') as f:
            data = f.read()
        want = expected(path)
        if not want:
            continue
        magic = data[16]
        b.data, b.start, b.hw = data, want[0]['offset'], want[-1]['offset'] + 1
        name = os.path.basename(path)
        if magic == 2:
            runs = [('kcat', 7, 11, lambda: via_kcat(b, [])), ('kafka-python (2,1,0)', 7, 11,
                                                                 lambda: via_kafka_python(b, '2.1.0'))]
        elif magic == 1:
            runs = [('kcat Fetch<=3', 2, 3, lambda: via_kcat(b, [])),
                    ('kafka-python (0,10,0)', 2, 3, lambda: via_kafka_python(b, '0.10.0'))]
        else:
            runs = [('kcat fallback 0.9.0', 7, 11, lambda: via_kcat(b, ['-X', 'api.version.request=false', '-X',
                                                                       'broker.version.fallback=0.9.0'])),
                    ('kafka-python (0,9)', 7, 11, lambda: via_kafka_python(b, '0.9'))]
        for who, pmax, fmax, fn in runs:
            b.produce_max, b.fetch_max = pmax, fmax
            total += 1
            try:
                got = fn()
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                bad += 1
                print('%s: %s failed: %s' % (name, who, e))
                continue
            # kcat shows no timestamps for magic 0 and no headers before magic 2
            cmp = lambda recs: [(r['offset'], r['key'], r['value'], r['ts'] if magic else -1,
                                 r['headers'] if magic == 2 else []) for r in recs]
            if cmp(got) != cmp(want):
                bad += 1
                print('%s: %s reads differently' % (name, who))
                for g, w in zip(cmp(got), cmp(want)):
                    if g != w:
                        print('   got ', str(g)[:200])
                        print('   want', str(w)[:200])
                        break
                else:
                    print('   got %d records, want %d' % (len(got), len(want)))
    print('consumers: %d runs, %d failed' % (total, bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
