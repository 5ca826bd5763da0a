#!/usr/bin/env bash
# pipeline.sh — the real-time image pipeline (examples/image-pipeline) on a
# two-node loopback cluster: 960x540 RGB frames captured on "edge", processed
# on "cloud", results back on "edge".
#
#   bench/pipeline.sh [-n FRAMES] [-c auto|none|lz4|zstd] [-m delta|full]   (default: auto, the config default)
#
# The guest timestamps both migrations of every frame itself (CLOCK_REALTIME is
# shared by the node processes): enter = edge -> cloud, exit = cloud -> edge.
# Reports per-migration latency p50/p99 over both directions and each
# direction's p50 (first frame excluded: it carries the whole memory image),
# and frames per second over the whole run (wall clock of `kafu launch`,
# start-up included, and of the frames alone). Prints a table, writes
# pipeline.csv and pipeline-latency.csv (per frame) to $KAFU_BENCH_OUT
# (default build/bench-results; bench/results/ holds the curated copies),
# draws pipeline-latency.png there when gnuplot is installed, and ends with
#   pipeline migration_p50_ms=X migration_p99_ms=Y fps=Z frames=N
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
N=100
COMP=auto
MODE=delta
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift 2 ;;
    -c) COMP=$2; shift 2 ;;
    -m) MODE=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "pipeline.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "pipeline.sh: $KAFU not built (run make, or set KAFU=...)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
OUT=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
mkdir -p "$OUT"
"$KAFU" cc -O2 "$ROOT/examples/image-pipeline/pipeline.c" -o "$WORK/pipeline.wasm"
"$KAFU" aot "$WORK/pipeline.wasm" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cat > "$WORK/kafu-config.yaml" <<YAML
name: bench-pipeline
app:
  path: ./pipeline.wasm
  args: ["$N", "--timing"]
nodes:
  edge: {address: 127.0.0.1, port: $(free_port)}
  cloud: {address: 127.0.0.1, port: $(free_port)}
cluster:
  migration:
    memory_migration: $MODE
    compression: $COMP
YAML
s=$(date +%s%N)
KAFU_LOG=warn "$KAFU" launch --no-prefix --events "$WORK/events.jsonl" "$WORK/kafu-config.yaml" > "$WORK/out.txt"
e=$(date +%s%N)
python3 - "$WORK/out.txt" "$OUT" "$N" "$COMP" "$MODE" "$(( (e - s) / 1000 ))" "$WORK/events.jsonl" <<'PY'
import json, os, statistics, sys
out, outdir, n, comp, mode, wall_us, evf = sys.argv[1:]
n = int(n); wall = int(wall_us) / 1e6
rows = []
for l in open(out):
    p = l.split()
    if p and p[0] == "timing":
        rows.append((int(p[1]), float(p[3]), float(p[5])))
assert len(rows) == n, f"expected {n} timing lines, got {len(rows)}"
with open(os.path.join(outdir, "pipeline-latency.csv"), "w") as f:
    f.write("frame,enter_ms,exit_ms\n")
    for r in rows:
        f.write("%d,%.3f,%.3f\n" % r)
lat = sorted([r[1] for r in rows[1:]] + [r[2] for r in rows[1:]])
def pct(q):
    return lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))]
p50, p99 = statistics.median(lat), pct(0.99)
# per direction too: pooled, the two directions' latencies are two groups and
# the pooled median is wherever their gap falls
p50_enter, p50_exit = statistics.median([r[1] for r in rows[1:]]), statistics.median([r[2] for r in rows[1:]])
ev = [json.loads(l) for l in open(evf) if l.strip()] if os.path.exists(evf) else []
times = [e["time_ns"] for e in ev if "time_ns" in e]
span = (max(times) - min(times)) / 1e9 if len(times) > 1 else wall
fps = n / span if span > 0 else float("nan")
wire = [e["wire_bytes"] for e in ev if e.get("type") == "migration" and "wire_bytes" in e][2:]
with open(os.path.join(outdir, "pipeline.csv"), "w") as f:
    f.write("frames,compression,mode,migration_p50_ms,migration_p99_ms,fps,fps_with_startup,mean_wire_bytes,"
            "enter_p50_ms,exit_p50_ms\n")
    f.write("%d,%s,%s,%.3f,%.3f,%.2f,%.2f,%.0f,%.3f,%.3f\n" % (n, comp, mode, p50, p99, fps, n / wall,
                                                    statistics.mean(wire) if wire else float("nan"), p50_enter, p50_exit))
print("%-8s %-6s %-6s %10s %10s %8s %14s %12s %10s %10s" % ("frames", "comp", "mode", "p50_ms", "p99_ms", "fps",
                                                        "fps(+startup)", "wire_bytes", "enter_p50", "exit_p50"))
print("%-8d %-6s %-6s %10.3f %10.3f %8.2f %14.2f %12.0f %10.3f %10.3f" % (n, comp, mode, p50, p99, fps, n / wall,
                                                         statistics.mean(wire) if wire else float("nan"), p50_enter, p50_exit))
print(f"pipeline migration_p50_ms={p50:.3f} migration_p99_ms={p99:.3f} fps={fps:.2f} frames={n}")
PY
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 900,500
set output "$OUT/pipeline-latency.png"
set datafile separator ","
set title "Image pipeline: per-frame migration latency (loopback, $COMP, $MODE)"
set xlabel "frame"; set ylabel "ms"; set key top right; set grid
plot "$OUT/pipeline-latency.csv" every ::2 using 1:2 with linespoints title "edge -> cloud", \
     "" every ::2 using 1:3 with linespoints title "cloud -> edge"
GP

fi
