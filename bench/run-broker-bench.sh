#!/usr/bin/env bash
# run-broker-bench.sh — gregor-broker against Apache Kafka 0.9.0.1 on this machine, in one run,
# with the same client (build/bin/kbench, librdkafka) and the same broker settings.
#
# For each repetition and each broker in turn it starts a fresh gregor-coord (loopback port,
# temp data dir), then the broker against it (generated server.properties, log dir in a temp
# dir), and measures with kbench:
#   startup       launch -> first Metadata answer that lists a broker (kbench -m ready)
#   idle RSS      VmRSS of the broker process (Kafka: the java process) IDLE s after ready
#   topics        created up front with Kafka 0.9's kafka-topics.sh --zookeeper (both brokers:
#                 gregor's controller reacts to /brokers/topics), then kbench -m wait until
#                 every partition has a leader
#   produce       records/s and MiB/s, 100 B and 1000 B records, 1 and 8 partitions, acks=1,
#                 librdkafka batching (linger.ms 5, batch.num.messages 10000) for both
#   consume       MiB/s reading each of those topics back from the beginning
#   latency       one record at a time (linger.ms 0, acks=1): p50 / p99 of produce -> delivery
#   load RSS      largest VmRSS sampled every 100 ms during the runs (and VmHWM at the end)
# then stops both. gregor is measured twice: "gregor" with exactly the client properties Kafka
# 0.9 needs (api.version.request=false, broker.version.fallback=0.9.0: Produce v1 / Fetch v1,
# v0 message sets), and "gregor-native" with the same client left to negotiate versions
# (ApiVersions: v2 record batches; --no-native skips it). Medians over the repetitions go into
# a table (metric | gregor | gregor-native | kafka | ratios | target | met) on stdout and as
# markdown in the -o file. `-h` lists the options.
#
# The defaults are deliberately small (1 repetition, 0.5M x 100 B and 0.1M x 1000 B records,
# a couple of minutes in all) because the machine is shared; see -h for a full run.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
kbench=${KBENCH:-$root/build/bin/kbench}
zkbench=$root/build/bin/zkbench
coord=$root/build/bin/gregor-coord
gregor_broker=$root/build/bin/gregor-broker
out_md=$root/build/bench/broker-bench.md
reps=1 idle=3 n100=500000 n1000=100000 nlat=1000 warm_lat=100 only=both keep=0
parts_list="1 8" sizes="100 1000"
linger=5 batch=10000
client_props="-X api.version.request=false -X broker.version.fallback=0.9.0"
gregor_props=
native=1 native_props="-X api.version.request=true"
kafka_heap="-Xmx1G -Xms1G"
ready_timeout=60 run_timeout=600
args_given=("$@")

