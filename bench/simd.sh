#!/usr/bin/env bash
# simd.sh — can `kafu cc` enable Wasm SIMD (-msimd128) by default, and what
# would it bring? For each compute kernel (bench/kernels/*.c) and the SIMD test
# set (tests/programs/cc/simd_set.c) this builds the wasm twice with clang -O2,
# scalar and -msimd128 (explicit intrinsics in simd_set, clang's auto-vectorizer
# elsewhere), counts the SIMD instructions in the second, checks every output
# against native gcc -O2, and times (best of REPS interleaved runs, wall clock):
#   native      gcc -O2 on this machine
#   kafu        the scalar module under `kafu run` (Kafu's wasm2c engine)
#   node        the scalar module under Node.js (V8)
#   node_simd   the -msimd128 module under Node.js
#   kafu_simd   whether Kafu's engine accepts the -msimd128 module (it cannot
#               when it holds SIMD instructions: wasm2c of wabt 1.0.32 aborts on
#               any, so it is refused by name; the column shows the first one)
# -msimd128 also changes clang's scalar code (its cost model), so kernels
# without a single SIMD instruction can change speed too: the summary gives
# the geomean over all kernels (what enabling it by default does) and over
# the vectorized ones.
#
#   bench/simd.sh [-r REPS] [-k "matmul nbody ..."]
#
# Prints a table, writes simd.csv and simd.png (gnuplot) under
# $KAFU_BENCH_OUT (default build/bench-results), and ends with
#   simd kafu_accepts_simd=no node_simd_vs_scalar_geomean=X node_simd_vs_scalar_geomean_vectorized=V
#        node_simd_vs_scalar_matmul=Y vectorized=K/N mismatches=M
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
REPS=5
KERNELS="matmul nbody sha256 sieve quicksort mandelbrot crc32 simd_set"
while [ $# -gt 0 ]; do
  case "$1" in
    -r) REPS=$2; shift 2 ;;
    -k) KERNELS=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "simd.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "simd.sh: $KAFU not built (set KAFU=...)" >&2; exit 1; }
