#!/usr/bin/env bash
# heterogeneous.sh — x86-64 and aarch64 nodes (docs/heterogeneous.md), with
# the aarch64 kafu under qemu-user on this machine (so aarch64 figures are
# emulated: sanity figures, not ARM performance):
#
#   1. migration latency of tests/programs/xisa/xisa.c (20 rounds: 41
#      migrations, deltas), sender side (unwind + encode + transfer until the
#      receiver acknowledged, from --events), median per direction, for a
#      cluster of two x86-64 nodes and for x86-64 + aarch64 in the same run;
#   2. what shipped code saves: `kafu run` of a module on each architecture
#      with an empty cache (wasm2c + the C compiler, cold) against the same
#      run from an artifact built elsewhere (`kafu aot --target`, shipped),
#      for the xisa module and a C++ module (bench/kernels/startup_cxx.cc).
#
#   bench/heterogeneous.sh [-r REPS]       (make bench-heterogeneous)
#
# Needs make deps-cross and the aarch64 kafu ($KAFU_AARCH64, default
# build/aarch64/bin/kafu, built here when missing). Prints two tables, writes
# heterogeneous-migration.csv and heterogeneous-aot.csv to $KAFU_BENCH_OUT
# (default build/bench-results), and ends with one summary line.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KAFU_BUILD:-$ROOT/build}
KAFU=${KAFU:-$BUILD/bin/kafu}
A64=${KAFU_AARCH64:-$BUILD/aarch64/bin/kafu}
REPS=3
while [ $# -gt 0 ]; do
  case "$1" in
    -r) REPS=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "heterogeneous.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "heterogeneous.sh: $KAFU not built" >&2; exit 1; }
command -v qemu-aarch64 >/dev/null || { echo "heterogeneous.sh: qemu-aarch64 missing (make deps-cross)" >&2; exit 1; }
[ -x "$A64" ] || bash "$ROOT/scripts/build-aarch64.sh" "$(dirname "$(dirname "$A64")")"
QEMU=$(command -v qemu-aarch64)
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
OUT=${KAFU_BENCH_OUT:-$BUILD/bench-results}
mkdir -p "$OUT"
export KAFU_LOG=warn

"$KAFU" cc -O2 -I"$ROOT/include" "$ROOT/tests/programs/xisa/xisa.c" -o "$WORK/xisa.wasm" 2>/dev/null
clang++ --target=wasm32-wasi --sysroot=/usr -O2 -fno-exceptions "$ROOT/bench/kernels/startup_cxx.cc" \
  -o "$WORK/cxx.wasm"
wasm-strip "$WORK/cxx.wasm"
ports() { python3 -c 'import socket; s=[socket.socket() for _ in range(2)]; [x.bind(("127.0.0.1",0)) for x in s]; print(*[x.getsockname()[1] for x in s])'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }

