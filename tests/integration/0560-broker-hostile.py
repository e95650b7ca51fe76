#!/usr/bin/python3
"""Hostile requests against gregor-broker (reliability-anchors B1-B18): each probe must get
Kafka's error or a closed connection, write nothing, and the broker keeps serving: after every
probe it is alive and answers ApiVersions on a fresh connection, and a bystander kafka-python
producer (acks=1, one record at a time, its own topic) never sees an error and keeps making
progress; at the end every record it had acknowledged is read back.

Probes (raw sockets):
  frames      length -1 / 0 / 3 (shorter than a header) / above socket.request.max.bytes (closed
              before the body is sent) / a TLS ClientHello on the plaintext port
  slowloris   half a length prefix then silence: closed after connections.max.idle.ms (3 s here)
              while everything else goes on
  keys        unknown api key 999, Produce v99, Metadata v99 -> closed; ApiVersions v99 ->
              error 35 with a v0 body giving ApiVersions' own range (KIP-511, as Kafka 2.4)
  lengths     array counts 0x7fffffff / -5, a string length past the frame end, a client id
              length past the frame end, a flexible ApiVersions v3 with a huge tagged-field
              count -> closed (or INVALID_REQUEST)
  names       topic names "", ".", "..", 250 chars, "a b", "a/b", NUL, invalid UTF-8 through
              Metadata v1 (auto-creation) and CreateTopics v0 -> INVALID_TOPIC_EXCEPTION (17),
              nothing under /brokers/topics; "coll.x" vs "coll_x" collision -> 17
  records     v2 batch with a bad CRC-32C, magic-1 message with a bad CRC-32 -> CORRUPT_MESSAGE;
              batchLength beyond the bytes, record count larger than the records, a record length
              varint past the batch, an over-long varint, magic 3, unknown codec 7 ->
              CORRUPT_MESSAGE / INVALID_RECORD / UNSUPPORTED_COMPRESSION_TYPE; a 1.2 MB batch ->
              MESSAGE_TOO_LARGE; acks=5 -> INVALID_REQUIRED_ACKS; the partition's log end offset
              never moves
  semantics   Fetch of partition -1 / 7 / an unknown topic -> 3, offsets past the end or
              negative -> 1; ListOffsets of partition 99 -> 3; JoinGroup session timeouts 1 ms and
              10^9 ms -> 26; a stranger's OffsetCommit in generation 999 -> 22/25;
              LeaderAndIsr / StopReplica (delete) / UpdateMetadata carrying a stale controller
              epoch -> 11 with no effect (leader, data and produce unchanged)
  bombs       gzip (900 MB of zeros in one record, < 1 MB compressed), zstd (1 GiB) and lz4
              (200 MB) batches -> an error or a closed connection, and the broker's peak RSS
              stays below 600 MB
  control     the same encoder's well-formed batches (plain and gzip) are accepted at the right
              offsets and kafka-python reads them back (proves the probes' encoding)
Exit 0 pass, 77 skip, 1 fail."""
import os
import socket
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

CORRUPT, TOO_LARGE, INVALID_TOPIC, BAD_ACKS, UNSUPPORTED_VERSION = 2, 10, 17, 21, 35
INVALID_REQUEST, UNSUPPORTED_COMPRESSION, INVALID_RECORD = 42, 76, 87
TOPIC = "hostile"


# ------------------------------------------------------------------ encoders

def zz(n):
    """zigzag varint"""
    v = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def record(i, key, value, ts_delta=0):
    body = (b"\x00" + zz(ts_delta) + zz(i) +
            (zz(-1) if key is None else zz(len(key)) + key) +
            (zz(-1) if value is None else zz(len(value)) + value) + zz(0))
    return zz(len(body)) + body


def batch_v2(records_blob, count, codec=0, base_ts=None, crc=None, batch_len_delta=0, magic=2):
    """A v2 record batch around already-encoded (and maybe compressed) records."""
    from kafka.record.util import calc_crc32c
    ts = base_ts if base_ts is not None else int(time.time() * 1000)
    after_crc = (struct.pack(">hiqqqhii", codec, max(count - 1, 0), ts, ts, -1, -1, -1, count) +
                 records_blob)
    c = calc_crc32c(after_crc) if crc is None else crc
    rest = struct.pack(">ibI", 0, magic, c) + after_crc      # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(rest) + batch_len_delta) + rest


