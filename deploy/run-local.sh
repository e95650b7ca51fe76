#!/usr/bin/env bash
# Starts (or stops) a local Gregor cluster for trying things out: `make run` / `make stop`.
# State lives under ./run/ (data, logs, pid files). Ports: coordinator 2181 (or COORD_PORT).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
port=${COORD_PORT:-2181}

stop_one() { # pidfile
    local pf=$1
    [[ -f $pf ]] || return 0
    local pid; pid=$(cat "$pf")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pf"
}

ruok() { # port
    exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
    printf ruok >&3
    local r; r=$(timeout 2 cat <&3 || true)
    exec 3<&- 3>&-
    [[ $r == imok ]]
}

case "${1:-start}" in
start)
    mkdir -p "$run/coord1/data" "$run/logs"
    if [[ -f $run/coord1.pid ]] && kill -0 "$(cat "$run/coord1.pid")" 2>/dev/null; then
        echo "gregor-coord already running (pid $(cat "$run/coord1.pid"))"
    else
        cat > "$run/coord1/zoo.cfg" <<CFG
# Written by deploy/run-local.sh (make run)
tickTime=2000
dataDir=$run/coord1/data
clientPort=$port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
CFG
        nohup "$top/build/bin/gregor-coord" "$run/coord1/zoo.cfg" >"$run/logs/coord1.log" 2>&1 &
        echo $! > "$run/coord1.pid"
        for _ in $(seq 100); do ruok "$port" && break; sleep 0.05; done
        if ! ruok "$port"; then
            echo "gregor-coord did not come up; see $run/logs/coord1.log:" >&2
            tail -20 "$run/logs/coord1.log" >&2
            exit 1
        fi
    fi
    cat <<MSG

Gregor is running.
  coordinator (ZooKeeper protocol): 127.0.0.1:$port     log: run/logs/coord1.log
Try:
  bin/zkCli.sh -server 127.0.0.1:$port            # the shell (also: build/bin/gregor zk)
  echo srvr | nc 127.0.0.1 $port                  # four-letter words
  /usr/bin/python3 -c "from kazoo.client import KazooClient as K; z=K('127.0.0.1:$port'); z.start(); print(z.get_children('/'))"
Stop it with: make stop
MSG
    ;;
stop)
    stop_one "$run/coord1.pid"
    echo "stopped"
    ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
