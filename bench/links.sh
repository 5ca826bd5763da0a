#!/usr/bin/env bash
# links.sh — migrations on emulated real links: the migration sweep and the
# image pipeline with the two nodes in separate network namespaces, joined by
# an emulated link, next to the floor of that link.
#
#   bench/links.sh [-p PROFILES] [-w WORKLOADS] [-c CODECS] [-r ROUNDS]
#                  [-i ITER] [-n FRAMES] [-f FLOOR_CODECS] [-o DIR]
#
#   -p  link profiles (default "loopback metro edge"):
#         loopback  both nodes on 127.0.0.1 (no namespaces)
#         metro     1 Gbit/s, 2 ms RTT
#         edge      "edge uplink": 50 Mbit/s, 20 ms RTT
#         NAME:MBIT:RTT_MS  any other (e.g. "lte:20:60")
#       Shaped profiles run each node in its own network namespace; the link
#       between them is bench/programs/linkemu.c (TUN devices, MTU 1500,
#       rate + one-way delay RTT/2 in both directions, 1000-packet queue).
#   -w  workloads (default "migration:16:10 migration:64:0.3 pipeline"):
#         migration:MIB:DIRTY  bench/programs/migrate.c, one-way a -> b
#         pipeline             examples/image-pipeline, both directions
#   -c  Kafu's compression settings to run (default "none lz4 zstd")
#   -k  NAME=KAFU: run this kafu binary too, as variant NAME (repeatable; the
#       default is one variant "kafu" = $KAFU). Variants run interleaved in
#       every round, so before/after comparisons are side by side.
#   -r  rounds (default 3): every round runs every workload x codec and the
#       floor, interleaved; the table shows medians over rounds
#   -i  migrations per run (migration workloads; default 20, edge 10)
#   -n  frames per run (pipeline; default 40, shaped links 20)
#   -f  codecs of the floor (default "none lz4 zstd:1 zstd:3 zstd:6")
#   -o  output directory (default build/bench-results)
#
# The floor of a workload on a link is measured in the same round: the pages
# one migration carries (replayed from snapshots the nodes saved in a short
# loopback run, bench/snap_pages.c) are pushed over the same link by
# bench/programs/link_floor.c on a warm TCP connection, raw ("floor_raw") and
# with every floor codec, streamed in 256 KiB blocks (compression, transfer and
# decompression overlapped); "floor_best" is the fastest of them.
#
# The pipeline has a row per direction (enter: edge -> cloud, exit: cloud ->
# edge) and "both": the mean of the two directions' p50s (and of their floors).
#
# Output: a table; DIR/links.csv (one row per profile x workload x codec,
# medians), DIR/links-rounds.csv (every run), DIR/links-floor.csv (every floor
# codec), DIR/links.png (gnuplot). Ends with one line per profile:
#   links VARIANT PROFILE WORKLOAD best=CODEC:MS floor_best=CODEC:MS ratio=X
# Needs root for namespaces (ip netns) and /dev/net/tun; where that is not
# permitted it says so and runs the loopback profile only. Everything it
# creates (namespaces, TUN devices, processes) is removed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFU=${KAFU:-$ROOT/build/bin/kafu}
KAFU_BUILD=${KAFU_BUILD:-$(cd "$(dirname "$KAFU")/.." && pwd)}
PROFILES="loopback metro edge"
WORKLOADS="migration:16:10 migration:64:0.3 pipeline"
CODECS="none lz4 zstd"
FLOOR_CODECS="none lz4 zstd:1 zstd:3 zstd:6"
ROUNDS=3
VARIANTS=()
ITER=""
FRAMES=""
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    -p) PROFILES=$2; shift 2 ;;
    -w) WORKLOADS=$2; shift 2 ;;
    -c) CODECS=$2; shift 2 ;;
    -k) VARIANTS+=("$2"); shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -i) ITER=$2; shift 2 ;;
    -n) FRAMES=$2; shift 2 ;;
    -f) FLOOR_CODECS=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,47p' "$0"; exit 0 ;;
    *) echo "links.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-${KAFU_BENCH_OUT:-$KAFU_BUILD/bench-results}}
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("kafu=$KAFU")
for v in "${VARIANTS[@]}"; do
  case "$v" in
    *=*) [ -x "${v#*=}" ] || { echo "links.sh: ${v#*=} (variant ${v%%=*}) is not executable" >&2; exit 1; } ;;
    *) echo "links.sh: -k wants NAME=KAFU, got '$v'" >&2; exit 2 ;;
  esac