def plain_batch(values, **kw):
    blob = b"".join(record(i, b"k%d" % i, v) for i, v in enumerate(values))
    return batch_v2(blob, len(values), **kw)


def message_v1(value, key=None, crc_delta=0):
    body = struct.pack(">bbq", 1, 0, int(time.time() * 1000)) + kbytes(key) + kbytes(value)
    crc = (zlib.crc32(body) + crc_delta) & 0xffffffff
    msg = struct.pack(">I", crc) + body
    return struct.pack(">qi", 0, len(msg)) + msg


def kbytes(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def produce_body(records, topic=TOPIC, partition=0, acks=1, ver=3):
    b = b""
    if ver >= 3:
        b += kh.kstr(None)                      # transactional id
    b += struct.pack(">hi", acks, 10000)
    b += struct.pack(">i", 1) + kh.kstr(topic) + struct.pack(">i", 1)
    b += struct.pack(">i", partition) + kbytes(records)
    return b


# ------------------------------------------------------------------ raw io

def send_raw(port, data, wait=5.0):
    """Sends bytes; returns ("closed", b"") / ("answer", response body after the correlation
    id) / ("open", b"") when nothing happened within `wait` s."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return "closed", b""
        try:
            hdr = kh._recv_exact(s, 4)
        except socket.timeout:
            return "open", b""
        except ConnectionResetError:
            return "closed", b""
        if hdr is None:
            return "closed", b""
        n = struct.unpack(">i", hdr)[0]
        body = kh._recv_exact(s, n)
        if body is None:
            return "closed", b""
        return "answer", body[4:]
    finally:
        s.close()


def produce_error(port, records, ver=3, acks=1, topic=TOPIC, partition=0):
    """Sends one Produce; returns "closed" or the partition's error code."""
    how, body = send_raw(port, kh.request(0, ver, 11, produce_body(records, topic, partition, acks, ver)),
                         wait=30.0)
    if how != "answer":
        return how
    r = kh._Rd(body)
    assert r.take(">i") == 1
    r.str()
    assert r.take(">i") == 1
    r.take(">i")
    return r.take(">h")


def produce_offset(port, records, ver=3):
    how, body = send_raw(port, kh.request(0, ver, 11, produce_body(records, ver=ver)), wait=30.0)
    if how != "answer":
        raise AssertionError("a well-formed Produce v%d was answered with: %s" % (ver, how))
    r = kh._Rd(body)
    r.take(">i"); r.str(); r.take(">i")
    part, err, base = r.take(">ihq")
    if err != 0:
        raise AssertionError("a well-formed batch got error %d" % err)
    return base


def log_end(port, topic=TOPIC, partition=0):
    """ListOffsets v1 latest."""
    body = struct.pack(">ii", -1, 1) + kh.kstr(topic) + struct.pack(">iiq", 1, partition, -1)
    resp = kh.roundtrip(port, 2, 1, body, corr=5)
    r = kh._Rd(resp)
    r.take(">i"); r.str(); r.take(">i")
    part, err, ts, off = r.take(">ihqq")
    if err:
        raise AssertionError("ListOffsets error %d" % err)
    return off


def peak_rss_mb(pid):
    # the broker's own process: the group leader
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024.0
    return 0.0


# ------------------------------------------------------------------ bystander

class Bystander:
    def __init__(self, c):
        from kafka import KafkaProducer
        self.p = KafkaProducer(bootstrap_servers=c.bootstrap, acks=1, request_timeout_ms=20000)
        self.acked = []
        self.errors = []
        self.stopping = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        i = 0
        while not self.stopping:
            v = b"bystander-%d" % i
            try:
                md = self.p.send("bystander", v).get(timeout=30)
                self.acked.append((md.offset, v))
            except Exception as e:
                self.errors.append(repr(e))
            i += 1
            time.sleep(0.02)        # a steady trickle, not a load test

    def progress(self, since, timeout=20):
        kh.wait_until(lambda: len(self.acked) > since, timeout, 0.02, "the bystander to make progress")

    def stop(self):
        self.stopping = True
        self.t.join(40)
        self.p.close(10)


# ------------------------------------------------------------------ probes

class Probes:
    def __init__(self, c, bystander):
        self.c, self.port, self.by = c, c.port, bystander
        self.chk = kh.Check()

    def after(self, name):
        if not self.c.broker.alive():
            raise AssertionError("broker died after %s:\n%s" % (name, self.c.broker.tail()))
        av = kh.api_versions(self.port)
        if not av or 18 not in av:
            raise AssertionError("ApiVersions not answered after %s" % name)

    def expect_closed(self, name, data, allow_error=False):
        def run():
            how, body = send_raw(self.port, data)
            ok = how == "closed"
            if allow_error and how == "answer":
                ok = True
            if not ok:
                raise AssertionError("%s: connection %s, want closed%s" % (
                    name, how if how != "answer" else "answered %r" % body[:40],
                    " (or an error)" if allow_error else ""))
            self.after(name)
        self.chk(name, run)

    def expect_error(self, name, records, codes, ver=3, acks=1, topic=TOPIC):
        def run():
            before = log_end(self.port)
            got = produce_error(self.port, records, ver=ver, acks=acks, topic=topic)
            if got != "closed" and got not in codes:
                raise AssertionError("%s: got %r, want one of %r or a closed connection" % (
                    name, got, codes))
            self.after(name)
            after = log_end(self.port)
            if after != before:
                raise AssertionError("%s: log end moved %d -> %d" % (name, before, after))
        self.chk(name, run)


def hdr(api, ver, corr=1, client_id=b"kh"):
    return struct.pack(">hhih", api, ver, corr, len(client_id)) + client_id


def frame(b):
    return struct.pack(">i", len(b)) + b


def probe_frames(P):
    P.expect_closed("frame length -1", struct.pack(">i", -1))
    P.expect_closed("frame length -2147483648", struct.pack(">i", -2 ** 31))
    P.expect_closed("frame length 0", struct.pack(">i", 0))
    P.expect_closed("frame length 3 (shorter than a header)", struct.pack(">i", 3) + b"\x00\x03\x00")
    P.expect_closed("frame length above socket.request.max.bytes", struct.pack(">i", 104857601))
    P.expect_closed("frame length 2^31-1", struct.pack(">i", 2 ** 31 - 1))
    hello = bytes.fromhex("16030100c4010000c00303") + os.urandom(32) + b"\x00\x00\x02\x13\x01\x01\x00"
    P.expect_closed("TLS ClientHello on the plaintext port", hello)


def probe_keys(P):
    P.expect_closed("unknown api key 999", frame(hdr(999, 0)))
    P.expect_closed("unknown api key -1", frame(hdr(-1, 0)))
    P.expect_closed("Produce v99", frame(hdr(0, 99) + produce_body(plain_batch([b"x"]))))
    P.expect_closed("Metadata v99", frame(hdr(3, 99) + struct.pack(">i", 0)))

    def apiv99():
        # versions >= 3 are flexible: request header v2 (client id, then tagged fields)
        how, body = send_raw(P.port, frame(hdr(18, 99, corr=42) + b"\x00"))
        if how != "answer":
            raise AssertionError("ApiVersions v99: %s, want error 35 with the ranges" % how)
        r = kh._Rd(body)
        err = r.take(">h")
        n = r.take(">i")
        keys = {}
        for _ in range(n):
            k, lo, hi = r.take(">hhh")
            keys[k] = (lo, hi)
        # as Kafka >= 2.4: the ApiVersions key with its range (the client retries with its max)
        want = kh.api_versions(P.port)[18]
        if err != UNSUPPORTED_VERSION or keys.get(18) != want:
            raise AssertionError("ApiVersions v99: error %d, ranges %r; want 35 and key 18 %r" % (
                err, keys, want))
        P.after("ApiVersions v99")
    P.chk("ApiVersions v99 -> error 35 + v0 ranges", apiv99)


def probe_lengths(P):
    P.expect_closed("Metadata v0 topic count 0x7fffffff", frame(hdr(3, 0) + struct.pack(">i", 2 ** 31 - 1)),
                    allow_error=False)
    P.expect_closed("Metadata v1 topic count -5", frame(hdr(3, 1) + struct.pack(">i", -5)))
    P.expect_closed("Metadata v0 topic string past the frame",
                    frame(hdr(3, 0) + struct.pack(">ih", 1, 30000) + b"abc"))
    P.expect_closed("client id length past the frame", frame(struct.pack(">hhih", 3, 0, 1, 20000) + b"x"))
    P.expect_closed("client id length -7", frame(struct.pack(">hhih", 18, 0, 1, -7)))
    P.expect_closed("Produce v3 partition count 0x7fffffff",
                    frame(hdr(0, 3) + kh.kstr(None) + struct.pack(">hii", 1, 1000, 1) + kh.kstr(TOPIC) +
                          struct.pack(">i", 2 ** 31 - 1)))
    P.expect_closed("Produce v3 records length past the frame",
                    frame(hdr(0, 3) + kh.kstr(None) + struct.pack(">hii", 1, 1000, 1) + kh.kstr(TOPIC) +
                          struct.pack(">iii", 1, 0, 5000000) + b"\x00" * 20))
    # flexible ApiVersions v3: header v2 = client id + tagged fields; a 5-byte varint count
    P.expect_closed("ApiVersions v3 with a huge tagged-field count",
                    frame(hdr(18, 3) + b"\xff\xff\xff\xff\x0f" + b"\x00" * 4), allow_error=True)
    P.expect_closed("ApiVersions v3 with an over-long varint",
                    frame(hdr(18, 3) + b"\x00" + b"\x80" * 12), allow_error=True)


def probe_slowloris(P):
    s = socket.create_connection(("127.0.0.1", P.port), timeout=30)
    s.sendall(b"\x00\x00")
    return s


def check_slowloris(P, s, t0):
    def run():
        s.settimeout(max(1.0, 20 - (time.monotonic() - t0)))
        try:
            got = s.recv(10)
        except socket.timeout:
            raise AssertionError("a half-sent length prefix is still open %.0fs later "
                                 "(connections.max.idle.ms=3000)" % (time.monotonic() - t0))
        except ConnectionResetError:
            got = b""
        finally:
            s.close()
        if got:
            raise AssertionError("a half-sent request was answered: %r" % got)
        P.after("slowloris")
    P.chk("slowloris closed after connections.max.idle.ms", run)


def probe_names(P):
    bad = [b"", b".", b"..", b"x" * 250, b"a b", b"a/b", b"nul\x00byte", b"\xff\xfe", b"star*"]
    z = P.c.zk()
    try:
        def via_metadata():
            for name in bad:
                body = struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
                how, resp = send_raw(P.port, kh.request(3, 1, 3, body))
                if how == "closed":
                    continue
                r = kh._Rd(resp)
                for _ in range(r.take(">i")):
                    r.take(">i"); r.str(); r.take(">i"); r.str()    # broker: id host port rack
                r.take(">i")                                        # controller id
                n = r.take(">i")
                errs = []
                for _ in range(n):
                    errs.append(r.take(">h"))
                    break
                if errs != [INVALID_TOPIC]:
                    raise AssertionError("Metadata v1 for %r: topic errors %r, want [17]" % (name, errs))
            P.after("bad names in Metadata")

        def via_create():
            body = struct.pack(">i", len(bad))
            for name in bad:
                body += struct.pack(">h", len(name)) + name + struct.pack(">ihii", 1, 1, 0, 0)
            body += struct.pack(">i", 10000)
            how, resp = send_raw(P.port, kh.request(19, 0, 4, body), wait=20)
            if how == "answer":
                r = kh._Rd(resp)
                n = r.take(">i")
                res = [(r.str(), r.take(">h")) for _ in range(n)]
                wrong = [x for x in res if x[1] != INVALID_TOPIC]
                if wrong or n != len(bad):
                    raise AssertionError("CreateTopics of bad names: %r, want 17 for all %d" % (res, len(bad)))
            P.after("bad names in CreateTopics")

        def collision():
            c = P.c
            body = (struct.pack(">i", 1) + kh.kstr("coll.x") + struct.pack(">ihii", 1, 1, 0, 0) +
                    struct.pack(">i", 10000))
            how, resp = send_raw(P.port, kh.request(19, 0, 4, body), wait=20)
            if how != "answer":
                raise AssertionError("CreateTopics coll.x: %s" % how)
            c.wait_leaders("coll.x", 1)
            body = (struct.pack(">i", 1) + kh.kstr("coll_x") + struct.pack(">ihii", 1, 1, 0, 0) +
                    struct.pack(">i", 10000))
            how, resp = send_raw(P.port, kh.request(19, 0, 4, body), wait=20)
            r = kh._Rd(resp)
            r.take(">i")
            name, err = r.str(), r.take(">h")
            if err != INVALID_TOPIC:
                raise AssertionError("CreateTopics coll_x after coll.x: error %d, want 17" % err)
            P.after("collision")
        P.chk("invalid topic names via Metadata v1 -> 17", via_metadata)
        P.chk("invalid topic names via CreateTopics v0 -> 17", via_create)
        P.chk("'.'/'_' collision -> 17", collision)

        def nothing_written():
            kids = set(z.get_children("/brokers/topics"))
            strange = [k for k in kids if k not in (TOPIC, "bystander", "coll.x", "__consumer_offsets")]
            if strange:
                raise AssertionError("bad names reached the coordinator: %r" % strange)
        P.chk("no bad name under /brokers/topics", nothing_written)
    finally:
        z.stop()
        z.close()


def probe_records(P):
    good = plain_batch([b"v1", b"v2"])
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 0x01                          # a record byte: CRC no longer matches
    P.expect_error("v2 batch with a wrong CRC-32C", bytes(bad_crc), (CORRUPT,))
    P.expect_error("v2 batch with a wrong CRC field", plain_batch([b"v"], crc=12345), (CORRUPT,))
    P.expect_error("magic-1 message with a wrong CRC-32", message_v1(b"m1", crc_delta=1), (CORRUPT,), ver=2)
    P.expect_error("batchLength beyond the bytes (truncated batch)", good[:-5],
                   (CORRUPT, INVALID_RECORD))
    P.expect_error("batchLength larger than the bytes", plain_batch([b"v"], batch_len_delta=100),
                   (CORRUPT, INVALID_RECORD))
    P.expect_error("batchLength smaller than the bytes", plain_batch([b"v", b"w"], batch_len_delta=-3),
                   (CORRUPT, INVALID_RECORD))
    blob = b"".join(record(i, None, b"r%d" % i) for i in range(3))
    P.expect_error("record count 5 with 3 records", batch_v2(blob, 5), (CORRUPT, INVALID_RECORD))
    P.expect_error("record count 1 with 3 records", batch_v2(blob, 1), (CORRUPT, INVALID_RECORD))
    rec = record(0, None, b"abc")
    P.expect_error("record length varint past the batch", batch_v2(zz(5000) + rec[1:], 1),
                   (CORRUPT, INVALID_RECORD))
    P.expect_error("over-long record length varint", batch_v2(b"\xff" * 11 + rec, 1),
                   (CORRUPT, INVALID_RECORD))
    P.expect_error("negative record length", batch_v2(zz(-3) + rec, 1), (CORRUPT, INVALID_RECORD))
    P.expect_error("magic 3", plain_batch([b"v"], magic=3), (CORRUPT, INVALID_RECORD, 43))
    P.expect_error("unknown codec 7", plain_batch([b"v"], codec=7),
                   (CORRUPT, INVALID_RECORD, UNSUPPORTED_COMPRESSION))
    P.expect_error("gzip codec with garbage payload", batch_v2(b"\x1f\x8b\x08garbage" * 3, 2, codec=1),
                   (CORRUPT, INVALID_RECORD))
    P.expect_error("batch above message.max.bytes", plain_batch([os.urandom(1200 * 1024)]), (TOO_LARGE,))
    P.expect_error("acks=5", plain_batch([b"v"]), (BAD_ACKS,), acks=5)
    P.expect_error("Produce to an unknown topic", plain_batch([b"v"]), (3,), topic="no-such-topic-here")
    # a NUL inside the topic name must not make it another topic (here: ours)
    P.expect_error("Produce to 'hostile\\0junk'", plain_batch([b"v"]), (3, INVALID_TOPIC),
                   topic=TOPIC.encode() + b"\x00junk")

    def fetch_nul():
        try:
            got = fetch_v4_error(P, TOPIC.encode() + b"\x00junk", 0, 0)
        except AssertionError as e:
            if ": closed" not in str(e):
                raise
            got = 3         # a closed connection is fine too
        if got not in (3, INVALID_TOPIC):
            raise AssertionError("Fetch of 'hostile\\0junk': error %d, want 3 or 17" % got)
        P.after("fetch nul")
    P.chk("Fetch of 'hostile\\0junk' -> 3/17", fetch_nul)


def answer(P, api, ver, body, what):
    how, resp = send_raw(P.port, kh.request(api, ver, 21, body), wait=20)
    if how != "answer":
        raise AssertionError("%s: %s, want an answer" % (what, how))
    return kh._Rd(resp)


def fetch_v4_error(P, topic, partition, offset):
    body = (struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0) + struct.pack(">i", 1) + kh.kstr(topic) +
            struct.pack(">iiqi", 1, partition, offset, 1 << 20))
    r = answer(P, 1, 4, body, "Fetch v4")
    r.take(">i")                    # throttle
    r.take(">i")
    r.str()
    r.take(">i")
    return r.take(">ih")[1]


