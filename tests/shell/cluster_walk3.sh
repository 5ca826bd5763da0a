#!/usr/bin/env bash
# Three nodes, a random walk that changes memory on every node (and grows it):
# the output — a checksum of all memory after every visit — must equal the
# same program built natively, and the migration count must be what the
# program itself computes. Run with delta transfers (the topology where a
# "delta against some baseline" goes wrong) for two seeds, then with full
# transfers, and check both delta and full snapshots were used; then with
# compression: auto.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build walk3
cc -O2 -I"$KAFU_SRC/include" "$PROGS/walk3.c" -o "$T/walk3-native" || fail "native build of walk3.c"

run_walk() { # name steps seed [cluster yaml lines...]
  local name=$1 steps=$2 seed=$3
  shift 3
  local pa pb pc
  read -r pa pb pc <<<"$(free_ports 3)"
  config "$T/$name.yaml" walk3.wasm "[\"$steps\", \"$seed\"]" a="$pa" b="$pb" c="$pc" -- "$@"
  "$T/walk3-native" "$steps" "$seed" >"$T/$name.expected"
  timeout 60 "$KAFU" launch --no-prefix --events "$T/$name.jsonl" "$T/$name.yaml" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  [ $rc -eq 0 ] || fail "$name: launch exited $rc"
  diff "$T/$name.expected" "$T/$name.out" >"$T/$name.diff" || fail "$name: output differs from native: $(head -5 "$T/$name.diff")"
  local want got
  want=$(sed -n 's/.* migrations \([0-9]*\) .*/\1/p' "$T/$name.expected")
  got=$(migrations_in "$T/$name.jsonl")
  [ "$got" = "$want" ] || fail "$name: $got migration events, program expects $want"
  [ "$want" -ge 10 ] || fail "$name: walk too short ($want migrations)"
  ok "$name: $(tail -1 "$T/$name.out") ($got migration events)"
}

run_walk delta1 12 1
run_walk delta7 16 7
grep -q '"delta":true' "$T/delta1.jsonl" "$T/delta7.jsonl" || fail "no delta transfer in the walks"
grep -q '"delta":false' "$T/delta1.jsonl" || fail "no full transfer in the walk (3 nodes need some)"
run_walk full 12 3 "  migration:" "    memory_migration: full" "    memory_compression: false"
grep -q '"delta":true' "$T/full.jsonl" && fail "memory_migration: full sent a delta"
# compression: auto picks a codec per migration; every snapshot still arrives intact
run_walk auto 14 9 "  migration:" "    compression: auto"
codecs=$(grep -o '"compression":"[^"]*"' "$T/auto.jsonl" | sort -u | cut -d'"' -f4 | tr '\n' ' ')
[ "$(grep -c '"type":"migration"' "$T/auto.jsonl")" = "$(grep -c '"compression":"' "$T/auto.jsonl")" ] ||
  fail "auto: a migration event without the codec it used"
for c in $codecs; do case "$c" in none | lz4 | zstd-1 | zstd-3) ;; *) fail "auto: unknown codec '$c'" ;; esac; done
ok "three-node walks (compression: auto used: $codecs)"
