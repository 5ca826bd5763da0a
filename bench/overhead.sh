#!/usr/bin/env bash
# overhead.sh — execution overhead of Kafu's engine (wasm2c AOT, `kafu run`)
# on compute kernels, against the same C compiled natively (gcc -O2) and the
# same wasm under Node.js (node:wasi, V8).
#
#   bench/overhead.sh [-r REPS] [-k "matmul nbody ..."] [--no-node] [--no-snapify]
#
# Every kernel (bench/kernels/*.c) prints a checksum; the outputs of all
# variants must agree (a mismatch is reported, e.g. a wasm32 `long` bug). Times
# are wall-clock, best of REPS runs, compile excluded (`kafu aot` first; the
# engine cache is a private temp dir unless KAFU_CACHE_DIR is set).
#
# Snapified column (hook): when `kafu cc` (or clang + `kafu snapify`) can build
# a kernel with its entry function annotated (-DKAFU_BENCH_ANNOTATE, see
# bench/kernels/bench.h), that variant runs too and adds snapified_s and
# snapified_vs_native_geomean; otherwise the column is "-" and skipped.
#
# Prints a table, writes overhead.csv to $KAFU_BENCH_OUT (default
# build/bench-results; bench/results/ holds the curated copies), and ends with
#   overhead plain_vs_native_geomean=X node_vs_native_geomean=Z [snapified_vs_native_geomean=Y]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
REPS=3
KERNELS="matmul nbody sha256 sieve quicksort mandelbrot crc32"
USE_NODE=1
USE_SNAP=1
while [ $# -gt 0 ]; do
  case "$1" in
    -r) REPS=$2; shift 2 ;;
    -k) KERNELS=$2; shift 2 ;;
    --no-node) USE_NODE=0; shift ;;
    --no-snapify) USE_SNAP=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "overhead.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "overhead.sh: $KAFU not built (set KAFU=...)" >&2; exit 1; }
command -v node >/dev/null || USE_NODE=0

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
K=$ROOT/bench/kernels
OUTDIR=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUTDIR"
WASI_CC=(clang --target=wasm32-wasi --sysroot=/usr -O2)

# best wall time (seconds) of REPS runs of "$@"; stdout of the last run -> $WORK/out
best_time() {
  local best="" s e t
  for _ in $(seq "$REPS"); do
    s=$(date +%s%N)
    "$@" > "$WORK/out"
    e=$(date +%s%N)
    t=$(( (e - s) / 1000 ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  awk -v us="$best" 'BEGIN { printf "%.4f", us / 1e6 }'
}

# Snapified variant builder: prints the module path, or fails
build_snapified() { # kernel
  local k=$1 out=$WORK/$1.snap.wasm
  if "$KAFU" cc -O2 -DKAFU_BENCH_ANNOTATE -I"$ROOT/include" "$K/$k.c" -o "$out" -lm >/dev/null 2>&1; then
    echo "$out"; return 0
  fi
  "${WASI_CC[@]}" -DKAFU_BENCH_ANNOTATE -I"$ROOT/include" "$K/$k.c" -o "$WORK/$k.annot.wasm" -lm &&
    "$KAFU" snapify "$WORK/$k.annot.wasm" -o "$out" >/dev/null 2>&1 && echo "$out"
}

CSV=$OUTDIR/overhead.csv
echo "kernel,native_s,kafu_s,node_s,snapified_s,kafu_vs_native,node_vs_native,snapified_vs_native" > "$CSV"
printf "%-11s %9s %9s %9s %9s %8s %8s %8s %s\n" kernel native_s kafu_s node_s snap_s kafu/nat node/nat snap/nat check
for k in $KERNELS; do
  gcc -O2 "$K/$k.c" -o "$WORK/$k" -lm
  "${WASI_CC[@]}" "$K/$k.c" -o "$WORK/$k.wasm" -lm
  "$KAFU" aot "$WORK/$k.wasm" > /dev/null 2> "$WORK/aot.log" || { cat "$WORK/aot.log" >&2; exit 1; }
  tn=$(best_time "$WORK/$k"); cp "$WORK/out" "$WORK/$k.expected"
  check=ok
  tk=$(best_time "$KAFU" run "$WORK/$k.wasm"); cmp -s "$WORK/out" "$WORK/$k.expected" || check="kafu-MISMATCH"
  tj=-
  if [ $USE_NODE = 1 ]; then
    tj=$(best_time node --no-warnings "$ROOT/bench/run-node.mjs" "$WORK/$k.wasm")
    cmp -s "$WORK/out" "$WORK/$k.expected" || check="$check node-MISMATCH"
  fi
  ts=-
  if [ $USE_SNAP = 1 ] && snap=$(build_snapified "$k") && "$KAFU" aot "$snap" > /dev/null 2>&1; then
    ts=$(best_time "$KAFU" run "$snap")
    cmp -s "$WORK/out" "$WORK/$k.expected" || check="$check snap-MISMATCH"
  fi
  ratio() { [ "$1" = - ] && echo - || awk -v a="$1" -v b="$tn" 'BEGIN { printf "%.3f", a / b }'; }
  rk=$(ratio "$tk"); rj=$(ratio "$tj"); rs=$(ratio "$ts")
  printf "%-11s %9s %9s %9s %9s %8s %8s %8s %s\n" "$k" "$tn" "$tk" "$tj" "$ts" "$rk" "$rj" "$rs" "$check"
  echo "$k,$tn,$tk,$tj,$ts,$rk,$rj,$rs" >> "$CSV"
done

geo() { # column number of the ratio in the CSV
  awk -F, -v c="$1" 'NR > 1 && $c != "-" { s += log($c); n++ } END { if (n) printf "%.3f", exp(s / n); else printf "-" }' "$CSV"
}
gk=$(geo 6); gj=$(geo 7); gs=$(geo 8)
echo "results: $CSV"
line="overhead plain_vs_native_geomean=$gk node_vs_native_geomean=$gj"
[ "$gs" != - ] && line="$line snapified_vs_native_geomean=$gs"
echo "$line"
