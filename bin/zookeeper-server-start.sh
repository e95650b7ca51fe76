#!/usr/bin/env bash
# zookeeper-server-start.sh — Kafka's script to start the coordinator, served
# by Gregor's gregor-coord.
#
#   zookeeper-server-start.sh [-daemon] zookeeper.properties
#
# In the foreground it execs `gregor-coord CONFIG`. With -daemon it runs it in
# the background (nohup), its console output in $LOG_DIR/zookeeper.out
# (LOG_DIR defaults to <gregor home>/logs), as Kafka's kafka-run-class.sh does.
# GREGOR_COORD overrides the binary; it is otherwise looked up in
# $GREGOR_HOME/build/bin, $GREGOR_HOME/bin, ../build/bin next to this script,
# next to this script, then on PATH.
set -u

if [[ $# -lt 1 ]]; then
    echo "USAGE: $0 [-daemon] zookeeper.properties"
    exit 1
fi

self=$(readlink -f "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")
bin_dir=$(cd "$(dirname "$self")" && pwd)
top=$(cd "$bin_dir/.." && pwd)

find_gregor_bin() { # name
    local c
    for c in ${GREGOR_HOME:+"$GREGOR_HOME/build/bin/$1" "$GREGOR_HOME/bin/$1"} "$top/build/bin/$1" "$bin_dir/$1"; do
        if [[ -x "$c" && ! -d "$c" ]]; then echo "$c"; return 0; fi
    done
    command -v "$1" 2>/dev/null
}

COORD=${GREGOR_COORD:-$(find_gregor_bin gregor-coord)}
if [[ -z "$COORD" ]]; then
    echo "$0: cannot find gregor-coord (build it with 'make', or set GREGOR_HOME)" >&2
    exit 1
fi

daemon=0
if [[ "$1" == "-daemon" ]]; then
    daemon=1
    shift
fi
if [[ $# -lt 1 ]]; then
    echo "USAGE: $0 [-daemon] zookeeper.properties"
    exit 1
fi

if [[ $daemon -eq 1 ]]; then
    LOG_DIR=${LOG_DIR:-${GREGOR_HOME:-$top}/logs}
    mkdir -p "$LOG_DIR"
    nohup "$COORD" "$@" > "$LOG_DIR/zookeeper.out" 2>&1 < /dev/null &
    exit 0
fi
exec "$COORD" "$@"