done
for t in "$KAFU" "$KAFU_BUILD/bench/snap_pages" "$KAFU_BUILD/bench/link_floor" "$KAFU_BUILD/bench/linkemu"; do
  [ -x "$t" ] || { echo "links.sh: $t not built (run make, or set KAFU=... / KAFU_BUILD=...)" >&2; exit 1; }
done
SNAP_PAGES=$KAFU_BUILD/bench/snap_pages
LINK_FLOOR=$KAFU_BUILD/bench/link_floor
LINKEMU=$KAFU_BUILD/bench/linkemu
mkdir -p "$OUT"
WORK=$(mktemp -d)
export KAFU_CACHE_DIR=${KAFU_CACHE_DIR:-$WORK/cache}
export KAFU_LOG=${KAFU_LOG:-warn}

# ---- namespaces and the emulated link (all removed by cleanup) -------------
NSA="kafu-links-$$-a"
NSB="kafu-links-$$-b"
DEVA="kl$$a"
DEVB="kl$$b"
ADDR_A=10.99.0.1
ADDR_B=10.99.0.2
EMU_PID=""
PIDS=()
NS_MADE=0
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  EMU_PID=""
  if [ "$NS_MADE" = 1 ]; then
    ip netns del "$NSA" 2>/dev/null || true
    ip netns del "$NSB" 2>/dev/null || true
    NS_MADE=0
  fi
}
trap 'cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Namespaces permitted here? (root, ip netns, /dev/net/tun)
NS_OK=1
NS_WHY=""
if ! command -v ip >/dev/null 2>&1; then
  NS_OK=0; NS_WHY="the ip command (iproute2) is not installed"
elif ! ip netns add "$NSA" 2>"$WORK/ns.err"; then
  NS_OK=0; NS_WHY="ip netns add: $(head -1 "$WORK/ns.err")"
else
  ip netns del "$NSA"
  [ -c /dev/net/tun ] && [ -w /dev/net/tun ] || { NS_OK=0; NS_WHY="/dev/net/tun is not available"; }
fi

