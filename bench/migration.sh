#!/usr/bin/env bash
# migration.sh — one-way migration latency on a two-node loopback cluster.
#
#   bench/migration.sh [--quick] [-m "1 16 64 256"] [-d "1 10 100"] [-c "none lz4 zstd"]
#                      [-M "full delta"] [-i ITER] [-o CSV] [-k NAME=KAFU]... [-r ROUNDS]
#
# For memory sizes (MiB) x dirty fractions (%) x memory_migration (full, delta)
# x compression (none, lz4, zstd) it runs bench/programs/migrate.c under
# `kafu launch` (real `kafu serve` processes on 127.0.0.1). The guest itself
# timestamps right before calling its KAFU_DEST function and as that function's
# first statement (CLOCK_REALTIME, shared by both processes), so "p50_ms" is the
# whole one-way migration: unwind, encode, transfer, decode, restore, rewind.
# Per-phase means come from the nodes' --events JSON Lines. The floor is a raw
# loopback TCP copy of the same dirty bytes (bench/programs/tcp_floor.c),
# measured in the same run.
#
# -k NAME=KAFU adds a kafu binary as variant NAME (repeatable; default: one
# variant "kafu" = $KAFU): each variant compiles the guest with its own `kafu
# cc` and cache, and the variants take turns, configuration by configuration,
# ROUNDS times (-r, default 1), so a loaded machine slows them alike. p50/p99
# are over the latencies of all rounds of a variant; the CSV's variant column
# says which.
#
# Prints a table, writes migration.csv and migration-latency.png to
# $KAFU_BENCH_OUT (default build/bench-results; bench/results/ holds the
# curated copies docs/benchmarks.md cites), and ends with
#   migration p50_ms_16MiB_10pct=X floor_ratio_16MiB_10pct=Y
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
MEMS="1 16 64 256"
DIRTS="1 10 100"
MODES="full delta"
COMPS="none lz4 zstd"
ITER=""
CSV_OUT=""
VARIANTS=()
ROUNDS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MEMS="1 16"; DIRTS="10 100"; COMPS="none lz4"; shift ;;
    -m) MEMS=$2; shift 2 ;;
    -d) DIRTS=$2; shift 2 ;;
    -c) COMPS=$2; shift 2 ;;
    -M) MODES=$2; shift 2 ;;
    -i) ITER=$2; shift 2 ;;
    -o) CSV_OUT=$2; shift 2 ;;
    -k) VARIANTS+=("$2"); shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "migration.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("kafu=$KAFU")
for v in "${VARIANTS[@]}"; do
  case "$v" in
    *=*) [ -x "${v#*=}" ] || { echo "migration.sh: ${v#*=} (variant ${v%%=*}) not built (run make, or set KAFU=...)" >&2; exit 1; } ;;
    *) echo "migration.sh: -k wants NAME=KAFU, got '$v'" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OUT=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUT"
CSV=${CSV_OUT:-$OUT/migration.csv}

for v in "${VARIANTS[@]}"; do
  name=${v%%=*}
  mkdir -p "$WORK/$name"
  KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/$name/cache} "${v#*=}" cc -O2 "$ROOT/bench/programs/migrate.c" -o "$WORK/$name/migrate.wasm"
  KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/$name/cache} "${v#*=}" aot "$WORK/$name/migrate.wasm" >/dev/null
done
gcc -O2 -pthread "$ROOT/bench/programs/tcp_floor.c" -o "$WORK/tcp_floor"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "mem_mib,dirty_pct,mode,compression,iterations,p50_ms,p99_ms,mean_unwind_ms,mean_encode_ms,mean_transfer_ms,mean_decode_ms,mean_restore_ms,mean_wire_bytes,floor_ms,floor_ratio,variant" > "$CSV"
printf "%-5s %-5s %-5s %-5s %-8s %9s %9s %8s %8s %8s %8s %8s %11s %8s %7s\n" MiB dirty mode comp variant p50_ms p99_ms unwind encode xfer decode restore wire_bytes floor_ms ratio
for mem in $MEMS; do
  for d in $DIRTS; do
    bytes=$(awk -v m="$mem" -v d="$d" 'BEGIN { b = int(m * 1048576 * d / 100); print (b > 0 ? b : 4096) }')
    floor=$("$WORK/tcp_floor" "$bytes" 9)
    for mode in $MODES; do
      for comp in $COMPS; do
        it=${ITER:-$(( mem >= 256 ? 6 : mem >= 64 ? 10 : 20 ))}
        rm -f "$WORK"/*/out-*.txt "$WORK"/*/events-*.jsonl
        for ((round = 1; round <= ROUNDS; round++)); do
          for v in "${VARIANTS[@]}"; do
            name=${v%%=*}
            pa=$(free_port); pb=$(free_port)
            cat > "$WORK/$name/kafu-config.yaml" <<YAML
