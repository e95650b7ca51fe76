#!/usr/bin/env bash
# run-ensemble-bench.sh — gregor-coord ensembles against Apache ZooKeeper 3.8 ensembles of
# the same shape on this machine, in one run.
#
# Shapes: "3" (3 voters) and "3+1" (3 voters + 1 observer). For each repetition, shape and
# server kind it starts ONE fresh ensemble (tests/lib/zkensemble.py: loopback ports,
# server.N lines, myid, peerType=observer, tickTime 2000, initLimit 10, syncLimit 5,
# forceSync=yes), measures with build/bin/zkbench, and destroys it:
#   startup               launch -> leader elected and every member serving
#   create/setData/getData ops/s through a follower, pipelined (CONNS x OUTSTANDING)
#   setData/getData ops/s through the observer (3+1)
#   one-at-a-time setData through a follower: p50 / p99
#   ensemble CPU per op (all members), RSS of all members after the load
#   failover              a one-at-a-time setData loop starting on a follower; the leader
#                         gets kill -9 after --kill-after s; outage = kill -> first successful
#                         write sent after it; also the longest gap between two writes
# Medians over the repetitions go into a table (metric | gregor | zookeeper | ratio | target)
# on stdout and as markdown in the -o file. `bench/run-ensemble-bench.sh -h` for options.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
zkbench=${ZKBENCH:-$root/build/bin/zkbench}
zke=$root/tests/lib/zkensemble.py
py=/usr/bin/python3
out_md=$root/build/bench/ensemble-bench.md
reps=3 secs=5 warm=1 conns=1 outstanding=100 size=100 keys=1000
only=both keep=0 quick=0 tick=2000 fo_secs=6 kill_after=2
shapes="3 3+1"
gregor_label=gregor
gregor_kind=gregor
args_given=("$@")

usage() {
    cat <<EOF
usage: bench/run-ensemble-bench.sh [options]
  -o FILE            markdown report (default build/bench/ensemble-bench.md)
  -n REPS            repetitions; medians are reported (default 3)
  -t SECS            seconds per throughput / latency run (default 5)
  --warmup SECS      unmeasured load before each run (default 1)
  --quick            1 repetition, 3 s runs, 0.5 s warm-up
  --shapes LIST      "3", "3+1" or "3 3+1" (default both)
  --conns N          connections for the pipelined runs (default 1)
  --outstanding M    requests in flight per connection (default 100)
  --size BYTES       znode data size (default 100)
  --failover-secs S  length of the failover run (default 6) ...
  --kill-after S     ... the leader is killed this far into it (default 2)
  --tick MS          tickTime of both kinds (default 2000)
  --only gregor|zookeeper   measure one kind only
  --gregor-bin PATH  the gregor-coord binary (default build/bin/gregor-coord)
  --zk-jvm "FLAGS"   JVM options of the Apache servers (default: the test harness's
                     -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
  --keep             keep the ensembles' directories and logs
Environment: GREGOR_COORD=apache puts Apache ZooKeeper in the gregor slot too (to test
this script); ZKBENCH=path overrides the load tool.
Exit status: 0 if every ensemble started and every run went as planned.
EOF
}

while (($#)); do
    case $1 in
    -o) out_md=$2; shift ;;
    -n) reps=$2; shift ;;
    -t) secs=$2; shift ;;
    --warmup) warm=$2; shift ;;
    --quick) quick=1 ;;
    --shapes) shapes=$2; shift ;;
    --conns) conns=$2; shift ;;
    --outstanding) outstanding=$2; shift ;;
    --size) size=$2; shift ;;
    --failover-secs) fo_secs=$2; shift ;;
    --kill-after) kill_after=$2; shift ;;
    --tick) tick=$2; shift ;;
    --only) only=$2; shift ;;
    --gregor-bin) export GREGOR_COORD=$2; shift ;;
    --zk-jvm) export ZKH_JVM_FLAGS=$2; shift ;;
    --keep) keep=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-ensemble-bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if ((quick)); then reps=1 secs=3 warm=0.5; fi
