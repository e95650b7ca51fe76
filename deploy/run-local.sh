#!/usr/bin/env bash
# Starts (or stops) a local Gregor cluster for trying things out: `make run` / `make stop`.
#
# The coordinator is a three-server ensemble on loopback, started with bin/zkServer.sh
# and the same zoo.cfg files Apache ZooKeeper would take (server.N lines + myid):
#   server.1  client 127.0.0.1:2181  quorum 2888  election 3888
#   server.2  client 127.0.0.1:2182  quorum 2889  election 3889
#   server.3  client 127.0.0.1:2183  quorum 2890  election 3890
# (COORD_PORT moves the client ports, COORD_QUORUM_PORT / COORD_ELECTION_PORT the others;
# COORD_SERVERS=1 runs a single standalone coordinator instead.)
# Then one broker, build/bin/gregor-broker, with run/broker/server.properties (a copy of
# deploy/server.properties.example pointed at the ensemble), listening on 127.0.0.1:9092
# (BROKER_PORT moves it; BROKERS=0 starts none).
# State lives under ./run/ (run/coordN/zoo.cfg, run/coordN/data, run/logs/coordN/,
# run/broker/kafka-logs, run/logs/broker/server.log).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
port=${COORD_PORT:-2181}
qport=${COORD_QUORUM_PORT:-2888}
eport=${COORD_ELECTION_PORT:-3888}
n=${COORD_SERVERS:-3}
bport=${BROKER_PORT:-9092}
nbrokers=${BROKERS:-1}
export GREGOR_COORD=${GREGOR_COORD:-$top/build/bin/gregor-coord}
broker_bin=${GREGOR_BROKER:-$top/build/bin/gregor-broker}

start_broker() {
    local d=$run/broker pidf=$run/broker/broker.pid
    mkdir -p "$d" "$run/logs/broker"
    if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        echo "broker already running (pid $(cat "$pidf"))"
        return 0
    fi
    {
        echo "# Written by deploy/run-local.sh (make run) from deploy/server.properties.example"
        grep -v -E '^(log\.dirs|zookeeper\.connect|listeners)=' "$top/deploy/server.properties.example"
        echo "listeners=PLAINTEXT://127.0.0.1:$bport"
        echo "log.dirs=$d/kafka-logs"
        echo "zookeeper.connect=$(connect_string)"
    } > "$d/server.properties"
    : > "$run/logs/broker/server.log"
    nohup "$broker_bin" "$d/server.properties" >> "$run/logs/broker/server.log" 2>&1 < /dev/null &
    echo $! > "$pidf"
    local i
    for i in $(seq 200); do
        if grep -q "started in" "$run/logs/broker/server.log"; then
            return 0
        fi
        if ! kill -0 "$(cat "$pidf")" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "the broker did not start; run/logs/broker/server.log:" >&2
    tail -20 "$run/logs/broker/server.log" >&2
    return 1
}

stop_broker() {
    local pidf=$run/broker/broker.pid
    [[ -f $pidf ]] || return 0
    local pid
    pid=$(cat "$pidf")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
}

four_letter() { # port word
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "%s" "$2" >&3; cat <&3' _ "$1" "$2" \
        2>/dev/null || true
}

mode_of() { # port -> leader|follower|standalone|... (empty while not serving)
    four_letter "$1" srvr | sed -n 's/^Mode: //p'
}

write_config() { # i
    local i=$1 d=$run/coord$1
    mkdir -p "$d/data"
    echo "$i" > "$d/data/myid"
    {
        echo "# Written by deploy/run-local.sh (make run); see deploy/zoo-ensemble.cfg.example"
        echo "tickTime=2000"
        echo "initLimit=10"
        echo "syncLimit=5"
        echo "dataDir=$d/data"
        echo "clientPort=$((port + i - 1))"
        echo "clientPortAddress=127.0.0.1"
        echo "4lw.commands.whitelist=*"
        if [[ $n -gt 1 ]]; then
            local k
            for ((k = 1; k <= n; k++)); do
                echo "server.$k=127.0.0.1:$((qport + k - 1)):$((eport + k - 1))"
            done
        fi
    } > "$d/zoo.cfg"
}