command -v node >/dev/null || { echo "simd.sh: needs node (Debian package nodejs) as the SIMD-capable engine" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
OUTDIR=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUTDIR"
WASI_CC=(clang --target=wasm32-wasi --sysroot=/usr -O2)

time_once() { # wall seconds of one run of "$@"; its stdout -> $WORK/out, exit status -> $WORK/rc
  local s e rc=0
  s=$(date +%s%N)
  "$@" > "$WORK/out" 2>/dev/null || rc=$?
  e=$(date +%s%N)
  echo "$rc" > "$WORK/rc"
  awk -v ns="$((e - s))" 'BEGIN { printf "%.4f", ns / 1e9 }'
}
# kernel arguments: sieve's default 50M makes Node 20 segfault at exit (after
# printing the right result), which would time a crash; 30M does not
args_of() { [ "$1" = sieve ] && echo 30000000 || true; }
src_of() { [ "$1" = simd_set ] && echo "$ROOT/tests/programs/cc/simd_set.c" || echo "$ROOT/bench/kernels/$1.c"; }

CSV=$OUTDIR/simd.csv
echo "kernel,simd_instructions,native_s,kafu_s,node_s,node_simd_s,node_simd_vs_scalar,kafu_simd" > "$CSV"
printf "%-11s %6s %9s %9s %9s %9s %9s  %-8s %s\n" kernel simd native_s kafu_s node_s nodesimd_s simd/scal check kafu_simd
mismatches=0
for k in $KERNELS; do
  src=$(src_of "$k")
  gcc -O2 -w "$src" -o "$WORK/$k" -lm
  "${WASI_CC[@]}" "$src" -o "$WORK/$k.wasm" -lm
  "${WASI_CC[@]}" -msimd128 "$src" -o "$WORK/$k.simd.wasm" -lm
  nsimd=$(wasm-objdump -d "$WORK/$k.simd.wasm" | grep -cE '\| +(v128|[iuf](8x16|16x8|32x4|64x2))\.' || true)
  "$KAFU" aot "$WORK/$k.wasm" > /dev/null
  read -r -a kargs <<<"$(args_of "$k")"
  "$WORK/$k" "${kargs[@]}" > "$WORK/expected"
  # the four variants interleaved, best of REPS each: the machine's load drifts
  # over minutes, so back-to-back series would compare different conditions
  declare -A best=()
  check=ok
  for _ in $(seq "$REPS"); do
    for v in native kafu node node_simd; do
      case $v in
        native) cmd=("$WORK/$k") ;;
        kafu) cmd=("$KAFU" run "$WORK/$k.wasm") ;;
        node) cmd=(node --no-warnings "$ROOT/bench/run-node.mjs" "$WORK/$k.wasm") ;;
        node_simd) cmd=(node --no-warnings "$ROOT/bench/run-node.mjs" "$WORK/$k.simd.wasm") ;;
      esac
      t=$(time_once "${cmd[@]}" "${kargs[@]}")
      cmp -s "$WORK/out" "$WORK/expected" || check="$v-MISMATCH"
      [ "$(cat "$WORK/rc")" = 0 ] || check="$v-EXIT$(cat "$WORK/rc")"
      if [ -z "${best[$v]:-}" ] || awk -v a="$t" -v b="${best[$v]}" 'BEGIN { exit !(a < b) }'; then best[$v]=$t; fi
    done
  done
  tn=${best[native]} tk=${best[kafu]} tj=${best[node]} ts=${best[node_simd]}
  [ "$check" = ok ] || mismatches=$((mismatches + 1))
  if err=$("$KAFU" aot "$WORK/$k.simd.wasm" 2>&1 >/dev/null); then
    ks=accepted
  else
    ks=$(sed -n 's/.*(first: instruction \([^ ]*\) .*/refused:\1/p' <<<"$err")
    [ -n "$ks" ] || ks="refused"
  fi
  r=$(awk -v a="$ts" -v b="$tj" 'BEGIN { printf "%.3f", a / b }')
  printf "%-11s %6s %9s %9s %9s %9s %9s  %-8s %s\n" "$k" "$nsimd" "$tn" "$tk" "$tj" "$ts" "$r" "$check" "$ks"
  echo "$k,$nsimd,$tn,$tk,$tj,$ts,$r,$ks" >> "$CSV"
done

geo() { # geomean of node_simd_vs_scalar over the kernels matching awk condition $1
  awk -F, "NR > 1 && ($1) { s += log(\$7); n++ } END { if (n) printf \"%.3f\", exp(s / n); else printf \"-\" }" "$CSV"
}
geo_all=$(geo 1)
geo_vec=$(geo '$2 > 0')
mm=$(awk -F, '$1 == "matmul" { print $7 }' "$CSV")
vec=$(awk -F, 'NR > 1 { n++; if ($2 > 0) v++ } END { printf "%d/%d", v, n }' "$CSV")
acc=$(awk -F, 'NR > 1 && $2 > 0 && $8 == "accepted" { a++ } END { print a ? "yes" : "no" }' "$CSV")
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 900,500 noenhanced
set output "$OUTDIR/simd.png"
set datafile separator ","
set title "Wasm SIMD under V8: -msimd128 time / scalar time (lower is better; Kafu's engine refuses SIMD)"
set ylabel "ratio"; set style data histograms; set style fill solid 0.7; set boxwidth 0.8; set grid ytics
set yrange [0:*]; set xtics rotate by -30
plot "$CSV" every ::1 using 7:xtic(1) title "node -msimd128 / node scalar", 1 with lines dashtype 2 title "no change"
GP
fi
echo "results: $CSV"
echo "simd kafu_accepts_simd=$acc node_simd_vs_scalar_geomean=$geo_all node_simd_vs_scalar_geomean_vectorized=$geo_vec node_simd_vs_scalar_matmul=${mm:--} vectorized=$vec mismatches=$mismatches"
