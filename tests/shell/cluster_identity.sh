#!/usr/bin/env bash
# Run and node identity (docs/cluster.md, "Run identity"): every node process
# has an incarnation, every run an id, every migration a hop number.
#   1. a follower running the program killed and restarted at once under the
#      same node id (what systemd or a Kubernetes restart does): its caller
#      sees another incarnation at its next probe, not just "alive", and the
#      call runs again (before: both nodes idle, the coordinator never exits);
#   2. a saved snapshot re-posted with a new migration id while the program
#      runs elsewhere is refused (409 stale) and runs nowhere (before: taken,
#      and the annotated function ran twice);
#   3. a snapshot of another run is refused (409 run);
#   4. a coordinator restarted while a follower runs the program asks its
#      peers first and does not start the program again; the run completes
#      through it (before: `_start` ran a second time).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build failover

inc_of() { get "$1" /healthz | json_get incarnation; }

# 1. restarted follower: detected by its incarnation
fo_reset
HB_MS=1000 fo_config "$T/r.yaml" '["plain"]'
fo_start "$T/r.yaml"
await in-work
idle_at "$PA"
old=$(inc_of "$PB")
kill9 "$PID_B"
rm -f "$T/in-work"
serve b "$T/r.yaml"; PID_B=$LAST_PID
wait_ready "$PB"
new=$(inc_of "$PB")
[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ] || fail "incarnation did not change across a restart: $old -> $new"
await in-work 15
touch "$T/go-work"
fo_done 7 "restarted follower"
grep -q "node a: node b at 127.0.0.1:$PB \(restarted (incarnation $new, the call went to $old) and lost the run\|is gone\)" "$T/a.err" ||
  fail "the restart was not recognized: $(grep 'node b at' "$T/a.err")"
[ "$(cat "$T/a.out")" = $'start plain\nresult 42' ] || fail "restarted follower: a's output: $(cat "$T/a.out")"
ok "1. follower killed + restarted at once: another incarnation, the call runs again, exit 7"

# 2. a saved snapshot re-posted while the program runs elsewhere
fo_reset
fo_config "$T/p.yaml" '["twice"]'
touch "$T/go-work"
fo_start "$T/p.yaml" --save-snapshots "$T/snaps"
await a-between
SNAP="$T/snaps/0001-a-b.kafusnap"
[ -s "$SNAP" ] || fail "no saved snapshot"
"$KAFU" inspect "$SNAP" | grep -q 'run [0-9a-f]*, hop 1 ' || fail "saved snapshot names no run and hop: $("$KAFU" inspect "$SNAP" | head -4)"
http POST "$PB" /migrate --data-binary @"$SNAP" -H 'X-Kafu-Migration-Id: replay.1.1'
[ "$HTTP_STATUS" = 409 ] && [ "$(json_get error <<<"$HTTP_BODY")" = stale ] || fail "replay: $HTTP_STATUS $HTTP_BODY"
grep -q 'hop 1 of run .* has seen hop 2 already' <<<"$HTTP_BODY" || fail "replay: reason: $HTTP_BODY"
[ "$(get "$PB" /status | json_get state)" = idle ] || fail "replay: b not idle"
sleep 0.3
[ "$(work_runs)" = 1 ] || fail "replay: work ran $(work_runs) times"
grep -q 'kafu_migration_stale_total{node="b"} 1' <<<"$(get "$PB" /metrics)" || fail "replay: stale metric"
touch "$T/go-second"
fo_done 7 "replay"
[ "$(cat "$T/a.out")" = $'start twice\nresult 42\nresult 100' ] || fail "replay: a's output: $(cat "$T/a.out")"
[ "$(work_runs)" = 2 ] || fail "replay: work ran $(work_runs) times"
ok "2. saved snapshot re-posted with a new migration id -> 409 stale, ran nowhere"

# 3. a snapshot of another run
fo_reset
fo_config "$T/o.yaml" '["gate"]'
fo_start "$T/o.yaml"
await a-ready
http POST "$PB" /migrate --data-binary @"$SNAP" -H 'X-Kafu-Migration-Id: other.1.1'
[ "$HTTP_STATUS" = 409 ] && [ "$(json_get error <<<"$HTTP_BODY")" = run ] || fail "other run: $HTTP_STATUS $HTTP_BODY"
grep -q 'belongs to run [0-9a-f]*; this node takes part in run [0-9a-f]*' <<<"$HTTP_BODY" || fail "other run: $HTTP_BODY"
touch "$T/go-a" "$T/go-work"
fo_done 7 "other run"
[ "$(work_runs)" = 1 ] || fail "other run: work ran $(work_runs) times"
ok "3. snapshot of another run -> 409 run"

# 4. the coordinator restarted while b runs the program
fo_reset
fo_config "$T/c.yaml" '["plain"]'
fo_start "$T/c.yaml"
await in-work
idle_at "$PA"
kill9 "$PID_A"
mv "$T/a.out" "$T/a1.out"
serve a "$T/c.yaml"; PID_A=$LAST_PID
for ((i = 0; i < 300; i++)); do grep -q 'not starting the program' "$T/a.err" && break; sleep 0.02; done
grep -q 'node a: not starting the program: it is running already' "$T/a.err" || fail "restarted coordinator: $(tail -3 "$T/a.err")"
touch "$T/go-work"
fo_done 7 "restarted coordinator"
[ "$(cat "$T/a1.out")" = 'start plain' ] || fail "first coordinator: $(cat "$T/a1.out")"
[ "$(cat "$T/a.out")" = 'result 42' ] || fail "restarted coordinator started the program again: $(cat "$T/a.out")"
[ "$(work_runs)" = 1 ] || fail "restarted coordinator: work ran twice"
ok "4. coordinator restarted mid-run: joins the run, no second start, exit 7"
