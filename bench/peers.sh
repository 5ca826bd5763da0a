#!/usr/bin/env bash
# peers.sh — bytes on the wire when the program moves between more than two
# nodes: deltas against every peer (docs/cluster.md) against a two-node run.
#
#   bench/peers.sh [-k NAME=KAFU]... [-n FRAMES] [-r ROUNDS] [-o DIR]
#
# Workloads (real `kafu serve` nodes on 127.0.0.1; bytes do not depend on the
# link, so there is no link emulation here):
#   alt2, alt3, alt4  bench/programs/alternate.c: a camera hub ("edge") whose
#                     frames go to 1, 2 or 3 workers in turn (alt2 = a
#                     two-node run of the same program: every worker is
#                     "cloud"); -n FRAMES frames (default 24)
#   walk3             tests/programs/cluster/walk3.c, a random walk over three
#                     nodes (nested calls, growth), 16 steps
#   spokes3, spokes4  tests/programs/cluster/spokes.c: a hub and 2 or 3
#                     spokes, 8 rounds
# Per workload and kafu variant (-k, repeatable, interleaved; default "kafu" =
# $KAFU): migrations, full transfers, wire bytes in total and in the steady
# state (transfers after each node's first visit), and mean one-way transfer
# time. alt3/alt2 and alt4/alt2 (steady-state bytes per frame) are the figures
# for "alternating between peers costs about what a two-node run does".
#
# Output: a table, DIR/peers.csv (medians over -r ROUNDS, default 2),
# DIR/peers.png; ends with one line per variant:
#   peers VARIANT alt3_vs_alt2=X alt4_vs_alt2=Y walk3_bytes=Z
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
KAFU_BUILD=${KAFU_BUILD:-$(cd "$(dirname "$KAFU")/.." && pwd)}
VARIANTS=()
FRAMES=24
ROUNDS=2
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    -k) VARIANTS+=("$2"); shift 2 ;;
    -n) FRAMES=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "peers.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-${KAFU_BENCH_OUT:-$KAFU_BUILD/bench-results}}
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("kafu=$KAFU")
for v in "${VARIANTS[@]}"; do
  [[ "$v" == *=* && -x "${v#*=}" ]] || { echo "peers.sh: -k wants NAME=KAFU (an executable), got '$v'" >&2; exit 2; }
done
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
export KAFU_LOG=${KAFU_LOG:-warn}

CC() { "$KAFU" cc -O2 -I"$ROOT/include" "$@"; }
CC -DW1='"cloud"' -DW2='"cloud"' -DW3='"cloud"' "$ROOT/bench/programs/alternate.c" -o "$WORK/alt2.wasm"
CC -DW1='"cloud"' -DW2='"gpu"' -DW3='"cloud"' "$ROOT/bench/programs/alternate.c" -o "$WORK/alt3.wasm"
CC -DW1='"cloud"' -DW2='"gpu"' -DW3='"npu"' "$ROOT/bench/programs/alternate.c" -o "$WORK/alt4.wasm"
CC "$ROOT/tests/programs/cluster/walk3.c" -o "$WORK/walk3.wasm"
CC -DSPOKES=2 "$ROOT/tests/programs/cluster/spokes.c" -o "$WORK/spokes3.wasm"
CC -DSPOKES=3 "$ROOT/tests/programs/cluster/spokes.c" -o "$WORK/spokes4.wasm"
for w in alt2 alt3 alt4 walk3 spokes3 spokes4; do "$KAFU" aot "$WORK/$w.wasm" >/dev/null; done

free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])
PY
}

