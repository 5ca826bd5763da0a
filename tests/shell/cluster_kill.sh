#!/usr/bin/env bash
# Liveness: a follower killed with SIGKILL during execution, that neither
# comes back nor has a standby, makes the coordinator end the run non-zero
# once cluster.failover.wait_ms is over, naming the node (failover itself:
# cluster_failover.sh); a killed coordinator makes its idle followers shut
# down (follower_on_coordinator_lost: shutdown_self) or keep running (ignore);
# a follower running the program keeps running it. Heartbeats every 100 ms.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build ending

wait_for_line() { # file regex seconds
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no line matching '$2' in ${1##*/} after $3 s"
}

# 1. follower b killed while it runs the program
read -r PA PB <<<"$(free_ports 2)"
config "$T/k1.yaml" ending.wasm '["slow", "200", "100"]' a="$PA" b="$PB" -- "  failover:" "    wait_ms: 500"
serve b "$T/k1.yaml"; PID_B=$LAST_PID
serve a "$T/k1.yaml"; PID_A=$LAST_PID
wait_for_line "$T/b.out" 'on b (3)' 30
wait_for_line "$T/a.out" 'round 3' 30
kill9 "$PID_B"
start=$(date +%s%N)
wait_exit "$PID_A" 15
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$EXIT_CODE" = 1 ] || fail "coordinator exited $EXIT_CODE after follower b was killed, expected 1"
grep -q "kafu serve: error: .*node b at 127.0.0.1:$PB" "$T/a.err" || fail "coordinator's error does not name node b and its address"
ok "follower killed -> coordinator exits 1 naming b (after $ms ms)"

# 2. coordinator killed, followers on shutdown_self (b is idle, a sleeps)
read -r PA PB <<<"$(free_ports 2)"
config "$T/k2.yaml" ending.wasm '["slow_a", "200", "100"]' a="$PA" b="$PB"
serve b "$T/k2.yaml"; PID_B=$LAST_PID
serve a "$T/k2.yaml"; PID_A=$LAST_PID
wait_for_line "$T/a.out" 'round 3' 30
kill9 "$PID_A"
wait_exit "$PID_B" 10
[ "$EXIT_CODE" = 1 ] || fail "follower exited $EXIT_CODE after losing the coordinator, expected 1"
grep -q 'lost the coordinator a .*shutting down .*shutdown_self' "$T/b.err" || fail "follower's message does not explain"
ok "coordinator killed -> follower shuts down (shutdown_self)"

# 3. coordinator killed, followers on ignore: b stays up and healthy
read -r PA PB <<<"$(free_ports 2)"
ON_LOST=ignore config "$T/k3.yaml" ending.wasm '["slow_a", "200", "100"]' a="$PA" b="$PB"
serve b "$T/k3.yaml"; PID_B=$LAST_PID
serve a "$T/k3.yaml"; PID_A=$LAST_PID
wait_for_line "$T/a.out" 'round 3' 30
kill9 "$PID_A"
wait_for_line "$T/b.err" 'lost the coordinator a .*continuing' 10
sleep 1
kill -0 "$PID_B" 2>/dev/null || fail "follower exited although follower_on_coordinator_lost is ignore"
[ "$(status_of "$PB" /healthz)" = 200 ] || fail "follower not healthy after losing the coordinator"
ok "coordinator killed -> follower keeps running (ignore)"

# 4. the program running on b when the coordinator dies (shutdown_self): b still exits.
#    b starts first, so its first heartbeat (at once) fails; the run starts
#    and a is killed before the next one (500 ms): b never had a heartbeat
#    answered, yet it joined a run a started, so it counts a lost after 3
#    failed heartbeats (~1.5 s), not after the start-up timeout, and says it
#    keeps serving while its 3 s call runs
read -r PA PB <<<"$(free_ports 2)"
HB_MS=500 config "$T/k4.yaml" ending.wasm '["slow", "200", "3000"]' a="$PA" b="$PB" -- "  failover:" "    wait_ms: 500"
serve b "$T/k4.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
serve a "$T/k4.yaml"; PID_A=$LAST_PID
wait_for_line "$T/b.out" 'on b (3)' 30
kill9 "$PID_A"
wait_exit "$PID_B" 10
[ "$EXIT_CODE" = 1 ] || fail "busy follower exited $EXIT_CODE after losing the coordinator, expected 1"
grep -q 'keeps serving' "$T/b.err" || fail "b did not keep serving while it ran the program"
grep -q "kafu serve: error: node b: .*could not deliver the snapshot to node a at 127.0.0.1:$PA" "$T/b.err" ||
  fail "b's error does not explain: $(grep error "$T/b.err")"
ok "coordinator killed while b runs the program -> b finishes the call, cannot return, exits 1"

# 5. the target is down for a moment when a migration starts: the sender keeps
#    its state and retries with backoff until the restarted node takes it
read -r PA PB <<<"$(free_ports 2)"
HB_MS=5000 config "$T/k5.yaml" ending.wasm '["slow_a", "2", "1000"]' a="$PA" b="$PB"
serve b "$T/k5.yaml"; PID_B=$LAST_PID
serve a "$T/k5.yaml"; PID_A=$LAST_PID
wait_for_line "$T/a.out" 'round 0' 30
kill9 "$PID_B"
wait_for_line "$T/a.err" 'sending to b failed .*retrying in' 10
serve b "$T/k5.yaml"; PID_B=$LAST_PID
wait_exit "$PID_A" 20
[ "$EXIT_CODE" = 0 ] || fail "run with a restarted target exited $EXIT_CODE"
[ "$(cat "$T/a.out")" = $'start slow_a\nround 0\nround 1' ] || fail "a's output: $(cat "$T/a.out")"
grep -q 'on b (3)' "$T/b.out" || fail "the restarted b did not run on_b"
grep -q 'node a: migrated to b: .*(after retries)' "$T/a.err" || fail "no successful retry logged"
ok "transient send failure retried with backoff; nothing lost"
