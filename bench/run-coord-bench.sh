#!/usr/bin/env bash
# run-coord-bench.sh — gregor-coord against Apache ZooKeeper 3.8 on this machine.
#
# For each repetition it starts each server in turn (fresh data directory under
# /tmp, loopback port, forceSync on) and measures with build/bin/zkbench:
#   startup     launch -> first successful `exists /` (zkbench --ready)
#   idle RSS    VmRSS IDLE seconds after ready
#   create / setData / getData ops/s   pipelined (CONNS x OUTSTANDING in flight)
#   one-at-a-time setData p50 / p99    (zkbench -m sync-set)
#   peak RSS    max(VmHWM, VmRSS) after the load
# then stops it. Reports the median of the repetitions as a table
# (metric | gregor | zookeeper | ratio | target) on stdout and as markdown in
# the -o file. Run `bench/run-coord-bench.sh -h` for the options.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
zkbench=${ZKBENCH:-$root/build/bin/zkbench}
out_md=$root/build/bench/coord-bench.md
reps=3 secs=5 warm=1 idle=5 conns=1 outstanding=100 size=100 keys=1000 fill_nodes=100000
only=both keep=0 quick=0 ready_timeout=60
gregor_cmd="$root/build/bin/gregor-coord {cfg}"
gregor_label=gregor
zk_classpath="/usr/share/java/*:/usr/share/zookeeper/*:/etc/zookeeper/conf"
zk_cmd="java -Xmx1000m -XX:+UseG1GC -cp '$zk_classpath' org.apache.zookeeper.server.quorum.QuorumPeerMain {cfg}"
args_given=("$@")

usage() {
    cat <<EOF
usage: bench/run-coord-bench.sh [options]
  -o FILE            markdown report (default build/bench/coord-bench.md)
  -n REPS            repetitions; medians are reported (default 3)
  -t SECS            seconds per throughput / latency run (default 5)
  --warmup SECS      unmeasured load before each run (default 1)
  --idle SECS        idle RSS is read this long after ready (default 5)
  --quick            1 repetition, 3 s runs, 0.5 s warm-up (about 1 minute)
  --conns N          connections (sessions) for the pipelined runs (default 1)
  --outstanding M    requests in flight per connection (default 100)
  --size BYTES       znode data size (default 100)
  --only gregor|zookeeper   measure one server only
  --gregor-cmd CMD   how to start the coordinator under test; {cfg} is replaced
                     by the zoo.cfg path (default: build/bin/gregor-coord {cfg})
  --ready-timeout S  give a server this long to answer its first request (default 60)
  --keep             keep the data directories and server logs
Environment: GREGOR_COORD=apache runs a second Apache ZooKeeper in the gregor
slot (to test this script); ZKBENCH=path overrides the load tool.
Exit status: 0 if every server started and every run was error-free.
EOF
}

while (($#)); do
    case $1 in
    -o) out_md=$2; shift ;;
    -n) reps=$2; shift ;;
    -t) secs=$2; shift ;;
    --warmup) warm=$2; shift ;;
    --idle) idle=$2; shift ;;
    --quick) quick=1 ;;
    --conns) conns=$2; shift ;;
    --outstanding) outstanding=$2; shift ;;
    --size) size=$2; shift ;;
    --only) only=$2; shift ;;
    --gregor-cmd) gregor_cmd=$2; shift ;;
    --keep) keep=1 ;;
    --ready-timeout) ready_timeout=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-coord-bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if ((quick)); then reps=1 secs=3 warm=0.5 fill_nodes=30000; fi
if [[ ${GREGOR_COORD:-} == apache ]]; then
    gregor_cmd=$zk_cmd
    gregor_label="gregor (Apache stand-in)"
fi
case $only in both|gregor|zookeeper) ;; *) echo "run-coord-bench: --only gregor|zookeeper" >&2; exit 2 ;; esac
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "run-coord-bench: -n wants a positive integer" >&2; exit 2; }

[[ -x $zkbench ]] || { echo "run-coord-bench: $zkbench is missing; run make first" >&2; exit 2; }
if [[ $only != gregor ]] && ! [[ -r /usr/share/java/zookeeper.jar ]]; then
    echo "run-coord-bench: Apache ZooKeeper is not installed (apt-get install zookeeper)" >&2
    exit 2