# link_up RATE_MBIT RTT_MS: namespaces + linkemu between them
link_up() {
  local rate_kbit delay_us
  rate_kbit=$(python3 -c "print(int(float('$1') * 1000))")
  delay_us=$(python3 -c "print(int(float('$2') * 500))")
  ip netns add "$NSA" && ip netns add "$NSB" && NS_MADE=1
  "$LINKEMU" "$NSA" "$DEVA" "$NSB" "$DEVB" "$rate_kbit" "$delay_us" 1000 1500 \
    > "$WORK/emu.out" 2> "$WORK/emu.err" &
  EMU_PID=$!
  local k
  for k in $(seq 100); do
    grep -q ready "$WORK/emu.out" 2>/dev/null && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$WORK/emu.err" >&2; return 1; }
    sleep 0.05
  done
  ip -n "$NSA" link set lo up
  ip -n "$NSB" link set lo up
  ip -n "$NSA" addr add "$ADDR_A" peer "$ADDR_B" dev "$DEVA"
  ip -n "$NSB" addr add "$ADDR_B" peer "$ADDR_A" dev "$DEVB"
  ip -n "$NSA" link set "$DEVA" mtu 1500 up
  ip -n "$NSB" link set "$DEVB" mtu 1500 up
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Current profile: SHAPED=0 (loopback) or 1; in_a/in_b run a command on a node.
SHAPED=0
in_a() { if [ "$SHAPED" = 1 ]; then ip netns exec "$NSA" "$@"; else "$@"; fi; }
in_b() { if [ "$SHAPED" = 1 ]; then ip netns exec "$NSB" "$@"; else "$@"; fi; }
host_a() { if [ "$SHAPED" = 1 ]; then echo "$ADDR_A"; else echo 127.0.0.1; fi; }
host_b() { if [ "$SHAPED" = 1 ]; then echo "$ADDR_B"; else echo 127.0.0.1; fi; }
port() { if [ "$SHAPED" = 1 ]; then echo 50051; else free_port; fi; }

# ---- programs ------------------------------------------------------------
"$KAFU" cc -O2 "$ROOT/bench/programs/migrate.c" -o "$WORK/migrate.wasm"
"$KAFU" cc -O2 "$ROOT/examples/image-pipeline/pipeline.c" -o "$WORK/pipeline.wasm"
"$KAFU" aot "$WORK/migrate.wasm" >/dev/null
"$KAFU" aot "$WORK/pipeline.wasm" >/dev/null

# write_config FILE WASM ARGS_JSON COMP A B: a two-node config for the current profile
write_config() {
  local pa pb
  pa=$(port); pb=$(port)
  cat > "$1" <<YAML
name: bench-links
app:
  path: $2
  args: $3
nodes:
  $5: {address: $(host_a), port: $pa}
  $6: {address: $(host_b), port: $pb}
cluster:
  migration:
    memory_migration: delta
    compression: $4
YAML
}

# run_cluster CONFIG A B OUTFILE EVENTS [SAVE_DIR]: node B in namespace B, A (the
# coordinator) in namespace A; A's and B's stdout go to OUTFILE.
run_cluster() {
  local cfg=$1 a=$2 b=$3 out=$4 ev=$5 save=${6:-} bp rc=0
  local extra=()
  [ -n "$save" ] && extra=(--save-snapshots "$save")
  : > "$ev"
  in_b "$RUN_KAFU" serve --node-id "$b" --events "$ev" "${extra[@]}" "$cfg" > "$out.b" 2> "$out.berr" &
  bp=$!
  PIDS=("$bp")
  in_a "$RUN_KAFU" serve --node-id "$a" --events "$ev" "${extra[@]}" "$cfg" > "$out" 2> "$out.aerr" || rc=$?
  wait "$bp" || true
  PIDS=()
  cat "$out.b" >> "$out"
  if [ "$rc" != 0 ]; then
    echo "links.sh: run failed ($cfg):" >&2
    tail -n 3 "$out.aerr" "$out.berr" >&2
  fi
  return "$rc"
}

RUN_KAFU=$KAFU
# ---- payloads: the pages one migration carries (loopback run, saved snapshots) --
declare -A PAYLOAD  # "workload/direction" -> file
payloads() {
  local w=$1 kind mib dirty snaps a b
  IFS=: read -r kind mib dirty <<< "$w"
  rm -rf "$WORK/snaps"; mkdir -p "$WORK/snaps"
  local SHAPED_SAVE=$SHAPED
  SHAPED=0
  if [ "$kind" = migration ]; then
    a=a; b=b
    write_config "$WORK/p.yaml" "$WORK/migrate.wasm" "[\"$mib\", \"$dirty\", \"6\"]" none a b
  else
    a=edge; b=cloud
    write_config "$WORK/p.yaml" "$WORK/pipeline.wasm" '["6"]' none edge cloud
  fi
  run_cluster "$WORK/p.yaml" "$a" "$b" "$WORK/p.out" "$WORK/p.ev" "$WORK/snaps"
  SHAPED=$SHAPED_SAVE
  snaps=()
  local s
  for s in $(seq -f %04g 1 6); do snaps+=("$WORK/snaps/$s-$a-$b.kafusnap" "$WORK/snaps/$s-$b-$a.kafusnap"); done
  # snapshot 4 of each direction (index 6: a -> b, 7: b -> a): warm deltas
  "$SNAP_PAGES" -i 6 -o "$WORK/payload-$w-enter.bin" "${snaps[@]}" > /dev/null
  PAYLOAD[$w/enter]=$WORK/payload-$w-enter.bin
  if [ "$kind" = pipeline ]; then
    "$SNAP_PAGES" -i 7 -o "$WORK/payload-$w-exit.bin" "${snaps[@]}" > /dev/null
    PAYLOAD[$w/exit]=$WORK/payload-$w-exit.bin
  fi
}

# floor PAYLOAD: prints "codec ms wire_bytes raw_bytes" lines (a -> b over the current link)
floor() {
  local fp fport k
  fport=$(port)
  rm -f "$WORK/fl.ready"
  in_b "$LINK_FLOOR" serve -b "$( [ "$SHAPED" = 1 ] && echo 0.0.0.0 || echo 127.0.0.1)" "$fport" > "$WORK/fl.ready" &
  fp=$!
  PIDS=("$fp")
  for k in $(seq 600); do grep -q ready "$WORK/fl.ready" 2>/dev/null && break; sleep 0.05; done
  # shellcheck disable=SC2086
  if ! in_a "$LINK_FLOOR" send -w 2 "$(host_b)" "$fport" "$1" 5 $FLOOR_CODECS > "$WORK/fl.out"; then
    echo "links.sh: the floor measurement failed ($1); no floor in this round" >&2
    kill "$fp" 2>/dev/null || true
  fi
  wait "$fp" || true
  PIDS=()
  sed -n 's/^floor codec=\([^ ]*\) ms=\([^ ]*\) wire_bytes=\([^ ]*\) raw_bytes=\([^ ]*\)$/\1 \2 \3 \4/p' "$WORK/fl.out"
}

RAW=$OUT/links-rounds.csv
FLOORCSV=$OUT/links-floor.csv
echo "profile,rate_mbit,rtt_ms,round,workload,direction,variant,compression,runs,p50_ms,p99_ms,wire_bytes,codecs" > "$RAW"
echo "profile,rate_mbit,rtt_ms,round,workload,direction,codec,ms,wire_bytes,raw_bytes" > "$FLOORCSV"

for w in $WORKLOADS; do
  case "$w" in migration:*:*|pipeline) ;; *) echo "links.sh: bad workload '$w'" >&2; exit 2 ;; esac
  payloads "$w"
