#!/usr/bin/env bash
# fuzz.sh [SECONDS] [--runs N] [TARGET...] — run the libFuzzer targets
# (tests/fuzz/fuzz_*.c; all of them unless TARGETs are named) for SECONDS each
# (default 60), or for N executions each with --runs N, with ASan+UBSan,
# starting from its seed corpus in tests/fuzz/corpus/<target>/. New
# interesting inputs go to a scratch corpus under build-fuzz/; crashes are
# written as build-fuzz/crash-* — copy a crash into the seed corpus to keep it
# as a regression test (the normal suite replays every seed). The machine is
# shared: run it with `nice -n 19`.
set -euo pipefail
SECS=60
RUNS=""
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    [0-9]*) SECS=$1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build-fuzz
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=($(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//'))
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$B" -DKAFU_FUZZ=ON -DKAFU_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$B" -j "$(nproc)" --target "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do
  mkdir -p "$B/corpus/$t"
  if [ -n "$RUNS" ]; then
    echo "== $t: $RUNS runs"
    limit=(-runs="$RUNS")
  else
    echo "== $t: ${SECS}s"
    limit=(-max_total_time="$SECS")
  fi
  (cd "$B" && "./tests/$t" "${limit[@]}" -print_final_stats=1 "$B/corpus/$t" "$ROOT/tests/fuzz/corpus/$t")
done