def probe_semantics(P):
    """Well-formed requests with bad values: Kafka's error code, nothing changes."""
    def fetch():
        end = log_end(P.port)
        for part, off, want in ((-1, 0, (3,)), (7, 0, (3,)), (0, end + 1000, (1,)), (0, -5, (1,))):
            got = fetch_v4_error(P, TOPIC, part, off)
            if got not in want:
                raise AssertionError("Fetch v4 partition %d offset %d: error %d, want %r" % (
                    part, off, got, want))
        got = fetch_v4_error(P, "no-such-topic-here", 0, 0)
        if got != 3:
            raise AssertionError("Fetch v4 of an unknown topic: error %d, want 3" % got)
        P.after("bad fetches")
    P.chk("Fetch: bad partition / offset / topic -> 3 / 1", fetch)

    def list_offsets():
        body = struct.pack(">ii", -1, 1) + kh.kstr(TOPIC) + struct.pack(">iiq", 1, 99, -1)
        r = answer(P, 2, 1, body, "ListOffsets v1")
        r.take(">i"); r.str(); r.take(">i")
        part, err = r.take(">ih")
        if err != 3:
            raise AssertionError("ListOffsets of partition 99: error %d, want 3" % err)
        P.after("ListOffsets")
    P.chk("ListOffsets of a missing partition -> 3", list_offsets)

    def join_timeouts():
        # the group coordinator may need a moment to load __consumer_offsets
        def coordinator():
            r = answer(P, 10, 0, kh.kstr("hostile-g"), "FindCoordinator v0")
            return r.take(">h") == 0
        kh.wait_until(coordinator, 30, 0.1, "FindCoordinator for hostile-g")
        for st in (1, 10 ** 9):
            body = (kh.kstr("hostile-g") + struct.pack(">i", st) + kh.kstr("") + kh.kstr("consumer") +
                    struct.pack(">i", 1) + kh.kstr("range") + kbytes(b"\x00\x00\x00\x00\x00\x00\x00\x00"))
            r = answer(P, 11, 0, body, "JoinGroup v0")
            err = r.take(">h")
            if err != 26:
                raise AssertionError("JoinGroup v0 session timeout %d: error %d, want 26" % (st, err))
        # a commit for a member of a generation that does not exist
        body = (kh.kstr("hostile-g") + struct.pack(">i", 999) + kh.kstr("nobody") + struct.pack(">q", -1) +
                struct.pack(">i", 1) + kh.kstr(TOPIC) + struct.pack(">i", 1) + struct.pack(">iq", 0, 0) +
                kh.kstr(""))
        r = answer(P, 8, 2, body, "OffsetCommit v2")
        r.take(">i"); r.str(); r.take(">i")
        part, err = r.take(">ih")
        if err not in (22, 25):
            raise AssertionError("OffsetCommit v2 for a stranger in generation 999: error %d, "
                                 "want 22 or 25" % err)
        P.after("group probes")
    P.chk("JoinGroup session timeout out of range -> 26; stranger's commit -> 22/25", join_timeouts)

    def stale_controller():
        z = P.c.zk()
        try:
            epoch = int(z.get("/controller_epoch")[0])
        finally:
            z.stop()
            z.close()
        if epoch < 1:
            raise AssertionError("/controller_epoch is %d" % epoch)
        stale = epoch - 1
        before = log_end(P.port)
        # LeaderAndIsr v0: make broker 7 the leader of our partition
        body = (struct.pack(">ii", 7, stale) + struct.pack(">i", 1) + kh.kstr(TOPIC) +
                struct.pack(">iiii", 0, stale, 7, 99) + struct.pack(">ii", 1, 7) + struct.pack(">i", 0) +
                struct.pack(">ii", 1, 7) + struct.pack(">i", 1) + struct.pack(">i", 7) + kh.kstr("127.0.0.1") +
                struct.pack(">i", 1))
        r = answer(P, 4, 0, body, "LeaderAndIsr v0")
        err = r.take(">h")
        if err != 11:
            raise AssertionError("LeaderAndIsr with controller epoch %d (current %d): error %d, want 11" % (
                stale, epoch, err))
        # StopReplica v0 with delete_partitions: must not delete anything
        body = struct.pack(">iib", 7, stale, 1) + struct.pack(">i", 1) + kh.kstr(TOPIC) + struct.pack(">i", 0)
        r = answer(P, 5, 0, body, "StopReplica v0")
        err = r.take(">h")
        if err != 11:
            raise AssertionError("StopReplica with a stale controller epoch: error %d, want 11" % err)
        # UpdateMetadata v0 saying the partition is led by broker 7
        body = (struct.pack(">ii", 7, stale) + struct.pack(">i", 1) + kh.kstr(TOPIC) +
                struct.pack(">iiii", 0, stale, 7, 99) + struct.pack(">ii", 1, 7) + struct.pack(">i", 0) +
                struct.pack(">ii", 1, 7) + struct.pack(">i", 1) + struct.pack(">i", 7) + kh.kstr("127.0.0.1") +
                struct.pack(">i", 1))
        r = answer(P, 6, 0, body, "UpdateMetadata v0")
        err = r.take(">h")
        if err != 11:
            raise AssertionError("UpdateMetadata with a stale controller epoch: error %d, want 11" % err)
        P.after("stale controller requests")
        md = kh.metadata_v0(P.port, [TOPIC])["topics"][TOPIC][1][0]
        if md[1] != 0:
            raise AssertionError("after stale controller requests partition 0 is led by %d" % md[1])
        if log_end(P.port) != before:
            raise AssertionError("log end moved after StopReplica")
        base = produce_offset(P.port, plain_batch([b"after-stale"]))
        if base != before:
            raise AssertionError("produce after stale controller requests at %d, want %d" % (base, before))
    P.chk("LeaderAndIsr / StopReplica / UpdateMetadata with a stale controller epoch -> 11, no effect",
          stale_controller)