done

for prof in $PROFILES; do
  case "$prof" in
    loopback) rate=0; rtt=0 ;;
    metro) rate=1000; rtt=2 ;;
    edge) rate=50; rtt=20 ;;
    *:*:*) IFS=: read -r prof rate rtt <<< "$prof" ;;
    *) echo "links.sh: unknown profile '$prof'" >&2; exit 2 ;;
  esac
  if [ "$prof" = loopback ]; then
    SHAPED=0
  elif [ "$NS_OK" = 0 ]; then
    echo "links.sh: skipping profile $prof: network namespaces are not permitted here ($NS_WHY)" >&2
    continue
  else
    SHAPED=1
    link_up "$rate" "$rtt" || { echo "links.sh: skipping profile $prof: cannot set up the emulated link" >&2; cleanup; continue; }
  fi
  echo "== profile $prof: $( [ "$SHAPED" = 1 ] && echo "$rate Mbit/s, $rtt ms RTT (namespaces + linkemu)" || echo "loopback 127.0.0.1")" >&2
  for r in $(seq "$ROUNDS"); do
    for w in $WORKLOADS; do
      IFS=: read -r kind mib dirty <<< "$w"
      dirs="enter"; [ "$kind" = pipeline ] && dirs="enter exit"
      for d in $dirs; do
        floor "${PAYLOAD[$w/$d]}" | while read -r codec ms wire rawb; do
          echo "$prof,$rate,$rtt,$r,$w,$d,$codec,$ms,$wire,$rawb" >> "$FLOORCSV"
        done
      done
      for var in "${VARIANTS[@]}"; do
      vname=${var%%=*}
      RUN_KAFU=${var#*=}
      for comp in $CODECS; do
        if [ "$kind" = migration ]; then
          it=${ITER:-$( [ "$prof" = edge ] && echo 10 || echo 20 )}
          write_config "$WORK/run.yaml" "$WORK/migrate.wasm" "[\"$mib\", \"$dirty\", \"$it\"]" "$comp" a b
          run_cluster "$WORK/run.yaml" a b "$WORK/run.out" "$WORK/run.ev" || continue
        else
          fr=${FRAMES:-$( [ "$SHAPED" = 1 ] && echo 20 || echo 40 )}
          write_config "$WORK/run.yaml" "$WORK/pipeline.wasm" "[\"$fr\", \"--timing\"]" "$comp" edge cloud
          run_cluster "$WORK/run.yaml" edge cloud "$WORK/run.out" "$WORK/run.ev" || continue
        fi
        python3 - "$WORK/run.out" "$WORK/run.ev" "$kind" "$prof,$rate,$rtt,$r,$w" "$vname,$comp" >> "$RAW" <<'PY'
import json, statistics, sys
out, evf, kind, prefix, comp = sys.argv[1:]
ev = [json.loads(l) for l in open(evf) if l.strip()]
mig = [e for e in ev if e.get("type") == "migration"]
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else float("nan")
def used(kind):
    """the codecs the migrations used (compression: auto chooses per migration), e.g. "lz4:3 zstd-1:16" """
    from collections import Counter
    c = Counter(e.get("compression", "?") for e in mig if kind in (None, e["kind"]))
    return " ".join("%s:%d" % kv for kv in sorted(c.items()))
def row(direction, lat, wire, p50=None):
    if p50 is None:
        p50 = statistics.median(lat) if lat else float("nan")
    print("%s,%s,%s,%d,%.3f,%.3f,%.0f,%s" % (prefix, direction, comp, len(lat), p50,
                                            pct(lat, 0.99), statistics.mean(wire) if wire else float("nan"),
                                            used(None if direction == "both" else direction)))
if kind == "migration":
    lat = [float(l.split()[2]) for l in open(out) if l.startswith("lat_ms ")][1:]   # first hop: full image
    wire = [e["wire_bytes"] for e in mig if e["kind"] == "enter"][1:]
    row("enter", lat, wire)
else:
    t = [l.split() for l in open(out) if l.startswith("timing ")][1:]              # first frame: full image
    enter, exit_ = [float(x[3]) for x in t], [float(x[5]) for x in t]
    we = [e["wire_bytes"] for e in mig if e["kind"] == "enter"][1:]
    wx = [e["wire_bytes"] for e in mig if e["kind"] == "exit"][1:]
    row("enter", enter, we)
    row("exit", exit_, wx)
    # both directions: the mean of their medians, as the floor's "both" (the
    # median of the two directions pooled falls on either side of the gap
    # between them, whichever side has one value more: +-50 % run to run)
    row("both", enter + exit_, we + wx,
        (statistics.median(enter) + statistics.median(exit_)) / 2 if enter and exit_ else float("nan"))
PY
      done
      done
    done
  done
  if [ "$SHAPED" = 1 ]; then cleanup; cat "$WORK/emu.err" >&2 2>/dev/null || true; fi
done

CSV=$OUT/links.csv
python3 - "$RAW" "$FLOORCSV" "$CSV" <<'PY'
import csv, statistics, sys
from collections import defaultdict
raw, floorf, out = sys.argv[1:]
runs = defaultdict(list)
for r in csv.DictReader(open(raw)):
    runs[(r["profile"], r["rate_mbit"], r["rtt_ms"], r["workload"], r["direction"], r["variant"],
          r["compression"])].append(r)
floors = defaultdict(list)   # (profile, workload, direction, codec) -> [(ms, wire, raw)]
for r in csv.DictReader(open(floorf)):
    floors[(r["profile"], r["workload"], r["direction"], r["codec"])].append(
        (float(r["ms"]), float(r["wire_bytes"]), float(r["raw_bytes"])))
def med(v):
    return statistics.median(v) if v else float("nan")
def floor_codecs(prof, w, d):
    """codec -> (median ms, raw bytes) of one direction; "both" = the mean of enter and exit."""
    if d == "both":
        e, x = floor_codecs(prof, w, "enter"), floor_codecs(prof, w, "exit")
        return {c: ((e[c][0] + x[c][0]) / 2, (e[c][1] + x[c][1]) / 2) for c in e if c in x}
    codecs = {k[3] for k in floors if k[:3] == (prof, w, d)}
    return {c: (med([v[0] for v in floors[(prof, w, d, c)]]), floors[(prof, w, d, c)][0][2]) for c in codecs}
def floor_of(prof, w, d):
    """(raw floor ms, best codec, its ms, raw bytes)"""
    per = floor_codecs(prof, w, d)
    if not per:
        return (float("nan"), "-", float("nan"), float("nan"))
    bc = min(per, key=lambda c: per[c][0])
    return (per.get("none", (float("nan"),))[0], bc, per[bc][0], per[bc][1])
rows = []
for k, rs in runs.items():
    prof, rate, rtt, w, d, var, comp = k
    fr, bc, fb, rawb = floor_of(prof, w, d)
    p50 = med([float(r["p50_ms"]) for r in rs])
    rows.append(dict(profile=prof, rate_mbit=rate, rtt_ms=rtt, workload=w, direction=d, variant=var, compression=comp,
                     rounds=len(rs), p50_ms=p50, p99_ms=med([float(r["p99_ms"]) for r in rs]),
                     wire_bytes=med([float(r["wire_bytes"]) for r in rs]), raw_bytes=rawb, floor_raw_ms=fr,
                     floor_best_codec=bc, floor_best_ms=fb, ratio_raw=p50 / fr if fr > 0 else float("nan"),
                     ratio_best=p50 / fb if fb > 0 else float("nan")))
cols = list(rows[0].keys()) if rows else []
with open(out, "w") as f:
    f.write(",".join(cols) + "\n")
    for r in rows:
        f.write(",".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()) + "\n")
