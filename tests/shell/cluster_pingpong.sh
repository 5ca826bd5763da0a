#!/usr/bin/env bash
# Two-node ping-pong through `kafu launch`: exact program output (unprefixed),
# prefixed output attributed to the right node, exact migration count from the
# merged --events file, exit code 0; and the same program with zstd + full
# memory transfers.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build pingpong

read -r PA PB <<<"$(free_ports 2)"
config "$T/pp.yaml" pingpong.wasm '["6"]' a="$PA" b="$PB"
expected=$(for i in 0 1 2 3 4 5; do echo "ping $i"; echo "pong $i"; done; echo "sum 30")

timeout 60 "$KAFU" launch --no-prefix --events "$T/ev.jsonl" "$T/pp.yaml" >"$T/launch.out" 2>"$T/launch.err"
rc=$?
[ $rc -eq 0 ] || fail "launch exited $rc"
[ "$(cat "$T/launch.out")" = "$expected" ] || fail "stdout differs: $(diff <(echo "$expected") "$T/launch.out")"
n=$(migrations_in "$T/ev.jsonl")
[ "$n" = 12 ] || fail "expected 12 migration events, got $n"
grep -q '"type":"start","time_ns":[0-9]*,"node":"a"' "$T/ev.jsonl" || fail "no start event from a"
grep -q '"delta":true' "$T/ev.jsonl" || fail "no delta transfer in a two-node ping-pong"
# events of both nodes are in one file, in time order
python3 - "$T/ev.jsonl" <<'PY' || fail "events file is not time-ordered JSON Lines"
import json, sys
t = [json.loads(l)["time_ns"] for l in open(sys.argv[1])]
nodes = {json.loads(l)["node"] for l in open(sys.argv[1])}
assert t == sorted(t), "not sorted"
assert nodes == {"a", "b"}, nodes
PY
grep -q 'node a: migrated to b' "$T/launch.err" || fail "no 'migrated to b' log line naming node a"
ok "ping-pong: exact output, 12 migrations, exit 0"

# prefixed mode: every program line is attributed to the node that printed it
read -r PA PB <<<"$(free_ports 2)"
config "$T/pp2.yaml" pingpong.wasm '["3"]' a="$PA" b="$PB"
timeout 60 "$KAFU" launch "$T/pp2.yaml" >"$T/prefixed.out" 2>"$T/prefixed.err" || fail "prefixed launch failed"
exp2=$(printf '[a] ping 0\n[a] ping 1\n[a] ping 2\n[a] sum 6\n[b] pong 0\n[b] pong 1\n[b] pong 2')
[ "$(sort "$T/prefixed.out")" = "$exp2" ] || fail "prefixed stdout: $(cat "$T/prefixed.out")"
grep -q '^\[b\] .*node b: received a snapshot' "$T/prefixed.err" || fail "stderr lines not prefixed with [b]"
ok "prefixed output"

# full transfers with zstd
read -r PA PB <<<"$(free_ports 2)"
config "$T/pp3.yaml" pingpong.wasm '["4"]' a="$PA" b="$PB" -- "  migration:" "    memory_migration: full" \
  "    compression: zstd"
timeout 60 "$KAFU" launch --no-prefix --events "$T/ev3.jsonl" "$T/pp3.yaml" >"$T/full.out" 2>"$T/full.err" ||
  fail "full/zstd launch failed"
[ "$(tail -1 "$T/full.out")" = "sum 12" ] || fail "full/zstd output: $(cat "$T/full.out")"
[ "$(migrations_in "$T/ev3.jsonl")" = 8 ] || fail "full/zstd: expected 8 migrations"
grep -q '"delta":true' "$T/ev3.jsonl" && fail "memory_migration: full sent a delta"
ok "memory_migration: full + zstd"

# log volume (issue 16: every migration wrote INFO lines, ~430 KB/s per node in
# a loop): 800 migrations leave a handful of lines at the default level, the
# first migration of the burst and a summary of it; KAFU_LOG=debug has them all
read -r PA PB <<<"$(free_ports 2)"
config "$T/pp4.yaml" pingpong.wasm '["400"]' a="$PA" b="$PB"
timeout 120 "$KAFU" launch --no-prefix "$T/pp4.yaml" >"$T/loop.out" 2>"$T/loop.err" || fail "400 round trips failed"
[ "$(tail -1 "$T/loop.out")" = "sum 159600" ] || fail "400 round trips: $(tail -1 "$T/loop.out")"
lines=$(wc -l <"$T/loop.err")
[ "$lines" -lt 40 ] || fail "800 migrations wrote $lines log lines at INFO: $(sort "$T/loop.err" | cut -c26- | uniq -c | sort -rn | head -5)"
grep -q 'node a: migrated to b' "$T/loop.err" || fail "the first migration is not logged at INFO"
grep -q 'node a: [0-9]* migrations in [0-9.]* s (' "$T/loop.err" || fail "no summary of the migrations: $(cat "$T/loop.err")"
ok "800 migrations: $lines log lines at INFO, with a summary"
