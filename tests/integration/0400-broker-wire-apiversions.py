#!/usr/bin/python3
"""Real Kafka clients' first steps against the broker's network server and dispatch.

Runs `build/tests/test_bsrv --serve 0` (broker/server.c + broker/dispatch.c with stub handlers
that answer every API with default values) and checks:
  - librdkafka (kcat -L -d protocol) gets through ApiVersions v3 and then sends Metadata, which
    is answered; with no handlers registered (`--no-handlers`) the ApiVersions reply lists no
    Metadata, so librdkafka refuses to send it ("not supported by broker");
  - kafka-python 2.0.2 in auto mode infers (2, 4, 0) from our ApiVersions v0;
  - raw hostile frames close only their own connection, and the server keeps serving.
Exit 0 pass, 77 skip (a client is not installed), 1 fail."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys

TOP = os.environ.get("GREGOR_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, "build", "tests", "test_bsrv")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Server:
    def __init__(self, *args):
        self.p = subprocess.Popen([BIN, "--serve", "0", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                fail("server exited before serving: " + "".join(self.lines))
            self.lines.append(line)
            if line.startswith("serving on "):
                self.port = int(line.rsplit(":", 1)[1])
                return

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            out, _ = self.p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            fail("server did not stop on SIGTERM")
        self.lines.append(out)
        if self.p.returncode != 0:
            fail("server exit code %d: %s" % (self.p.returncode, "".join(self.lines)))
        return "".join(self.lines)


def kcat(port):
    r = subprocess.run(["kcat", "-L", "-b", "127.0.0.1:%d" % port, "-d", "protocol", "-m", "2"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def raw_closed(port, data):
    """Sends data; True if the server closes the connection without answering."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    s.close()
    return got == b""


def api_versions_v0(port, corr):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    body = struct.pack(">hhih", 18, 0, corr, -1)
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    resp = s.recv(size, socket.MSG_WAITALL)
    s.close()
    c, err, n = struct.unpack(">ihi", resp[:10])
    return c, err, n


def main():
    if not os.path.exists(BIN):
        print("SKIP: %s not built (make)" % BIN)
        sys.exit(77)
    if not shutil.which("kcat"):
        print("SKIP: kcat not installed")
        sys.exit(77)
    try:
        from kafka import KafkaClient
    except ImportError:
        print("SKIP: kafka-python not installed for /usr/bin/python3")
        sys.exit(77)

    # 1. no handlers: only ApiVersions is advertised
    srv = Server("--no-handlers")
    rc, out = kcat(srv.port)
    if "Received ApiVersionResponse (v3" not in out:
        fail("kcat did not get through ApiVersions v3:\n" + out[-3000:])
    if "Failing MetadataResponse" not in out or "not supported by broker" not in out:
        fail("kcat should refuse Metadata that the broker does not advertise:\n" + out[-3000:])
    if rc == 0:
        fail("kcat -L succeeded without a Metadata handler")
    c, err, n = api_versions_v0(srv.port, 7)
    if (c, err, n) != (7, 0, 1):
        fail("ApiVersions v0 with no handlers: corr/err/count = %r, want (7, 0, 1)" % ((c, err, n),))
    srv.stop()
    print("ok: no handlers: kcat through ApiVersions v3, Metadata not advertised")

    # 2. every API has a (stub) handler
    srv = Server()
    rc, out = kcat(srv.port)
    if "Received ApiVersionResponse (v3" not in out or "Received MetadataResponse" not in out:
        fail("kcat did not get a Metadata answer after ApiVersions v3:\n" + out[-3000:])
    client = KafkaClient(bootstrap_servers="127.0.0.1:%d" % srv.port, request_timeout_ms=5000)
    inferred = client.config["api_version"]
    client.close()
    if tuple(inferred) != (2, 4, 0):
        fail("kafka-python inferred %r, want (2, 4, 0)" % (inferred,))
    print("ok: kafka-python inferred (2, 4, 0); kcat got Metadata")

    # 3. hostile frames close only their own connection
    probes = {
        "size 0": struct.pack(">i", 0),
        "size -1": struct.pack(">i", -1),
        "size above socket.request.max.bytes": struct.pack(">i", 104857601),
        "unknown api key": struct.pack(">ihhih", 10, 999, 0, 1, -1),
        "Metadata v99": struct.pack(">ihhih", 10, 3, 99, 1, -1),
        "Metadata v1 truncated body": struct.pack(">ihhihh", 12, 3, 1, 1, -1, 0),
    }
    for name, data in probes.items():
        if not raw_closed(srv.port, data):
            fail("%s: connection not closed" % name)
        c, err, n = api_versions_v0(srv.port, 9)
        if (c, err) != (9, 0) or n < 20:
            fail("after %s: ApiVersions answered %r" % (name, (c, err, n)))
    out = srv.stop()
    if "protocol_closes=%d" % len(probes) not in out:
        fail("stats do not show %d protocol closes:\n%s" % (len(probes), out[-2000:]))
    print("ok: %d hostile frames closed their own connection; server kept serving" % len(probes))


if __name__ == "__main__":
    main()
