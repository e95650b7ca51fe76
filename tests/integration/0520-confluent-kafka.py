#!/usr/bin/python3
"""confluent-kafka (Python, librdkafka 2.0.2) against a real broker (gregor-broker; with
KH_TARGET=kafka09 only the group consumer runs, on librdkafka's 0.9 fallback path).

  idempotent   enable.idempotence=True (InitProducerId, Produce v3+ with producer id/epoch/
               sequence): 3000 records over 3 partitions, no delivery error, no fatal error;
               read back: every record exactly once, in send order per partition, at the
               offset its delivery report gave
  resets       the idempotent producer again, its connections going through a proxy that cuts
               them every 300 ms while 5000 records are in flight, 20 cuts at least (requests are retried with
               the same sequence numbers; Redpanda's duplicates-despite-idempotence, Jepsen
               2022): still every record exactly once, in send order, no fatal error. The
               broker advertises a second listener (EXTERNAL) at the proxy's port. (The same
               cuts with enable.idempotence=False, acks=all gave ~300 duplicates in 20000 when
               this test was written: they do hit requests in flight.)
  group        a group consumer (subscribe, enable.auto.commit=False, commit(asynchronous=False)
               after every message batch) reads every record once; committed() equals the high
               watermarks; a new consumer of the same group gets only records produced after
               the commits
Exit 0 pass, 77 skip, 1 fail."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import kharness as kh  # noqa: E402

NPART = 3


def base_conf(c):
    conf = {"bootstrap.servers": c.bootstrap, "socket.timeout.ms": 20000}
    if kh.target() == "kafka09":
        conf.update({"api.version.request": False, "broker.version.fallback": "0.9.0"})
    return conf


def produce(c, topic, n, tag, idempotent, extra=None, until=None):
    """Sends n records (and then more while until() is false)."""
    from confluent_kafka import Producer
    errors, fatal, reports = [], [], {}

    def on_error(e):
        if e.fatal():
            fatal.append(e)

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            reports[msg.value()] = (msg.partition(), msg.offset())
    conf = dict(base_conf(c), error_cb=on_error, **{"linger.ms": 5})
    conf.update(extra or {})
    if idempotent:
        conf["enable.idempotence"] = True
    else:
        conf["acks"] = 1
    p = Producer(conf)
    vals = []
    i = 0
    while i < n or (until and not until()):
        v = ("%s-%05d" % (tag, i)).encode()
        while True:
            try:
                p.produce(topic, v, key=b"k%d" % (i % 7), partition=i % NPART, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        vals.append(v)
        p.poll(0)
        i += 1
        if until and i % 20 == 0:
            time.sleep(0.002)       # load shaping: about 10000 records/s while the proxy cuts
    left = p.flush(60)
    if left or errors or fatal:
        raise AssertionError("producer: %d undelivered, errors %r, fatal %r" % (left, errors[:3], fatal[:3]))
    if len(reports) != len(vals):
        raise AssertionError("%d delivery reports for %d records" % (len(reports), len(vals)))
    return vals, reports


def scenario_idempotent(c):
    kh.need_gregor("idempotent producer (InitProducerId, record batches)")
    from confluent_kafka import Consumer, TopicPartition
    topic = "ck-idem"
    c.create_topic(topic, NPART)
    vals, reports = produce(c, topic, 3000, "idem", True)
    read_exactly(c, topic, vals, reports)


def read_exactly(c, topic, vals, reports=None):
    from confluent_kafka import Consumer, TopicPartition
    k = Consumer(dict(base_conf(c), **{"group.id": "ck-reader", "enable.auto.commit": False,
                                       "auto.offset.reset": "earliest"}))
    try:
        k.assign([TopicPartition(topic, p, 0) for p in range(NPART)])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < len(vals) and time.monotonic() < deadline:
            for m in k.consume(500, 1.0):
                if m.error():
                    raise AssertionError("consume error %r" % m.error())
                got.append((m.partition(), m.offset(), m.value()))
        extra = [m for m in k.consume(100, 1.0) if not m.error()]
    finally:
        k.close()
    vs = [v for _, _, v in got]
    if len(got) != len(vals) or extra:
        dup = len(vs) - len(set(vs))
        raise AssertionError("read %d records (%d duplicates, +%d more), want exactly %d" % (
            len(got), dup, len(extra), len(vals)))
    if len(set(vs)) != len(got):
        raise AssertionError("duplicates in the log")
    for p in range(NPART):
        mine = [(o, v) for pp, o, v in got if pp == p]
        if [v for o, v in mine] != [v for i, v in enumerate(vals) if i % NPART == p]:
            raise AssertionError("partition %d out of send order" % p)
        if [o for o, v in mine] != list(range(len(mine))):
            raise AssertionError("partition %d offsets not 0..n-1" % p)
    if reports is not None:
        bad = [(v, reports[v], (p, o)) for p, o, v in got if reports[v] != (p, o)]
        if bad:
            raise AssertionError("delivery reports disagree with the log: %r" % bad[:3])


def scenario_resets(hub, proxy_port):
    import threading
    kh.need_gregor("idempotent producer (InitProducerId, record batches)")
    c = kh.Cluster(partitions=1, overrides=resets_overrides(hub.ext_port, proxy_port))
    try:
        topic = "ck-resets"
        c.create_topic(topic, NPART)
        cuts = [0]
        stop = threading.Event()

        def cutter():
            while not stop.wait(0.1):
                hub.set_state("client", "drop")
                hub.set_state("client", "open")
                cuts[0] += 1
        t = threading.Thread(target=cutter, daemon=True)
        proxied = type("P", (), {"bootstrap": "127.0.0.1:%d" % proxy_port})()
        t.start()
        try:
            vals, reports = produce(proxied, topic, 20000, "reset", True, extra={
                "message.send.max.retries": 1000, "retry.backoff.ms": 20,
                "max.in.flight.requests.per.connection": 5, "batch.num.messages": 50,
                "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
                "message.timeout.ms": 120000, "log_level": 0}, until=lambda: cuts[0] >= 20)
        finally:
            stop.set()
            t.join()
        print("    %d connection cuts during the load" % cuts[0], file=sys.stderr)
        print("    %d records" % len(vals), file=sys.stderr)
        read_exactly(c, topic, vals, reports)
    finally:
        c.cleanup()


def resets_overrides(ext_port, proxy_port):
    return {"listeners": "PLAINTEXT://127.0.0.1:{port},EXTERNAL://127.0.0.1:%d" % ext_port,
            "advertised.listeners": "PLAINTEXT://127.0.0.1:{port},EXTERNAL://127.0.0.1:%d" % proxy_port,
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT"}


def group_consumer(c, group):
    from confluent_kafka import Consumer
    errors = []
    k = Consumer(dict(base_conf(c), **{"group.id": group, "enable.auto.commit": False,
                                       "auto.offset.reset": "earliest",
                                       "session.timeout.ms": 10000},
                      error_cb=lambda e: errors.append(e)))
    k.subscribe(["ck-group"])
    return k, errors


def read_group(k, n, timeout=60):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        msgs = k.consume(200, 0.5)
        real = [m for m in msgs if not m.error()]
        for m in msgs:
            if m.error() and m.error().code() != -191:     # _PARTITION_EOF
                raise AssertionError("consume error %r" % m.error())
        got += [(m.partition(), m.offset(), m.value()) for m in real]
        if real:
            k.commit(asynchronous=False)
    # anything more would be a re-delivery
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        got += [(m.partition(), m.offset(), m.value()) for m in k.consume(100, 0.2) if not m.error()]
    return got


def scenario_group(c):
    from confluent_kafka import TopicPartition
    c.create_topic("ck-group", NPART)
    vals, _ = produce(c, "ck-group", 300, "grp", False)
    k, errs = group_consumer(c, "ck-g")
    try:
        got = read_group(k, len(vals))
        if sorted(v for _, _, v in got) != sorted(vals):
            raise AssertionError("group consumer read %d records (%d distinct), want %d" % (
                len(got), len({v for _, _, v in got}), len(vals)))
        com = k.committed([TopicPartition("ck-group", p) for p in range(NPART)], timeout=20)
        hw = [k.get_watermark_offsets(TopicPartition("ck-group", p), timeout=20)[1] for p in range(NPART)]
        if [tp.offset for tp in com] != hw:
            raise AssertionError("committed %r, high watermarks %r" % ([tp.offset for tp in com], hw))
    finally:
        k.close()
    more, _ = produce(c, "ck-group", 60, "grp2", False)
    k, errs = group_consumer(c, "ck-g")
    try:
        got = read_group(k, len(more))
        if sorted(v for _, _, v in got) != sorted(more):
            raise AssertionError("second consumer read %d records %r..., want exactly the %d new ones" % (
                len(got), sorted(v for _, _, v in got)[:3], len(more)))
    finally:
        k.close()


def main():
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        kh.skip("confluent-kafka is not installed for /usr/bin/python3 (python3-confluent-kafka)")
    c = kh.Cluster(partitions=1)
    chk = kh.Check()
    try:
        chk("idempotent producer: no duplicates, ordered", scenario_idempotent, c)
    except kh.SkipTest as e:
        print("  skip idempotent producer: %s" % e, file=sys.stderr)
    if kh.target() == "gregor":
        import tcpproxy
        hub = tcpproxy.ProxyHub()
        hub.ext_port = kh.free_port()
        proxy_port = hub.add("client", target_port=hub.ext_port)
        try:
            chk("idempotent producer through connection cuts", scenario_resets, hub, proxy_port)
        finally:
            hub.close()
    chk("group consumer with commits", scenario_group, c)
    if not c.broker.alive():
        raise AssertionError("broker died")
    chk.finish()


if __name__ == "__main__":
    kh.run_test(main)
