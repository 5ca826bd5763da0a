#!/usr/bin/env bash
# startup.sh — start-up time of `kafu run`: cold (empty cache: wasm2c + C
# compile + load) against warm (cache hit: verify + dlopen), for a C hello
# world, a C++ program (~100-200 KB of wasm, bench/kernels/startup_cxx.cc) and
# one compute kernel; Node.js start-up of the same module for reference.
#
#   bench/startup.sh [-r REPS]
#
# Times are wall-clock, median of REPS runs (cold runs each use a fresh cache).
# Prints a table and writes startup.csv to $KAFU_BENCH_OUT (default
# build/bench-results; bench/results/ holds the curated copies).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
REPS=3
while [ $# -gt 0 ]; do
  case "$1" in
    -r) REPS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "startup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "startup.sh: $KAFU not built (set KAFU=...)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OUT=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUT"
CSV=$OUT/startup.csv

cat > "$WORK/hello.c" <<'C'
#include <stdio.h>
int main(void) { printf("hello\n"); return 0; }
C
clang --target=wasm32-wasi --sysroot=/usr -O2 "$WORK/hello.c" -o "$WORK/hello.wasm"
clang++ --target=wasm32-wasi --sysroot=/usr -O2 -fno-exceptions "$ROOT/bench/kernels/startup_cxx.cc" -o "$WORK/cxx.wasm"
clang --target=wasm32-wasi --sysroot=/usr -O2 "$ROOT/bench/kernels/sha256.c" -o "$WORK/sha256.wasm"
# deployed modules carry no DWARF: strip it so wasm_bytes is code + data
for m in hello cxx sha256; do wasm-strip "$WORK/$m.wasm"; done

ms() { # command... -> wall ms
  local s e
  s=$(date +%s%N)
  "$@" > /dev/null 2>&1
  e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "module,wasm_bytes,artifact_bytes,cold_ms,warm_ms,node_ms" > "$CSV"
printf "%-10s %10s %12s %9s %9s %9s\n" module wasm_bytes artifact cold_ms warm_ms node_ms
for m in hello cxx sha256; do
  w=$WORK/$m.wasm
  cold=$(for i in $(seq "$REPS"); do KAFU_CACHE_DIR=$WORK/cold$i-$m ms "$KAFU" run "$w" 1; done | median)
  export KAFU_CACHE_DIR=$WORK/warm
  art=$("$KAFU" aot "$w" 2>/dev/null)
  warm=$(for i in $(seq "$REPS"); do ms "$KAFU" run "$w" 1; done | median)
  node=-
  command -v node >/dev/null &&
    node=$(for i in $(seq "$REPS"); do ms node --no-warnings "$ROOT/bench/run-node.mjs" "$w" 1; done | median)
  unset KAFU_CACHE_DIR
  printf "%-10s %10s %12s %9s %9s %9s\n" "$m" "$(stat -c %s "$w")" "$(stat -c %s "$art")" "$cold" "$warm" "$node"
  echo "$m,$(stat -c %s "$w"),$(stat -c %s "$art"),$cold,$warm,$node" >> "$CSV"
done
echo "results: $CSV"
