#!/usr/bin/env bash
# bin/kafka-server-start.sh and bin/kafka-server-stop.sh with gregor-broker:
#   * -daemon returns at once, the broker runs in the background with its output in
#     $LOG_DIR/kafkaServer.out and registers /brokers/ids/0 in the coordinator;
#   * kafka-server-stop.sh <that server.properties> stops exactly that broker (SIGTERM: it
#     deregisters and exits); the unscoped form is not run here, it would reach other brokers
#     on the machine;
#   * usage and "No kafka server to stop" messages and exit codes.
# Exit 0 pass, 1 fail, 77 skip (gregor-coord not functional or gregor-broker not built).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
zkh="/usr/bin/python3 $here/../lib/zkharness.py"
G=$top/build/bin/gregor
work=$(mktemp -d /tmp/gregor-0460s.XXXXXX)
coord=$work/coord
cleanup() {
    if [[ -f $work/pid ]]; then kill -9 "$(cat "$work/pid")" 2>/dev/null; fi
    $zkh stop "$coord" >/dev/null 2>&1
    [[ "${ZKH_KEEP:-}" == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; [[ -f $work/logs/kafkaServer.out ]] && tail -20 "$work/logs/kafkaServer.out"; exit 1; }

[[ -x $top/build/bin/gregor-broker ]] || { echo "SKIP: build/bin/gregor-broker is not built"; exit 77; }

out=$("$top/bin/kafka-server-start.sh" 2>&1); rc=$?
[[ $rc -eq 1 && $out == "USAGE: "*"kafka-server-start.sh [-daemon] server.properties [--override property=value]*" ]] ||
    fail "start without arguments: rc $rc: $out"

port=$($zkh start gregor "$coord") || exit $?
kport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
props=$work/server.properties
sed -e "s|^zookeeper.connect=.*|zookeeper.connect=127.0.0.1:$port|" -e "s|^log.dirs=.*|log.dirs=$work/data|" \
    "$top/deploy/server.properties.example" > "$props"
echo "listeners=PLAINTEXT://127.0.0.1:$kport" >> "$props"

out=$("$top/bin/kafka-server-stop.sh" "$props" 2>&1); rc=$?
[[ $rc -eq 1 && $out == "No kafka server to stop" ]] || fail "stop with nothing running: rc $rc: $out"

LOG_DIR=$work/logs "$top/bin/kafka-server-start.sh" -daemon "$props" || fail "start -daemon: rc $?"
pid=
for _ in $(seq 1 100); do
    pid=$(ps ax -o pid=,comm=,args= | awk -v p="$props" '$2 == "gregor-broker" && index($0, p) { print $1 }')
    [[ -n $pid ]] && break
    sleep 0.1
done
[[ -n $pid ]] || fail "no gregor-broker process with $props"
echo "$pid" > "$work/pid"
registered=
for _ in $(seq 1 100); do
    if "$G" zk -server "127.0.0.1:$port" get /brokers/ids/0 2>/dev/null | grep -q "127.0.0.1:$kport"; then
        registered=1; break
    fi
    sleep 0.1
done
[[ -n $registered ]] || fail "broker did not register /brokers/ids/0"
[[ -s $work/logs/kafkaServer.out ]] || fail "no output in \$LOG_DIR/kafkaServer.out"

"$top/bin/kafka-server-stop.sh" "$props" || fail "stop: rc $?"
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "broker $pid still running 10 s after kafka-server-stop.sh"
rm -f "$work/pid"
gone=
for _ in $(seq 1 100); do
    if ! "$G" zk -server "127.0.0.1:$port" stat /brokers/ids/0 >/dev/null 2>&1; then gone=1; break; fi
    sleep 0.1
done
[[ -n $gone ]] || fail "/brokers/ids/0 still there after the broker stopped"
echo PASS
