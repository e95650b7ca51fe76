#!/usr/bin/env bash
# Four-letter words, Apache ZooKeeper 3.8 vs the target server (GREGOR_ITEST_TARGET),
# driven from the shell with tests/lib/zkharness.py (start/stop/4lw):
#   * whitelist "*": ruok, isro, srvr, stat, conf, envi, mntr, wchs, cons are compared after
#     masking run-specific values (counters, latencies, ports, paths, zxids, JVM details);
#     mntr must carry the core keys monitoring tools read;
#   * whitelist "srvr,ruok" (a restricted list): the refusal text for other words.
# Exit 0 pass, 1 fail, 77 skip (gregor-coord not functional; GREGOR_REQUIRE_COORD=1 fails).
set -u
here=$(cd "$(dirname "$0")" && pwd)
zkh="/usr/bin/python3 $here/../lib/zkharness.py"
work=$(mktemp -d /tmp/gregor-4lw.XXXXXX)
started=()
cleanup() {
    for d in "${started[@]}"; do $zkh stop "$d" >/dev/null 2>&1; done
    [[ "${ZKH_KEEP:-}" == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=
start() { # kind dir [key=value...] -> sets $port; exits the test on failure/skip (77)
    # (not called as $(start ...): the cleanup list must be updated in this shell)
    local kind=$1 dir=$2 rc
    shift 2
    started+=("$dir")
    port=$($zkh start "$kind" "$dir" "$@")
    rc=$?
    if [[ $rc -ne 0 ]]; then exit $rc; fi
}

# Masks values that legitimately differ between two servers and two runs.
norm() { # word
    case "$1" in
    srvr|stat)
        sed -E -e 's/^(Zookeeper version: 3\.8)\..*/\1.x/' \
            -e 's/^(Latency min\/avg\/max:).*/\1 <n>/' \
            -e 's/^(Received|Sent|Connections|Outstanding): .*/\1: <n>/' \
            -e 's/^(Zxid: ).*/\1<zxid>/' \
            -e 's/^ \/127\.0\.0\.1:[0-9]+\[[0-9]+\]\(.*\)$/ <client>/' ;;
    cons)
        sed -E -e 's/^ \/127\.0\.0\.1:[0-9]+\[[0-9]+\]\(.*\)$/ <client>/' ;;
    conf)
        sed -E -e 's/^(clientPort|dataDir|dataLogDir|dataDirSize|dataLogSize)=.*/\1=<v>/' ;;
    envi)
        # only what clients read (kazoo server_version parses zookeeper.version)
        grep -E '^(Environment:|zookeeper\.version=)' |
            sed -E 's/^(zookeeper\.version=3\.8)\..*/\1.x/' ;;
    mntr)
        # the values that do not depend on timing, then the core keys' presence
        awk -F'\t' '$1 ~ /^zk_(server_state|znode_count|ephemerals_count|watch_count)$/ {
                        print $1 "\t" $2 }
                    $1 == "zk_version" { sub(/^3\.8\..*/, "3.8.x", $2); print $1 "\t" $2 }' |
            sort
        ;;
    *) cat ;;
    esac
}

mntr_core_keys() { # port -> missing core keys (one per line)
    local have
    have=$($zkh 4lw "$1" mntr | cut -f1)
    for k in zk_version zk_avg_latency zk_max_latency zk_min_latency zk_packets_received \
             zk_packets_sent zk_num_alive_connections zk_outstanding_requests zk_server_state \
             zk_znode_count zk_watch_count zk_ephemerals_count zk_approximate_data_size \
             zk_open_file_descriptor_count zk_max_file_descriptor_count; do
        grep -qx "$k" <<<"$have" || echo "$k"
    done
}

fail=0
compare() { # label apache-text target-text
    if [[ "$2" == "$3" ]]; then
        echo "ok    $1"
    else
        echo "DIFF  $1"
        diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/      /'
        fail=1
    fi
}

start apache "$work/a"; pa=$port
start target "$work/t"; pt=$port
kind=$($zkh target)
echo "apache on $pa, $kind on $pt"

for w in ruok isro srvr stat conf envi mntr wchs cons; do
    a=$($zkh 4lw "$pa" $w | norm $w)
    t=$($zkh 4lw "$pt" $w | norm $w)
    compare "4lw $w" "$a" "$t"
done
missing=$(mntr_core_keys "$pt")
if [[ -n "$missing" ]]; then
    echo "FAIL  mntr of $kind lacks core keys: $(echo $missing)"; fail=1
else
    echo "ok    mntr core keys present"
fi
# the reference must pass its own key check, or the check is wrong
missing=$(mntr_core_keys "$pa")
[[ -z "$missing" ]] || { echo "FAIL  apache lacks mntr keys $(echo $missing): fix the list"; fail=1; }

# restricted whitelist: refused words answer with a fixed sentence
start apache "$work/a2" "4lw.commands.whitelist=srvr,ruok"; pa2=$port
start target "$work/t2" "4lw.commands.whitelist=srvr,ruok"; pt2=$port
for w in ruok stat mntr envi conf isro wchs; do
    a=$($zkh 4lw "$pa2" $w | norm $w)
    t=$($zkh 4lw "$pt2" $w | norm $w)
    compare "whitelist=srvr,ruok: $w" "$a" "$t"
done
# sanity: the reference really refused
grep -q "not in the whitelist" <<<"$($zkh 4lw "$pa2" stat)" ||
    { echo "FAIL  apache did not refuse 'stat' with a restricted whitelist"; fail=1; }

exit $fail
