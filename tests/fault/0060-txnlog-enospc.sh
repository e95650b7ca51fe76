#!/usr/bin/env bash
# Fault: the txn log on a full disk. Mounts a 1 MiB tmpfs and runs the "enospc" case of
# the txnlog unit test on it: a sync that hits ENOSPC fails cleanly (nothing half-written
# survives), fails again while full, succeeds with the same zxids once space is freed,
# and recovery on a still-full disk returns exactly the synced records.
# Needs root (mount); exits 77 (skipped) otherwise.
set -u
top=${GREGOR_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$top/build/tests/test_txnlog
[[ -x $bin ]] || { echo "missing $bin (run make)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "needs root to mount a tmpfs"; exit 77; }
mnt=$(mktemp -d /tmp/gregor-enospc.XXXXXX)
if ! mount -t tmpfs -o size=1m gregor-enospc "$mnt" 2>/dev/null; then
    rmdir "$mnt"; echo "cannot mount a tmpfs here"; exit 77
fi
trap 'umount "$mnt"; rmdir "$mnt"' EXIT
out=$(GREGOR_TXNLOG_ENOSPC_DIR=$mnt CK_RUN_CASE=enospc "$bin" 2>&1)
rc=$?
echo "$out"
[[ $rc -eq 0 ]] && grep -q "Checks: 1, Failures: 0, Errors: 0" <<<"$out"
