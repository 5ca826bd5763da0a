#!/usr/bin/env bash
# nn.sh — wasi-nn benchmarks, all in one run:
#  1. inference time through wasi-nn (a guest under `kafu run`, timing its own
#     compute() calls) vs native OpenCV through kafu_nn (build/tests/nn_infer),
#     same model, same tensor, interleaved rounds; their outputs must be
#     bit-identical;
#  2. the real-time variant of examples/image-classification on a two-node
#     loopback cluster: frames captured on "edge", classified on "cloud"
#     through wasi-nn, labels back: frames/s and per-migration latency.
#
#   bench/nn.sh [-n FRAMES] [-r REPEAT] [-m MODEL.onnx]
#
# Prints tables, writes nn-inference.csv, nn-realtime.csv and
# nn-realtime-latency.csv and draws nn-realtime-latency.png (gnuplot) in
# $KAFU_BENCH_OUT (default build/bench-results; `make bench-keep` copies them
# to bench/results/), and ends with one line:
#   nn wasi_ms=X native_ms=Y ratio=Z fps=F migration_p50_ms=P frames=N
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
KAFU_BUILD=${KAFU_BUILD:-$ROOT/build}
N=100
R=200
EX=$ROOT/examples/image-classification
MODEL=$EX/fixture/models/shapes-cnn.onnx
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    -m) MODEL=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "nn.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
NATIVE=$KAFU_BUILD/tests/nn_infer
[ -x "$KAFU" ] && [ -x "$NATIVE" ] || { echo "nn.sh: build first (make); need $KAFU and $NATIVE" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
OUT=${KAFU_BENCH_OUT:-$KAFU_BUILD/bench-results}
mkdir -p "$OUT" "$WORK/app"
cp -r "$EX/fixture" "$WORK/app/"
cp "$MODEL" "$WORK/app/model.onnx"
IMG=fixture/images/cross.jpg

# 1. wasi-nn vs native, interleaved
"$KAFU" cc -O2 "$ROOT/bench/programs/nn_compute.c" -o "$WORK/app/nn_compute.wasm"
"$KAFU" aot "$WORK/app/nn_compute.wasm" >/dev/null
cd "$WORK/app"
for round in 1 2 3; do
  "$KAFU" run --dir . nn_compute.wasm model.onnx "$IMG" "$R" >"$WORK/wasi.$round"
  "$NATIVE" --repeat "$R" model.onnx "$IMG" >"$WORK/native.$round"
done
w_out=$(sed -n 's/^wasi-nn: //p' "$WORK/wasi.1")
n_out=$(sed -n 's/^native: //p' "$WORK/native.1")
[ "$w_out" = "$n_out" ] || { echo "nn.sh: wasi-nn and native outputs differ: $w_out vs $n_out" >&2; exit 1; }
python3 - "$WORK" "$OUT" "$R" "$(basename "$MODEL")" "$(stat -c %s "$MODEL")" <<'PY'
import os, statistics, sys
work, out, r, model, size = sys.argv[1:]
def grab(prefix, key):
    return [float(l.split()[1]) for i in (1, 2, 3) for l in open(f"{work}/{prefix}.{i}") if l.startswith(key)]
w, n = grab("wasi", "wasi_ms_per_compute:"), grab("native", "native_ms_per_compute:")
wm, nm = statistics.median(w), statistics.median(n)
with open(os.path.join(out, "nn-inference.csv"), "w") as f:
    f.write("model,model_bytes,repeat,wasi_nn_ms,native_ms,ratio\n")
    f.write(f"{model},{size},{r},{wm:.4f},{nm:.4f},{wm / nm:.3f}\n")
print(f"{'model':<20} {'computes':>9} {'wasi-nn ms':>11} {'native ms':>10} {'ratio':>6}")
print(f"{model:<20} {int(r) * 3:>9} {wm:>11.4f} {nm:>10.4f} {wm / nm:>6.3f}")
open(f"{work}/inference.txt", "w").write(f"{wm:.4f} {nm:.4f} {wm / nm:.3f}\n")
PY
echo "outputs of the two runs are bit-identical: $w_out"

# 2. the real-time variant on a loopback cluster
"$KAFU" cc -O2 "$EX/realtime.c" -o "$WORK/app/realtime.wasm"
"$KAFU" aot "$WORK/app/realtime.wasm" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cat >"$WORK/app/kafu-config.yaml" <<YAML
name: bench-nn-realtime
app:
  path: ./realtime.wasm
  args: ["$N", "--timing"]
  preopened_dir: .
nodes:
  edge: {address: 127.0.0.1, port: $(free_port)}
  cloud: {address: 127.0.0.1, port: $(free_port)}
YAML
KAFU_LOG=warn "$KAFU" launch --no-prefix --events "$WORK/events.jsonl" kafu-config.yaml >"$WORK/rt.txt"
read -r WMS NMS RATIO <"$WORK/inference.txt"
python3 - "$WORK/rt.txt" "$OUT" "$N" "$WMS" "$NMS" "$RATIO" <<'PY'
import os, statistics, sys
rt, out, n, wms, nms, ratio = sys.argv[1:]
n = int(n)
rows = [(int(p[1]), float(p[3]), float(p[5]), float(p[7])) for p in (l.split() for l in open(rt)) if p and p[0] == "timing"]
assert len(rows) == n, f"expected {n} timing lines, got {len(rows)}"
done = [l for l in open(rt) if l.startswith("done:")][0]
fps = float(done.split(",")[2].split()[0])
with open(os.path.join(out, "nn-realtime-latency.csv"), "w") as f:
    f.write("frame,enter_ms,exit_ms,infer_ms\n")
    for r in rows:
        f.write("%d,%.3f,%.3f,%.3f\n" % r)
lat = sorted([r[1] for r in rows[1:]] + [r[2] for r in rows[1:]])
p50, p99 = statistics.median(lat), lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
inf = statistics.median(r[3] for r in rows[1:])
with open(os.path.join(out, "nn-realtime.csv"), "w") as f:
    f.write("frames,fps,migration_p50_ms,migration_p99_ms,first_enter_ms,infer_p50_ms\n")
    f.write(f"{n},{fps:.2f},{p50:.3f},{p99:.3f},{rows[0][1]:.3f},{inf:.3f}\n")
print(f"{'frames':>6} {'fps':>7} {'mig p50 ms':>11} {'mig p99 ms':>11} {'1st enter ms':>13} {'infer p50 ms':>13}")
print(f"{n:>6} {fps:>7.2f} {p50:>11.3f} {p99:>11.3f} {rows[0][1]:>13.3f} {inf:>13.3f}")
print(f"nn wasi_ms={wms} native_ms={nms} ratio={ratio} fps={fps:.2f} migration_p50_ms={p50:.3f} frames={n}")
PY
if command -v gnuplot >/dev/null 2>&1; then
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 900,500
set output "$OUT/nn-realtime-latency.png"
set datafile separator ","
set title "Real-time classification: per-frame migration latency and wasi-nn inference (loopback)"
set xlabel "frame"; set ylabel "ms"; set key top right; set grid
plot "$OUT/nn-realtime-latency.csv" every ::2 using 1:2 with linespoints title "edge -> cloud", \
     "" every ::2 using 1:3 with linespoints title "cloud -> edge", \
     "" every ::2 using 1:4 with linespoints title "wasi-nn compute"
GP
fi
