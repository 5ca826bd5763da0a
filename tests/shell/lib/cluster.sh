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