fi
gregor_bin=${gregor_cmd%% *}
if [[ $only != zookeeper && $gregor_bin == */* && ! -x $gregor_bin ]]; then
    echo "run-coord-bench: $gregor_bin is missing; run make first" >&2
    exit 2
fi

work=$(mktemp -d /tmp/coord-bench.XXXXXX)
raw=$work/raw.tsv          # server <tab> rep <tab> metric <tab> value
: >"$raw"
warnings=()
server_pid=
failed_servers=" "

cleanup() {
    [[ -n $server_pid ]] && stop_server
    if ((keep)); then echo "run-coord-bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "run-coord-bench: interrupted" >&2; exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_cfg() {   # dir port
    cat >"$1/zoo.cfg" <<EOF
tickTime=2000
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
forceSync=yes
4lw.commands.whitelist=*
admin.enableServer=false
EOF
}

# Starts a server from a command template in the background; sets server_pid.
start_server() {   # cmd dir
    local cmd=${1//\{cfg\}/$2/zoo.cfg}
    ZOO_LOG_DIR=$2 bash -c "exec $cmd" >"$2/server.log" 2>&1 </dev/null &
    server_pid=$!
}

stop_server() {
    local pid=$server_pid
    server_pid=
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

alive() { [[ -d /proc/$1 && $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

status_kb() {   # pid field -> value in kB
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null
}

field() {   # line key
    sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1" | head -1
}

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$raw"; }

# One zkbench measurement; records ops/s and latencies under key.
measure() {   # server rep key port mode conns outstanding
    local server=$1 rep=$2 key=$3 port=$4 mode=$5 c=$6 o=$7 line rc
    line=$("$zkbench" -s "127.0.0.1:$port" -m "$mode" -t "$secs" -w "$warm" -c "$c" -o "$o" \
        -d "$size" -k "$keys" -p "/zkbench-$key" --pid "$server_pid" 2>"$work/zkbench.err")
    rc=$?
    local errs ops
    errs=$(field "$line" errors) ops=$(field "$line" ops_per_s)
    if [[ -z $ops || $ops == 0 ]]; then
        warnings+=("$server rep $rep $key: no successful operations ($(tr '\n' ' ' <"$work/zkbench.err"))")
        log "  $key: FAILED: $(head -3 "$work/zkbench.err")"
        return 1
    fi
    if ((rc != 0)); then
        local detail
        detail=$(grep -E '^    |^zkbench: ' "$work/zkbench.err" | grep -v ' against ' | sed 's/^ *//' |
            tr '\n' ';' | cut -c1-300)
        warnings+=("$server rep $rep $key: $errs errors ($detail)")
    fi
    record "$server" "$rep" "${key}_ops" "$ops"
    record "$server" "$rep" "${key}_p50" "$(field "$line" p50_us)"
    record "$server" "$rep" "${key}_p99" "$(field "$line" p99_us)"
    record "$server" "$rep" "${key}_cpu_us" "$(field "$line" server_us_per_op)"
    record "$server" "$rep" other_cores "$(field "$line" other_cores)"
    log "  $key: $ops ops/s, p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us, errors $errs;" \
        "server CPU $(field "$line" server_us_per_op) us/op, other processes $(field "$line" other_cores) cores"
    return $((rc != 0))
}

