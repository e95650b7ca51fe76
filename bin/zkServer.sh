#!/usr/bin/env bash
# zkServer.sh — ZooKeeper's server control script, served by Gregor's
# gregor-coord.
#
#   zkServer.sh [--config <conf-dir>] {start|start-foreground|stop|restart|status|version|print-cmd} [CONFIG]
#
# As ZooKeeper's script: CONFIG defaults to $ZOOCFGDIR/zoo.cfg (ZOOCFGDIR
# defaults to <gregor home>/conf); a bare file name is looked up in ZOOCFGDIR.
# The pid file is $ZOOPIDFILE or <dataDir>/zookeeper_server.pid; the daemon's
# console output goes to $ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out.
# "status" asks the server's client port for the `srvr` four-letter word and
# prints its "Mode: ..." line.
#
# GREGOR_COORD overrides the server binary; it is otherwise looked up in
# $GREGOR_HOME/build/bin, $GREGOR_HOME/bin, ../build/bin next to this script,
# next to this script, then on PATH.
set -u

self=$(readlink -f "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")
bin_dir=$(cd "$(dirname "$self")" && pwd)
top=$(cd "$bin_dir/.." && pwd)
home=${GREGOR_HOME:-$top}

find_gregor_bin() { # name
    local c
    for c in ${GREGOR_HOME:+"$GREGOR_HOME/build/bin/$1" "$GREGOR_HOME/bin/$1"} "$top/build/bin/$1" "$bin_dir/$1"; do
        if [[ -x "$c" && ! -d "$c" ]]; then echo "$c"; return 0; fi
    done
    command -v "$1" 2>/dev/null
}

if [[ "${1:-}" == "--config" ]]; then
    shift
    ZOOCFGDIR=${1:-}
    shift
fi
ZOOCFGDIR=${ZOOCFGDIR:-$home/conf}
ZOOCFG="$ZOOCFGDIR/zoo.cfg"
if [[ -n "${2:-}" ]]; then
    ZOOCFG="$ZOOCFGDIR/$2"
    if [[ "$(dirname "$ZOOCFG")" != "$ZOOCFGDIR" ]]; then
        ZOOCFG="$2"
    fi
fi

usage() {
    echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|version|restart|status|print-cmd}" >&2
}

case "${1:-}" in
start | start-foreground | stop | restart | status | print-cmd) ;;
version)
    echo "Gregor coordinator (Apache ZooKeeper 3.8 compatible)"
    exit 0
    ;;
*)
    usage
    exit 1
    ;;
esac

echo "Using config: $ZOOCFG" >&2

# cfg_get KEY: the last value of KEY in the config file, trimmed
cfg_get() {
    [[ -r "$ZOOCFG" ]] || return 0
    grep -E "^[[:space:]]*$1[[:space:]]*=" "$ZOOCFG" | tail -n 1 | sed -e 's/^[^=]*=//' \
        -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}

ZOO_DATADIR=$(cfg_get dataDir)
if [[ -z "${ZOOPIDFILE:-}" ]]; then
    if [[ -n "$ZOO_DATADIR" && ! -d "$ZOO_DATADIR" ]]; then
        mkdir -p "$ZOO_DATADIR"
    fi
    ZOOPIDFILE="${ZOO_DATADIR:-.}/zookeeper_server.pid"
else
    mkdir -p "$(dirname "$ZOOPIDFILE")"
fi
ZOO_LOG_DIR=${ZOO_LOG_DIR:-$home/logs}
USER=${USER:-$(id -un 2>/dev/null || echo user)}
HOSTNAME=${HOSTNAME:-$(hostname 2>/dev/null || echo localhost)}
_ZOO_DAEMON_OUT="$ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out"

COORD=${GREGOR_COORD:-$(find_gregor_bin gregor-coord)}

need_coord() {
    if [[ -z "$COORD" ]]; then
        echo "cannot find gregor-coord (build it with 'make', or set GREGOR_HOME)" >&2
        exit 1
    fi
}