# ---- 1. migration latency ------------------------------------------------------
export KAFU_CACHE_DIR=$WORK/cache
"$KAFU" aot --target aarch64-linux-gnu --target x86_64-linux-gnu "$WORK/xisa.wasm" >/dev/null 2>&1
cluster() { # NAME BARCH -> events in $WORK/NAME-{a,b}.jsonl
  local name=$1 barch=$2 pa pb
  read -r pa pb <<<"$(ports)"
  mkdir -p "$WORK/$name"
  printf 'name: bench\napp:\n  path: ../xisa.wasm\n  args: ["20", "0"]\n  preopened_dir: .\nnodes:\n  a:\n    address: 127.0.0.1\n    port: %s\n  b:\n    address: 127.0.0.1\n    port: %s\ncluster:\n  token: bench\n' \
    "$pa" "$pb" >"$WORK/$name/c.yaml"
  if [ "$barch" = aarch64 ]; then
    "$QEMU" -L / "$A64" serve --node-id b --events "$WORK/$name-b.jsonl" "$WORK/$name/c.yaml" >/dev/null 2>&1 &
  else
    "$KAFU" serve --node-id b --events "$WORK/$name-b.jsonl" "$WORK/$name/c.yaml" >/dev/null 2>&1 &
  fi
  PIDS+=($!)
  local pb_pid=$!
  "$KAFU" serve --node-id a --events "$WORK/$name-a.jsonl" "$WORK/$name/c.yaml" >/dev/null 2>&1
  wait "$pb_pid" || true
}
lat() { # EVENTS -> median ms, count
  python3 - "$1" <<'PY'
import json, statistics, sys
ms = [e["unwind_ms"] + e["encode_ms"] + e["transfer_ms"] for e in map(json.loads, open(sys.argv[1]))
      if e.get("type") == "migration"]
print("%.2f %d" % (statistics.median(ms), len(ms)))
PY
}
CSV=$OUT/heterogeneous-migration.csv
echo "rep,direction,median_ms,migrations" >"$CSV"
for r in $(seq "$REPS"); do
  cluster "x$r" x86_64
  cluster "m$r" aarch64
  read -r v n <<<"$(lat "$WORK/x$r-a.jsonl")"; echo "$r,x86_64->x86_64,$v,$n" >>"$CSV"
  read -r v n <<<"$(lat "$WORK/m$r-a.jsonl")"; echo "$r,x86_64->aarch64,$v,$n" >>"$CSV"
  read -r v n <<<"$(lat "$WORK/m$r-b.jsonl")"; echo "$r,aarch64->x86_64,$v,$n" >>"$CSV"
done
printf "%-26s %10s %11s\n" direction median_ms migrations
declare -A LAT
for d in x86_64-\>x86_64 x86_64-\>aarch64 aarch64-\>x86_64; do
  v=$(grep ",$d," "$CSV" | cut -d, -f3 | median)
  n=$(grep ",$d," "$CSV" | cut -d, -f4 | head -1)
  printf "%-26s %10s %11s\n" "$d" "$v" "$n"
  LAT[$d]=$v
done

# ---- 2. compile vs shipped --------------------------------------------------------
CSV2=$OUT/heterogeneous-aot.csv
echo "module,arch,cold_compile_ms,shipped_ms" >"$CSV2"
printf "\n%-8s %-8s %16s %11s\n" module arch cold_compile_ms shipped_ms
run_on() { # ARCH ARGS... (kafu run)
  if [ "$1" = aarch64 ]; then shift; "$QEMU" -L / "$A64" run "$@"; else shift; "$KAFU" run "$@"; fi
}
for m in xisa cxx; do
  args=(1)
  [ $m = xisa ] && args=(1 0)
  rm -rf "$WORK/ship"
  "$KAFU" aot --target aarch64-linux-gnu --target x86_64-linux-gnu --cache-dir "$WORK/ship" "$WORK/$m.wasm" \
    >/dev/null 2>&1
  for arch in x86_64 aarch64; do
    cold=$(for i in $(seq "$REPS"); do
      (cd "$WORK" && ms run_on $arch --cache-dir "$WORK/cold-$m-$arch-$i" --dir . "$WORK/$m.wasm" "${args[@]}")
    done | median)
    shipped=$(for i in $(seq "$REPS"); do
      (cd "$WORK" && ms run_on $arch --cache-dir "$WORK/ship" --dir . "$WORK/$m.wasm" "${args[@]}")
    done | median)
    echo "$m,$arch,$cold,$shipped" >>"$CSV2"
    printf "%-8s %-8s %16s %11s\n" $m $arch "$cold" "$shipped"
  done
done
cxx_a64=$(grep '^cxx,aarch64,' "$CSV2")
echo "heterogeneous x86_to_x86_ms=${LAT[x86_64->x86_64]} x86_to_aarch64_ms=${LAT[x86_64->aarch64]}" \
  "aarch64_to_x86_ms=${LAT[aarch64->x86_64]} cxx_aarch64_cold_ms=$(echo "$cxx_a64" | cut -d, -f3)" \
  "cxx_aarch64_shipped_ms=$(echo "$cxx_a64" | cut -d, -f4)"
