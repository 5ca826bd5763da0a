#!/usr/bin/env bash
# fuzz.sh [SECONDS] — run every libFuzzer target (tests/fuzz/fuzz_*.c) for
# SECONDS each (default 60) with ASan+UBSan, starting from its seed corpus in
# tests/fuzz/corpus/<target>/. New interesting inputs go to a scratch corpus
# under build-fuzz/; crashes are written as build-fuzz/crash-* — copy a crash
# into the seed corpus to keep it as a regression test (the normal suite
# replays every seed).
set -euo pipefail
SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build-fuzz
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$B" -DKAFU_FUZZ=ON -DKAFU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$B" -j "$(nproc)" --target $(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  mkdir -p "$B/corpus/$t"
  echo "== $t: ${SECS}s"
  (cd "$B" && "./tests/$t" -max_total_time="$SECS" -print_final_stats=1 "$B/corpus/$t" "$ROOT/tests/fuzz/corpus/$t")
done
