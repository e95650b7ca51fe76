#!/usr/bin/python3
"""fakezk.py — a tiny, deliberately misbehaving ZooKeeper-wire server for
testing zkbench's checks (bench/test-zkbench.sh). Not a ZooKeeper: it keeps
node data in a dict and answers create/setData/getData/delete/exists/ping/
closeSession. Loopback only.

usage: fakezk.py PORTFILE|ZOO.CFG BEHAVIOUR
  ok        answer correctly; also sends a watch event (xid -1) every 7 replies
  swap      answer the 5th and 6th setData in swapped order
  errors    answer every 10th setData with NONODE (-101)
  baddata   answer every 4th getData with one byte too few
  close     close the connection after 20 setData requests
  anyset    like ok, but setData of a missing node creates it (several fakes
            then stand in for an ensemble in zkbench's failover mode)
It binds 127.0.0.1 on a free port and writes the port number to PORTFILE, or,
given a file ending in .cfg, listens on that zoo.cfg's clientPort (so it can
stand in for a server in run-coord-bench.sh --gregor-cmd).
"""
import socket
import socketserver
import struct
import sys
import threading

BEHAVIOUR = sys.argv[2]
NODES = {"/": b""}
LOCK = threading.Lock()
STAT_FMT = ">qqqqiiiqiiq"


def stat(data_len):
    return struct.pack(STAT_FMT, 1, 1, 0, 0, 0, 0, 0, 0, data_len, 0, 1)


def ustr(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


def buf(b):
    return struct.pack(">i", len(b)) + b


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def int(self):
        v = struct.unpack_from(">i", self.b, self.p)[0]
        self.p += 4
        return v

    def bytes(self):
        n = self.int()
        if n < 0:
            return b""
        v = self.b[self.p:self.p + n]
        self.p += n
        return v


class Handler(socketserver.BaseRequestHandler):
    def recv_frame(self):
        hdr = self.recv_n(4)
        if hdr is None:
            return None
        return self.recv_n(struct.unpack(">i", hdr)[0])

    def recv_n(self, n):
        out = b""
        while len(out) < n:
            chunk = self.request.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def send(self, xid, err, body=b""):
        payload = struct.pack(">iqi", xid, 5, err) + (body if err == 0 else b"")
        self.request.sendall(struct.pack(">i", len(payload)) + payload)

    def handle(self):
        if self.recv_frame() is None:
            return
        resp = struct.pack(">iiq", 0, 30000, 0x1234) + buf(bytes(16)) + b"\0"
        self.request.sendall(struct.pack(">i", len(resp)) + resp)
        sets = gets = replies = 0
        held = None
        while True:
            f = self.recv_frame()
            if f is None:
                return
            r = Reader(f)
            xid, op = r.int(), r.int()
            err, body = 0, b""
            if op == 11:                      # ping
                self.send(-2, 0)
                continue
            if op == -11:                     # closeSession
                self.send(xid, 0)
                return
            path = r.bytes().decode()
            with LOCK:
                if op == 1:                   # create
                    data = r.bytes()
                    if path in NODES:
                        err = -110
                    else:
                        NODES[path] = data
                        body = ustr(path)
                elif op == 5:                 # setData
                    data = r.bytes()
                    sets += 1
                    if (path not in NODES and BEHAVIOUR != "anyset") or (
                            BEHAVIOUR == "errors" and sets % 10 == 0):
                        err = -101
                    else:
                        NODES[path] = data
                        body = stat(len(data))
                    if BEHAVIOUR == "close" and sets > 20:
                        return
                elif op == 4:                 # getData
                    gets += 1
                    if path not in NODES:
                        err = -101
                    else:
                        d = NODES[path]
                        if BEHAVIOUR == "baddata" and gets % 4 == 0:
                            d = d[:-1]
                        body = buf(d) + stat(len(d))
                elif op == 2:                 # delete
                    if NODES.pop(path, None) is None:
                        err = -101
                elif op == 3:                 # exists
                    err, body = (0, stat(len(NODES[path]))) if path in NODES else (-101, b"")
                else:
                    err = -6
            if BEHAVIOUR == "swap" and op == 5 and sets == 5:
                held = (xid, err, body)
                continue
            self.send(xid, err, body)
            if held:
                self.send(*held)
                held = None
            replies += 1
            if BEHAVIOUR == "ok" and replies % 7 == 0:
                ev = struct.pack(">ii", 3, 3) + ustr("/watched")
                self.send(-1, 0, ev)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    if sys.argv[1].endswith(".cfg"):
        with open(sys.argv[1]) as f:
            port = [int(l.split("=", 1)[1]) for l in f if l.startswith("clientPort=")][0]
        Server(("127.0.0.1", port), Handler).serve_forever()
        return
    srv = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
