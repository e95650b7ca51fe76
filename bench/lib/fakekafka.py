#!/usr/bin/python3
"""fakekafka.py — a loopback stand-in for a Kafka broker's start-up, to test `kbench -m ready`.

    fakekafka.py PORTFILE BEHAVIOUR

Binds 127.0.0.1:0 and writes the port to PORTFILE (atomically) at once, but only listens
according to BEHAVIOUR:
  late      listens 1 s after writing PORTFILE (connections are refused before), then answers every Metadata
            v0 request with one broker
  nobroker  answers Metadata during its first 1 s with an empty broker list, then with one
  close     accepts every connection and closes it without an answer (a broker with no
            Metadata handler)
  exit      exits after 1 s without ever listening
Only Metadata v0 (api key 3) is understood; anything else closes the connection.
"""
import os
import socket
import struct
import sys
import threading
import time


def answer(conn, t0, behaviour):
    try:
        while True:
            head = conn.recv(4, socket.MSG_WAITALL)
            if len(head) < 4:
                return
            (size,) = struct.unpack(">i", head)
            req = conn.recv(size, socket.MSG_WAITALL)
            if len(req) < 8 or behaviour == "close":
                return
            key, ver, corr = struct.unpack(">hhi", req[:8])
            if key != 3 or ver != 0:
                return
            brokers = b""
            count = 0
            if behaviour != "nobroker" or time.monotonic() - t0 >= 1.0:
                host = b"127.0.0.1"
                brokers = struct.pack(">ih", 0, len(host)) + host + struct.pack(">i", 9092)
                count = 1
            body = struct.pack(">ii", corr, count) + brokers + struct.pack(">i", 0)
            conn.sendall(struct.pack(">i", len(body)) + body)
    finally:
        conn.close()


def main():
    portfile, behaviour = sys.argv[1], sys.argv[2]
    t0 = time.monotonic()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    if behaviour in ("late", "exit"):
        time.sleep(1.0)
        if behaviour == "exit":
            return
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=answer, args=(conn, t0, behaviour), daemon=True).start()


if __name__ == "__main__":
    main()