usage() {
    cat <<EOF
usage: bench/run-broker-bench.sh [options]
  -o FILE              markdown report (default build/bench/broker-bench.md)
  -n REPS              repetitions; medians are reported (default 1)
  --records-100 N      100-byte records per produce run (default $n100)
  --records-1000 N     1000-byte records per produce run (default $n1000)
  --latency-n N        one-at-a-time records for the latency run (default $nlat, after $warm_lat warm-up)
  --partitions "LIST"  partition counts (default "$parts_list")
  --idle SECS          idle RSS is read this long after ready (default $idle)
  --linger-ms MS       producer linger.ms for the throughput runs (default $linger)
  --batch-msgs N       producer batch.num.messages (default $batch)
  --client-props "..." librdkafka properties for both brokers
                       (default "$client_props", what Kafka 0.9 needs)
  --gregor-props "..." extra librdkafka properties for gregor only, appended
  --native-props "..." properties appended for the second gregor column, "gregor-native"
                       (default "$native_props": librdkafka asks ApiVersions and uses
                       gregor's newest protocol versions, e.g. v2 record batches, which Kafka
                       0.9 cannot offer)
  --no-native          measure gregor with the Kafka 0.9 protocol only (no gregor-native column)
  --kafka-heap "..."   KAFKA_HEAP_OPTS of the Kafka broker (default "$kafka_heap", its script's)
  --only gregor|kafka  measure one broker only (gregor: both gregor columns)
  --run-timeout SECS   bound of each kbench run (default $run_timeout)
  --keep               keep the data directories and logs
  -h                   this help
Full run (about 10-15 minutes on a quiet machine; do not run it on a shared one):
  bench/run-broker-bench.sh -n 3 --records-100 12000000 --records-1000 2000000 --latency-n 10000 --idle 5
Environment: KBENCH=path overrides the load tool; GREGOR_PEERS is passed to deploy/peers.sh.
Exit status: 0 if every broker started and every run was complete and error-free.
EOF
}

while (($#)); do
    case $1 in
    -o) out_md=$2; shift ;;
    -n) reps=$2; shift ;;
    --records-100) n100=$2; shift ;;
    --records-1000) n1000=$2; shift ;;
    --latency-n) nlat=$2; shift ;;
    --partitions) parts_list=$2; shift ;;
    --idle) idle=$2; shift ;;
    --linger-ms) linger=$2; shift ;;
    --batch-msgs) batch=$2; shift ;;
    --client-props) client_props=$2; shift ;;
    --gregor-props) gregor_props=$2; shift ;;
    --native-props) native_props=$2; shift ;;
    --no-native) native=0 ;;
    --kafka-heap) kafka_heap=$2; shift ;;
    --only) only=$2; shift ;;
    --run-timeout) run_timeout=$2; shift ;;
    --keep) keep=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-broker-bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case $only in both|gregor|kafka) ;; *) echo "run-broker-bench: --only gregor|kafka" >&2; exit 2 ;; esac
for v in "$reps" "$n100" "$n1000" "$nlat"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run-broker-bench: -n and record counts want positive integers" >&2; exit 2; }
done
for b in "$kbench" "$zkbench" "$coord"; do
    [[ -x $b ]] || { echo "run-broker-bench: $b is missing; run make first" >&2; exit 2; }
done
if [[ $only != kafka && ! -x $gregor_broker ]]; then
    echo "run-broker-bench: $gregor_broker is missing; run make first" >&2; exit 2
fi
# kafka-topics.sh creates the topics for both brokers, so Kafka 0.9 is needed in any case.
if ! kafka_home=$("$root/deploy/peers.sh" kafka09); then
    echo "run-broker-bench: Apache Kafka 0.9.0.1 is not available (deploy/peers.sh kafka09 failed)" >&2
    exit 77
fi
command -v java >/dev/null || { echo "run-broker-bench: java is not installed" >&2; exit 77; }

work=$(mktemp -d /tmp/broker-bench.XXXXXX)
raw=$work/raw.tsv          # server <tab> rep <tab> metric <tab> value
: >"$raw"
warnings=()
broker_pid= coord_pid=
failed_servers=" "

