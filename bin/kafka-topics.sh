#!/usr/bin/env bash
# kafka-topics.sh — create, list, describe, alter and delete topics (Kafka 2.x's flags; --zookeeper or --bootstrap-server)
#
# Served by Gregor's `gregor topics`: takes the same arguments as Apache Kafka's script and
# execs the gregor binary with them. The binary is looked up in $GREGOR_HOME/build/bin,
# $GREGOR_HOME/bin, next to this script's repository (../build/bin), next to this script,
# then on PATH ($GREGOR_BIN overrides all of them).
set -u

find_gregor_bin() { # name
    local name=$1 self dir top
    self=$(readlink -f "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")
    dir=$(cd "$(dirname "$self")" && pwd)
    top=$(cd "$dir/.." && pwd)
    local c
    for c in ${GREGOR_HOME:+"$GREGOR_HOME/build/bin/$name" "$GREGOR_HOME/bin/$name"} \
             "$top/build/bin/$name" "$dir/$name"; do
        if [[ -x "$c" && ! -d "$c" ]]; then echo "$c"; return 0; fi
    done
    command -v "$name" 2>/dev/null && return 0
    return 1
}

GREGOR_BIN=${GREGOR_BIN:-$(find_gregor_bin gregor)} || {
    echo "kafka-topics.sh: cannot find the gregor binary (build it with 'make', or set GREGOR_HOME)" >&2
    exit 1
}
exec "$GREGOR_BIN" topics "$@"
