#!/usr/bin/env bash
# Senders skip GET /baseline when they know what the target holds (the image
# they last sent to it or received from it; docs/cluster.md step 2). On
# three-node random walks, where those guesses go stale all the time, the
# program's output must equal the native build's, and every transfer must
# make the same delta/full decision (same raw bytes) as when every send asks
# first ($KAFU_BASELINE_QUERY=1), with no 409 "baseline" retries.
source "$KAFU_SRC/tests/shell/lib/cluster.sh"
build walk3
cc -O2 -I"$KAFU_SRC/include" "$PROGS/walk3.c" -o "$T/walk3-native" || fail "native build of walk3.c"

decisions() { # events file -> "from to delta raw" per transfer, in the order they happened
  "$KAFU_SRC/scripts/events-migrations.py" "$1" from to delta raw_bytes
}

for seed in 3 8; do
  "$T/walk3-native" 14 "$seed" >"$T/expected$seed"
  for q in 0 1; do
    read -r pa pb pc <<<"$(free_ports 3)"
    config "$T/w$seed$q.yaml" walk3.wasm "[\"14\", \"$seed\"]" a="$pa" b="$pb" c="$pc"
    KAFU_BASELINE_QUERY=$q timeout 60 "$KAFU" launch --no-prefix --events "$T/w$seed$q.jsonl" "$T/w$seed$q.yaml" \
      >"$T/w$seed$q.out" 2>"$T/w$seed$q.err" || fail "seed $seed query=$q: launch exited $? ($(tail -3 "$T/w$seed$q.err"))"
    diff "$T/expected$seed" "$T/w$seed$q.out" >/dev/null || fail "seed $seed query=$q: output differs from native"
    decisions "$T/w$seed$q.jsonl" >"$T/d$seed$q"
    [ -s "$T/d$seed$q" ] || fail "seed $seed query=$q: no migration events"
  done
  diff "$T/d${seed}1" "$T/d${seed}0" || fail "seed $seed: cached guesses changed delta/full decisions"
  grep -q "does not hold the delta" "$T/w${seed}0.err" && fail "seed $seed: a cached guess led to a 409 baseline retry"
  grep -q true "$T/d${seed}0" || fail "seed $seed: no delta transfer"
  ok "seed $seed: $(wc -l <"$T/d${seed}0") transfers, same decisions with and without GET /baseline"
done
ok "baseline cache"