cleanup() {
    [[ -n $broker_pid ]] && stop_pid broker_pid 15
    [[ -n $coord_pid ]] && stop_pid coord_pid 5
    if ((keep)); then echo "run-broker-bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "run-broker-bench: interrupted" >&2; exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [[ -d /proc/$1 && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Stops the process whose pid is in the named variable (TERM, then KILL after SECS) and clears it.
stop_pid() {   # varname secs
    local -n ref=$1
    local pid=$ref
    ref=
    [[ -z $pid ]] && return
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 $(( $2 * 10 ))); do
        alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

status_kb() {   # pid field -> value in kB
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null
}

field() {   # line key
    sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1" | head -1
}

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$raw"; }

mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

write_server_properties() {   # file log_dir zk_port kafka_port
    cat >"$1" <<EOF
# generated by bench/run-broker-bench.sh — the same file for Apache Kafka 0.9.0.1 and gregor-broker
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$4
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=$2
num.partitions=1
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
delete.topic.enable=true
auto.create.topics.enable=false
zookeeper.connect=127.0.0.1:$3
zookeeper.connection.timeout.ms=6000
EOF
}

start_coord() {   # dir -> sets coord_pid, coord_port
    local dir=$1
    mkdir -p "$dir/coord"
    coord_port=$(free_port)
    cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/coord
clientPort=$coord_port
clientPortAddress=127.0.0.1
EOF
    "$coord" "$dir/zoo.cfg" >"$dir/coord.log" 2>&1 </dev/null &
    coord_pid=$!
    local line
    line=$("$zkbench" --ready -q -s "127.0.0.1:$coord_port" --pid "$coord_pid" -t 20 2>>"$dir/coord.log")
    [[ $(field "$line" ok) == 1 ]]
}

# Launches the broker in the background; sets broker_pid (for Kafka the java process: the
# start script execs kafka-run-class.sh, which execs java).
start_broker() {   # server dir props
    local server=$1 dir=$2 props=$3
    if [[ $server == kafka ]]; then   # gregor and gregor-native run the same broker
        LOG_DIR=$dir/kafka-logs-app KAFKA_HEAP_OPTS=$kafka_heap \
            "$kafka_home/bin/kafka-server-start.sh" "$props" >"$dir/broker.log" 2>&1 </dev/null &
    else
        "$gregor_broker" "$props" >"$dir/broker.log" 2>&1 </dev/null &
    fi
    broker_pid=$!
}

# kafka-topics.sh --create for every topic, in parallel (each is a JVM). 0 if all succeeded.
create_topics() {   # dir topic:parts ...
    local dir=$1 spec pids=() rc=0 i=0
    shift
    for spec in "$@"; do
        LOG_DIR=$dir/tools-logs KAFKA_HEAP_OPTS="-Xmx256M" \
            "$kafka_home/bin/kafka-topics.sh" --zookeeper "127.0.0.1:$coord_port" --create \
            --topic "${spec%%:*}" --partitions "${spec##*:}" --replication-factor 1 \
            >"$dir/topic-$i.log" 2>&1 </dev/null &
        pids+=($!)
        i=$((i + 1))
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}" || ! grep -q 'Created topic' "$dir/topic-$i.log"; then
            warnings+=("kafka-topics.sh --create ${*:$((i + 1)):1} failed: $(tail -n 2 "$dir/topic-$i.log" | tr '\n' ' ' | cut -c1-200)")
            rc=1
        fi
    done
    return $rc
}

# One kbench load run; records its figures under key. 0 / 1.
measure() {   # server rep key kbench-args...
    local server=$1 rep=$2 key=$3 line rc
    shift 3
    line=$("$kbench" -q -b "127.0.0.1:$kport" --pid "$broker_pid" -T "$run_timeout" $client_opts "$@" 2>"$work/kbench.err")
    rc=$?
    local rps
    rps=$(field "$line" records_per_s)
    if ((rc != 0)) || [[ -z $rps || $rps == 0 ]]; then
        warnings+=("$server rep $rep $key: failed ($(grep -v '^$' "$work/kbench.err" | tail -n 3 | tr '\n' ' ' | cut -c1-300)${line:+; $(cut -c1-200 <<<"$line")})")
        log "  $key: FAILED: $(tail -n 2 "$work/kbench.err" | tr '\n' ' ')"
        [[ -z $rps || $rps == 0 ]] && return 1
    fi
    record "$server" "$rep" "${key}_rps" "$rps"
    record "$server" "$rep" "${key}_mibps" "$(field "$line" mib_per_s)"
    local k
    for k in p50_us p99_us server_us_per_record; do
        [[ -n $(field "$line" $k) ]] && record "$server" "$rep" "${key}_$k" "$(field "$line" $k)"
    done
    record "$server" "$rep" rss_load_kb "$(field "$line" server_rss_max_kb)"
    record "$server" "$rep" other_cores "$(field "$line" other_cores)"
    local ccpu
    ccpu=$(field "$line" client_cpu_s)
    [[ -n $ccpu ]] && record "$server" "$rep" "${key}_client_us_per_record" \
        "$(awk -v c="$ccpu" -v n="$(field "$line" records)" 'BEGIN{ if (n > 0) printf "%.2f", c * 1e6 / n }')"
    [[ -n $(field "$line" server_wait_per_cpu) ]] && record "$server" "$rep" wait_per_cpu "$(field "$line" server_wait_per_cpu)"
    local lat=
    [[ -n $(field "$line" p99_us) ]] && lat=", p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us"
    log "  $key: $rps records/s, $(field "$line" mib_per_s) MiB/s$lat;" \
        "broker CPU $(field "$line" server_us_per_record) us/record, RSS peak $(mib "$(field "$line" server_rss_max_kb)") MiB," \
        "other processes $(field "$line" other_cores) cores, broker run-queue wait $(field "$line" server_wait_per_cpu) s per CPU s"
    return $((rc != 0))
}