shapes=${shapes//,/ }
for s in $shapes; do
    [[ $s == 3 || $s == 3+1 ]] || { echo "run-ensemble-bench: --shapes takes 3 and/or 3+1" >&2; exit 2; }
done
case $only in both|gregor|zookeeper) ;; *) echo "run-ensemble-bench: --only gregor|zookeeper" >&2; exit 2 ;; esac
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "run-ensemble-bench: -n wants a positive integer" >&2; exit 2; }
if [[ ${GREGOR_COORD:-} == apache ]]; then
    unset GREGOR_COORD
    gregor_kind=apache
    gregor_label="gregor (Apache stand-in)"
fi
unset GREGOR_REQUIRE_ENSEMBLE
[[ -x $zkbench ]] || { echo "run-ensemble-bench: $zkbench is missing; run make first" >&2; exit 2; }
if [[ $only != gregor || $gregor_kind == apache ]] && ! [[ -r /usr/share/java/zookeeper.jar ]]; then
    echo "run-ensemble-bench: Apache ZooKeeper is not installed (apt-get install zookeeper)" >&2
    exit 2
fi
gregor_bin=${GREGOR_COORD:-$root/build/bin/gregor-coord}
if [[ $only != zookeeper && $gregor_kind == gregor && ! -x $gregor_bin ]]; then
    echo "run-ensemble-bench: $gregor_bin is missing; run make first" >&2
    exit 2
fi

work=$(mktemp -d /tmp/ensemble-bench.XXXXXX)
raw=$work/raw.tsv          # server <tab> rep <tab> metric <tab> value
: >"$raw"
warnings=()
ens_dir=
failed=" "

cleanup() {
    [[ -n $ens_dir ]] && destroy
    if ((keep)); then echo "run-ensemble-bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "run-ensemble-bench: interrupted" >&2; exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1" | head -1; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$raw"; }

destroy() {
    local d=$ens_dir
    ens_dir=
    if ((keep)); then
        "$py" "$zke" kill9 "$d" all >/dev/null 2>&1
    else
        "$py" "$zke" destroy "$d" >/dev/null 2>&1 || "$py" "$zke" kill9 "$d" all >/dev/null 2>&1
    fi
}

rss_mib() {   # pids... -> sum of VmRSS in MiB
    local k=0 p v
    for p in "$@"; do
        v=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$p/status" 2>/dev/null)
        k=$((k + ${v:-0}))
    done
    awk -v k="$k" 'BEGIN{printf "%.1f", k/1024}'
}

# One zkbench load run; records ops/s, p50/p99 and ensemble CPU per op under key.
measure() {   # server rep key mode addr conns outstanding
    local server=$1 rep=$2 key=$3 mode=$4 addr=$5 c=$6 o=$7 line rc
    line=$("$zkbench" -s "$addr" -m "$mode" -t "$secs" -w "$warm" -c "$c" -o "$o" -d "$size" -k "$keys" \
        -p "/zkbench-$key" --pid "$all_pids" 2>"$work/zkbench.err")
    rc=$?
    local ops errs
    ops=$(field "$line" ops_per_s) errs=$(field "$line" errors)
    if [[ -z $ops || $ops == 0 ]]; then
        warnings+=("$server rep $rep $key: no successful operations ($(tr '\n' ' ' <"$work/zkbench.err" | cut -c1-300))")
        log "    $key: FAILED: $(head -3 "$work/zkbench.err")"
        return 1
    fi
    ((rc != 0)) && warnings+=("$server rep $rep $key: $errs errors ($(grep -E '^    |^zkbench: ' "$work/zkbench.err" |
        grep -v ' against ' | sed 's/^ *//' | tr '\n' ';' | cut -c1-300))")
    record "$server" "$rep" "${key}_ops" "$ops"
    record "$server" "$rep" "${key}_p50" "$(field "$line" p50_us)"
    record "$server" "$rep" "${key}_p99" "$(field "$line" p99_us)"
    record "$server" "$rep" "${key}_cpu_us" "$(field "$line" server_us_per_op)"
    record "$server" "$rep" other_cores "$(field "$line" other_cores)"
    log "    $key: $ops ops/s, p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us, errors $errs;" \
        "ensemble CPU $(field "$line" server_us_per_op) us/op, other processes $(field "$line" other_cores) cores"
    return $((rc != 0))
}

