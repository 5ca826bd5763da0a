#!/usr/bin/env bash
# snapshot-codec.sh — throughput of the snapshot codec alone (no engine, no
# network): dirty detection, encode and decode for 16 MiB / 10 % dirty and
# 256 MiB / 100 % dirty, delta and full, none / LZ4 / zstd.
#
# usage: bench/snapshot-codec.sh [BUILD_DIR] [extra snapshot_codec args]
#   BUILD_DIR defaults to ./build (configured + built if needed).
# Prints a table, writes bench/results/snapshot-codec.csv and ends with
#   snapshot-codec lz4_delta_16MiB_10pct_encode_ms=X decode_ms=Y ...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(dirname "$here")"
build="${1:-$src/build}"
shift || true
[[ "$build" = /* ]] || build="$PWD/$build"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j 2 --target snapshot_codec >/dev/null
bin="$build/bench/snapshot_codec"
mkdir -p "$here/results"
csv="$here/results/snapshot-codec.csv"

echo "# snapshot codec throughput ($(nproc) cores, $(uname -r)); medians; MB/s = raw page bytes carried per second"
args=(--case 16:10 --case 256:100 --reps 5)
[[ $# -gt 0 ]] && args=("$@")
"$bin" "${args[@]}" --csv "$csv"
echo "# CSV: $csv"

# one machine-readable summary line (LZ4 rows)
awk -F, 'NR > 1 && $4 == "lz4" {
  key = $4 "_" $3 "_" $1 "MiB_" $2 "pct"
  printf "%s%s_encode_ms=%s %s_decode_ms=%s", (n++ ? " " : "snapshot-codec "), key, $11, key, $12
} END { print "" }' "$csv"