def bomb_gzip(total):
    """One record whose value is `total` zero bytes, gzip-compressed without ever holding the
    whole value in memory."""
    head = b"\x00" + zz(0) + zz(0) + zz(-1) + zz(total)
    tail = zz(0)
    body_len = len(head) + total + len(tail)
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [co.compress(zz(body_len) + head)]
    chunk = b"\x00" * (1 << 20)
    left = total
    while left:
        n = min(left, len(chunk))
        out.append(co.compress(chunk[:n]))
        left -= n
    out.append(co.compress(tail))
    out.append(co.flush())
    return b"".join(out)


def bomb_zstd(total):
    import zstandard
    head = b"\x00" + zz(0) + zz(0) + zz(-1) + zz(total)
    body_len = len(head) + total + 1
    cctx = zstandard.ZstdCompressor(level=19)
    co = cctx.compressobj(size=len(zz(body_len)) + body_len)
    out = [co.compress(zz(body_len) + head)]
    chunk = b"\x00" * (1 << 20)
    left = total
    while left:
        n = min(left, len(chunk))
        out.append(co.compress(chunk[:n]))
        left -= n
    out.append(co.compress(zz(0)))
    out.append(co.flush())
    return b"".join(out)


def bomb_lz4(total):
    import lz4.frame
    head = b"\x00" + zz(0) + zz(0) + zz(-1) + zz(total)
    body_len = len(head) + total + 1
    c = lz4.frame.LZ4FrameCompressor(compression_level=9)
    out = [c.begin(), c.compress(zz(body_len) + head)]
    chunk = b"\x00" * (1 << 20)
    left = total
    while left:
        n = min(left, len(chunk))
        out.append(c.compress(chunk[:n]))
        left -= n
    out.append(c.compress(zz(0)))
    out.append(c.flush())
    return b"".join(out)


