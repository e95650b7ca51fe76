#!/usr/bin/env python3
"""krecord.py — a recording Kafka proxy on loopback, for golden vectors.

    krecord.py --listen PORT --upstream 127.0.0.1:UPORT --out DIR --source "kcat 1.7.1 -> ..." \
               [--prefix NAME] [--keep N] [--rewrite-port]

Every client connection to PORT is forwarded to UPORT. Each Kafka frame is parsed (int32 size,
then for requests api_key, api_version, correlation_id; for responses correlation_id, matched to
the request) and written to DIR as a .hex file: comment lines with the API, version, direction
and source, then the whole frame (size prefix included) as hex. Only the first N frames
(default 2) of each (api, version, direction) are kept.

--rewrite-port: a broker advertises its own address in Metadata and FindCoordinator replies;
with this flag the proxy replaces "127.0.0.1" + int32 UPORT by "127.0.0.1" + int32 PORT in the
bytes it forwards (not in the recorded copy), so the client keeps talking through the proxy.
Without --upstream the proxy only records what clients send first.
"""
import argparse
import os
import socket
import struct
import sys
import threading

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr", 5: "StopReplica",
    6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions",
    19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords", 22: "InitProducerId",
    23: "OffsetForLeaderEpoch", 32: "DescribeConfigs", 33: "AlterConfigs", 37: "CreatePartitions",
    42: "DeleteGroups",
}


class Recorder:
    def __init__(self, out, source, prefix, keep):
        self.out = out
        self.source = source
        self.prefix = prefix
        self.keep = keep
        self.counts = {}
        self.lock = threading.Lock()
        os.makedirs(out, exist_ok=True)

    def record(self, key, version, direction, corr, frame, client_id=None):
        with self.lock:
            k = (key, version, direction)
            n = self.counts.get(k, 0)
            if n >= self.keep:
                return
            self.counts[k] = n + 1
            name = API_NAMES.get(key, f"Api{key}")
            fname = f"{self.prefix}-{name}-v{version}-{direction}-{n + 1}.hex"
            with open(os.path.join(self.out, fname), "w") as fp:
                fp.write(f"# source: {self.source}\n")
                fp.write(f"# api: {name} key={key} version={version} dir={direction} correlation_id={corr}\n")
                if client_id is not None:
                    fp.write(f"# client_id: {client_id}\n")
                h = frame.hex()
                for i in range(0, len(h), 64):
                    fp.write(h[i:i + 64] + "\n")
            print(f"recorded {fname} ({len(frame)} bytes)", file=sys.stderr)


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(sock):
    hdr = read_exact(sock, 4)
    if hdr is None:
        return None
    size = struct.unpack(">i", hdr)[0]
    if size < 0 or size > 100 << 20:
        return None
    body = read_exact(sock, size)
    if body is None:
        return None
    return hdr + body


def client_id_of(frame, key, version):
    if key == 7 and version == 0:
        return None
    if len(frame) < 14:
        return None
    n = struct.unpack(">h", frame[12:14])[0]
    if n < 0:
        return "(null)"
    return frame[14:14 + n].decode("utf-8", "replace")


def serve_conn(cli, args, rec):
    pending = {}
    lock = threading.Lock()
    up = None
    if args.upstream:
        host, port = args.upstream.rsplit(":", 1)
        up = socket.create_connection((host, int(port)))
    uport = int(args.upstream.rsplit(":", 1)[1]) if args.upstream else None
    needle_from = b"127.0.0.1" + struct.pack(">i", uport) if uport else None
    needle_to = b"127.0.0.1" + struct.pack(">i", args.listen) if uport else None

    def c2u():
        try:
            while True:
                f = read_frame(cli)
                if f is None:
                    break
                key, ver, corr = struct.unpack(">hhi", f[4:12])
                with lock:
                    pending[corr] = (key, ver)
                rec.record(key, ver, "request", corr, f, client_id_of(f, key, ver))
                if up:
                    up.sendall(f)
        except OSError:
            pass
        finally:
            for s in (up, cli):
                if s:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def u2c():
        try:
            while True:
                f = read_frame(up)
                if f is None:
                    break
                corr = struct.unpack(">i", f[4:8])[0]
                with lock:
                    kv = pending.pop(corr, None)
                if kv:
                    rec.record(kv[0], kv[1], "response", corr, f)
                    if args.rewrite_port and kv[0] in (3, 10):
                        f = f.replace(needle_from, needle_to)
                cli.sendall(f)
        except OSError:
            pass
        finally:
            try:
                cli.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    t = threading.Thread(target=c2u, daemon=True)
    t.start()
    if up:
        threading.Thread(target=u2c, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream")
    ap.add_argument("--out", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--keep", type=int, default=2)
    ap.add_argument("--rewrite-port", action="store_true")
    args = ap.parse_args()
    rec = Recorder(args.out, args.source, args.prefix, args.keep)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen))
    srv.listen(64)
    print(f"listening on 127.0.0.1:{args.listen}", file=sys.stderr, flush=True)
    while True:
        cli, _ = srv.accept()
        serve_conn(cli, args, rec)


if __name__ == "__main__":
    main()
