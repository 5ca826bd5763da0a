#!/usr/bin/env bash
# A follower whose module takes long to compile (a small board, a cold cache)
# still waits cluster.startup_timeout_ms for a coordinator it has never heard
# from, counted from its own readiness: the compile is not time spent waiting.
# (Before, a compile longer than the timeout made the follower give up on the
# coordinator before it was even ready.)
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong

read -r PA PB <<<"$(free_ports 2)"
config "$T/pp.yaml" pingpong.wasm '["2"]' a="$PA" b="$PB"
sed -i 's/startup_timeout_ms: .*/startup_timeout_ms: 1500/' "$T/pp.yaml"

# b compiles with a C compiler that first sleeps 3 s, into a cache of its own
cc=$(command -v cc || command -v gcc) || skip "no C compiler"
printf '#!/bin/sh\nsleep 3\nexec %s "$@"\n' "$cc" >"$T/slowcc"
chmod +x "$T/slowcc"
: >"$T/b.out"; : >"$T/b.err"
KAFU_CC="$T/slowcc" KAFU_CACHE_DIR="$T/cache-b" "$KAFU" serve --node-id b "$T/pp.yaml" >"$T/b.out" 2>"$T/b.err" &
PID_B=$!
PIDS+=("$PID_B")
for ((i = 0; i < 1200; i++)); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/readyz")" = 200 ] && break
  kill -0 "$PID_B" 2>/dev/null || fail "b gave up while compiling: $(tail -2 "$T/b.err")"
  sleep 0.05
done
sleep 0.5 # b has been waiting for a for a while, but less than the timeout since it became ready
kill -0 "$PID_B" 2>/dev/null || fail "b gave up before the coordinator could start"
serve a "$T/pp.yaml"; PID_A=$LAST_PID
wait_exit "$PID_A" 60
[ "$EXIT_CODE" = 0 ] || fail "coordinator exited $EXIT_CODE"
grep -q 'pong 1' "$T/b.out" || fail "b did not run pong: $(cat "$T/b.out")"
ok "a follower that compiled for 3 s waited 1.5 s for the coordinator from its readiness"

# and a coordinator that never comes is still given up on, after the timeout
config "$T/lone.yaml" pingpong.wasm '["2"]' a="$(free_ports 1)" b="$PB"
sed -i 's/startup_timeout_ms: .*/startup_timeout_ms: 1500/' "$T/lone.yaml"
wait_exit "$PID_B" 20
serve b "$T/lone.yaml"; PID_B=$LAST_PID
wait_exit "$PID_B" 30
[ "$EXIT_CODE" != 0 ] || fail "a follower without a coordinator exited 0"
grep -q 'lost the coordinator a' "$T/b.err" || fail "no 'lost the coordinator' message: $(tail -3 "$T/b.err")"
ok "a follower gives up on a coordinator that never answers (exit $EXIT_CODE)"
