#!/usr/bin/env bash
# The node's HTTP API (docs/cluster.md): /healthz /readyz /status /metrics
# /baseline, 404/405, bad JSON bodies, counters during a run, and POST
# /shutdown ending a node with the given exit code.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build ending

read -r PA PB <<<"$(free_ports 2)"
config "$T/e.yaml" ending.wasm '["slow_a", "100", "50"]' a="$PA" b="$PB"
serve b "$T/e.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
sha=$(sha256sum "$T/ending.wasm" | cut -d' ' -f1)

http GET "$PB" /healthz
[ "$HTTP_STATUS" = 200 ] && [ "$(json_get node <<<"$HTTP_BODY")" = b ] || fail "/healthz: $HTTP_STATUS $HTTP_BODY"
http GET "$PB" /readyz
[ "$HTTP_STATUS" = 200 ] && [ "$(json_get module_sha256 <<<"$HTTP_BODY")" = "$sha" ] || fail "/readyz: $HTTP_BODY"
http GET "$PB" /status
for k in node state module_sha256 engine image_id coordinator; do
  json_get $k <<<"$HTTP_BODY" >/dev/null || fail "/status lacks $k: $HTTP_BODY"
done
[ "$(json_get state <<<"$HTTP_BODY")" = idle ] || fail "/status state: $HTTP_BODY"
[ "$(json_get coordinator <<<"$HTTP_BODY")" = false ] || fail "/status coordinator: $HTTP_BODY"
http GET "$PB" /baseline
[[ "$(json_get image_id <<<"$HTTP_BODY")" =~ ^[0-9a-f]{16}$ ]] || fail "/baseline: $HTTP_BODY"
http GET "$PB" /metrics
for m in 'kafu_migrations_total{node="b",direction="in"} 0' 'kafu_migration_bytes_total{node="b",kind="wire"}' \
  'kafu_heartbeat_failures_total{node="b"}' 'kafu_migration_phase_seconds_bucket{node="b",phase="transfer",le="+Inf"}'; do
  grep -qF "$m" <<<"$HTTP_BODY" || fail "/metrics lacks '$m'"
done
# what a Prometheus user expects: build info, the standard process metrics,
# and whether the program is here (an idle follower: no)
grep -qx "kafu_build_info{node=\"b\",version=\"$("$KAFU" version | cut -d' ' -f2)\",engine=\"kafu-engine-[0-9]*\"} 1" \
  <<<"$HTTP_BODY" || fail "/metrics: kafu_build_info: $(grep build_info <<<"$HTTP_BODY")"
grep -qx 'kafu_program_here{node="b"} 0' <<<"$HTTP_BODY" || fail "/metrics: program_here on an idle node"
for m in process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes process_open_fds \
  process_max_fds process_start_time_seconds; do
  v=$(sed -n "s/^$m //p" <<<"$HTTP_BODY")
  grep -q "^# TYPE $m " <<<"$HTTP_BODY" && python3 -c "import sys; sys.exit(0 if float('$v') > 0 else 1)" ||
    fail "/metrics: $m is '$v'"
done
rss=$(sed -n 's/^process_resident_memory_bytes //p' <<<"$HTTP_BODY")
[ "$rss" -gt 1000000 ] && [ "$rss" -lt 4000000000 ] || fail "process_resident_memory_bytes $rss"
fds=$(sed -n 's/^process_open_fds //p' <<<"$HTTP_BODY")
[ "$fds" -ge 3 ] && [ "$fds" -lt 10000 ] || fail "process_open_fds $fds"
start=$(sed -n 's/^process_start_time_seconds //p' <<<"$HTTP_BODY")
python3 -c "import time,sys; sys.exit(0 if abs(time.time() - $start) < 600 else 1)" || fail "process_start_time_seconds $start"
http GET "$PB" /nope
[ "$HTTP_STATUS" = 404 ] && [ "$(json_get error <<<"$HTTP_BODY")" = not_found ] || fail "404: $HTTP_STATUS $HTTP_BODY"
http POST "$PB" /healthz
[ "$HTTP_STATUS" = 405 ] || fail "POST /healthz: $HTTP_STATUS"
http GET "$PB" /migrate
[ "$HTTP_STATUS" = 405 ] || fail "GET /migrate: $HTTP_STATUS"
http POST "$PB" /shutdown --data-binary 'not json'
[ "$HTTP_STATUS" = 400 ] || fail "bad /shutdown body: $HTTP_STATUS"
http POST "$PB" /heartbeat --data-binary '{"node":"zz"}'
[ "$HTTP_STATUS" = 400 ] && [ "$(json_get error <<<"$HTTP_BODY")" = unknown_node ] || fail "heartbeat from unknown: $HTTP_BODY"
head -c 100000 /dev/zero | tr '\0' x >"$T/big.json"
http POST "$PB" /heartbeat --data-binary @"$T/big.json"
[ "$HTTP_STATUS" = 413 ] || fail "oversized heartbeat body: $HTTP_STATUS"
ok "endpoints of an idle follower"

# counters during a run
serve a "$T/e.yaml"; PID_A=$LAST_PID
for ((i = 0; i < 200; i++)); do grep -q 'round 4' "$T/a.out" && break; sleep 0.05; done
http GET "$PB" /metrics
in=$(sed -n 's/^kafu_migrations_total{node="b",direction="in"} //p' <<<"$HTTP_BODY")
out=$(sed -n 's/^kafu_migrations_total{node="b",direction="out"} //p' <<<"$HTTP_BODY")
[ "$in" -ge 3 ] && [ "$out" -ge 3 ] || fail "b's migration counters during the run: in=$in out=$out"
for ph in unwind encode transfer decode restore rewind; do
  grep -q "kafu_migration_phase_seconds_count{node=\"b\",phase=\"$ph\"} [1-9]" <<<"$HTTP_BODY" ||
    fail "no $ph latencies in /metrics"
done
grep -q 'kafu_migration_bytes_total{node="b",kind="raw"} [1-9]' <<<"$HTTP_BODY" || fail "no raw bytes"
# the program sleeps on a between round trips: a says it is there
here=0
for ((i = 0; i < 100; i++)); do
  get "$PA" /metrics | grep -qx 'kafu_program_here{node="a"} 1' && here=1 && break
  sleep 0.02
done
[ "$here" = 1 ] || fail "kafu_program_here{node=\"a\"} never 1 while the program sleeps on a"
http GET "$PA" /status
[ "$(json_get coordinator <<<"$HTTP_BODY")" = true ] || fail "a is not the coordinator: $HTTP_BODY"
ok "counters during a run (in=$in out=$out)"

# POST /shutdown ends a node with that code
http POST "$PB" /shutdown --data-binary '{"exit_code": 42, "reason": "test says stop"}'
[ "$HTTP_STATUS" = 200 ] || fail "/shutdown: $HTTP_STATUS"
wait_exit "$PID_B" 10
[ "$EXIT_CODE" = 42 ] || fail "node b exited $EXIT_CODE after /shutdown 42"
grep -q 'shutdown requested by 127.0.0.1:[0-9]* (exit code 42): test says stop' "$T/b.err" || fail "shutdown not logged"
wait_exit "$PID_A" 15 # a loses b: it ends the run
[ "$EXIT_CODE" = 1 ] || fail "coordinator exited $EXIT_CODE after b went away"
ok "POST /shutdown"