name: bench-migration
app:
  path: ./migrate.wasm
  args: ["$mem", "$d", "$it"]
nodes:
  a: {address: 127.0.0.1, port: $pa}
  b: {address: 127.0.0.1, port: $pb}
cluster:
  migration:
    memory_migration: $mode
    compression: $comp
YAML
            if ! KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/$name/cache} KAFU_LOG=warn "${v#*=}" launch --no-prefix \
                --events "$WORK/$name/events-$round.jsonl" "$WORK/$name/kafu-config.yaml" \
                > "$WORK/$name/out-$round.txt" 2> "$WORK/err.txt"; then
              echo "migration.sh: run failed ($name, $mem MiB, $d %, $mode, $comp):" >&2; tail -5 "$WORK/err.txt" >&2
              rm -f "$WORK/$name/out-$round.txt"
            fi
          done
        done
        for v in "${VARIANTS[@]}"; do
          name=${v%%=*}
          ls "$WORK/$name"/out-*.txt >/dev/null 2>&1 || continue
          python3 - "$WORK/$name" "$mem" "$d" "$mode" "$comp" "$floor" "$CSV" "$name" <<'PY'
import glob, json, os, sys, statistics
wd, mem, d, mode, comp, floor, csv, name = sys.argv[1:]
lat, mig, res = [], [], []
for out in sorted(glob.glob(os.path.join(wd, "out-*.txt"))):
    l = [float(x.split()[2]) for x in open(out) if x.startswith("lat_ms ")]
    lat += l[1:] if len(l) > 2 else l          # first hop: cold baseline (full)
    evf = out.replace("out-", "events-").replace(".txt", ".jsonl")
    ev = []
    try:
        ev = [json.loads(x) for x in open(evf) if x.strip()]
    except FileNotFoundError:
        pass
    mig += [e for e in ev if e.get("type") == "migration" and e.get("kind") == "enter"][1:]
    res += [e for e in ev if e.get("type") == "restore" and e.get("node") == "b"][1:]
def mean(xs, k):
    v = [x[k] for x in xs if k in x]
    return statistics.mean(v) if v else float("nan")
lat.sort()
p50 = statistics.median(lat) if lat else float("nan")
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))] if lat else float("nan")
fl = float(floor)
row = [mem, d, mode, comp, len(lat), p50, p99, mean(mig, "unwind_ms"), mean(mig, "encode_ms"),
       mean(mig, "transfer_ms"), mean(res, "decode_ms"), mean(res, "restore_ms"), mean(mig, "wire_bytes"), fl,
       p50 / fl if fl > 0 else float("nan"), name]
with open(csv, "a") as f:
    f.write(",".join(f"{x:.3f}" if isinstance(x, float) else str(x) for x in row) + "\n")
print("%-5s %-5s %-5s %-5s %-8s %9.3f %9.3f %8.3f %8.3f %8.3f %8.3f %8.3f %11.0f %8.3f %7.2f" % tuple(row[:4] + [name] + row[5:15]))
PY
        done
      done
    done
  done
done
if [ -z "$CSV_OUT" ] && command -v gnuplot >/dev/null 2>&1; then
  first=${VARIANTS[0]%%=*}   # the plot shows the first variant
  for d in $DIRTS; do
    awk -F, -v d="$d" -v k="$first" 'NR > 1 && $2 == d && $3 == "delta" && $4 == "lz4" && $16 == k {print $1, $6}' "$CSV" > "$WORK/delta-$d.dat"
    awk -F, -v d="$d" -v k="$first" 'NR > 1 && $2 == d && $3 == "delta" && $4 == "lz4" && $16 == k {print $1, $14}' "$CSV" > "$WORK/floor-$d.dat"
  done
  plots=""
  for d in $DIRTS; do
    plots="$plots${plots:+, }\"$WORK/delta-$d.dat\" using 1:2 with linespoints title \"kafu delta+lz4, $d% dirty\", \"$WORK/floor-$d.dat\" using 1:2 with lines dashtype 2 title \"raw TCP floor, $d%\""
  done
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 900,500
set output "$OUT/migration-latency.png"
set title "One-way migration latency vs memory size (2-node loopback cluster)"
set xlabel "linear memory (MiB)"; set ylabel "p50 latency (ms)"
set logscale xy; set grid; set key top left
plot $plots
GP
fi
python3 - "$CSV" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
pick = [r for r in rows if r["mem_mib"] == "16" and r["dirty_pct"] == "10" and r["mode"] == "delta" and r["compression"] == "lz4"]
if pick:
    r = pick[0]
    print(f"migration p50_ms_16MiB_10pct={float(r['p50_ms']):.3f} floor_ratio_16MiB_10pct={float(r['floor_ratio']):.2f}")
else:
    print("migration p50_ms_16MiB_10pct=nan floor_ratio_16MiB_10pct=nan")
PY
