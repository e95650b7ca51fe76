#!/usr/bin/env bash
# kafka-server-stop.sh — sends SIGTERM (or $SIGNAL, as Kafka's script) to the gregor-broker
# processes of this machine, like Apache Kafka's script does to its kafka.Kafka JVMs, and
# prints "No kafka server to stop" (exit 1) when there is none.
#
#   kafka-server-stop.sh [server.properties]
#
# Gregor extension: with a properties file, only the brokers started with that file (same
# argument on their command line) are signalled, so one of several brokers on a machine can be
# stopped.
set -u
SIGNAL=${SIGNAL:-TERM}
want=${1:-}
PIDS=
for pid in $(ps ax -o pid=,comm= | awk '$2 == "gregor-broker" { print $1 }'); do
    if [ -n "$want" ]; then
        # arguments of the process, one per line
        if ! tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$want"; then
            continue
        fi
    fi
    PIDS="$PIDS $pid"
done
if [ -z "$PIDS" ]; then
    echo "No kafka server to stop"
    exit 1
fi
kill -s "$SIGNAL" $PIDS
