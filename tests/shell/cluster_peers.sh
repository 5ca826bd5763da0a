#!/usr/bin/env bash
# Deltas against every peer (docs/cluster.md): a hub that alternates between
# two spokes (three nodes) and three spokes (four nodes). The output must
# equal the native build's; every transfer but each spoke's first visit must
# be a delta — the hub keeps the image each spoke holds, not only the one it
# exchanged the program with last — and asking first (GET /baseline) must make
# the same decisions. With spoke s1 calling s2 behind the hub's back, the
# program tells the hub that s2's image changed: no delta against an image s2
# no longer holds (the receiver's check of a delta's baseline, and the full
# retry after its 409, are tested in cluster_baseline.sh).
source "$KAFU_SRC/tests/shell/lib/cluster.sh"

spokes_build() { # N -> $T/spokesN.wasm and $T/spokesN-native
  "$KAFU" cc -O2 -DSPOKES="$1" -I"$KAFU_SRC/include" "$PROGS/spokes.c" -o "$T/spokes$1.wasm" \
    >"$T/cc$1.log" 2>&1 || { cat "$T/cc$1.log" >&2; fail "kafu cc spokes.c -DSPOKES=$1"; }
  cc -O2 -DSPOKES="$1" -I"$KAFU_SRC/include" "$PROGS/spokes.c" -o "$T/spokes$1-native" ||
    fail "native build of spokes.c"
}

transfers() { # events -> "from to delta" per migration, in the order they happened
  "$KAFU_SRC/scripts/events-migrations.py" "$1" from to delta
}

run_spokes() { # name N rounds nested [env...]
  local name=$1 n=$2 rounds=$3 nested=$4
  shift 4
  local ports nodes=(hub s1 s2 s3) args=() i
  read -r -a ports <<<"$(free_ports $((n + 1)))"
  for ((i = 0; i <= n; i++)); do args+=("${nodes[$i]}=${ports[$i]}"); done
  config "$T/$name.yaml" "spokes$n.wasm" "[\"$rounds\", \"$nested\"]" "${args[@]}"
  "$T/spokes$n-native" "$rounds" "$nested" >"$T/$name.expected"
  env "$@" timeout 120 "$KAFU" launch --no-prefix --events "$T/$name.jsonl" "$T/$name.yaml" \
    >"$T/$name.out" 2>"$T/$name.err" || fail "$name: launch exited $? ($(tail -3 "$T/$name.err"))"
  sort "$T/$name.expected" >"$T/$name.expected.sorted"
  sort "$T/$name.out" >"$T/$name.out.sorted"
  diff "$T/$name.expected.sorted" "$T/$name.out.sorted" >"$T/$name.diff" ||
    fail "$name: output differs from native: $(head -5 "$T/$name.diff")"
  cmp -s "$T/$name.expected" "$T/$name.out" || fail "$name: output order differs from native"
  transfers "$T/$name.jsonl" >"$T/$name.transfers"
}

spokes_build 2
spokes_build 3
for n in 2 3; do
  run_spokes "star$n" "$n" 5 0
  full=$(grep -c ' false$' "$T/star$n.transfers" || true)
  total=$(wc -l <"$T/star$n.transfers")
  # the first visit of each spoke is full; everything else, both ways, a delta
  [ "$full" = "$n" ] || fail "star$n: $full full transfers of $total, want $n: $(grep ' false$' "$T/star$n.transfers" | tr '\n' ';')"
  grep -q 'does not hold the delta' "$T/star$n.err" && fail "star$n: a 409 baseline retry"
  run_spokes "ask$n" "$n" 5 0 KAFU_BASELINE_QUERY=1
  diff "$T/star$n.transfers" "$T/ask$n.transfers" >"$T/ask$n.diff" ||
    fail "star$n: asking first (GET /baseline) made other decisions: $(tr '\n' ';' <"$T/ask$n.diff")"
  ok "$((n + 1)) nodes: $total transfers, $full full (first visits), the rest deltas; same with GET /baseline"
done

run_spokes nested 2 6 1
# the program carries what every node holds: the hub knows s2's image changed
# and sends it in full right away instead of a delta s2 would refuse
grep -q 'does not hold the delta' "$T/nested.err" && fail "nested: a delta against an image s2 no longer holds"
python3 - "$T/nested.transfers" <<'PY' || fail "nested: the hub did not send s2 its full image after s1 -> s2"
import sys
t = [l.split() for l in open(sys.argv[1])]
# after each s1 -> s2 call, the hub's next transfer to s2 is full
after = [i for i, x in enumerate(t) if x[:2] == ["s1", "s2"]]
nxt = [next((x for x in t[i:] if x[:2] == ["hub", "s2"]), None) for i in after]
sys.exit(0 if after and all(x is None or x[2] == "false" for x in nxt) else 1)
PY
ok "s1 -> s2 behind the hub's back: the hub knew, sent s2 its full image, output right"