def probe_bombs(P):
    pid = P.c.broker.proc.pid
    bombs = [("gzip bomb (900 MB in one record)", lambda: bomb_gzip(900 << 20), 1, 3),
             ("zstd bomb (1 GiB in one record)", lambda: bomb_zstd(1 << 30), 4, 7),
             ("lz4 bomb (200 MB in one record)", lambda: bomb_lz4(200 << 20), 3, 3)]
    for name, make, codec, ver in bombs:
        def run(make=make, codec=codec, ver=ver, name=name):
            blob = make()
            if len(blob) > 1000000:
                raise AssertionError("test bug: %s is %d bytes compressed" % (name, len(blob)))
            before = log_end(P.port)
            got = produce_error(P.port, batch_v2(blob, 1, codec=codec), ver=ver)
            P.after(name)
            rss = peak_rss_mb(pid)
            if got == 0:
                raise AssertionError("%s (%d bytes compressed) was accepted" % (name, len(blob)))
            if rss > 600:
                raise AssertionError("%s: broker peak RSS %.0f MB" % (name, rss))
            if log_end(P.port) != before:
                raise AssertionError("%s: log end moved" % name)
            print("    %s: %d bytes compressed -> %r, peak RSS %.0f MB" % (name, len(blob), got, rss),
                  file=sys.stderr)
        P.chk(name, run)


