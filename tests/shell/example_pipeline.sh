#!/usr/bin/env bash
# example_pipeline.sh — examples/image-pipeline gives the same output natively,
# under `kafu run`, in `kafu singlenode --verify`, and on a real two-node cluster
# (`kafu launch`, delta transfers), with exactly two migrations per frame.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
EX="$KAFU_SRC/examples/image-pipeline"
FRAMES=4

cc -O2 -I"$KAFU_SRC/include" "$EX/pipeline.c" -o "$T/native" || fail "native build"
"$T/native" $FRAMES > "$T/native.out" || fail "native run"
"$KAFU" cc -O2 "$EX/pipeline.c" -o "$T/pipeline.wasm" > "$T/cc.err" 2>&1 || fail "kafu cc"

"$KAFU" run "$T/pipeline.wasm" $FRAMES > "$T/run.out" 2> "$T/run.err" || fail "kafu run"
cmp -s "$T/native.out" "$T/run.out" || fail "kafu run output differs from native"
ok "kafu run = native"

set -- $(free_ports 2)
cat > "$T/kafu-config.yaml" <<YAML
name: pipeline-test
app:
  path: ./pipeline.wasm
  args: ["$FRAMES"]
nodes:
  edge: {address: 127.0.0.1, port: $1}
  cloud: {address: 127.0.0.1, port: $2}
cluster:
  heartbeat: {interval_ms: 100}
YAML
"$KAFU" singlenode serve --verify --events "$T/sn.jsonl" "$T/kafu-config.yaml" > "$T/sn.out" 2> "$T/sn.err" ||
  fail "singlenode --verify"
cmp -s "$T/native.out" "$T/sn.out" || fail "singlenode --verify output differs from native"
n=$(grep -c '"type":"migration"' "$T/sn.jsonl")
[ "$n" -eq $((2 * FRAMES)) ] || fail "singlenode: $n migrations, want $((2 * FRAMES))"
ok "singlenode --verify = native, $n migrations"

timeout 120 "$KAFU" launch --no-prefix --events "$T/ev.jsonl" "$T/kafu-config.yaml" > "$T/launch.out" 2> "$T/launch.err" ||
  fail "kafu launch"
cmp -s "$T/native.out" "$T/launch.out" || fail "cluster output differs from native"
n=$(grep -c '"type":"migration"' "$T/ev.jsonl")
[ "$n" -eq $((2 * FRAMES)) ] || fail "cluster: $n migrations, want $((2 * FRAMES))"
d=$(grep '"type":"migration"' "$T/ev.jsonl" | grep -c '"delta":true')
[ "$d" -ge $((2 * FRAMES - 2)) ] || fail "cluster: only $d of $n migrations were deltas"
ok "cluster = native, $n migrations ($d deltas)"