# The whole measurement set against one fresh coordinator + broker. 0 / 1.
bench_server() {   # server rep
    local server=$1 rep=$2
    local dir=$work/$server-$rep t0 line ms ok=0
    mkdir -p "$dir/logs"
    log "$server rep $rep: starting a coordinator"
    if ! start_coord "$dir"; then
        warnings+=("$server rep $rep: gregor-coord did not start ($(tail -n 2 "$dir/coord.log" | tr '\n' ' '))")
        stop_pid coord_pid 5
        return 1
    fi
    kport=$(free_port)
    write_server_properties "$dir/server.properties" "$dir/logs" "$coord_port" "$kport"
    client_opts="$client_props --linger-ms $linger --batch-msgs $batch"
    [[ $server == gregor* && -n $gregor_props ]] && client_opts+=" $gregor_props"
    [[ $server == gregor-native ]] && client_opts+=" $native_props"
    log "$server rep $rep: starting the broker on 127.0.0.1:$kport (coordinator 127.0.0.1:$coord_port)"
    t0=$(date +%s%3N)
    start_broker "$server" "$dir" "$dir/server.properties"
    line=$("$kbench" -m ready -q -b "127.0.0.1:$kport" --since-ms "$t0" --pid "$broker_pid" -T "$ready_timeout" 2>"$work/ready.err")
    ms=$(field "$line" ready_ms)
    if [[ $(field "$line" ok) != 1 ]]; then
        local why="no Metadata answer listing a broker"
        alive "$broker_pid" || why="exited before answering Metadata"
        echo "run-broker-bench: $server FAILED TO START: $why ($(tail -n 1 "$work/ready.err"))." >&2
        echo "  last lines of its output ($dir/broker.log):" >&2
        if [[ -s $dir/broker.log ]]; then tail -n 15 "$dir/broker.log" | sed 's/^/    /' >&2
        else echo "    (no output)" >&2; fi
        warnings+=("$server rep $rep: failed to start ($why; $(tail -n 1 "$work/ready.err" | cut -c1-200)); its last output: $(tail -n 3 "$dir/broker.log" | tr '\n' ' ' | cut -c1-300)")
        stop_pid broker_pid 15
        stop_pid coord_pid 5
        return 1
    fi
    record "$server" "$rep" startup_ms "$ms"
    log "  first Metadata answered $ms ms after launch; idle for $idle s"
    sleep "$idle"
    if ! alive "$broker_pid"; then
        warnings+=("$server rep $rep: exited while idle: $(tail -n 3 "$dir/broker.log" | tr '\n' ' ' | cut -c1-300)")
        stop_pid broker_pid 15
        stop_pid coord_pid 5
        return 1
    fi
    local idle_kb
    idle_kb=$(status_kb "$broker_pid" VmRSS)
    record "$server" "$rep" rss_idle_mib "$(mib "$idle_kb")"
    log "  idle RSS $(mib "$idle_kb") MiB"

    local topics=() size p
    for size in $sizes; do
        for p in $parts_list; do topics+=("b${size}p$p:$p"); done
    done
    topics+=("lat:1")
    t0=$(date +%s%3N)
    create_topics "$dir" "${topics[@]}" || ok=1
    local spec
    for spec in "${topics[@]}"; do
        line=$("$kbench" -m wait -q -b "127.0.0.1:$kport" -t "${spec%%:*}" -P "${spec##*:}" -T 60 $client_opts 2>"$work/wait.err")
        if [[ $(field "$line" ok) != 1 ]]; then
            warnings+=("$server rep $rep: topic ${spec%%:*} got no leaders: $(tail -n 1 "$work/wait.err" | cut -c1-200)")
            ok=1
        fi
    done
    log "  topics created and led after $(( $(date +%s%3N) - t0 )) ms"

    local n key
    for size in $sizes; do
        n=$n100
        ((size == 1000)) && n=$n1000
        for p in $parts_list; do
            key=p${size}_$p
            measure "$server" "$rep" "$key" -m produce -t "b${size}p$p" -P "$p" -s "$size" -n "$n" || ok=1
            alive "$broker_pid" || break 2
            measure "$server" "$rep" "c${size}_$p" -m consume -t "b${size}p$p" -P "$p" -n "$n" || ok=1
            alive "$broker_pid" || break 2
        done
    done
    if alive "$broker_pid"; then
        measure "$server" "$rep" lat -m latency -t lat -P 1 -s 100 -n "$nlat" -w "$warm_lat" || ok=1
    fi
    if ! alive "$broker_pid"; then
        echo "run-broker-bench: $server died during the runs; log: $dir/broker.log" >&2
        tail -n 15 "$dir/broker.log" | sed 's/^/    /' >&2
        warnings+=("$server rep $rep: died during the runs: $(tail -n 3 "$dir/broker.log" | tr '\n' ' ' | cut -c1-300)")
        broker_pid=
        stop_pid coord_pid 5
        return 1
    fi
    local hwm peak
    hwm=$(status_kb "$broker_pid" VmHWM)
    peak=$(awk -F'\t' -v s="$server" -v r="$rep" -v h="${hwm:-0}" \
        '$1==s && $2==r && $3=="rss_load_kb" && $4 > m {m=$4} END {if (h > m) m = h; print m+0}' "$raw")
    record "$server" "$rep" rss_peak_mib "$(mib "$peak")"
    log "  RSS peak under load $(mib "$peak") MiB"
    stop_pid broker_pid 15
    stop_pid coord_pid 5
    ((keep)) || rm -rf "$dir/logs" "$dir/coord"
    return $ok
}

