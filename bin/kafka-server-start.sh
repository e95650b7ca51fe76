#!/usr/bin/env bash
# kafka-server-start.sh — starts gregor-broker the way Apache Kafka's script starts a broker:
#
#   kafka-server-start.sh [-daemon] server.properties [--override property=value]*
#
# Without -daemon it execs build/bin/gregor-broker in the foreground. With -daemon it runs it
# in the background (nohup, stdin from /dev/null) with stdout and stderr going to
# $LOG_DIR/kafkaServer.out, as Kafka's kafka-run-class.sh does (LOG_DIR defaults to logs/ next
# to bin/). The binary is looked up in $GREGOR_HOME/build/bin, $GREGOR_HOME/bin, ../build/bin
# next to this script, next to this script, then on PATH ($GREGOR_BROKER_BIN overrides).
# KAFKA_HEAP_OPTS, KAFKA_OPTS and friends are JVM settings and are ignored.
set -u

if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
    exit 1
fi

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

BROKER_BIN=${GREGOR_BROKER_BIN:-$(find_gregor_bin gregor-broker)} || {
    echo "kafka-server-start.sh: cannot find gregor-broker (build it with 'make', or set GREGOR_HOME)" >&2
    exit 1
}

DAEMON_MODE=false
if [ "$1" = "-daemon" ]; then
    DAEMON_MODE=true
    shift
fi
if [ $# -lt 1 ]; then
    echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
    exit 1
fi

if $DAEMON_MODE; then
    self=$(readlink -f "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")
    base_dir=$(cd "$(dirname "$self")/.." && pwd)
    LOG_DIR=${LOG_DIR:-$base_dir/logs}
    mkdir -p "$LOG_DIR" || { echo "kafka-server-start.sh: cannot create LOG_DIR $LOG_DIR" >&2; exit 1; }
    CONSOLE_OUTPUT_FILE=$LOG_DIR/kafkaServer.out
    nohup "$BROKER_BIN" "$@" > "$CONSOLE_OUTPUT_FILE" 2>&1 < /dev/null &
    exit 0
fi
exec "$BROKER_BIN" "$@"
