#!/usr/bin/env bash
# How a run ends: main's return value and proc_exit on a follower become the
# exit code of the coordinator and of `kafu launch`; a trap on a follower ends
# the run non-zero with a message naming the node and the cause; every node
# process exits (none is left behind).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build ending

run() { # name args expected_rc
  local name=$1 args=$2 want=$3 pa pb
  read -r pa pb <<<"$(free_ports 2)"
  config "$T/$name.yaml" ending.wasm "$args" a="$pa" b="$pb"
  timeout 60 "$KAFU" launch --no-prefix "$T/$name.yaml" >"$T/$name.out" 2>"$T/$name.err"
  RC=$?
  [ "$RC" = "$want" ] || fail "$name: launch exited $RC, expected $want"
}

run return3 '["return", "3"]' 3
[ "$(cat "$T/return3.out")" = $'start return\non b (0)\nreturning 3 on a' ] || fail "return3 output: $(cat "$T/return3.out")"
ok "main returns 3 -> exit 3"

run exit7 '["exit_b", "7"]' 7
[ "$(cat "$T/exit7.out")" = $'start exit_b\non b (1)' ] || fail "exit7 output: $(cat "$T/exit7.out")"
grep -q 'exited (proc_exit) on node b with exit code 7' "$T/exit7.err" || fail "exit7: no message naming node b"
ok "proc_exit(7) on follower b -> exit 7"

run trap '["trap_b"]' 134
grep -q 'kafu serve: error: program trapped on node b: .*divide by zero' "$T/trap.err" ||
  fail "trap: no final error naming node b and the cause: $(grep -i trap "$T/trap.err")"
ok "trap on b -> exit 134, message names node b and the cause"

# the same with `kafu serve` processes started by hand: the coordinator's exit
# code is the program's, and the follower exits too
read -r PA PB <<<"$(free_ports 2)"
config "$T/serve.yaml" ending.wasm '["return", "5"]' a="$PA" b="$PB"
serve b "$T/serve.yaml"; PID_B=$LAST_PID
serve a "$T/serve.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 30
[ "$EXIT_CODE" = 5 ] || fail "coordinator (kafu serve) exited $EXIT_CODE, expected 5"
wait_exit "$PID_B" 10
[ "$EXIT_CODE" = 5 ] || fail "follower exited $EXIT_CODE, expected 5"
ok "kafu serve: coordinator and follower exit with the program's code"
