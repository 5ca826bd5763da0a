#!/usr/bin/env bash
# snapshot-codec.sh — throughput of the snapshot codec alone (no engine, no
# network): dirty detection, encode and decode for 16 MiB / 10 % dirty and
# 256 MiB / 100 % dirty, delta and full, none / LZ4 / zstd; then LZ4/zstd again
# with 2 compression threads.
#
# usage: bench/snapshot-codec.sh [BUILD_DIR] [snapshot_codec args...]
#   BUILD_DIR defaults to ./build (configured + built if needed); extra args
#   replace the default sweep (see bench/snapshot_codec.c).
# Prints tables, writes snapshot-codec.csv to $KAFU_BENCH_OUT (default
# BUILD/bench-results; bench/results/ holds the curated copies) and ends with one line
#   snapshot-codec lz4_delta_16MiB_10pct_t0_encode_ms=X ..._decode_ms=Y ...
# Timings are medians; on a shared machine the threaded rows need idle cores.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(dirname "$here")"
build="${1:-${KAFU_BUILD:-$src/build}}"
shift || true
[[ "$build" = /* ]] || build="$PWD/$build"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j 2 --target snapshot_codec >/dev/null
bin="$build/bench/snapshot_codec"
OUT="${KAFU_BENCH_OUT:-$build/bench-results}"
mkdir -p "$OUT"
csv="$OUT/snapshot-codec.csv"
rm -f "$csv"

echo "# snapshot codec ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)); medians; MB/s = raw page bytes carried per second"
if [[ $# -gt 0 ]]; then
  "$bin" "$@" --csv "$csv"
else
  "$bin" --case 16:10 --case 256:100 --reps 5 --csv "$csv"
  echo "# the same with 2 compression threads"
  "$bin" --case 16:10 --case 256:100 --comp lz4,zstd --reps 5 --threads 2 --csv "$csv"
fi
echo "# CSV: $csv"

# one machine-readable summary line (LZ4 rows)
awk -F, 'NR > 1 && $4 == "lz4" {
  key = $4 "_" $3 "_" $1 "MiB_" $2 "pct_t" $16
  printf "%s%s_encode_ms=%s %s_decode_ms=%s", (n++ ? " " : "snapshot-codec "), key, $11, key, $12
} END { print "" }' "$csv"