fmt = "%-9s %-18s %-5s %-8s %-5s %3s %9s %9s %10s %9s %9s %-7s %7s %7s"
print(fmt % ("profile", "workload", "dir", "variant", "comp", "n", "p50_ms", "p99_ms", "wire_bytes", "floor_raw", "floor_best",
             "(codec)", "/raw", "/best"))
for r in rows:
    print(fmt % (r["profile"], r["workload"], r["direction"], r["variant"], r["compression"], r["rounds"], "%.3f" % r["p50_ms"],
                 "%.3f" % r["p99_ms"], "%.0f" % r["wire_bytes"], "%.3f" % r["floor_raw_ms"], "%.3f" % r["floor_best_ms"],
                 r["floor_best_codec"], "%.2f" % r["ratio_raw"], "%.2f" % r["ratio_best"]))
seen = {}
for r in rows:
    if r["direction"] not in ("enter", "both") or (r["workload"] == "pipeline" and r["direction"] != "both"):
        continue
    k = (r["variant"], r["profile"], r["workload"])
    if k not in seen or r["p50_ms"] < seen[k]["p50_ms"]:
        seen[k] = r
for (var, prof, w), r in seen.items():
    print("links %s %s %s best=%s:%.3f floor_best=%s:%.3f ratio=%.2f" % (var, prof, w, r["compression"], r["p50_ms"],
          r["floor_best_codec"], r["floor_best_ms"], r["ratio_best"]))
