#!/usr/bin/env bash
# Failover (docs/migration.md): a call whose node is killed (SIGKILL) runs
# again from the entry checkpoint its caller kept, and the run ends with the
# right output and exit code:
#   1. killed while the call computes, restarted under the same node id: the
#      new process (another incarnation) is found at once and re-runs it; the
#      call's non-idempotent effect (a line appended to a file) shows twice;
#   2. killed while the call computes, standby configured: re-run there;
#   3. killed while it sends a large return (its receiver stopped): the
#      return never arrives whole, the call re-runs on the restarted node;
#   4. killed before the snapshot arrives: the sender waits for the restart;
#   5. killed during a call two levels deep (a -> b -> c): the middle node
#      re-runs the inner call, the outer caller does nothing;
#   6. the node and its standby both dead: a clear error, exit 1, no hang;
#   7. under kafu launch, the coordinator killed while b runs the program:
#      the return goes to the coordinator's standby, launch exits 7.
# The program is tests/programs/cluster/failover.c (main returns 7 when every
# result is right); time to recover = kill -> the call's marker file again.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build failover

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# with_standby FILE NODE STANDBY PORT -> nodes.NODE.standby: [STANDBY]
with_standby() { sed -i "/^  $2:/,/port/ s/^    port: $4/    port: $4\n    standby: [$3]/" "$1"; }
TTR=()

# 1. killed while computing, restarted under the same node id
fo_reset
fo_config "$T/r.yaml" '["plain"]' -- "  failover:" "    wait_ms: 3000"
fo_start "$T/r.yaml" --events "$T/ev1.jsonl"
await in-work
idle_at "$PA"
kill9 "$PID_B"
t0=$(date +%s%N)
rm -f "$T/in-work"
serve b "$T/r.yaml"; PID_B=$LAST_PID
await in-work
TTR+=("restart:$(ms_since "$t0")")
touch "$T/go-work"
fo_done 7 "restart"
[ "$(cat "$T/a.out")" = $'start plain\nresult 42' ] || fail "restart: a's output: $(cat "$T/a.out")"
[ "$(work_runs)" = 2 ] || fail "restart: the re-run's effect is not there twice: $(cat "$T/effects.log")"
grep -q 'node a: node b at 127.0.0.1:[0-9]* \(restarted\|is gone\).*while running work' "$T/a.err" || fail "restart: loss not logged by a"
grep -q 'node a: work runs again from its entry on b ' "$T/a.err" || fail "restart: re-run not logged"
grep -q '"type":"failover".*"lost":"b".*"function":"work".*"to":"b".*"ok":true' "$T/ev1.jsonl" || fail "restart: no failover event"
ok "1. killed while computing + restart under the same id: run completes (exit 7), effect repeated once"

# 2. killed while computing, standby b2 takes over
fo_reset
fo_config "$T/s.yaml" '["plain"]' b2=PD -- "  failover:" "    wait_ms: 300"
with_standby "$T/s.yaml" b b2 "$PB"
grep -q 'standby: \[b2\]' "$T/s.yaml" || fail "standby config"
serve b2 "$T/s.yaml"; PID_B2=$LAST_PID
fo_start "$T/s.yaml" --events "$T/ev2.jsonl"
await in-work
idle_at "$PA"
kill9 "$PID_B"
t0=$(date +%s%N)
rm -f "$T/in-work"
await in-work
TTR+=("standby:$(ms_since "$t0")")
metrics=$(get "$PA" /metrics)
grep -q "kafu_failover_attempts_total{node=\"a\"} 1" <<<"$metrics" || fail "standby: attempts metric: $(grep failover <<<"$metrics")"
grep -q "kafu_failover_successes_total{node=\"a\"} 1" <<<"$metrics" || fail "standby: successes metric"
grep -q "kafu_entry_checkpoints{node=\"a\"} 1" <<<"$metrics" || fail "standby: entry checkpoint gauge"
touch "$T/go-work"
fo_done 7 "standby"
wait_exit "$PID_B2" 10
[ "$(cat "$T/a.out")" = $'start plain\nresult 42' ] || fail "standby: a's output: $(cat "$T/a.out")"
grep -q 'node a: work runs again from its entry on b2, standby for b' "$T/a.err" || fail "standby: not logged"
grep -q '"type":"failover".*"lost":"b".*"to":"b2".*"ok":true' "$T/ev2.jsonl" || fail "standby: no failover event"
ok "2. killed while computing + standby: the call re-runs on b2, run completes"

# 3. killed while sending a large return to a stopped receiver
fo_reset
fo_config "$T/big.yaml" '["big", "24"]' -- "  failover:" "    wait_ms: 3000"
fo_start "$T/big.yaml"
await in-work
idle_at "$PA"
kill -STOP "$PID_A"
touch "$T/go-work"
await work-done
for ((i = 0; i < 1000; i++)); do [ "$(get "$PB" /status | json_get state 2>/dev/null)" = sending ] && break; sleep 0.01; done
[ "$(get "$PB" /status | json_get state)" = sending ] || fail "big: b never got to sending"
kill9 "$PID_B"
rm -f "$T/in-work" "$T/work-done"
serve b "$T/big.yaml"; PID_B=$LAST_PID
kill -CONT "$PID_A"
fo_done 7 "killed while sending"
[ "$(cat "$T/a.out")" = $'start big\nresult 42' ] || fail "big: a's output: $(cat "$T/a.out")"
grep -q 'work runs again from its entry on b ' "$T/a.err" || fail "big: no re-run (the return should not have arrived whole)"
ok "3. killed while sending the return: the call re-runs, run completes"