median() {   # server metric -> median over reps, or empty
    awk -F'\t' -v s="$1" -v m="$2" '$1==s && $3==m && $4!="" {print $4}' "$raw" | sort -g |
        awk '{v[NR]=$1} END {if (NR==0) exit; if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

start_s=$(date +%s)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
log "broker benchmark: $reps rep(s); $n100 x 100 B, $n1000 x 1000 B, partitions $parts_list; latency $nlat records"
overall=0
for ((rep = 1; rep <= reps; rep++)); do
    order=(kafka gregor)
    ((native)) && order+=(gregor-native)
    ((rep % 2 == 0)) && order=("${order[@]:1}" kafka)   # alternate to spread drift
    for server in "${order[@]}"; do
        [[ $only != both && $only != "${server%-native}" ]] && continue
        [[ $failed_servers == *" $server "* ]] && continue
        if ! bench_server "$server" "$rep"; then
            overall=1
            grep -q "^$server	$rep	startup_ms" "$raw" || failed_servers+="$server "   # cannot start: do not retry
        fi
    done
done
elapsed=$(( $(date +%s) - start_s ))

noise=$(awk -F'\t' '$3=="other_cores" && $4 > m {m=$4} END {print m+0}' "$raw")
if awk -v n="$noise" 'BEGIN{exit !(n > 0.25)}'; then
    warnings+=("the machine was busy: other processes used up to $noise of $(nproc) cores during the runs (load average at start $loadavg); compare ratios with care and re-run on a quiet machine")
fi

for server in kafka gregor gregor-native; do
    w=$(awk -F'\t' -v s="$server" '$1==s && $3=="wait_per_cpu" {n++; if ($4 > m) m=$4} END {if (n) print m+0}' "$raw")
    if [[ -n $w ]] && awk -v w="$w" 'BEGIN{exit !(w > 0.5)}'; then
        warnings+=("$server was starved: in its worst run its threads waited $w s on a run queue per second of CPU they got (summed over its threads); its rates understate what it can do")
    fi
done

# ---- the table: key|label|cmp|target
rows=()
for size in $sizes; do
    for p in $parts_list; do
        rows+=("p${size}_${p}_rps|produce ${size} B, $p partition$( ((p > 1)) && echo s): records/s|>=|2")
        rows+=("p${size}_${p}_mibps|produce ${size} B, $p partition$( ((p > 1)) && echo s): MiB/s||")
    done
done
for size in $sizes; do
    for p in $parts_list; do
        rows+=("c${size}_${p}_mibps|consume ${size} B, $p partition$( ((p > 1)) && echo s): MiB/s|>=|1.5")
    done
done
rows+=(
    "lat_p50_us|produce latency, one at a time: p50 µs||"
    "lat_p99_us|produce latency, one at a time: p99 µs|<=|0.5"
    "rss_idle_mib|broker RSS idle MiB (${idle} s after ready)|<=|0.1"
    "rss_peak_mib|broker RSS peak under load MiB|<=|0.1"
    "startup_ms|start-up ms (launch → first Metadata answered)||"
)
for size in $sizes; do
    for p in $parts_list; do
        rows+=("p${size}_${p}_server_us_per_record|broker CPU µs per record, produce ${size} B, $p p.||")
    done
done
for size in $sizes; do
    for p in $parts_list; do
        rows+=("c${size}_${p}_server_us_per_record|broker CPU µs per record, consume ${size} B, $p p.||")
    done
done
for size in $sizes; do
    for p in $parts_list; do
        rows+=("p${size}_${p}_client_us_per_record|client (kbench) CPU µs per record, produce ${size} B, $p p.||")
    done
done
rows+=("other_cores|other processes' CPU during the runs, cores, worst run (noise)||")
rows+=("wait_per_cpu|broker's run-queue wait per CPU second, worst run (starved by the noise)||")

fmt_num() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else if (v >= 100 || v == int(v)) printf "%.0f", v; else printf "%.1f", v }'; }
worst() {   # server metric -> the largest value over the reps, or empty
    awk -F'\t' -v s="$1" -v m="$2" '$1==s && $3==m {n++; if ($4 > x) x=$4} END {if (n) print x+0}' "$raw"
}
ratio_of() {   # g k -> "1.23x" or "—"
    if [[ -n $1 && -n $2 ]] && awk -v k="$2" 'BEGIN{exit !(k > 0)}'; then
        awk -v g="$1" -v k="$2" 'BEGIN{r=g/k; printf (r < 0.1 ? "%.3fx" : "%.2fx"), r}'
    else echo "—"; fi
}
met_of() {   # g k cmp target -> yes / NO / —
    if [[ -n $3 && -n $1 && -n $2 ]] && awk -v k="$2" 'BEGIN{exit !(k > 0)}'; then
        awk -v g="$1" -v k="$2" -v t="$4" -v c="$3" 'BEGIN{r=g/k; ok = (c == ">=") ? r >= t : r <= t; print ok ? "yes" : "NO"}'
    else echo "—"; fi
}
if ((native)); then
    table="| metric | gregor | gregor-native | kafka 0.9.0.1 | ratio | ratio native | target | met (gregor / native) |
