#!/usr/bin/env bash
# `kafu launch` as a process manager: Ctrl-C (SIGINT) is forwarded and no node
# is left behind; a node killed mid-run that neither comes back nor has a
# standby ends the launch non-zero naming it;
# and the quick-start example (what `make demo` runs) works.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build ending

node_pid() { pgrep -f -- "serve --node-id $1 .*$2" | head -1; }
port_closed() { [ "$(status_of "$1" /healthz)" = 000 ]; }

# 1. SIGINT to launch
read -r PA PB <<<"$(free_ports 2)"
config "$T/int.yaml" ending.wasm '["slow", "100", "100"]' a="$PA" b="$PB"
"$KAFU" launch "$T/int.yaml" >"$T/int.out" 2>"$T/int.err" &
L=$!
PIDS+=("$L")
for ((i = 0; i < 300; i++)); do grep -q '^\[a\] round 2' "$T/int.out" && break; sleep 0.05; done
grep -q '^\[a\] round 2' "$T/int.out" || fail "launch: the program did not start"
kill -INT "$L"
wait_exit "$L" 15
[ "$EXIT_CODE" = 130 ] || fail "launch exited $EXIT_CODE after SIGINT, expected 130"
port_closed "$PA" && port_closed "$PB" || fail "a node is still listening after SIGINT"
ok "SIGINT forwarded, launch exits 130, no node left"

# 2. a node killed during the run
read -r PA PB <<<"$(free_ports 2)"
config "$T/kill.yaml" ending.wasm '["slow", "200", "100"]' a="$PA" b="$PB" -- "  failover:" "    wait_ms: 1000"
"$KAFU" launch "$T/kill.yaml" >"$T/kill.out" 2>"$T/kill.err" &
L=$!
PIDS+=("$L")
for ((i = 0; i < 300; i++)); do grep -q '^\[a\] round 2' "$T/kill.out" && break; sleep 0.05; done
pb=$(node_pid b "$T/kill.yaml")
[ -n "$pb" ] || fail "cannot find node b's process"
kill -9 "$pb"
wait_exit "$L" 15
[ "$EXIT_CODE" = 1 ] || fail "launch exited $EXIT_CODE after node b was killed, expected 1"
grep -q "^\[a\] kafu serve: error: node a: node b at 127.0.0.1:$PB is gone .* while running on_b, and on_b could not run again: could not deliver the snapshot to node b" "$T/kill.err" ||
  fail "no error naming node b: $(grep error "$T/kill.err")"
ok "node killed mid-run (no restart, no standby) -> launch exits 1 naming it"

# 3. the quick-start example, on free ports
read -r PA PB <<<"$(free_ports 2)"
mkdir -p "$T/basic"
cp "$KAFU_SRC/examples/basic/main.c" "$T/basic/"
sed -e "s/port: 50051/port: $PA/" -e "s/port: 50052/port: $PB/" "$KAFU_SRC/examples/basic/kafu-config.yaml" \
  >"$T/basic/kafu-config.yaml"
"$KAFU" cc -O2 -I"$KAFU_SRC/include" "$T/basic/main.c" -o "$T/basic/main.wasm" || fail "building examples/basic"
timeout 60 "$KAFU" launch "$T/basic/kafu-config.yaml" >"$T/basic.out" 2>"$T/basic.err" || fail "examples/basic failed"
[ "$(cat "$T/basic.out")" = $'[cloud] Hello, from cloud!\n[edge] Hello, from edge!' ] || fail "examples/basic: $(cat "$T/basic.out")"
ok "examples/basic via kafu launch"
