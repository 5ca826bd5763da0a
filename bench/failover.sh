#!/usr/bin/env bash
# failover.sh — failover on a loopback cluster: how long a call whose node is
# killed takes to run again, and what keeping entry checkpoints costs.
#
#   bench/failover.sh [--quick] [-r REPS] [-i "100 500"] [-m "1 16 64"] [-o DIR]
#
# 1. Time to recover. tests/programs/cluster/failover.c runs work() on node b;
#    when the program has created its "in-work" marker, b is killed (SIGKILL)
#    and either restarted at once under the same node id ("restart") or left
#    dead with a standby b2 configured ("standby", cluster.failover.wait_ms
#    300). Measured: kill -> the marker created again by the re-run (the call
#    running again), and the nodes' own recover_ms (loss noticed -> the re-sent
#    entry acknowledged) from the --events failover record, for each
#    heartbeat interval of -i, REPS times each.
# 2. Cost of entry checkpoints. bench/programs/nested.c plays ping(b) <-> pong(a)
#    eight levels deep with MEM_MIB MiB of incompressible memory: every call
#    into a node that sent an outer call makes that node copy its entry
#    checkpoint. Per-migration time with cluster.failover.checkpoint_memory_mb
#    at its default (copies kept) and at 0 (no copies), side by side.
#
# Prints tables, writes failover-recover.csv, failover-nested.csv and
# failover-nested.png (gnuplot) to DIR (default $KAFU_BENCH_OUT or
# build/bench-results), and ends with
#   failover ttr_restart_p50_ms=X ttr_standby_p50_ms=Y nested_overhead_16MiB=Z
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
REPS=5
IVS="100 500"
MEMS="1 16 64"
OUT=${KAFU_BENCH_OUT:-${KAFU_BUILD:-$ROOT/build}/bench-results}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) REPS=3; IVS="100"; MEMS="1 16"; shift ;;
    -r) REPS=$2; shift 2 ;;
    -i) IVS=$2; shift 2 ;;
    -m) MEMS=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "failover.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$KAFU" ] || { echo "failover.sh: $KAFU not built (run make, or set KAFU=...)" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
mkdir -p "$OUT"
cd "$WORK"
"$KAFU" cc -O2 -I"$ROOT/include" "$ROOT/tests/programs/cluster/failover.c" -o failover.wasm
"$KAFU" cc -O2 -I"$ROOT/include" "$ROOT/bench/programs/nested.c" -o nested.wasm
"$KAFU" aot failover.wasm >/dev/null
"$KAFU" aot nested.wasm >/dev/null

ports() { python3 -c 'import socket,sys; s=[socket.socket() for _ in range(int(sys.argv[1]))]; [x.bind(("127.0.0.1",0)) for x in s]; print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"; }
config() { # file wasm args iv extra-node-yaml cluster-extra
  cat >"$1" <<YAML
name: bench
app:
  path: $2
  args: $3
  preopened_dir: .
nodes:
  a: {address: 127.0.0.1, port: $PA}
  b: {address: 127.0.0.1, port: $PB$5}
  c: {address: 127.0.0.1, port: $PC}
  b2: {address: 127.0.0.1, port: $PD}
cluster:
  heartbeat: {interval_ms: $4}
  failover: {wait_ms: 300$6}
YAML
}
serve() { "$KAFU" serve --node-id "$1" "${@:3}" "$2" >>"$WORK/$1.log" 2>&1 & PIDS+=($!); LAST=$!; }
await() { for ((i = 0; i < 3000; i++)); do [ -e "$1" ] && return 0; sleep 0.005; done; echo "failover.sh: no $1" >&2; tail -n 5 "$WORK"/*.log >&2; exit 1; }
idle() { for ((i = 0; i < 2000; i++)); do curl -s "127.0.0.1:$1/status" | grep -q '"state":"idle"' && return 0; sleep 0.005; done; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# ---- 1. time to recover ---------------------------------------------------------------
echo "interval_ms,mode,rep,kill_to_rerun_ms,recover_ms" >"$OUT/failover-recover.csv"
printf "%-11s %-8s %8s %16s %12s\n" interval mode reps kill_to_rerun_p50 recover_p50
declare -A P50
for iv in $IVS; do
  for mode in restart standby; do
    k2r=() rec=()
    for ((r = 1; r <= REPS; r++)); do
      rm -f in-work go-work effects.log a-ready ev.jsonl ./*.log
      read -r PA PB PC PD <<<"$(ports 4)"
      config f.yaml failover.wasm '["plain"]' "$iv" "$([ "$mode" = standby ] && echo ', standby: [b2]')" ""
      serve c f.yaml; serve b2 f.yaml; serve b f.yaml; B=$LAST; serve a f.yaml --events ev.jsonl; A=$LAST
      await in-work
      idle "$PA"
      t0=$(date +%s%N)
      kill -9 "$B"
      rm -f in-work
      [ "$mode" = restart ] && serve b f.yaml
      await in-work
      ms=$((($(date +%s%N) - t0) / 1000000))
      touch go-work
      wait "$A" || true
      rms=$(sed -n 's/.*"type":"failover".*"recover_ms":\([0-9.]*\).*/\1/p' ev.jsonl | head -1)
      for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
      wait 2>/dev/null || true
      PIDS=()
      echo "$iv,$mode,$r,$ms,$rms" >>"$OUT/failover-recover.csv"
      k2r+=("$ms") rec+=("$rms")
    done
    p=$(printf '%s\n' "${k2r[@]}" | median)
    q=$(printf '%s\n' "${rec[@]}" | median)
    P50[$iv/$mode]=$p
    printf "%-11s %-8s %8s %16s %12s\n" "$iv" "$mode" "$REPS" "$p" "$q"
  done
done

# ---- 2. cost of entry checkpoints in nested calls ----------------------------------------
echo
echo "mem_mib,checkpoint_memory_mb,hop_ms_p50" >"$OUT/failover-nested.csv"
printf "%-8s %-22s %12s\n" MiB checkpoint_memory_mb hop_ms_p50
declare -A NEST
for mem in $MEMS; do
  for lim in 1024 0; do
    rm -f ./*.log
    read -r PA PB PC PD <<<"$(ports 4)"
    config n.yaml nested.wasm "[\"$mem\", \"8\", \"30\"]" 1000 "" ", checkpoint_memory_mb: $lim"
    serve c n.yaml; serve b2 n.yaml; serve b n.yaml; serve a n.yaml; A=$LAST
    wait "$A" || true
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
    # the first round warms up (full images, the first whole copy); the median of the others
    hop=$(grep -h '^hop_ms' a.log | tail -n +2 | awk '{print $2}' | median)
    NEST["$mem/$lim"]=$hop
    echo "$mem,$lim,$hop" >>"$OUT/failover-nested.csv"
    printf "%-8s %-22s %12s\n" "$mem" "$lim" "$hop"
  done
done

if command -v gnuplot >/dev/null 2>&1; then
  awk -F, 'NR > 1 && $2 == 1024 {k[$1] = $3} NR > 1 && $2 == 0 {z[$1] = $3} END {for (m in k) print m, k[m], z[m]}' \
    "$OUT/failover-nested.csv" | sort -n >"$WORK/nested.dat"
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 800,450
set output "$OUT/failover-nested.png"
set title "nested ping-pong, per migration: entry checkpoints copied vs not"
set xlabel "memory (MiB)"; set ylabel "ms per migration"; set logscale x 2; set key left top
plot "$WORK/nested.dat" using 1:2 with linespoints title "checkpoint_memory_mb 1024 (copies)", \
     "$WORK/nested.dat" using 1:3 with linespoints title "checkpoint_memory_mb 0 (none)"
GP
fi
m16=$(echo "$MEMS" | tr ' ' '\n' | grep -x 16 || echo "${MEMS##* }")
ov=$(awk -v a="${NEST["$m16/1024"]}" -v b="${NEST["$m16/0"]}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
first=${IVS%% *}
echo "failover ttr_restart_p50_ms=${P50[$first/restart]} ttr_standby_p50_ms=${P50[$first/standby]} nested_overhead_${m16}MiB=${ov}x"