# One ensemble of one kind and shape: start, measure, kill the leader, destroy. 0 / 1.
bench_ensemble() {   # server rep shape
    local server=$1 rep=$2 shape=$3 kind observers=0 t0 ms
    [[ $server == gregor ]] && kind=$gregor_kind || kind=apache
    [[ $shape == 3+1 ]] && observers=1
    local tag="$server/$shape rep $rep"
    ens_dir=$work/$server-$shape-$rep
    log "$tag: starting a $kind ensemble (3 voters + $observers observer)"
    t0=$(date +%s%3N)
    "$py" "$zke" start "$kind" "$ens_dir" --voters 3 --observers "$observers" --tick "$tick" \
        forceSync=yes >"$work/members" 2>"$work/start.err"
    local rc=$?
    ms=$(( $(date +%s%3N) - t0 ))
    if ((rc != 0)); then
        local why
        why=$(grep -E '^(SKIP|FAIL|start failed)' "$work/start.err" | head -1)
        echo "run-ensemble-bench: $tag: the $kind ensemble FAILED TO START: ${why:-exit $rc}" >&2
        sed 's/^/    /' "$work/start.err" | tail -n 20 >&2
        warnings+=("$tag: failed to start: ${why:-exit $rc} $(grep -v -e '^---' -e '^SKIP' -e '^FAIL' -e '^start failed' "$work/start.err" | grep . | tail -n 2 | tr '\n' ' ' | cut -c1-300)")
        ens_dir=
        return 1
    fi
    record "$server" "$rep" "${shape}_startup_ms" "$ms"
    local leader lsid lport lpid
    leader=$("$py" "$zke" leader "$ens_dir") || { warnings+=("$tag: no leader after start"); destroy; return 1; }
    read -r lsid lport lpid <<<"$leader"
    local follower observer others="" sid role port pid
    all_pids=
    while read -r sid role port pid; do
        all_pids+=${all_pids:+,}$pid
        if [[ $role == observer ]]; then observer=127.0.0.1:$port
        elif [[ $sid != "$lsid" && -z ${follower:-} ]]; then follower=127.0.0.1:$port
        elif [[ $sid != "$lsid" ]]; then others+=",127.0.0.1:$port"
        fi
    done <"$work/members"
    log "  ready after $ms ms; leader is member $lsid; measuring through follower $follower${observer:+ and observer $observer}"
    local ok=0 p=$shape
    measure "$server" "$rep" "${p}_f_create" create "$follower" "$conns" "$outstanding" || ok=1
    measure "$server" "$rep" "${p}_f_set" set "$follower" "$conns" "$outstanding" || ok=1
    measure "$server" "$rep" "${p}_f_get" get "$follower" "$conns" "$outstanding" || ok=1
    measure "$server" "$rep" "${p}_f_sync" sync-set "$follower" 1 1 || ok=1
    if [[ -n ${observer:-} ]]; then
        measure "$server" "$rep" "${p}_o_set" set "$observer" "$conns" "$outstanding" || ok=1
        measure "$server" "$rep" "${p}_o_get" get "$observer" "$conns" "$outstanding" || ok=1
    fi
    record "$server" "$rep" "${p}_rss_mib" "$(rss_mib ${all_pids//,/ })"
    # failover: start on the follower, every member in the list, the leader last
    local list="$follower${observer:+,$observer}$others,127.0.0.1:$lport" line
    line=$("$zkbench" -m failover -s "$list" -t "$fo_secs" --kill-pid "$lpid" --kill-after "$kill_after" \
        -d "$size" -p "/zkbench-failover" 2>"$work/failover.err")
    local outage gap
    outage=$(field "$line" outage_ms) gap=$(field "$line" max_gap_ms)
    if [[ -z $outage || $outage == -1.0 ]]; then
        warnings+=("$tag failover: no write succeeded after the leader was killed ($(tr '\n' ' ' <"$work/failover.err" | cut -c1-300))")
        log "    failover: FAILED: $(tail -3 "$work/failover.err" | tr '\n' ' ')"
        ok=1
    else
        record "$server" "$rep" "${p}_outage_ms" "$outage"
        record "$server" "$rep" "${p}_gap_ms" "$gap"
        [[ $(field "$line" session_kept) == 1 ]] || warnings+=("$tag failover: the session did not survive")
        log "    failover: kill -9 of leader $lsid -> first write after $outage ms; longest gap $gap ms;" \
            "$(field "$line" reconnects) reconnect(s), session kept $(field "$line" session_kept)"
    fi
    destroy
    return $ok
}

