#!/usr/bin/env bash
# test-zkbench.sh — checks that zkbench counts only correct replies, notices
# replies out of order, counts server errors and wrong bodies, and reports a
# lost connection; and that run-coord-bench.sh tabulates a working server and
# reports a failing one. Runs against bench/lib/fakezk.py (loopback, about 15
# seconds). Usage: bench/test-zkbench.sh [path/to/zkbench]
set -u
here=$(cd "$(dirname "$0")" && pwd)
zkbench=${1:-$here/../build/bin/zkbench}
py=/usr/bin/python3
[[ -x $zkbench ]] || { echo "test-zkbench: $zkbench not built (make)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/zkbench-test.XXXXXX)
fake_pid=
fa='' fb=''
cleanup() {
    [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null
    for p in $fa $fb; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0

start_fake() {   # $1 = behaviour; sets $addr
    [[ -n $fake_pid ]] && { kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; }
    rm -f "$tmp/port"
    "$py" "$here/lib/fakezk.py" "$tmp/port" "$1" 2>"$tmp/fake.err" &
    fake_pid=$!
    for _ in $(seq 1 500); do [[ -s $tmp/port ]] && break; kill -0 "$fake_pid" 2>/dev/null || break; sleep 0.01; done
    [[ -s $tmp/port ]] || { echo "fake server did not start:"; cat "$tmp/fake.err"; exit 2; }
    addr=127.0.0.1:$(cat "$tmp/port")
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$tmp/out" | head -1; }

# check NAME EXPECTED_RC EXPECTED_OPS EXPECTED_ERRORS STDERR_REGEX -- zkbench args
check() {
    local name=$1 want_rc=$2 want_ops=$3 want_err=$4 want_msg=$5; shift 6
    "$zkbench" -s "$addr" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? ops errs
    ops=$(field ops); errs=$(field errors)
    local why=
    [[ $rc == "$want_rc" ]] || why+=" rc=$rc (want $want_rc)"
    [[ $want_ops == - || $ops == "$want_ops" ]] || why+=" ops=$ops (want $want_ops)"
    [[ $want_err == - || $errs == "$want_err" ]] || why+=" errors=$errs (want $want_err)"
    [[ -z $want_msg ]] || grep -qE "$want_msg" "$tmp/err" || why+=" stderr lacks /$want_msg/"
    if [[ -z $why ]]; then
        pass=$((pass+1)); echo "  ok    $name"
    else
        fail=$((fail+1)); echo "  FAIL  $name:$why"; sed 's/^/        /' "$tmp/out" "$tmp/err" | head -20
    fi
}

start_fake ok
check "set counts every reply, ignores watch events" 0 1000 0 "" -- -m set -n 1000 -k 10 -c 2 -o 16
check "get" 0 500 0 "" -- -m get -n 500 -k 10 -c 3 -o 5
check "mixed" 0 600 0 "get, .* set" -- -m mixed -n 600 -k 10 -r 30
check "create + cleanup" 0 300 0 "cleanup deleted 300" -- -m create -n 300 -o 50 --cleanup
check "sync-set one at a time" 0 50 0 "1 outstanding" -- -m sync-set -n 50 -k 5
check "timed run stops" 0 - 0 "" -- -m get -t 0.3 -k 10
check "ready" 0 - - "answered exists" -- --ready -t 5
check "--pid reports the server's CPU per op" 0 200 0 "server [0-9.]+ s \([0-9.]+ us per op\)" -- -m get -n 200 -k 10 --pid "$fake_pid"

start_fake errors
check "server errors are counted, not ops" 1 900 100 "NONODE \(-101\): 100" -- -m set -n 1000 -k 10 -c 1

start_fake baddata
check "wrong data length is an error" 1 300 100 "did not match" -- -m get -n 400 -k 10 -c 1

start_fake swap
check "replies out of order abort the run" 1 - - "out of order" -- -m set -n 100 -k 10 -c 1 -o 10

start_fake close
check "lost connection is reported" 1 - - "connection 0 to .* lost: " -- -m set -n 1000 -k 10 -c 1 -o 10

kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fake_pid=
addr=127.0.0.1:1
check "nothing listening: setup failure, clear message" 1 0 - "Connection refused" -- -m set -t 1
check "ready gives up" 1 - - "no server became ready" -- --ready -t 0.2
sleep 0.2 & dying=$!
check "ready stops when the server process exits" 1 - - "process $dying exited" -- --ready -t 30 --pid "$dying"

# failover: two fakes stand in for an ensemble; the first is killed mid-run
rm -f "$tmp/portA" "$tmp/portB"
"$py" "$here/lib/fakezk.py" "$tmp/portA" anyset 2>/dev/null & fa=$!
"$py" "$here/lib/fakezk.py" "$tmp/portB" anyset 2>/dev/null & fb=$!
disown "$fa" "$fb"     # no "Killed" job notice when zkbench kills the first
for _ in $(seq 1 500); do [[ -s $tmp/portA && -s $tmp/portB ]] && break; sleep 0.01; done
addr=127.0.0.1:$(cat "$tmp/portA"),127.0.0.1:$(cat "$tmp/portB")
check "failover without a kill stays on the first server" 0 - 0 "session kept" -- -m failover -t 0.3
check "failover: SIGKILL of the first server, the session moves on, outage measured" 0 - - \
    "outage: [0-9.]+ ms from the kill.*" -- -m failover -t 1 --kill-pid "$fa" --kill-after 0.3
if grep -qE 'killed=1 .*reconnects=1 .*session_kept=1 server=127.0.0.1:'"$(cat "$tmp/portB")" "$tmp/out"; then
    pass=$((pass+1)); echo "  ok    failover: one reconnect, to the second server, same session"
else
    fail=$((fail+1)); echo "  FAIL  failover: line lacks killed=1 reconnects=1 session_kept=1 on the second server"
    sed 's/^/        /' "$tmp/out"
fi
check "failover: --kill-pid needs --kill-after" 2 - - "go together" -- -m failover -t 1 --kill-pid "$fb"
kill "$fb" 2>/dev/null

# the runner, with the fake server standing in for gregor-coord (a few seconds each)
runner() {   # NAME EXPECTED_RC STDOUT_REGEX -- runner args
    local name=$1 want_rc=$2 want=$3; shift 4
    ZKBENCH=$zkbench "$here/run-coord-bench.sh" --only gregor -n 1 -t 0.3 --warmup 0 --idle 0 -o "$tmp/report.md" "$@" \
        >"$tmp/out" 2>"$tmp/err"
    local rc=$? why=
    [[ $rc == "$want_rc" ]] || why+=" rc=$rc (want $want_rc)"
    grep -qE "$want" "$tmp/out" "$tmp/report.md" || why+=" output lacks /$want/"
    if [[ -z $why ]]; then
        pass=$((pass+1)); echo "  ok    $name"
    else
        fail=$((fail+1)); echo "  FAIL  $name:$why"; sed 's/^/        /' "$tmp/out" "$tmp/err" | tail -30
    fi
}
fake_cmd="$py $here/lib/fakezk.py {cfg}"
runner "runner: a working server gets numbers in every row" 0 '^\| getData ops/s \(pipelined\) \| [0-9]+ \| n/a' \
    -- --gregor-cmd "$fake_cmd ok"
if grep -qE '^\| [^|]+ \| n/a \|' "$tmp/report.md"; then
    fail=$((fail+1)); echo "  FAIL  runner: rows without a gregor figure:"; grep -E '^\| [^|]+ \| n/a \|' "$tmp/report.md"
else
    pass=$((pass+1)); echo "  ok    runner: no n/a in the gregor column"
fi
runner "runner: server errors are reported and fail the run" 1 'rep 1 set: [0-9]+ errors \(.*NONODE' \
    -- --gregor-cmd "$fake_cmd errors"
runner "runner: a server that cannot start is named, with its output" 1 'failed to start \(exited before .*no such thing' \
    -- --gregor-cmd "bash -c 'echo no such thing; exit 3' {cfg}"

echo "test-zkbench: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
