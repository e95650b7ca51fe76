#!/usr/bin/env bash
# test-kbench.sh — checks kbench without a real broker:
#   - produce / latency / consume / wait against librdkafka's built-in mock cluster
#     (-X test.mock.num.brokers=1: every kbench process gets its own in-process cluster, whose
#     topics are created on first use with 4 partitions), so counts, exit codes and the
#     output line can be asserted;
#   - ready (raw Metadata v0) against bench/lib/fakekafka.py: a broker that listens late, one
#     that lists no broker at first, one that closes every connection unanswered, and one that
#     exits (--pid);
#   - run-broker-bench.sh --only gregor with tiny counts (needs gregor-broker and Kafka 0.9's
#     kafka-topics.sh; KBENCH_TEST_RUNNER=0 skips it).
# Loopback only, about 30-60 seconds. Usage: bench/test-kbench.sh [path/to/kbench]
set -u
here=$(cd "$(dirname "$0")" && pwd)
kbench=${1:-$here/../build/bin/kbench}
py=/usr/bin/python3
[[ -x $kbench ]] || { echo "test-kbench: $kbench not built (make)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/kbench-test.XXXXXX)
fake_pid=
cleanup() {
    [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
mock=(-b 127.0.0.1:1 -X test.mock.num.brokers=1)

start_fake() {   # behaviour; sets addr and fake_pid
    [[ -n $fake_pid ]] && { kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; }
    rm -f "$tmp/port"
    "$py" "$here/lib/fakekafka.py" "$tmp/port" "$1" 2>"$tmp/fake.err" &
    fake_pid=$!
    for _ in $(seq 1 500); do [[ -s $tmp/port ]] && break; kill -0 "$fake_pid" 2>/dev/null || break; sleep 0.01; done
    [[ -s $tmp/port ]] || { echo "fake broker did not start:"; cat "$tmp/fake.err"; exit 2; }
    addr=127.0.0.1:$(cat "$tmp/port")
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$tmp/out" | head -1; }

# check NAME EXPECTED_RC "KEY=VALUE ..." (VALUE may be >N or <N) STDERR_REGEX -- kbench args
check() {
    local name=$1 want_rc=$2 wants=$3 want_msg=$4; shift 5
    "$kbench" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? why= kv k v got
    [[ $rc == "$want_rc" ]] || why+=" rc=$rc (want $want_rc)"
    for kv in $wants; do
        k=${kv%%=*} v=${kv#*=} got=$(field "$k")
        case $v in
        '>'*) awk -v g="$got" -v w="${v#>}" 'BEGIN{exit !(g != "" && g + 0 > w + 0)}' || why+=" $k=$got (want $v)" ;;
        '<'*) awk -v g="$got" -v w="${v#<}" 'BEGIN{exit !(g != "" && g + 0 < w + 0)}' || why+=" $k=$got (want $v)" ;;
        *) [[ $got == "$v" ]] || why+=" $k=$got (want $v)" ;;
        esac
    done
    [[ -z $want_msg ]] || grep -qE "$want_msg" "$tmp/err" || why+=" stderr lacks /$want_msg/"
    if [[ -z $why ]]; then
        pass=$((pass+1)); echo "  ok    $name"
    else
        fail=$((fail+1)); echo "  FAIL  $name:$why"; sed 's/^/        /' "$tmp/out" "$tmp/err" | head -20
    fi
}

echo "kbench against librdkafka's mock cluster:"
check "produce delivers every record" 0 "mode=produce records=20000 bytes=2000000 errors=0 undelivered=0 partitions=4 records_per_s=>0" \
    "records/s" -- "${mock[@]}" -m produce -t t1 -n 20000 -s 100
check "produce 1000-byte records, acks=all" 0 "records=3000 bytes=3000000 acks=all" "" -- \
    "${mock[@]}" -m produce -t t1 -n 3000 -s 1000 -a all
check "latency: one at a time, quantiles" 0 "mode=latency records=200 p50_us=>0 p99_us=>0 max_us=>0" "p99" -- \
    "${mock[@]}" -m latency -t t1 -n 200 -w 10
check "latency reports its own pid's CPU and RSS" 0 "server_rss_max_kb=>0 server_cpu_s=>-1" "" -- \
    "${mock[@]}" -m latency -t t1 -n 20 -w 0 --pid $$
check "consume an empty topic to its end" 0 "mode=consume records=0 complete=1 partitions=4" "" -- \
    "${mock[@]}" -m consume -t t2
check "consume -n more than there is: incomplete" 1 "complete=0" "stopped before the end" -- \
    "${mock[@]}" -m consume -t t2 -n 10
check "wait for the partition count" 0 "mode=wait ok=1 partitions=4" "" -- "${mock[@]}" -m wait -t t3 -P 4
check "wait for a count that never comes" 1 "ok=0" "waiting for 3" -- "${mock[@]}" -m wait -t t3 -P 3 -T 1.5
check "a bad librdkafka property" 2 "" "no.such.property" -- "${mock[@]}" -X no.such.property=1 -m produce -t t1
check "usage: -X without =" 2 "" "KEY=VALUE" -- -b 127.0.0.1:1 -X nokey -m produce -t t1
check "usage: unknown mode" 2 "" "unknown mode" -- -b 127.0.0.1:1 -m fly -t t1
check "usage: produce needs a topic" 2 "" "needs -t" -- -b 127.0.0.1:1 -m produce

echo "kbench -m ready against fakekafka.py:"
start_fake late
t0=$(date +%s%3N)   # the fake listens 1 s after its port file appears: refused at first (attempts > 1)
check "ready: refused, then answered" 0 "mode=ready ok=1 ready_ms=>-1 attempts=>1" "answered Metadata" -- \
    -b "$addr" -m ready --since-ms "$t0" -T 10
start_fake nobroker
check "ready: an answer without brokers does not count" 0 "ok=1 attempts=>1" "" -- -b "$addr" -m ready -T 10
start_fake exit
check "ready: the broker process exits" 1 "ok=0 server_exited=1" "exited before answering" -- \
    -b "$addr" -m ready -T 10 --pid "$fake_pid"
start_fake close
check "ready: closes every connection unanswered (10 s)" 1 "ok=0 closes_unanswered=1" "without answering" -- \
    -b "$addr" -m ready -T 30
check "ready: timeout" 1 "ok=0" "did not answer Metadata within" -- -b 127.0.0.1:1 -m ready -T 0.5

# The runner end to end with tiny counts, gregor-broker only (kafka-topics.sh needs Kafka 0.9's
# jars: skipped when deploy/peers.sh cannot provide them, or when gregor-broker is not built).
root=$(cd "$here/.." && pwd)
if [[ ${KBENCH_TEST_RUNNER:-1} == 1 && -x $root/build/bin/gregor-broker ]] && "$root/deploy/peers.sh" kafka09 >/dev/null 2>&1; then
    echo "run-broker-bench.sh --only gregor, tiny counts:"
    "$here/run-broker-bench.sh" --only gregor --records-100 3000 --records-1000 1000 --latency-n 20 --idle 0 \
        -o "$tmp/report.md" >"$tmp/out" 2>"$tmp/err"
    rc=$? why=
    [[ $rc == 0 ]] || why+=" rc=$rc"
    for row in "produce 100 B, 1 partition: records/s" "produce 1000 B, 8 partitions: records/s" \
        "consume 100 B, 8 partitions: MiB/s" "produce latency, one at a time: p99 µs" "broker RSS idle MiB"; do
        line=$(grep -F "| $row" "$tmp/report.md" | head -1)
        # gregor and gregor-native have figures, kafka (not run) has none
        awk -F'|' '{ exit !($3 ~ /[0-9]/ && $4 ~ /[0-9]/ && $5 ~ /n\/a/) }' <<<"$line" || why+=" row '$row': $line"
    done
    grep -q '^| gregor-native | 1 |' "$tmp/report.md" || why+=" no per-run line for gregor-native"
    if [[ -z $why ]]; then
        pass=$((pass+1)); echo "  ok    every row has gregor figures, kafka is n/a"
    else
        fail=$((fail+1)); echo "  FAIL  runner:$why"; tail -n 20 "$tmp/err" | sed 's/^/        /'
    fi
else
    echo "run-broker-bench.sh: skipped (gregor-broker not built or Kafka 0.9 unavailable)"
fi

echo "test-kbench: $pass passed, $fail failed"
((fail == 0))
