#!/usr/bin/env bash
# The user-facing scripts: bin/zkServer.sh (start/status/stop/restart, pid file
# in dataDir, "Mode: standalone" from srvr), bin/zookeeper-server-start.sh
# (foreground and -daemon) and bin/zkCli.sh (argument pass-through, found via a
# symlink and via GREGOR_HOME).
#
# The server the scripts control is gregor-coord when ZK_SERVER_UNDER_TEST=gregor
# (or when it answers ruok), else Apache ZooKeeper run through a one-line
# wrapper given as GREGOR_COORD, so the scripts' mechanics are tested either
# way. GREGOR_COORD set by the caller names the gregor-coord binary to use. Loopback only, free ports, no fixed sleeps (polling with deadlines).
set -u
top=${GREGOR_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d /tmp/gregor-shell-scripts.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    [[ -f "$work/data/zookeeper_server.pid" ]] && kill -9 "$(cat "$work/data/zookeeper_server.pid")" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "  ok    $*"; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
four() { # port word
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "%s" "$2" >&3; cat <&3' _ "$1" "$2" 2>/dev/null
}
wait_until() { # seconds description command...
    local secs=$1 what=$2
    shift 2
    local end=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < end)) || fail "timed out waiting for $what"
        sleep 0.1
    done
}
serving() { four "$1" srvr | grep -q 'Mode: '; }
not_serving() { ! four "$1" ruok | grep -q imok; }

# ---- which server binary ----
user_coord=${GREGOR_COORD:-}
coord=${user_coord:-$top/build/bin/gregor-coord}
kind=${ZK_SERVER_UNDER_TEST:-}
if [[ -z "$kind" || "$kind" == both ]]; then
    kind=apache
    p=$(free_port)
    mkdir -p "$work/probe"
    printf 'tickTime=2000\ndataDir=%s/probe\nclientPort=%s\n4lw.commands.whitelist=*\n' "$work" "$p" > "$work/probe.cfg"
    if [[ -x "$coord" ]]; then
        "$coord" "$work/probe.cfg" > /dev/null 2>&1 &
        probe=$!
        pids+=("$probe")
        for _ in $(seq 30); do
            if four "$p" ruok | grep -q imok; then kind=gregor; break; fi
            kill -0 "$probe" 2>/dev/null || break
            sleep 0.1
        done
        kill "$probe" 2>/dev/null
        wait "$probe" 2>/dev/null
    fi
fi
if [[ "$kind" == apache ]]; then
    command -v java > /dev/null || { echo "skipped: no Java ZooKeeper"; exit 77; }
    cat > "$work/coord-wrapper.sh" <<'EOF'
#!/usr/bin/env bash
exec java -cp "/usr/share/java/*:/usr/share/zookeeper/*:/etc/zookeeper/conf" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$@"
EOF
    chmod +x "$work/coord-wrapper.sh"
    export GREGOR_COORD="$work/coord-wrapper.sh"
elif [[ -n "$user_coord" ]]; then
    export GREGOR_COORD="$user_coord"
else
    unset GREGOR_COORD   # the scripts must find build/bin/gregor-coord themselves
fi
echo "server under the scripts: $kind"

# ---- zkServer.sh ----
port=$(free_port)
mkdir -p "$work/conf"
cat > "$work/conf/zoo.cfg" <<EOF
tickTime=2000
dataDir=$work/data
clientPort=$port
4lw.commands.whitelist=*
admin.enableServer=false
EOF
export ZOO_LOG_DIR="$work/logs"
zks="$top/bin/zkServer.sh"

out=$("$zks" --config "$work/conf" status 2>&1)
[[ $? -eq 1 && "$out" == *"Using config: $work/conf/zoo.cfg"* && "$out" == *"Error contacting service. It is probably not running."* ]] ||
    fail "status before start: $out"
ok "zkServer.sh status reports a stopped server"

out=$("$zks" start "$work/conf/zoo.cfg" 2>/dev/null)
[[ $? -eq 0 && "$out" == "Starting zookeeper ... STARTED" ]] || fail "start: $out"
[[ -s "$work/data/zookeeper_server.pid" ]] || fail "no pid file in dataDir"
pid=$(cat "$work/data/zookeeper_server.pid")
kill -0 "$pid" || fail "pid file does not name a live process"
wait_until 60 "the server to serve" serving "$port"
ok "zkServer.sh start writes dataDir/zookeeper_server.pid"

out=$("$zks" start "$work/conf/zoo.cfg" 2>/dev/null)
[[ $? -eq 1 && "$out" == "Starting zookeeper ... already running as process $pid." ]] || fail "second start: $out"
ok "zkServer.sh start refuses a second instance"

out=$("$zks" status "$work/conf/zoo.cfg" 2>/dev/null)
[[ $? -eq 0 && "$out" == "Client port found: $port. Client address: localhost. Client SSL: false."$'\n'"Mode: standalone" ]] ||
    fail "status: $out"
ok "zkServer.sh status prints Mode: standalone"

