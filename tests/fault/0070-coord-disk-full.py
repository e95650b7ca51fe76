"""gregor-coord with its dataDir on a full disk (a 4 MiB tmpfs we fill up).

Expected: writes that cannot be made durable get an error (never a false success),
reads and other sessions keep working, the server does not crash; once space is freed,
writes succeed again; after kill -9 and restart every acknowledged write is there.
Needs root (mount); skipped otherwise."""
import os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import zkharness  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import KazooException  # noqa: E402
from kazoo.retry import KazooRetry  # noqa: E402


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root to mount a small tmpfs")
        sys.exit(77)
    base = tempfile.mkdtemp(prefix="gregor-diskfull.")
    mnt = os.path.join(base, "mnt")
    os.makedirs(mnt)
    if subprocess.call(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]) != 0:
        print("SKIP: cannot mount tmpfs")
        sys.exit(77)
    srv = None
    try:
        srv = zkharness.start_server("gregor", base_dir=os.path.join(mnt, "srv"),
                                     extra_cfg={"preAllocSize": "64", "snapCount": "1000000",
                                                "autopurge.purgeInterval": "0"})
        zk = KazooClient("127.0.0.1:%d" % srv.port, timeout=10,
                         connection_retry=KazooRetry(max_tries=-1), command_retry=None)
        zk.start(timeout=10)
        zk.create("/full", b"")
        acked = {}
        # fill the disk except for what the server needs
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        failed = 0
        for i in range(200):
            p = "/full/n%04d" % i
            try:
                zk.create(p, b"x" * 2000)
                acked[p] = b"x" * 2000
            except KazooException as e:
                failed += 1
                last_err = type(e).__name__
        print("disk full: %d writes acknowledged, %d refused (last error %s)" % (len(acked), failed,
                                                                                 last_err if failed else "-"))
        assert failed > 0, "writes kept succeeding on a full disk"
        # reads still served, server alive
        assert zk.exists("/full") is not None
        assert srv.alive(), "server died on a full disk"
        # free the space: writes succeed again
        os.unlink(filler)
        deadline = time.time() + 10
        while True:
            try:
                zk.create("/full/after", b"ok")
                acked["/full/after"] = b"ok"
                break
            except KazooException:
                if time.time() > deadline:
                    raise AssertionError("writes did not recover after space was freed")
                time.sleep(0.05)
        zk.stop()
        zk.close()
        srv.kill9()
        srv.restart()
        zk = KazooClient("127.0.0.1:%d" % srv.port, timeout=10)
        zk.start(timeout=10)
        missing = [p for p, v in acked.items() if zk.exists(p) is None or zk.get(p)[0] != v]
        zk.stop()
        zk.close()
        assert not missing, "acknowledged writes lost: %s" % missing[:5]
        print("PASS: %d acknowledged writes all present after kill -9 and restart" % len(acked))
    finally:
        if srv:
            srv.cleanup()
        subprocess.call(["umount", "-l", mnt])


if __name__ == "__main__":
    main()