connect_string() {
    local k s=""
    for ((k = 1; k <= n; k++)); do s+="${s:+,}127.0.0.1:$((port + k - 1))"; done
    echo "$s"
}

case "${1:-start}" in
start)
    mkdir -p "$run/logs"
    for ((i = 1; i <= n; i++)); do
        if [[ -f $run/coord$i/data/zookeeper_server.pid ]] &&
            kill -0 "$(cat "$run/coord$i/data/zookeeper_server.pid")" 2>/dev/null; then
            echo "coordinator $i already running (pid $(cat "$run/coord$i/data/zookeeper_server.pid"))"
            continue
        fi
        write_config "$i"
        mkdir -p "$run/logs/coord$i"
        if ! ZOO_LOG_DIR=$run/logs/coord$i "$top/bin/zkServer.sh" start "$run/coord$i/zoo.cfg" >/dev/null 2>&1; then
            echo "coordinator $i did not start; see $run/logs/coord$i/:" >&2
            tail -20 "$run/logs/coord$i/"*.out >&2 || true
            exit 1
        fi
    done
    # serving: a standalone server at once, an ensemble once it elected a leader
    ok=0
    for _ in $(seq 200); do
        ok=1
        for ((i = 1; i <= n; i++)); do
            case "$(mode_of $((port + i - 1)))" in leader | follower | standalone | observer) ;; *) ok=0 ;; esac
        done
        [[ $ok -eq 1 ]] && break
        sleep 0.1
    done
    if [[ $ok -ne 1 ]]; then
        echo "the coordinators did not elect a leader within 20 s; logs:" >&2
        for ((i = 1; i <= n; i++)); do
            echo "--- coordinator $i" >&2
            tail -15 "$run/logs/coord$i/"*.out >&2 || true
        done
        exit 1
    fi
    if [[ $nbrokers -gt 0 ]]; then
        start_broker || exit 1
    fi
    echo
    echo "Gregor is running."
    for ((i = 1; i <= n; i++)); do
        printf "  coordinator %d: 127.0.0.1:%d  %-10s  config run/coord%d/zoo.cfg  log run/logs/coord%d/\n" \
            "$i" $((port + i - 1)) "$(mode_of $((port + i - 1)))" "$i" "$i"
    done
    cs=$(connect_string)
    if [[ $nbrokers -gt 0 ]]; then
        printf "  broker 0:      127.0.0.1:%d  (bootstrap servers)  config run/broker/server.properties  log run/logs/broker/\n" "$bport"
        cat <<MSG
Kafka clients: bootstrap 127.0.0.1:$bport, ZooKeeper-style tools: $cs
  kcat -b 127.0.0.1:$bport -L
  bin/kafka-topics.sh --zookeeper $cs --create --topic demo --partitions 3 --replication-factor 1
  echo hello | bin/kafka-console-producer.sh --broker-list 127.0.0.1:$bport --topic demo
  bin/kafka-console-consumer.sh --bootstrap-server 127.0.0.1:$bport --topic demo --from-beginning
MSG
    fi
    cat <<MSG
Try:
  bin/zkCli.sh -server $cs        # the shell (also: build/bin/gregor zk)
  echo srvr | nc 127.0.0.1 $port                  # four-letter words (Mode: leader/follower)
  /usr/bin/python3 -c "from kazoo.client import KazooClient as K; z=K('$cs'); z.start(); print(z.get_children('/'))"
  bin/zkServer.sh status run/coord1/zoo.cfg       # one server; stop/start it to watch a new election
Stop it with: make stop
MSG
    ;;
stop)
    stop_broker
    for d in "$run"/coord*; do
        [[ -f $d/zoo.cfg ]] || continue
        "$top/bin/zkServer.sh" stop "$d/zoo.cfg" >/dev/null 2>&1 || true
    done
    # the single-coordinator layout of earlier versions
    if [[ -f $run/coord1.pid ]]; then
        pid=$(cat "$run/coord1.pid")
        kill "$pid" 2>/dev/null || true
        rm -f "$run/coord1.pid"
    fi
    echo "stopped"
    ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