# zkCli.sh through a symlink elsewhere, and with GREGOR_HOME
mkdir -p "$work/elsewhere"
ln -s "$top/bin/zkCli.sh" "$work/elsewhere/zkCli.sh"
out=$("$work/elsewhere/zkCli.sh" -server "127.0.0.1:$port" -timeout 10000 create /via-symlink data 2>&1)
[[ $? -eq 0 && "$out" == *"Created /via-symlink"* ]] || fail "zkCli.sh via symlink: $out"
cp "$top/bin/zkCli.sh" "$work/elsewhere/copied-zkCli.sh"
out=$(GREGOR_HOME="$top" "$work/elsewhere/copied-zkCli.sh" -server "127.0.0.1:$port" get /via-symlink 2>&1)
[[ $? -eq 0 && "$out" == *$'\n'"data" ]] || fail "zkCli.sh with GREGOR_HOME: $out"
out=$("$top/bin/zkCli.sh" -server "127.0.0.1:$port" -client-configuration /nonexistent.properties -r \
    -waitforconnection ls / 2>&1)
[[ $? -eq 0 && "$out" == *"[via-symlink, zookeeper]"* && "$out" == *"-client-configuration"*"ignored"* ]] ||
    fail "zkCli.sh options: $out"
out=$("$top/bin/zkCli.sh" -server "127.0.0.1:$port" get /nope 2>&1)
[[ $? -eq 1 && "$out" == *"Node does not exist: /nope"* ]] || fail "zkCli.sh exit status: $out"
ok "zkCli.sh passes zkCli arguments and exit status through (symlinked, copied with GREGOR_HOME)"

out=$("$zks" restart "$work/conf/zoo.cfg" 2>/dev/null)
[[ $? -eq 0 && "$out" == *"Stopping zookeeper ... STOPPED"*"Starting zookeeper ... STARTED" ]] || fail "restart: $out"
newpid=$(cat "$work/data/zookeeper_server.pid")
[[ "$newpid" != "$pid" ]] || fail "restart kept the old process"
kill -0 "$pid" 2>/dev/null && fail "restart left the old process running"
wait_until 60 "the restarted server to serve" serving "$port"
out=$("$top/bin/zkCli.sh" -server "127.0.0.1:$port" get /via-symlink 2>/dev/null)
[[ "$out" == *$'\n'"data" ]] || fail "data lost over restart: $out"
ok "zkServer.sh restart replaces the process and keeps the data"

out=$("$zks" stop "$work/conf/zoo.cfg" 2>/dev/null)
[[ $? -eq 0 && "$out" == "Stopping zookeeper ... STOPPED" ]] || fail "stop: $out"
kill -0 "$newpid" 2>/dev/null && fail "stop left the process running"
[[ -e "$work/data/zookeeper_server.pid" ]] && fail "stop left the pid file"
out=$("$zks" stop "$work/conf/zoo.cfg" 2>/dev/null)
[[ "$out" == "Stopping zookeeper ... no zookeeper to stop (could not find file $work/data/zookeeper_server.pid)" ]] ||
    fail "second stop: $out"
ok "zkServer.sh stop"

out=$("$zks" bogus 2>&1)
[[ $? -ne 0 && "$out" == *"Usage: "*"{start|start-foreground|stop|version|restart|status|print-cmd}"* ]] ||
    fail "usage: $out"
ok "zkServer.sh usage"

# ---- zookeeper-server-start.sh ----
kss="$top/bin/zookeeper-server-start.sh"
out=$("$kss" 2>&1)
[[ $? -eq 1 && "$out" == "USAGE: $kss [-daemon] zookeeper.properties" ]] || fail "usage: $out"
port2=$(free_port)
cat > "$work/zookeeper.properties" <<EOF
dataDir=$work/kdata
clientPort=$port2
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
LOG_DIR="$work/klogs" "$kss" -daemon "$work/zookeeper.properties"
[[ $? -eq 0 ]] || fail "-daemon did not return 0"
wait_until 60 "the -daemon server to serve" serving "$port2"
[[ -f "$work/klogs/zookeeper.out" ]] || fail "no \$LOG_DIR/zookeeper.out"
# the daemon's pid: the process listening on its port
dpid=$(ss -ltnpH "sport = :$port2" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[[ -n "$dpid" ]] || fail "cannot find the -daemon server's pid"
pids+=("$dpid")
kill "$dpid"
wait_until 30 "the -daemon server to stop" not_serving "$port2"
ok "zookeeper-server-start.sh -daemon"

"$kss" "$work/zookeeper.properties" > "$work/fg.out" 2>&1 &
fg=$!
pids+=("$fg")
wait_until 60 "the foreground server to serve" serving "$port2"
kill "$fg"
wait "$fg" 2>/dev/null
wait_until 30 "the foreground server to stop" not_serving "$port2"
ok "zookeeper-server-start.sh in the foreground (exec: the pid is the server)"
echo "all script checks passed"
