#!/usr/bin/env bash
# kafka-server-stop.sh — sends SIGTERM (or $SIGNAL, as Kafka's script) to every gregor-broker
# process of this machine, like Apache Kafka's script does to its kafka.Kafka JVMs. Prints
# "No kafka server to stop" and exits 1 when there is none.
set -u
SIGNAL=${SIGNAL:-TERM}
PIDS=$(ps ax -o pid=,comm= | awk '$2 == "gregor-broker" { print $1 }')
if [ -z "$PIDS" ]; then
    echo "No kafka server to stop"
    exit 1
fi
kill -s "$SIGNAL" $PIDS
