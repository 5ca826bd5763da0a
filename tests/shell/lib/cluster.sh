# cluster.sh — helpers for tests/shell/cluster_*.sh (sourced, not run; it
# sources common.sh): build a program of tests/programs/cluster, write a
# config for real nodes on free 127.0.0.1 ports, start `kafu serve` processes
# (killed at exit by pid), wait for them, talk HTTP to them. On failure the
# last lines of every node's stdout/stderr ($T/NODE.out, $T/NODE.err) are shown.
source "$KAFU_SRC/tests/shell/lib/common.sh"
PROGS="$KAFU_SRC/tests/programs/cluster"

fail_context() { tail_logs "$T"/*.err "$T"/*.out; }

# build NAME -> $T/NAME.wasm from tests/programs/cluster/NAME.c, checked to be Snapified
build() {
  "$KAFU" cc -O2 -I"$KAFU_SRC/include" "$PROGS/$1.c" -o "$T/$1.wasm" >"$T/cc-$1.log" 2>&1 ||
    { cat "$T/cc-$1.log" >&2; fail "kafu cc $1.c"; }
  "$KAFU" inspect "$T/$1.wasm" 2>&1 | grep -q '^snapified: *yes' || fail "$1.wasm is not Snapified"
}

# config FILE WASM 'ARGS' NODE=PORT... [-- extra yaml lines for `cluster:`]
# e.g. config $T/c.yaml pingpong.wasm '["3"]' a=5001 b=5002 -- "  token: s3cret"
config() {
  local file=$1 wasm=$2 args=$3
  shift 3
  {
    echo "name: test"
    echo "app:"
    echo "  path: $wasm"
    echo "  args: $args"
    echo "  preopened_dir: ."
    echo "nodes:"
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
      echo "  ${1%%=*}:"
      echo "    address: 127.0.0.1"
      echo "    port: ${1#*=}"
      shift
    done
    echo "cluster:"
    echo "  startup_timeout_ms: 20000"
    echo "  heartbeat:"
    echo "    interval_ms: ${HB_MS:-100}"
    echo "    follower_on_coordinator_lost: ${ON_LOST:-shutdown_self}"
    [ $# -gt 0 ] && shift
    while [ $# -gt 0 ]; do
      echo "$1"
      shift
    done
  } >"$file"
}

# serve NODE CONFIG [extra args] -> starts `kafu serve` in the background;
# its pid is in $LAST_PID, output in $T/NODE.out / $T/NODE.err
serve() {
  local node=$1 cfg=$2
  shift 2
  : >"$T/$node.out"; : >"$T/$node.err" # truncate now, not whenever the background job gets to it
  "$KAFU" serve --node-id "$node" "$@" "$cfg" >>"$T/$node.out" 2>>"$T/$node.err" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# kill9 PID -> SIGKILL a process this test started, and reap it quietly
kill9() {
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# wait_ready PORT [SECONDS] -> until GET /readyz answers 200
wait_ready() {
  local port=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 20; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && return 0
    sleep 0.05
  done
  fail "node on port $port not ready after ${limit}s"
}

# wait_exit PID SECONDS -> sets $EXIT_CODE; fails when still running after SECONDS
wait_exit() {
  local pid=$1 limit=$2 i
  for ((i = 0; i < limit * 20; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      EXIT_CODE=$?
      return 0
    fi
    sleep 0.05
  done
  fail "process $pid still running after ${limit}s"
}

# http METHOD PORT PATH [curl args] -> sets $HTTP_STATUS and $HTTP_BODY (call it
# directly, not in $(...), or the variables are lost)
http() {
  local m=$1 port=$2 path=$3
  shift 3
  local out
  out=$(curl -s -X "$m" -w '\n%{http_code}' "$@" "http://127.0.0.1:$port$path")
  HTTP_STATUS=${out##*$'\n'}
  HTTP_BODY=${out%$'\n'*}
}
# status PORT PATH -> prints the HTTP status of a GET
status_of() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }
# get PORT PATH -> prints the body of a GET
get() { curl -s "http://127.0.0.1:$1$2"; }

# json_get KEY <<< JSON  (top-level key, printed as Python prints it)
json_get() {
  python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[sys.argv[1]] if not isinstance(v[sys.argv[1]], bool) else str(v[sys.argv[1]]).lower())' "$1"
}

# count of migration events in an events file
migrations_in() { grep -c '"type":"migration"' "$1" || true; }

# ---- runs of tests/programs/cluster/failover.c (failover, identity, restore) ----
# The program and the tests synchronize through marker files in $T (every
# node of a loopback test shares it as its preopened directory).

# await NAME [SECONDS] -> until the program created $T/NAME
await() {
  local i
  for ((i = 0; i < ${2:-30} * 100; i++)); do [ -e "$T/$1" ] && return 0; sleep 0.01; done
  fail "no $1 after ${2:-30} s"
}
# idle_at PORT -> until that node is idle: a caller is idle once it processed
# the acknowledgement of its send (it keeps the entry checkpoint from then on)
idle_at() {
  local i
  for ((i = 0; i < 1000; i++)); do [ "$(get "$1" /status | json_get state 2>/dev/null)" = idle ] && return 0; sleep 0.01; done
  fail "node on port $1 never idle"
}
# fo_reset -> remove the program's markers and its effects file
fo_reset() { rm -f "$T"/in-work "$T"/in-inner "$T"/effects.log "$T"/go-* "$T"/work-done "$T"/a-ready "$T"/a-between; }
# fo_config FILE ARGS [NODE=PD] [-- cluster lines] -> nodes a b c on free
# ports $PA $PB $PC, and one more node on the free port $PD when asked
fo_config() {
  local file=$1 args=$2 a more=()
  shift 2
  read -r PA PB PC PD <<<"$(free_ports 4)"
  for a in "$@"; do [ "${a#*=}" = PD ] && more+=("${a%%=*}=$PD") || more+=("$a"); done
  config "$file" failover.wasm "$args" a="$PA" b="$PB" c="$PC" "${more[@]}"
}
# fo_start CONFIG [a's extra args] -> serve c, b, a: $PID_A $PID_B $PID_C
fo_start() {
  local cfg=$1
  shift
  serve c "$cfg"; PID_C=$LAST_PID
  serve b "$cfg"; PID_B=$LAST_PID
  serve a "$cfg" "$@"; PID_A=$LAST_PID
}
# fo_done CODE WHAT -> a exits with CODE, then b and c end too
fo_done() {
  wait_exit "$PID_A" 30
  [ "$EXIT_CODE" = "$1" ] || fail "$2: exit $EXIT_CODE, expected $1"
  wait_exit "$PID_B" 10
  wait_exit "$PID_C" 10
}
# work_runs -> how often work() ran (lines of effects.log)
work_runs() { grep -c 'work ran' "$T/effects.log" 2>/dev/null || echo 0; }