# Runs the whole measurement set against one fresh server. 0 / 1.
bench_server() {   # server rep cmd
    local server=$1 rep=$2 cmd=$3
    local dir=$work/$server-$rep port t0 line ms
    mkdir -p "$dir/data"
    port=$(free_port)
    write_cfg "$dir" "$port"
    log "$server rep $rep: starting on 127.0.0.1:$port"
    t0=$(date +%s%3N)
    start_server "$cmd" "$dir"
    line=$("$zkbench" --ready -q -s "127.0.0.1:$port" --since-ms "$t0" --pid "$server_pid" -t "$ready_timeout" 2>"$work/ready.err")
    ms=$(field "$line" ready_ms)
    if [[ $(field "$line" ok) != 1 ]]; then
        local why="did not answer exists / within $ready_timeout s"
        alive "$server_pid" || why="exited before answering exists /"
        stop_server
        echo "run-coord-bench: $server FAILED TO START: $why." >&2
        echo "  command: ${cmd//\{cfg\}/$dir/zoo.cfg}" >&2
        echo "  last lines of its output ($dir/server.log):" >&2
        if [[ -s $dir/server.log ]]; then tail -n 15 "$dir/server.log" | sed 's/^/    /' >&2
        else echo "    (no output)" >&2; fi
        warnings+=("$server rep $rep: failed to start ($why); its last output: $(tail -n 3 "$dir/server.log" | tr '\n' ' ' | cut -c1-300)")
        return 1
    fi
    record "$server" "$rep" startup_ms "$ms"
    log "  ready after $ms ms; idle for $idle s"
    # the idle interval is the measurement itself; watch the server meanwhile
    local until=$(( $(date +%s%3N) + ${idle%.*} * 1000 ))
    while (( $(date +%s%3N) < until )); do
        alive "$server_pid" || break
        sleep 0.25
    done
    if ! alive "$server_pid"; then
        echo "run-coord-bench: $server exited while idle; log: $dir/server.log" >&2
        tail -n 15 "$dir/server.log" | sed 's/^/    /' >&2
        warnings+=("$server rep $rep: exited while idle")
        stop_server
        return 1
    fi
    record "$server" "$rep" rss_idle_mib "$(awk -v k="$(status_kb "$server_pid" VmRSS)" 'BEGIN{printf "%.1f", k/1024}')"
    # Memory holding the same data on both servers: exactly $fill_nodes znodes of $size bytes
    # (the timed runs below store as much as each server manages, so their peak is not comparable).
    local fill_line
    fill_line=$("$zkbench" -s "127.0.0.1:$port" -m create -n "$fill_nodes" -c 1 -o "$outstanding" -d "$size" \
        -p /zkbench-fill --pid "$server_pid" 2>>"$work/zkbench.err")
    if [[ $(field "$fill_line" ops) == "$fill_nodes" ]]; then
        local fk
        fk=$(status_kb "$server_pid" VmHWM)
        record "$server" "$rep" rss_fill_mib "$(awk -v k="$fk" 'BEGIN{printf "%.1f", k/1024}')"
        log "  holding $fill_nodes znodes of $size B: peak RSS $(awk -v k="$fk" 'BEGIN{printf "%.1f", k/1024}') MiB"
    else
        warnings+=("$server rep $rep: the fixed $fill_nodes-znode load did not complete ($fill_line)")
    fi
    local ok=0 key mode c o
    for key in create set get sync; do
        case $key in
        create) mode=create c=$conns o=$outstanding ;;
        set) mode=set c=$conns o=$outstanding ;;
        get) mode=get c=$conns o=$outstanding ;;
        sync) mode=sync-set c=1 o=1 ;;
        esac
        measure "$server" "$rep" "$key" "$port" "$mode" "$c" "$o" || ok=1
        if ! alive "$server_pid"; then
            echo "run-coord-bench: $server died during the $key run; log: $dir/server.log" >&2
            tail -n 15 "$dir/server.log" | sed 's/^/    /' >&2
            warnings+=("$server rep $rep: died during $key")
            stop_server
            return 1
        fi
    done
    local hwm rss
    hwm=$(status_kb "$server_pid" VmHWM) rss=$(status_kb "$server_pid" VmRSS)
    ((rss > hwm)) && hwm=$rss
    record "$server" "$rep" rss_peak_mib "$(awk -v k="$hwm" 'BEGIN{printf "%.1f", k/1024}')"
    log "  RSS idle $(awk -F'\t' -v s="$server" -v r="$rep" '$1==s && $2==r && $3=="rss_idle_mib"{print $4}' "$raw") MiB, peak $(awk -v k="$hwm" 'BEGIN{printf "%.1f", k/1024}') MiB"
    stop_server
    ((keep)) || rm -rf "$dir/data"
    return $ok
}

