#!/usr/bin/env bash
# example_image_classification.sh — examples/image-classification: main.c
# classifies each fixture image right (kafu run), and runs as the original
# does (inference on edge, report on cloud) under singlenode, --verify and a
# real two-node launch; realtime.c classifies frames captured on edge on the
# cloud through wasi-nn, every label right.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
EX=$KAFU_SRC/examples/image-classification
D=$T/ex
mkdir -p "$D"
cp -r "$EX/fixture" "$EX/main.c" "$EX/realtime.c" "$EX/kafu-config.yaml" "$EX/realtime.yaml" "$D/"
cd "$D"
"$KAFU" cc -O2 main.c -o main.wasm >"$T/cc.out" 2>&1 || fail "kafu cc main.c: $(cat "$T/cc.out")"
"$KAFU" cc -O2 realtime.c -o realtime.wasm >"$T/cc2.out" 2>&1 || fail "kafu cc realtime.c: $(cat "$T/cc2.out")"
for c in circle square triangle cross; do
  out=$("$KAFU" run --dir . main.wasm "fixture/images/$c.jpg" 2>"$T/run.err") || fail "kafu run main.wasm $c"
  grep -q "^Inference result: $c (" <<<"$out" || fail "$c.jpg: $(grep Inference <<<"$out")"
done
ok "main.c: each fixture image classified as its shape"

read -r pe pc <<<"$(free_ports 2)"
sed -i "s/port: 50052/port: $pe/; s/port: 50053/port: $pc/" kafu-config.yaml
for mode in "singlenode serve" "singlenode serve --verify" "launch --no-prefix"; do
  timeout 120 "$KAFU" $mode kafu-config.yaml >"$T/m.out" 2>"$T/m.err" || fail "$mode exited $?"
  grep -q "^Inference result: circle (" "$T/m.out" || fail "$mode: $(cat "$T/m.out")"
done
grep -q "node edge: migrated to cloud" "$T/m.err" || fail "launch: no migration to cloud"
ok "main.c under singlenode, --verify and launch"

read -r pe pc <<<"$(free_ports 2)"
sed -i "s/port: 50062/port: $pe/; s/port: 50063/port: $pc/; s/args: \[\"12\"\]/args: [\"8\"]/" realtime.yaml
timeout 120 "$KAFU" launch --no-prefix --events "$T/rt.jsonl" realtime.yaml >"$T/rt.out" 2>"$T/rt.err" ||
  fail "realtime launch exited $?"
grep -q "^done: 8 frames, 8 classified right" "$T/rt.out" || fail "realtime: $(tail -3 "$T/rt.out")"
n=$(grep '"type":"migration"' "$T/rt.jsonl" | grep -c '"to":"cloud"')
[ "$n" = 8 ] || fail "realtime: expected 8 migrations to cloud, saw $n"
ok "realtime.c: 8 frames captured on edge, classified on cloud, all right"