def probe_control(P):
    def run():
        before = log_end(P.port)
        base = produce_offset(P.port, plain_batch([b"good-1", b"good-2"]))
        if base != before:
            raise AssertionError("well-formed batch at offset %d, log end was %d" % (base, before))
        blob = b"".join(record(i, b"gk", b"gz-%d" % i) for i in range(3))
        gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        base2 = produce_offset(P.port, batch_v2(gz.compress(blob) + gz.flush(), 3, codec=1))
        if base2 != before + 2:
            raise AssertionError("gzip batch at offset %d, want %d" % (base2, before + 2))
        base3 = produce_offset(P.port, message_v1(b"magic1-ok", b"mk"), ver=2)
        if base3 != before + 5:
            raise AssertionError("magic-1 message at offset %d, want %d" % (base3, before + 5))
        from kafka import KafkaConsumer, TopicPartition
        k = KafkaConsumer(bootstrap_servers=P.c.bootstrap, group_id=None, auto_offset_reset="earliest")
        try:
            tp = TopicPartition(TOPIC, 0)
            k.assign([tp])
            k.seek(tp, before)
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 6 and time.monotonic() < deadline:
                for recs in k.poll(timeout_ms=300).values():
                    got += [(r.offset, r.key, r.value) for r in recs]
        finally:
            k.close()
        want = [(before, b"k0", b"good-1"), (before + 1, b"k1", b"good-2"),
                (before + 2, b"gk", b"gz-0"), (before + 3, b"gk", b"gz-1"), (before + 4, b"gk", b"gz-2"),
                (before + 5, b"mk", b"magic1-ok")]
        if got[:6] != want:
            raise AssertionError("read back %r, want %r" % (got, want))
    P.chk("control: well-formed raw batches accepted and readable", run)


