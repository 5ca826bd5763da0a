#!/usr/bin/env bash
# Dirty-page detection: userfaultfd write-protect tracking (default where the
# kernel allows it) and the hashing fallback ($KAFU_DIRTY_TRACKING=hash) must
# give the same program output — equal to the native build — and the same
# delta/full decisions on a three-node random walk that writes and grows memory
# on every node (the topology where a wrong dirty set would show), and the
# tracker actually chosen must be the one reported.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build walk3
cc -O2 -I"$KAFU_SRC/include" "$PROGS/walk3.c" -o "$T/walk3-native" || fail "native build of walk3.c"

run() { # name tracking steps seed
  local name=$1 tracking=$2 steps=$3 seed=$4 pa pb pc
  read -r pa pb pc <<<"$(free_ports 3)"
  config "$T/$name.yaml" walk3.wasm "[\"$steps\", \"$seed\"]" a="$pa" b="$pb" c="$pc"
  "$T/walk3-native" "$steps" "$seed" >"$T/$name.expected"
  KAFU_LOG=debug KAFU_DIRTY_TRACKING=$tracking timeout 60 "$KAFU" launch --no-prefix --events "$T/$name.jsonl" \
    "$T/$name.yaml" >"$T/$name.out" 2>"$T/$name.err" || fail "$name: launch exited $? ($(tail -3 "$T/$name.err"))"
  diff "$T/$name.expected" "$T/$name.out" >/dev/null || fail "$name: output differs from native"
  # the delta/full sequence of the walk (same program, same seed: must not depend on the tracker)
  "$KAFU_SRC/scripts/events-migrations.py" "$T/$name.jsonl" delta raw_bytes >"$T/$name.modes"
  [ -s "$T/$name.modes" ] || fail "$name: no migration events"
}

for seed in 2 5; do
  run hash$seed hash 14 "$seed"
  grep -q "dirty pages found by hashing" "$T/hash$seed.err" || fail "hash$seed: fallback not used"
  grep -q "write-protection" "$T/hash$seed.err" && fail "hash$seed: uffd used despite KAFU_DIRTY_TRACKING=hash"
  run auto$seed auto 14 "$seed"
  if grep -q "tracked with userfaultfd write-protection" "$T/auto$seed.err"; then
    mode=uffd
  else
    mode="hash ($(grep -m1 'dirty pages found by hashing' "$T/auto$seed.err" | sed 's/.*hashing //'))"
  fi
  diff "$T/hash$seed.modes" "$T/auto$seed.modes" >/dev/null || fail "seed $seed: delta/full decisions differ"
  grep -q true "$T/auto$seed.modes" || fail "seed $seed: no delta transfer"
  ok "seed $seed: same output and $(wc -l <"$T/auto$seed.modes") transfers with $mode and with hashing"
done
ok "dirty tracking"