median() {   # server metric -> median over reps, or empty
    awk -F'\t' -v s="$1" -v m="$2" '$1==s && $3==m && $4!="" {print $4}' "$raw" | sort -g |
        awk '{v[NR]=$1} END {if (NR==0) exit; if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

start_s=$(date +%s)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
log "coordinator benchmark: $reps rep(s), ${secs}s runs (+${warm}s warm-up), $conns conn x $outstanding outstanding, ${size}-byte data"
overall=0
for ((rep = 1; rep <= reps; rep++)); do
    order=(gregor zookeeper)
    ((rep % 2 == 0)) && order=(zookeeper gregor)   # alternate to spread drift
    for server in "${order[@]}"; do
        [[ $only != both && $only != "$server" ]] && continue
        if [[ $failed_servers == *" $server "* ]]; then continue; fi
        if [[ $server == gregor ]]; then cmd=$gregor_cmd; else cmd=$zk_cmd; fi
        if ! bench_server "$server" "$rep" "$cmd"; then
            overall=1
            if ! grep -q "^$server	$rep	startup_ms" "$raw"; then
                failed_servers+="$server "   # it cannot start: do not retry every repetition
            fi
        fi
    done
done
elapsed=$(( $(date +%s) - start_s ))

# ---- noise: CPU that neither the server nor zkbench used, during the measured runs
noise=$(awk -F'\t' '$3=="other_cores" && $4 > m {m=$4} END {print m+0}' "$raw")
if awk -v n="$noise" 'BEGIN{exit !(n > 0.25)}'; then
    warnings+=("the machine was busy: other processes used up to $noise of $(nproc) cores during the runs; compare ratios with care and re-run on a quiet machine")
fi

# ---- the table
rows=(
    "create_ops|create ops/s (pipelined)|>=|3"
    "set_ops|setData ops/s (pipelined)|>=|3"
    "get_ops|getData ops/s (pipelined)|>=|2"
    "sync_p50|setData one at a time: p50 µs|<=|0.6"
    "sync_p99|setData one at a time: p99 µs||"
    "sync_ops|setData one at a time: ops/s||"
    "create_p99|create p99 µs under load||"
    "set_p99|setData p99 µs under load||"
    "get_p99|getData p99 µs under load||"
    "create_cpu_us|server CPU µs per create||"
    "set_cpu_us|server CPU µs per setData||"
    "get_cpu_us|server CPU µs per getData||"
    "startup_ms|startup ms (launch → exists /)||"
    "rss_idle_mib|RSS idle MiB (${idle} s after ready)|<=|0.05"
    "rss_fill_mib|RSS peak MiB holding ${fill_nodes} znodes of ${size} B (same data on both)|<=|0.05"
    "rss_peak_mib|RSS peak MiB after all runs (each stores what it managed)||"
    "other_cores|other processes' CPU during the runs, cores (noise)||"
)
fmt_num() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else if (v >= 100 || v == int(v)) printf "%.0f", v; else printf "%.1f", v }'; }
table="| metric | $gregor_label | zookeeper | ratio | target | met |
|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
    IFS='|' read -r key label cmp tgt <<<"$row"
    g=$(median gregor "$key") z=$(median zookeeper "$key")
    ratio="—" met="—" target="—"
    if [[ -n $cmp ]]; then
        target="$cmp $(awk -v t="$tgt" 'BEGIN{ if (t < 0.1) printf "1/%d", 1/t + 0.5; else printf "%gx", t }')"
    fi
    if [[ $key != other_cores && -n $g && -n $z ]] && awk -v z="$z" 'BEGIN{exit !(z > 0)}'; then
        ratio=$(awk -v g="$g" -v z="$z" 'BEGIN{r=g/z; printf (r < 0.1 ? "%.3fx" : "%.2fx"), r}')
        if [[ -n $cmp ]]; then
            met=$(awk -v g="$g" -v z="$z" -v t="$tgt" -v c="$cmp" 'BEGIN{r=g/z; ok = (c == ">=") ? r >= t : r <= t; print ok ? "yes" : "NO"}')
        fi
    fi
    table+="
| $label | $(fmt_num "$g") | $(fmt_num "$z") | $ratio | $target | $met |"
done

# ---- per-run values
per_run="| server | rep | startup ms | idle MiB | fill MiB | create/s | set/s | get/s | sync p50 µs | sync p99 µs | peak MiB | other cores (max) |
|---|---|---|---|---|---|---|---|---|---|---|---|"
for server in gregor zookeeper; do
    for ((rep = 1; rep <= reps; rep++)); do
        grep -q "^$server	$rep	" "$raw" || continue
        line="| $server | $rep"
        for m in startup_ms rss_idle_mib rss_fill_mib create_ops set_ops get_ops sync_p50 sync_p99 rss_peak_mib; do
            v=$(awk -F'\t' -v s="$server" -v r="$rep" -v m="$m" '$1==s && $2==r && $3==m {print $4}' "$raw")
            line+=" | ${v:-n/a}"
        done
        v=$(awk -F'\t' -v s="$server" -v r="$rep" '$1==s && $2==r && $3=="other_cores" && $4 > m {m=$4} END {print m}' "$raw")
        line+=" | ${v:-n/a}"
        per_run+="
$line |"
    done
done

zk_version=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo unknown)
java_version=$(java -version 2>&1 | head -1)
if [[ ${GREGOR_COORD:-} == apache ]]; then gdesc="Apache ZooKeeper (GREGOR_COORD=apache stand-in): \`$gregor_cmd\`"
else gdesc="\`$gregor_cmd\`"; fi
mkdir -p "$(dirname "$out_md")"
{
    echo "# Coordinator benchmark: gregor-coord vs Apache ZooKeeper"
    echo
    echo "- date: $(date '+%Y-%m-%d %H:%M %Z'); took ${elapsed} s"
    echo "- command: \`bench/run-coord-bench.sh${args_given[*]:+ ${args_given[*]}}\`${GREGOR_COORD:+ (GREGOR_COORD=$GREGOR_COORD)}"
    echo "- host: $(nproc) cores, $(uname -sr), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average at start $loadavg"
    echo "- load: zkbench, $reps repetition(s) (medians shown), ${secs} s per run after ${warm} s warm-up," \
         "$conns connection(s) x $outstanding outstanding, $size-byte data, setData/getData over $keys nodes;" \
         "one-at-a-time runs use 1 connection x 1 outstanding"
    echo "- servers: fresh data directory under /tmp for every run, loopback, forceSync=yes, admin server off"
    echo "  - gregor: $gdesc"
    echo "  - zookeeper $zk_version: \`java -Xmx1000m -XX:+UseG1GC -cp ... QuorumPeerMain zoo.cfg\` ($java_version)"
    echo "- ratio = gregor / zookeeper"
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