|---|---|---|---|---|---|---|---|"
else
    table="| metric | gregor | kafka 0.9.0.1 | ratio | target | met |
|---|---|---|---|---|---|"
fi
for row in "${rows[@]}"; do
    IFS='|' read -r key label cmp tgt <<<"$row"
    g=$(median gregor "$key") n=$(median gregor-native "$key") k=$(median kafka "$key")
    target="—"
    [[ -n $cmp ]] && target="$cmp $(awk -v t="$tgt" 'BEGIN{ if (t < 0.2) printf "1/%d", 1/t + 0.5; else printf "%gx", t }')"
    if [[ $key == other_cores || $key == wait_per_cpu ]]; then
        g=$(worst gregor "$key") n=$(worst gregor-native "$key") k=$(worst kafka "$key")
        r="—" rn="—" m="—" mn="—"
    else
        r=$(ratio_of "$g" "$k") rn=$(ratio_of "$n" "$k") m=$(met_of "$g" "$k" "$cmp" "$tgt") mn=$(met_of "$n" "$k" "$cmp" "$tgt")
    fi
    if ((native)); then
        table+="
| $label | $(fmt_num "$g") | $(fmt_num "$n") | $(fmt_num "$k") | $r | $rn | $target | $m / $mn |"
    else
        table+="