# run WORKLOAD KAFU -> events in $WORK/ev.jsonl
run() {
  local w=$1 k=$2 nodes args ports i
  case "$w" in
    alt2) nodes=(edge cloud); args="[\"$FRAMES\", \"2\"]" ;;
    alt3) nodes=(edge cloud gpu); args="[\"$FRAMES\", \"2\"]" ;;
    alt4) nodes=(edge cloud gpu npu); args="[\"$FRAMES\", \"3\"]" ;;
    walk3) nodes=(a b c); args='["16", "5"]' ;;
    spokes3) nodes=(hub s1 s2); args='["8"]' ;;
    spokes4) nodes=(hub s1 s2 s3); args='["8"]' ;;
  esac
  read -r -a ports <<<"$(free_ports ${#nodes[@]})"
  {
    echo "name: bench-peers"
    echo "app: {path: ./$w.wasm, args: $args}"
    echo "nodes:"
    for ((i = 0; i < ${#nodes[@]}; i++)); do echo "  ${nodes[$i]}: {address: 127.0.0.1, port: ${ports[$i]}}"; done
    echo "cluster: {migration: {memory_migration: delta, compression: none}}"
  } > "$WORK/$w.yaml"
  : > "$WORK/ev.jsonl"
  "$k" launch --no-prefix --events "$WORK/ev.jsonl" "$WORK/$w.yaml" > "$WORK/out.txt" 2> "$WORK/err.txt" ||
    { echo "peers.sh: $w failed with $k:" >&2; tail -3 "$WORK/err.txt" >&2; return 1; }
}

RAW=$OUT/peers-rounds.csv
echo "workload,variant,round,migrations,full,wire_bytes,steady_bytes,steady_migrations,frames,mean_transfer_ms" > "$RAW"
for r in $(seq "$ROUNDS"); do
  for w in alt2 alt3 alt4 walk3 spokes3 spokes4; do
    for var in "${VARIANTS[@]}"; do
      run "$w" "${var#*=}" || continue
      "$ROOT/scripts/events-migrations.py" "$WORK/ev.jsonl" from to delta wire_bytes transfer_ms > "$WORK/ev.txt"
      python3 - "$WORK/ev.txt" "$w,${var%%=*},$r" "$FRAMES" >> "$RAW" <<'PY'
import statistics, sys
evf, prefix, frames = sys.argv[1:]
# the migrations in the order they happened (scripts/events-migrations.py)
ev = []
for line in open(evf):
    f, t, d, w, ms = line.split()
    ev.append(dict(zip(("from", "to", "delta", "wire_bytes", "transfer_ms"), (f, t, d == "true", int(w), float(ms)))))
seen, steady = set(), []
for e in ev:
    if e["to"] in seen:
        steady.append(e)
    seen.add(e["to"])
    seen.add(e["from"])
full = sum(1 for e in ev if not e["delta"])
print("%s,%d,%d,%d,%d,%d,%s,%.3f" % (prefix, len(ev), full, sum(e["wire_bytes"] for e in ev),
      sum(e["wire_bytes"] for e in steady), len(steady), frames if prefix.startswith("alt") else "",
      statistics.mean(e["transfer_ms"] for e in ev) if ev else float("nan")))
PY
    done
  done
done

CSV=$OUT/peers.csv
python3 - "$RAW" "$CSV" <<'PY'
import csv, statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for r in csv.DictReader(open(sys.argv[1])):
    rows[(r["workload"], r["variant"])].append(r)
med = lambda v: statistics.median(v) if v else float("nan")
out = []
for (w, v), rs in rows.items():
    out.append(dict(workload=w, variant=v, rounds=len(rs), migrations=med([int(r["migrations"]) for r in rs]),
                    full=med([int(r["full"]) for r in rs]), wire_bytes=med([int(r["wire_bytes"]) for r in rs]),
                    steady_bytes=med([int(r["steady_bytes"]) for r in rs]),
                    steady_migrations=med([int(r["steady_migrations"]) for r in rs]),
                    mean_transfer_ms=med([float(r["mean_transfer_ms"]) for r in rs])))
with open(sys.argv[2], "w") as f:
    f.write(",".join(out[0].keys()) + "\n")
    for o in out:
        f.write(",".join(f"{x:.3f}" if isinstance(x, float) else str(x) for x in o.values()) + "\n")
fmt = "%-8s %-8s %4s %6s %5s %13s %13s %9s"
print(fmt % ("workload", "variant", "n", "migr", "full", "wire_bytes", "steady_bytes", "xfer_ms"))
for o in out:
    print(fmt % (o["workload"], o["variant"], o["rounds"], "%g" % o["migrations"], "%g" % o["full"],
                 "%.0f" % o["wire_bytes"], "%.0f" % o["steady_bytes"], "%.3f" % o["mean_transfer_ms"]))
for v in dict.fromkeys(o["variant"] for o in out):
    by = {o["workload"]: o for o in out if o["variant"] == v}
    def ratio(a, b):
        return by[a]["steady_bytes"] / by[b]["steady_bytes"] if a in by and b in by and by[b]["steady_bytes"] else float("nan")
    print("peers %s alt3_vs_alt2=%.2f alt4_vs_alt2=%.2f walk3_bytes=%.0f" % (v, ratio("alt3", "alt2"),
          ratio("alt4", "alt2"), by["walk3"]["wire_bytes"] if "walk3" in by else float("nan")))
PY

if command -v gnuplot >/dev/null 2>&1; then
  python3 - "$CSV" "$WORK/plot.dat" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
vs = list(dict.fromkeys(r["variant"] for r in rows))
ws = list(dict.fromkeys(r["workload"] for r in rows))
with open(sys.argv[2], "w") as f:
    f.write("workload " + " ".join(vs) + "\n")
    for w in ws:
        by = {r["variant"]: r for r in rows if r["workload"] == w}
        f.write(w + " " + " ".join("%.3f" % (float(by[v]["wire_bytes"]) / 1e6) if v in by else "nan" for v in vs) + "\n")
PY
  nv=$(( $(head -1 "$WORK/plot.dat" | wc -w) - 1 ))
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 900,480 noenhanced
set output "$OUT/peers.png"
set title "Bytes on the wire per run (alt: frames alternating between workers; walk3/spokes: test walks)"
set ylabel "MB on the wire"; set grid ytics
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1
set key top left
plot for [i=2:$(( nv + 1 ))] "$WORK/plot.dat" using i:xtic(1) title columnheader(i)
GP
fi