def encoder_selftest():
    """Our v2 encoder against kafka-python's DefaultRecordBatchBuilder (no broker)."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    ts = 1700000000000
    for i, v in enumerate([b"a", b"bb"]):
        b.append(i, timestamp=ts, key=b"k%d" % i, value=v, headers=[])
    ref = bytes(b.build())
    ours = plain_batch([b"a", b"bb"], base_ts=ts)
    if ref != ours:
        raise AssertionError("encoder differs from kafka-python's:\n%s\n%s" % (ref.hex(), ours.hex()))


def main():
    kh.need_gregor("hostile requests (record batches v2, ApiVersions)")
    try:
        import kafka  # noqa: F401
    except ImportError:
        kh.skip("kafka-python is not installed for /usr/bin/python3")
    encoder_selftest()
    c = kh.Cluster(partitions=1, overrides={"connections.max.idle.ms": "3000"})
    c.create_topic(TOPIC, 1)
    c.create_topic("bystander", 1)
    by = Bystander(c)
    by.progress(0)
    P = Probes(c, by)
    slow = probe_slowloris(P)
    t_slow = time.monotonic()
    try:
        probe_control(P)
        for group in (probe_frames, probe_keys, probe_lengths, probe_records, probe_semantics,
                      probe_names, probe_bombs):
            n = len(by.acked)
            group(P)
            P.chk("bystander progresses after %s" % group.__name__, by.progress, n)
        check_slowloris(P, slow, t_slow)
        probe_control(P)
    finally:
        by.stop()
    if by.errors:
        P.chk.failures.append("bystander producer saw errors: %r" % by.errors[:5])
    got = {}
    from kafka import KafkaConsumer, TopicPartition
    k = KafkaConsumer(bootstrap_servers=c.bootstrap, group_id=None, auto_offset_reset="earliest")
    try:
        tp = TopicPartition("bystander", 0)
        k.assign([tp])
        deadline = time.monotonic() + 30
        while len(got) < len(by.acked) and time.monotonic() < deadline:
            for recs in k.poll(timeout_ms=300).values():
                got.update((r.offset, r.value) for r in recs)
    finally:
        k.close()
    missing = [(o, v) for o, v in by.acked if got.get(o) != v]
    if missing:
        P.chk.failures.append("%d acknowledged bystander records not read back (e.g. %r)" % (
            len(missing), missing[:3]))
    print("bystander: %d records acknowledged" % len(by.acked), file=sys.stderr)
    P.chk.finish()


if __name__ == "__main__":
    kh.run_test(main)