running_pid() { # prints the pid from the pid file if that process is alive
    [[ -f "$ZOOPIDFILE" ]] || return 1
    local pid
    pid=$(cat "$ZOOPIDFILE" 2>/dev/null)
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# The client port and address, as ZooKeeper's script finds them: clientPort /
# clientPortAddress, or the ";[addr:]port" part of this server's server.N line.
find_client_port() {
    clientPortAddress=$(cfg_get clientPortAddress)
    [[ -n "$clientPortAddress" ]] || clientPortAddress=localhost
    clientPort=$(cfg_get clientPort)
    if ! [[ "$clientPort" =~ ^[0-9]+$ ]]; then
        clientPort=
        local myid caa
        myid=$(cat "$ZOO_DATADIR/myid" 2>/dev/null)
        if ! [[ "$myid" =~ ^[0-9]+$ ]]; then
            echo "myid could not be determined, will not able to locate clientPort in the server configs."
        else
            caa=$(grep -E "^[[:space:]]*server\.$myid=.*;.*" "$ZOOCFG" | sed -e 's/.*=//' -e 's/.*;//')
            if [[ -z "$caa" ]]; then
                echo "Client port not found in the server configs"
            else
                if [[ "$caa" =~ ^.*:[0-9]+ ]]; then
                    if [[ "$caa" =~ \[.*\]:[0-9]+ ]]; then
                        clientPortAddress=$(echo "$caa" | sed -e 's|\[||' -e 's|\]:.*||')
                    else
                        clientPortAddress=$(echo "$caa" | sed -e 's/:.*//')
                    fi
                fi
                clientPort=$(echo "$caa" | sed -e 's/.*://')
            fi
        fi
    fi
}

# four_letter HOST PORT WORD: the server's answer on stdout (empty if none)
four_letter() {
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1; printf "%s" "$3" >&3; cat <&3' _ "$1" "$2" "$3" \
        2>/dev/null
}

start_daemon() {
    need_coord
    echo -n "Starting zookeeper ... "
    local pid
    if pid=$(running_pid); then
        echo "already running as process $pid."
        exit 1
    fi
    mkdir -p "$ZOO_LOG_DIR"
    nohup "$COORD" "$ZOOCFG" > "$_ZOO_DAEMON_OUT" 2>&1 < /dev/null &
    pid=$!
    if ! echo -n "$pid" > "$ZOOPIDFILE"; then
        echo FAILED TO WRITE PID
        exit 1
    fi
    # Up to a second for the process to die on a bad config (ZooKeeper's
    # script sleeps 1 s); done early once the client port answers.
    find_client_port > /dev/null
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo FAILED TO START
            rm -f "$ZOOPIDFILE"
            exit 1
        fi
        if [[ -n "$clientPort" ]] && [[ -n "$(four_letter "$clientPortAddress" "$clientPort" ruok)" ]]; then
            break
        fi
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo STARTED
    else
        echo FAILED TO START
        rm -f "$ZOOPIDFILE"
        exit 1
    fi
}

stop_daemon() {
    echo -n "Stopping zookeeper ... "
    if [[ ! -f "$ZOOPIDFILE" ]]; then
        echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
        return 0
    fi
    local pid
    pid=$(cat "$ZOOPIDFILE")
    kill "$pid" 2>/dev/null
    rm -f "$ZOOPIDFILE"
    # wait (up to 30 s) for it to go away, so a restart finds the port free
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo STOPPED
}

case "$1" in
start)
    start_daemon
    ;;
start-foreground)
    need_coord
    if [[ -n "${ZOO_NOEXEC:-}" ]]; then
        "$COORD" "$ZOOCFG"
    else
        exec "$COORD" "$ZOOCFG"
    fi
    ;;
print-cmd)
    need_coord
    echo "\"$COORD\" \"$ZOOCFG\" > \"$_ZOO_DAEMON_OUT\" 2>&1 < /dev/null"
    ;;
stop)
    stop_daemon
    exit 0
    ;;
restart)
    stop_daemon
    start_daemon
    ;;
status)
    find_client_port
    if [[ -z "$clientPort" ]]; then
        echo "Unable to find either secure or unsecure client port in any configs. Terminating."
        exit 1
    fi
    echo "Client port found: $clientPort. Client address: $clientPortAddress. Client SSL: false."
    STAT=$(four_letter "$clientPortAddress" "$clientPort" srvr | grep Mode)
    if [[ -z "$STAT" ]]; then
        echo "Error contacting service. It is probably not running."
        exit 1
    fi
    echo $STAT
    exit 0
    ;;
esac
