#!/usr/bin/env bash
# A three-node walk across mixed architectures: the coordinator a and node c
# are aarch64 (emulated), b is x86-64. tests/programs/cluster/walk3.c changes
# (and grows) memory on every visit and prints a checksum of all of it; the
# output must equal the same source built natively, with the migration count
# the program computes. Deltas between nodes of different architectures, and
# full transfers where a node holds another baseline, both happen.
source "$KAFU_SRC/tests/shell/lib/xisa.sh" || exit 1
need_aarch64
build walk3
cc -O2 -I"$KAFU_SRC/include" "$PROGS/walk3.c" -o "$T/walk3-native" || fail "native build of walk3.c"
"$KAFU" aot --target aarch64-linux-gnu "$T/walk3.wasm" >/dev/null 2>"$T/aot.err" || fail "kafu aot --target: $(cat "$T/aot.err")"

STEPS=10 SEED=5
read -r pa pb pc <<<"$(free_ports 3)"
config "$T/w.yaml" walk3.wasm "[\"$STEPS\", \"$SEED\"]" a="$pa" b="$pb" c="$pc"
"$T/walk3-native" $STEPS $SEED >"$T/expected"
: >"$T/walk.out"
OUT_OF=([a]="$T/walk.out" [b]="$T/walk.out" [c]="$T/walk.out")
serve_a64 c "$T/w.yaml" --events "$T/ev-c.jsonl"
pidc=$LAST_PID
serve_x86 b "$T/w.yaml" --events "$T/ev-b.jsonl"
pidb=$LAST_PID
serve_a64 a "$T/w.yaml" --events "$T/ev-a.jsonl"
pida=$LAST_PID
wait_exit "$pida" 180
[ $EXIT_CODE = 0 ] || fail "coordinator a (aarch64) exited $EXIT_CODE"
for p in $pidb $pidc; do
  wait_exit "$p" 30
  [ $EXIT_CODE = 0 ] || fail "a follower exited $EXIT_CODE"
done
diff "$T/expected" "$T/walk.out" >"$T/diff" || fail "output differs from the native build: $(head -5 "$T/diff")"
want=$(sed -n 's/.* migrations \([0-9]*\) .*/\1/p' "$T/expected")
got=$(cat "$T"/ev-?.jsonl | grep -c '"type":"migration"')
[ "$got" = "$want" ] || fail "$got migration events, the program expects $want"
[ "$want" -ge 10 ] || fail "walk too short ($want migrations)"
cat "$T"/ev-?.jsonl | grep -q '"delta":true' || fail "no delta transfer"
cat "$T"/ev-?.jsonl | grep -q '"delta":false' || fail "no full transfer (three nodes need some)"
grep -q "aarch64 under qemu" "$T/a.err" && grep -q "x86_64" "$T/b.err" || fail "node architectures: $(head -1 "$T/a.err")"
ok "three nodes (aarch64, x86-64, aarch64): $(tail -1 "$T/walk.out") ($got migrations)"