# 4. killed before the snapshot arrives (the sender retries until the restart)
fo_reset
fo_config "$T/g.yaml" '["gate"]' -- "  failover:" "    wait_ms: 3000"
fo_start "$T/g.yaml"
await a-ready
wait_ready "$PB"
kill9 "$PID_B"
touch "$T/go-a" "$T/go-work"
for ((i = 0; i < 500; i++)); do grep -q 'sending to b failed' "$T/a.err" && break; sleep 0.01; done
serve b "$T/g.yaml"; PID_B=$LAST_PID
fo_done 7 "killed before the snapshot"
[ "$(cat "$T/a.out")" = $'start gate\nresult 42' ] || fail "gate: a's output: $(cat "$T/a.out")"
[ "$(work_runs)" = 1 ] || fail "gate: work ran $(work_runs) times"
ok "4. killed before the snapshot arrives: delivered to the restarted node, run completes"

# 5. two levels deep: a -> work@b -> inner@c; c killed and restarted
fo_reset
fo_config "$T/n.yaml" '["nested"]' -- "  failover:" "    wait_ms: 3000"
fo_start "$T/n.yaml"
await in-inner
idle_at "$PB"
kill9 "$PID_C"
t0=$(date +%s%N)
rm -f "$T/in-inner"
serve c "$T/n.yaml"; PID_C=$LAST_PID
await in-inner
TTR+=("nested:$(ms_since "$t0")")
touch "$T/go-inner" "$T/go-work"
fo_done 7 "nested"
[ "$(cat "$T/a.out")" = $'start nested\nresult 44' ] || fail "nested: a's output: $(cat "$T/a.out")"
grep -q 'node b: inner runs again from its entry on c ' "$T/b.err" || fail "nested: b did not re-run inner"
grep -q 'runs again' "$T/a.err" && fail "nested: a re-ran its call although b kept the program going"
[ "$(work_runs)" = 1 ] || fail "nested: work ran more than once"
ok "5. killed two levels deep: the middle node re-runs the inner call only"

# 6. the node and its standby both dead
fo_reset
fo_config "$T/d.yaml" '["plain"]' b2=PD -- "  failover:" "    wait_ms: 300"
with_standby "$T/d.yaml" b b2 "$PB"
serve b2 "$T/d.yaml"; PID_B2=$LAST_PID
fo_start "$T/d.yaml"
await in-work
idle_at "$PA"
kill9 "$PID_B2"
kill9 "$PID_B"
t0=$(date +%s%N)
wait_exit "$PID_A" 20
[ "$EXIT_CODE" = 1 ] || fail "both dead: exit $EXIT_CODE, expected 1"
grep -q "kafu serve: error: node a: node b at 127.0.0.1:$PB is gone .*while running work, and work could not run again: .*node b at 127.0.0.1:$PB.*node b2 at 127.0.0.1:$PD" "$T/a.err" ||
  fail "both dead: unclear error: $(grep error "$T/a.err")"
wait_exit "$PID_C" 10
ok "6. node and standby dead: exit 1 after $(ms_since "$t0") ms naming both"

# 7. under kafu launch: the coordinator killed while b runs the program; the
#    return goes to the coordinator's standby a2, which ends the run, and
#    launch exits with the program's code
fo_reset
fo_config "$T/l.yaml" '["plain"]' a2=PD -- "  failover:" "    wait_ms: 300"
with_standby "$T/l.yaml" a a2 "$PA"
"$KAFU" launch --no-prefix "$T/l.yaml" >"$T/launch.out" 2>"$T/launch.err" &
L=$!
PIDS+=("$L")
await in-work
pa=$(pgrep -f -- "serve --node-id a .*$T/l.yaml" | head -1)
[ -n "$pa" ] || fail "launch: cannot find node a's process"
kill -9 "$pa"
touch "$T/go-work"
wait_exit "$L" 30
[ "$EXIT_CODE" = 7 ] || fail "launch with the coordinator killed: exit $EXIT_CODE: $(grep -i error "$T/launch.err")"
[ "$(cat "$T/launch.out")" = $'start plain\nresult 42' ] || fail "launch: output $(cat "$T/launch.out")"
grep -q 'node b: migrated to a on its standby a2' "$T/launch.err" || fail "launch: the return did not go to a2"
ok "7. kafu launch, coordinator killed while b runs the program: a2 takes the return, launch exits 7"

echo "time to recover (kill -> call running again, loopback, heartbeat 100 ms): ${TTR[*]} (ms)"