| $label | $(fmt_num "$g") | $(fmt_num "$k") | $r | $target | $m |"
    fi
done

# ---- per-run values
cols="startup_ms rss_idle_mib"
hdr="| broker | rep | startup ms | idle MiB"
for size in $sizes; do for p in $parts_list; do cols+=" p${size}_${p}_rps"; hdr+=" | prod ${size}B/${p}p rec/s"; done; done
for size in $sizes; do for p in $parts_list; do cols+=" c${size}_${p}_mibps"; hdr+=" | cons ${size}B/${p}p MiB/s"; done; done
cols+=" lat_p50_us lat_p99_us rss_peak_mib"
hdr+=" | p50 µs | p99 µs | peak MiB | other cores (max) |"
per_run="$hdr
|$(for _ in $cols x x x; do printf -- '---|'; done)"
for server in kafka gregor gregor-native; do
    for ((rep = 1; rep <= reps; rep++)); do
        grep -q "^$server	$rep	" "$raw" || continue
        line="| $server | $rep"
        for m in $cols; do
            v=$(awk -F'\t' -v s="$server" -v r="$rep" -v m="$m" '$1==s && $2==r && $3==m {print $4}' "$raw")
            line+=" | ${v:-n/a}"
        done
        v=$(awk -F'\t' -v s="$server" -v r="$rep" '$1==s && $2==r && $3=="other_cores" && $4 > m {m=$4} END {print m}' "$raw")
        line+=" | ${v:-n/a}"
        per_run+="
$line |"
    done
done

java_version=$(java -version 2>&1 | head -1)
rdk_version=$(dpkg-query -W -f '${Version}' librdkafka1 2>/dev/null || echo unknown)
mkdir -p "$(dirname "$out_md")"
{
    echo "# Broker benchmark: gregor-broker vs Apache Kafka 0.9.0.1"
    echo
    echo "- date: $(date '+%Y-%m-%d %H:%M %Z'); took ${elapsed} s"
    echo "- command: \`bench/run-broker-bench.sh${args_given[*]:+ ${args_given[*]}}\`"
    echo "- host: $(nproc) cores, $(uname -sr), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average at start $loadavg"
    echo "- client: kbench (librdkafka $rdk_version), the same for all: \`$client_props\`${gregor_props:+ (gregor also \`$gregor_props\`)}" \
         "$( ((native)) && echo "(gregor-native: the same broker, client with \`$native_props\` appended)");" \
         "produce: acks=1, linger.ms $linger, batch.num.messages $batch, no compression, no key, round-robin over the partitions;" \
         "consume: every partition from the beginning, no group; latency: one record of 100 B at a time, linger.ms 0, $nlat records after $warm_lat warm-up"
    echo "- records per run: $n100 x 100 B, $n1000 x 1000 B; $reps repetition(s), medians shown; MiB = 2^20 bytes of record values"
    echo "- brokers: the same generated server.properties (1 GiB segments, no flush, auto topic creation off), a fresh gregor-coord and log dir under /tmp for each run"
    echo "  - kafka: \`$kafka_home/bin/kafka-server-start.sh\` (KAFKA_HEAP_OPTS=\"$kafka_heap\"; $java_version); RSS is the java process's"
    echo "  - gregor: \`$gregor_broker server.properties\`"
    echo "- ratio = gregor / kafka$( ((native)) && echo "; ratio native = gregor-native / kafka")"
    echo
    echo "$table"
    echo
    echo "Per run:"
    echo
    echo "$per_run"
    if ((${#warnings[@]})); then
        echo
        echo "Problems:"
        echo
        for w in "${warnings[@]}"; do echo "- $w"; done
    fi
} >"$out_md"

echo
echo "$table"
echo
if ((${#warnings[@]})); then
    echo "Problems:"
    for w in "${warnings[@]}"; do echo "  - $w"; done
    echo
fi
echo "Report written to $out_md (${elapsed} s)."
exit $overall