PY

if command -v gnuplot >/dev/null 2>&1; then
  # one cluster per profile x workload (pipeline: both directions), bars: each
  # compression setting, the raw floor and the best-codec floor
  python3 - "$CSV" "$WORK/plot.dat" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["direction"] in ("enter", "both")
        and not (r["workload"] == "pipeline" and r["direction"] == "enter")]
codecs = []
for r in rows:
    c = r["compression"] if len({x["variant"] for x in rows}) == 1 else r["variant"] + "/" + r["compression"]
    r["bar"] = c
    if c not in codecs:
        codecs.append(c)
keys = []
for r in rows:
    k = (r["profile"], r["workload"])
    if k not in keys:
        keys.append(k)
with open(sys.argv[2], "w") as f:
    f.write("case " + " ".join("kafu-" + c for c in codecs) + " floor-raw floor-best-codec\n")
    for k in keys:
        by = {r["bar"]: r for r in rows if (r["profile"], r["workload"]) == k}
        any_r = next(iter(by.values()))
        vals = [by[c]["p50_ms"] if c in by else "nan" for c in codecs] + [any_r["floor_raw_ms"], any_r["floor_best_ms"]]
        f.write('"%s\\n%s" %s\n' % (k[0], k[1], " ".join(vals)))
PY
  ncol=$(( $(head -1 "$WORK/plot.dat" | wc -w) - 1 ))
  gnuplot 2>/dev/null <<GP || true
set terminal pngcairo size 1200,520 noenhanced
set output "$OUT/links.png"
set title "One-way migration p50 on emulated links vs the link's floor (raw bytes / best fixed codec)"
set ylabel "ms (log scale)"; set logscale y; set grid ytics
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1
set key top left; set xtics font ",9"
plot for [i=2:$(( ncol + 1 ))] "$WORK/plot.dat" using i:xtic(1) title columnheader(i)
GP
fi
