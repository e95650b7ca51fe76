#!/usr/bin/python3
"""kcat 1.7 / librdkafka 2.0.2 against a real broker (gregor-broker; KH_TARGET=kafka09 for the
real Kafka 0.9.0.1, where only the 0.9 path runs: librdkafka's ApiVersions hangs a 0.9 broker).

Scenarios:
  -L                metadata lists broker 0 at its address and the topics with leaders
  codec X           -P -z X (none, gzip, snappy, lz4, zstd) with keys (-K:) to partition 0, then
                    -C -o beginning -e: every key/value at offsets 0..n-1 in order; a second
                    batch appended after the first continues the offsets
  offsets           -o beginning / -o end (nothing) / -o 3 / -o -2 (two from the end) with -c
  keyed partitions  keyed records across 3 partitions with librdkafka's partitioner: each key
                    lands on one partition, all read back
  0.9 path X        -X api.version.request=false -X broker.version.fallback=0.9.0 (Produce/Fetch
                    v0-v1, magic 0 messages, Metadata v0), codecs none/gzip/snappy/lz4 produced
                    and consumed; records written by the modern path read back by the 0.9 path
                    (down-conversion) and the other way round
Exit 0 pass, 77 skip, 1 fail."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

OLD = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"]
FMT = "%k|%s|%p|%o\\n"


def kcat(c, args, input=None, timeout=60):
    rc, out, err = kh.run_cmd(["kcat", "-b", c.bootstrap, "-X", "socket.timeout.ms=20000"] + args,
                              input=input.encode() if input is not None else None,
                              timeout=timeout, check=False)
    if rc != 0:
        raise AssertionError("kcat %s exited %d:\n%s\n%s" % (" ".join(args), rc, out[-1500:],
                                                             err[-3000:]))
    return out, err


def produce(c, topic, lines, codec="none", extra=(), partition=0):
    args = ["-P", "-t", topic, "-K:", "-z", codec] + list(extra)
    if partition is not None:
        args += ["-p", str(partition)]
    kcat(c, args, input="".join(ln + "\n" for ln in lines))


def consume(c, topic, extra=(), offset="beginning", partition=0, count=None):
    args = ["-C", "-t", topic, "-e", "-o", str(offset), "-f", FMT] + list(extra)
    if partition is not None:
        args += ["-p", str(partition)]
    if count is not None:
        args += ["-c", str(count)]
    out, _ = kcat(c, args)
    return [tuple(ln.split("|")) for ln in out.splitlines() if ln]


def lines_for(tag, n, start=0):
    # keys and values of different lengths; some values repeat (compressible)
    return ["k%d:%s-%d-%s" % (i, tag, i, "v" * (i % 13)) for i in range(start, start + n)]


def expect(got, lines, first_offset=0, partition="0"):
    want = []
    for i, ln in enumerate(lines):
        k, v = ln.split(":", 1)
        want.append((k, v, partition, str(first_offset + i)))
    if got != want:
        raise AssertionError("read back:\n  %s\nwant:\n  %s" % (
            "\n  ".join(map(repr, got[:8])), "\n  ".join(map(repr, want[:8]))))


def scenario_list(c):
    c.create_topic("kc-list", 2)
    out, _ = kcat(c, ["-L"])
    if "broker 0 at 127.0.0.1:%d" % c.port not in out:
        raise AssertionError("-L does not list broker 0 at 127.0.0.1:%d:\n%s" % (c.port, out))
    if 'topic "kc-list" with 2 partitions' not in out:
        raise AssertionError("-L does not list kc-list with 2 partitions:\n%s" % out)
    for p in (0, 1):
        if "partition %d, leader 0, replicas: 0, isrs: 0" % p not in out:
            raise AssertionError("-L: partition %d of kc-list has no leader 0:\n%s" % (p, out))


def scenario_codec(c, codec, extra=(), tag=""):
    topic = "kc-%s%s" % (codec, tag)
    c.create_topic(topic, 1)
    a = lines_for(codec, 40)
    produce(c, topic, a, codec, extra)
    expect(consume(c, topic, extra), a)
    b = lines_for(codec + "b", 25, 40)
    produce(c, topic, b, codec, extra)
    expect(consume(c, topic, extra), a + b)


def scenario_offsets(c):
    topic = "kc-offsets"
    c.create_topic(topic, 1)
    a = lines_for("o", 10)
    produce(c, topic, a)
    expect(consume(c, topic, offset="beginning", count=4), a[:4])
    got = consume(c, topic, offset="end")
    if got:
        raise AssertionError("-o end -e read %r, want nothing" % got)
    expect(consume(c, topic, offset=3), a[3:], first_offset=3)
    expect(consume(c, topic, offset=-2), a[8:], first_offset=8)
    expect(consume(c, topic, offset=9), a[9:], first_offset=9)


def scenario_keyed(c):
    topic = "kc-keyed"
    c.create_topic(topic, 3)
    lines = ["key%d:val%d" % (i % 6, i) for i in range(60)]
    produce(c, topic, lines, "gzip", partition=None)
    got = []
    for p in range(3):
        got += consume(c, topic, partition=p)
    if len(got) != 60:
        raise AssertionError("read %d of 60 keyed records" % len(got))
    where = {}
    for k, v, p, o in got:
        where.setdefault(k, set()).add(p)
    if any(len(ps) != 1 for ps in where.values()):
        raise AssertionError("a key landed on several partitions: %r" % where)
    if len(set(p for ps in where.values() for p in ps)) < 2:
        raise AssertionError("6 keys all landed on one partition of 3: %r" % where)
    if sorted(v for k, v, p, o in got) != sorted("val%d" % i for i in range(60)):
        raise AssertionError("values differ")


def scenario_cross(c):
    """Modern writes read by the 0.9 path (down-conversion) and 0.9 writes read by the modern path."""
    topic = "kc-cross"
    c.create_topic(topic, 1)
    a = lines_for("new", 15)
    produce(c, topic, a, "lz4")
    b = lines_for("old", 15, 15)
    produce(c, topic, b, "snappy", OLD)
    expect(consume(c, topic, OLD), a + b)
    expect(consume(c, topic), a + b)


def main():
    if not shutil.which("kcat"):
        kh.skip("kcat is not installed (apt-get install kcat)")
    c = kh.Cluster(partitions=1)
    chk = kh.Check()
    modern = kh.target() == "gregor"
    if modern:
        chk("-L", scenario_list, c)
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            chk("codec %s" % codec, scenario_codec, c, codec)
        chk("offsets -o beginning/end/N/-N", scenario_offsets, c)
        chk("keyed records over 3 partitions", scenario_keyed, c)
    else:
        print("  skip modern-path scenarios: librdkafka's ApiVersions v3 hangs a 0.9 broker",
              file=sys.stderr)
    chk("-L (0.9 path)", lambda c: scenario_list_old(c), c)
    for codec in ("none", "gzip", "snappy", "lz4"):
        chk("0.9 path codec %s" % codec, scenario_codec, c, codec, OLD, "-old")
    if modern:
        chk("modern writes <-> 0.9-path reads", scenario_cross, c)
    if not c.broker.alive():
        raise AssertionError("broker died")
    chk.finish()


def scenario_list_old(c):
    c.create_topic("kc-list-old", 3)
    out, _ = kcat(c, ["-L"] + OLD)
    if "broker 0 at 127.0.0.1:%d" % c.port not in out or \
            'topic "kc-list-old" with 3 partitions' not in out:
        raise AssertionError("-L (0.9 path):\n%s" % out)


if __name__ == "__main__":
    kh.run_test(main)