median() {   # server metric -> median over reps, or empty
    awk -F'\t' -v s="$1" -v m="$2" '$1==s && $3==m && $4!="" {print $4}' "$raw" | sort -g |
        awk '{v[NR]=$1} END {if (NR==0) exit; if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

start_s=$(date +%s)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
log "ensemble benchmark: shapes $shapes; $reps rep(s), ${secs}s runs (+${warm}s warm-up), $conns conn x $outstanding outstanding, ${size}-byte data"
overall=0
for ((rep = 1; rep <= reps; rep++)); do
    order=(gregor zookeeper)
    ((rep % 2 == 0)) && order=(zookeeper gregor)
    for shape in $shapes; do
        for server in "${order[@]}"; do
            [[ $only != both && $only != "$server" ]] && continue
            [[ $failed == *" $server "* ]] && continue
            if ! bench_ensemble "$server" "$rep" "$shape"; then
                overall=1
                grep -q "^$server	$rep	${shape}_startup_ms" "$raw" || failed+="$server "
            fi
        done
    done
done
elapsed=$(( $(date +%s) - start_s ))

# ---- noise: CPU that neither the ensemble nor zkbench used, during the measured runs
noise=$(awk -F'\t' '$3=="other_cores" && $4 > m {m=$4} END {print m+0}' "$raw")
if awk -v n="$noise" 'BEGIN{exit !(n > 0.25)}'; then
    warnings+=("the machine was busy: other processes used up to $noise of $(nproc) cores during the runs; compare ratios with care and re-run on a quiet machine")
fi

rows=()
for shape in $shapes; do
    rows+=(
        "${shape}_f_create_ops|$shape: create ops/s via a follower (pipelined)|>=|3"
        "${shape}_f_set_ops|$shape: setData ops/s via a follower (pipelined)|>=|3"
        "${shape}_f_get_ops|$shape: getData ops/s via a follower (pipelined)|>=|2"
    )
    [[ $shape == 3+1 ]] && rows+=(
        "${shape}_o_set_ops|$shape: setData ops/s via the observer (pipelined)|>=|3"
        "${shape}_o_get_ops|$shape: getData ops/s via the observer (pipelined)|>=|2"
    )
    rows+=(
        "${shape}_f_sync_p50|$shape: setData one at a time via a follower: p50 µs||"
        "${shape}_f_sync_p99|$shape: setData one at a time via a follower: p99 µs||"
        "${shape}_outage_ms|$shape: failover: kill -9 leader → first write, ms|<=|0.5"
        "${shape}_gap_ms|$shape: failover: longest gap between writes, ms||"
        "${shape}_f_set_cpu_us|$shape: ensemble CPU µs per setData (all members)||"
        "${shape}_f_get_cpu_us|$shape: ensemble CPU µs per getData (all members)||"
        "${shape}_startup_ms|$shape: startup ms (launch → leader + all serving)||"
        "${shape}_rss_mib|$shape: RSS MiB, all members, after the load||"
    )
done
rows+=("other_cores|other processes' CPU during the runs, cores (noise)||")
fmt_num() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else if (v >= 100 || v == int(v)) printf "%.0f", v; else printf "%.1f", v }'; }
table="| metric | $gregor_label | zookeeper | ratio | target | met |
|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
    IFS='|' read -r key label cmp tgt <<<"$row"
    g=$(median gregor "$key") z=$(median zookeeper "$key")
    ratio="—" met="—" target="—"
    [[ -n $cmp ]] && target="$cmp ${tgt}x"
    if [[ $key != other_cores && -n $g && -n $z ]] && awk -v z="$z" 'BEGIN{exit !(z > 0)}'; then
        ratio=$(awk -v g="$g" -v z="$z" 'BEGIN{r=g/z; printf (r < 0.1 ? "%.3fx" : "%.2fx"), r}')
        if [[ -n $cmp ]]; then
            met=$(awk -v g="$g" -v z="$z" -v t="$tgt" -v c="$cmp" 'BEGIN{r=g/z; ok = (c == ">=") ? r >= t : r <= t; print ok ? "yes" : "NO"}')
        fi
    fi
    table+="
| $label | $(fmt_num "$g") | $(fmt_num "$z") | $ratio | $target | $met |"
done

per_run="| server | shape | rep | startup ms | create/s | set/s | get/s | obs set/s | obs get/s | sync p50 µs | outage ms | max gap ms |
|---|---|---|---|---|---|---|---|---|---|---|---|"
for server in gregor zookeeper; do
    for shape in $shapes; do
        for ((rep = 1; rep <= reps; rep++)); do
            grep -q "^$server	$rep	${shape}_" "$raw" || continue
            line="| $server | $shape | $rep"
            for m in startup_ms f_create_ops f_set_ops f_get_ops o_set_ops o_get_ops f_sync_p50 outage_ms gap_ms; do
                v=$(awk -F'\t' -v s="$server" -v r="$rep" -v m="${shape}_$m" '$1==s && $2==r && $3==m {print $4}' "$raw")
                line+=" | ${v:-—}"
            done
            per_run+="
$line |"
        done
    done
done

zk_version=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo unknown)
java_version=$(java -version 2>&1 | head -1)
jvm=${ZKH_JVM_FLAGS:-"-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"}
if [[ $gregor_kind == apache ]]; then gdesc="Apache ZooKeeper (GREGOR_COORD=apache stand-in)"
else gdesc="\`$gregor_bin zoo.cfg\` per member"; fi
mkdir -p "$(dirname "$out_md")"
{
    echo "# Ensemble benchmark: gregor-coord vs Apache ZooKeeper"
    echo
    echo "- date: $(date '+%Y-%m-%d %H:%M %Z'); took ${elapsed} s"
    echo "- command: \`bench/run-ensemble-bench.sh${args_given[*]:+ ${args_given[*]}}\`"
    echo "- host: $(nproc) cores, $(uname -sr), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; load average at start $loadavg"
    echo "- shapes: $shapes (3 voters, + 1 observer); one ensemble at a time, fresh directories under /tmp," \
         "loopback, tickTime $tick, initLimit 10, syncLimit 5, forceSync=yes, admin server off"
    echo "- load: zkbench, $reps repetition(s) (medians shown), ${secs} s per run after ${warm} s warm-up," \
         "$conns connection(s) x $outstanding outstanding, $size-byte data over $keys nodes;" \
         "one-at-a-time runs use 1 x 1; failover: ${fo_secs} s one-at-a-time setData, leader killed at ${kill_after} s," \
         "the client starts on a follower and moves through every member with its session"
    echo "  - gregor: $gdesc"
    echo "  - zookeeper $zk_version: \`java $jvm ... QuorumPeerMain zoo.cfg\` per member ($java_version)"
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
